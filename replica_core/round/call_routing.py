"""Call routing: outgoing calls become queued requests, responses return to their origin.

Spec: IC interface spec 0.66.0, Abstract behavior › Call message execution (outgoing calls
and their callbacks), Response delivery (to a user's ingress status or a calling canister),
Call context starvation (a context with no reply and no outstanding callbacks is
rejected), Best-effort calls (deadline expiry → `SYS_UNKNOWN`).
"""

from __future__ import annotations

from dataclasses import replace

from replica_core import error_codes
from replica_core.call_context import (
    CallbackRecord,
    CallContext,
    CallOrigin,
    FromCanister,
    FromUser,
)
from replica_core.canister import CanisterState
from replica_core.error_codes import ErrorCode, trap_reject
from replica_core.errors import Reject, RejectCode
from replica_core.execution.interface import OutgoingCall, Reply, Trap
from replica_core.messages import Request, Response
from replica_core.principal import Principal
from replica_core.replicated_state import ReplicatedState
from replica_core.round.base import SchedulerBase

__all__ = ["CallRouting"]


class CallRouting(SchedulerBase):
    """Queues requests and responses; closes call contexts; expires best-effort deadlines."""

    def deliver(
        self,
        state: ReplicatedState,
        origin: CallOrigin,
        respondent: Principal,
        response: Reply | Reject,
        refund: int,
    ) -> None:
        """Send a call's response to wherever it came from."""
        if isinstance(origin, FromUser):
            if isinstance(response, Reply):
                state.ingress.replied(origin.request_id, response.payload, state.time)
            else:
                state.ingress.rejected(origin.request_id, response, state.time)
        elif isinstance(origin, FromCanister):
            state.queue.push(
                Response(
                    origin.caller, respondent, origin.callback_id, response, refund, origin.deadline
                )
            )

    def _respond(
        self,
        state: ReplicatedState,
        canister_id: Principal,
        ctx: CallContext,
        response: Reply | Reject,
    ) -> None:
        if ctx.responded:
            return
        ctx.responded = True
        refund, ctx.available_cycles = ctx.available_cycles, 0
        self.deliver(state, ctx.origin, canister_id, response, refund)

    def _close_if_done(
        self,
        state: ReplicatedState,
        canister_id: Principal,
        ctx: CallContext,
        trap: Trap | None = None,
    ) -> None:
        """Close a context without outstanding callbacks; reject it if it never replied."""
        manager = state.contexts(canister_id)
        if manager.outstanding_callbacks(ctx.id):
            return
        if ctx.needs_to_respond:
            reject = (
                trap_reject(canister_id, trap)
                if trap is not None
                else error_codes.did_not_reply(canister_id)
            )
            self._respond(state, canister_id, ctx, reject)
        manager.contexts.pop(ctx.id, None)

    def _perform_call(
        self, state: ReplicatedState, canister: CanisterState, ctx: CallContext, call: object
    ) -> None:
        assert isinstance(call, OutgoingCall)
        wasm64 = self._is_64(canister)
        cost = self.fees.call_cost(len(call.method_name.encode()), len(call.arg), wasm64=wasm64)
        upfront = self.fees.call_cost_paid_upfront(len(call.method_name.encode()), len(call.arg))
        canister.balance -= min(cost + call.cycles, canister.balance)
        self._consumed(state, upfront)
        deadline = 0
        if call.timeout_seconds is not None:
            deadline = state.time + call.timeout_seconds * 1_000_000_000
        record = state.contexts(canister.canister_id).register_callback(
            ctx.id,
            call.callee,
            call.on_reply,
            call.on_reject,
            call.on_cleanup,
            call.cycles,
            deadline,
            self.fees.response_execution_prepayment(wasm64=wasm64),
            wasm64,
        )
        state.queue.push(
            Request(
                canister.canister_id,
                call.callee,
                call.method_name,
                call.arg,
                call.cycles,
                record.id,
                deadline,
            )
        )

    def _expire_deadlines(self, state: ReplicatedState) -> None:
        """Best-effort calls past their deadline get a `SYS_UNKNOWN` reject (spec)."""
        for cid in sorted(state.call_contexts):
            manager = state.call_contexts[cid]
            for record in manager.expired_callbacks(state.time):
                self._expire_callback(state, cid, record)

    def _expire_callback(
        self, state: ReplicatedState, cid: Principal, record: CallbackRecord
    ) -> None:
        """Mark a best-effort callback expired and queue the IC's `SYS_UNKNOWN` reject for it;
        a real response arriving later is dropped (only its refund is credited)."""
        state.contexts(cid).callbacks[record.id] = replace(record, expired=True)
        reject = Reject(
            RejectCode.SYS_UNKNOWN, "Call deadline has expired.", str(ErrorCode.DEADLINE_EXPIRED)
        )
        state.queue.push(
            Response(cid, record.respondent, record.id, reject, 0, record.deadline, True)
        )
        state.touch(cid)

    def _drop_expired_request(self, state: ReplicatedState, request: Request) -> None:
        """A best-effort request past its deadline is not delivered: its cycles go back to
        the caller, whose callback gets the deadline-expired reject."""
        caller = state.canisters.get(request.sender)
        if caller is None:
            return
        caller.balance += request.cycles
        state.touch(request.sender)
        record = state.contexts(request.sender).callbacks.get(request.callback_id)
        if record is not None and not record.expired:
            self._expire_callback(state, request.sender, record)
