"""Call contexts and callbacks: what a canister owes to its callers and expects from callees.

Spec: IC interface spec 0.66.0, Abstract behavior › Call contexts (`S.call_contexts`:
origin, `needs_to_respond`, `available_cycles`, deleted) and Message execution (callbacks
registered by `call_perform`, responses, cleanup, starvation).

A call context is opened when a canister starts executing a call (ingress, a request from a
canister, or a system task: heartbeat or global timer), and closes when it has responded
(or never needed to) and no callback of it is outstanding. Callbacks belong to the
*calling* canister: each records where the response goes (`call_context_id`) and the
closures (`Callback` = table function + env) to run. One `CallContextManager` per canister
(the IC's name) holds both, with ids allocated in order (determinism).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from replica_core.execution.interface import Callback
from replica_core.principal import Principal
from replica_core.types import RequestId

__all__ = [
    "CallContext",
    "CallContextManager",
    "CallOrigin",
    "CallbackRecord",
    "FromCanister",
    "FromSystemTask",
    "FromUser",
]


@dataclass(frozen=True, slots=True)
class FromUser:
    """The call came in as ingress; the response goes to the ingress history."""

    request_id: RequestId
    sender: Principal


@dataclass(frozen=True, slots=True)
class FromCanister:
    """The call came from a canister; the response goes back to its callback."""

    caller: Principal
    callback_id: int
    deadline: int = 0


@dataclass(frozen=True, slots=True)
class FromSystemTask:
    """A heartbeat or global timer: nobody waits for a response."""

    task: str  # "heartbeat" | "global_timer"


CallOrigin = FromUser | FromCanister | FromSystemTask


@dataclass(slots=True)
class CallContext:
    """One call being handled by a canister (the spec's call context)."""

    id: int
    origin: CallOrigin
    available_cycles: int  # attached and not yet accepted
    responded: bool = False
    instructions_used: int = 0
    time: int = 0  # when the call started executing

    @property
    def needs_to_respond(self) -> bool:
        return not self.responded and not isinstance(self.origin, FromSystemTask)


@dataclass(frozen=True, slots=True)
class CallbackRecord:
    """An outstanding call of the canister: where its response goes and what it costs."""

    id: int
    call_context_id: int
    respondent: Principal
    on_reply: Callback
    on_reject: Callback
    on_cleanup: Callback | None
    cycles_sent: int
    deadline: int = 0  # best-effort calls; 0 for guaranteed-response calls
    prepaid_execution: int = 0  # response-execution prepayment, refunded per use
    wasm64: bool = False
    expired: bool = False  # the deadline passed: only the SYS_UNKNOWN reject is executed


@dataclass(slots=True)
class CallContextManager:
    """The call contexts and callbacks of one canister."""

    contexts: dict[int, CallContext] = field(default_factory=dict)
    callbacks: dict[int, CallbackRecord] = field(default_factory=dict)
    next_context_id: int = 0
    next_callback_id: int = 0

    def new_context(self, origin: CallOrigin, cycles: int, time: int) -> CallContext:
        ctx = CallContext(self.next_context_id, origin, cycles, time=time)
        self.contexts[ctx.id] = ctx
        self.next_context_id += 1
        return ctx

    def register_callback(
        self,
        call_context_id: int,
        respondent: Principal,
        on_reply: Callback,
        on_reject: Callback,
        on_cleanup: Callback | None,
        cycles_sent: int,
        deadline: int = 0,
        prepaid_execution: int = 0,
        wasm64: bool = False,
    ) -> CallbackRecord:
        record = CallbackRecord(
            self.next_callback_id,
            call_context_id,
            respondent,
            on_reply,
            on_reject,
            on_cleanup,
            cycles_sent,
            deadline,
            prepaid_execution,
            wasm64,
        )
        self.callbacks[record.id] = record
        self.next_callback_id += 1
        return record

    def take_callback(self, callback_id: int) -> CallbackRecord | None:
        """Remove and return a callback (None if it was dropped, e.g. by uninstall)."""
        return self.callbacks.pop(callback_id, None)

    def outstanding_callbacks(self, call_context_id: int) -> int:
        return sum(1 for cb in self.callbacks.values() if cb.call_context_id == call_context_id)

    def is_finished(self, call_context_id: int) -> bool:
        """No response owed and no callback outstanding: the context can be closed."""
        ctx = self.contexts.get(call_context_id)
        if ctx is None:
            return True
        return ctx.responded or isinstance(ctx.origin, FromSystemTask) or False

    def open_contexts(self) -> int:
        """Call contexts still open (a stopping canister becomes stopped at 0)."""
        return len(self.contexts)

    def expired_callbacks(self, now: int) -> list[CallbackRecord]:
        """Best-effort callbacks whose deadline has passed (not yet expired), in id order."""
        return [
            cb
            for cb in sorted(self.callbacks.values(), key=lambda c: c.id)
            if cb.deadline and cb.deadline <= now and not cb.expired
        ]

    def copy(self) -> CallContextManager:
        return copy.deepcopy(self)
