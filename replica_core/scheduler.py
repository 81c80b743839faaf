"""The round: induct ingress, run system tasks, execute messages, route calls, charge cycles.

Spec: IC interface spec 0.66.0, Abstract behavior › Request submission (induction), Call
message execution, Response delivery, Call context starvation (a context with no reply and
no outstanding callbacks is rejected), Canister stopping, Timers and heartbeats,
Best-effort calls (deadline expiry → `SYS_UNKNOWN`).

One `execute_round(state, batch)` is the step function: given the same state and batch it
produces the same state (time and randomness come only from the batch). Order within a
round (impl, as the IC): expire best-effort deadlines, induct the batch's ingress, run
low-wasm-memory hooks, global timers and heartbeats (canisters in id order), then execute the message queue in
FIFO order — messages produced in the round are executed in the same round, up to
`max_messages_per_round` — then stop canisters that have no open call contexts, charge
storage, and prune the ingress history.

Effects of an execution (`ExecutionOutcome`) are applied here and only here; cycles follow
`cycles.py` (prepay the instruction limit, refund the unused part; calls prepay the largest
response). Rejects carry the IC's wording and `IC0xxx` codes (`error_codes.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from replica_core import error_codes
from replica_core.call_context import (
    CallbackRecord,
    CallContext,
    CallOrigin,
    FromCanister,
    FromSystemTask,
    FromUser,
)
from replica_core.canister import CanisterState, CanisterStatus
from replica_core.composite_query import composite_query_in_replicated_mode
from replica_core.cycles import FeeTable, freezing_limit, liquid_balance, memory_usage
from replica_core.error_codes import ErrorCode, trap_reject
from replica_core.errors import Reject, RejectCode
from replica_core.execution.interface import (
    Callback,
    Context,
    EntryCall,
    EntryKind,
    Environment,
    ExecutionOutcome,
    Reply,
    Trap,
)
from replica_core.management.logs import MAX_LOG_BYTES, append_logs
from replica_core.management_context import Deferred, Executor
from replica_core.messages import Ingress, Request, Response
from replica_core.principal import CanisterRange, Principal
from replica_core.replicated_state import ReplicatedState, StopWaiter

__all__ = [
    "EMPTY_CANDID_REPLY",
    "MAX_LOG_BYTES",
    "STOP_CANISTER_TIMEOUT_NS",
    "Batch",
    "IngressFilter",
    "ManagementDispatch",
    "Scheduler",
    "SchedulerConfig",
    "trap_reject",
]

EMPTY_CANDID_REPLY = b"DIDL\x00\x00"
"""Candid `()`: the reply of `stop_canister` when the canister has stopped."""

STOP_CANISTER_TIMEOUT_NS = 5 * 60 * 1_000_000_000
"""A pending `stop_canister` call is rejected after 5 minutes (dfinity/ic
`STOP_CANISTER_TIMEOUT_DURATION`)."""

ManagementDispatch = Callable[..., Reply | Reject | Deferred]
"""`dispatch(ctx, method, arg, caller, cycles)` of `replica_core.management`."""


IngressFilter = Callable[..., Reject | None]
"""`ingress_allowed(method, arg, sender, canisters, subnet_admins=...)` of
`replica_core.management`: the IC's ingress filter for messages to `aaaaa-aa`."""

_FREE_MANAGEMENT_INGRESS = frozenset(
    {"provisional_create_canister_with_cycles", "provisional_top_up_canister"}
)
"""Management methods whose ingress induction nobody pays for (the IC's `IngressInductionCost`)."""


@dataclass(frozen=True, slots=True)
class Batch:
    """One round's input: its time, its randomness, and the ingress messages to induct."""

    time: int
    randomness: bytes
    ingress: tuple[Ingress, ...] = ()


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    """Subnet constants the scheduler needs."""

    subnet_id: Principal
    canister_ranges: tuple[CanisterRange, ...]
    fees: FeeTable
    root_key_der: bytes
    subnet_type: str = "application"
    subnet_admins: tuple[Principal, ...] = ()
    max_messages_per_round: int = 10_000
    instruction_limit: int = 40_000_000_000


class Scheduler:
    """Executes rounds on a `ReplicatedState` with an `Executor` and the management canister."""

    def __init__(
        self,
        config: SchedulerConfig,
        executor: Executor,
        management: ManagementDispatch | None = None,
        module_info: Callable[[CanisterState], object] | None = None,
        ingress_filter: IngressFilter | None = None,
    ) -> None:
        self.config = config
        self.fees = config.fees
        self.executor = executor
        self.management = management
        self.ingress_filter = ingress_filter
        self._module_info = module_info
        self._randomness = b""
        self._random_counter = 0

    # --- the step function --------------------------------------------------------------

    def execute_round(self, state: ReplicatedState, batch: Batch) -> None:
        """Advance the state by one round (see the module docstring for the order)."""
        time = max(batch.time, state.time + 1)
        state.update_metadata(time=time, height=state.metadata.height + 1)
        self._randomness, self._random_counter = batch.randomness, 0
        self._expire_deadlines(state)
        for ingress in batch.ingress:
            self.induct(state, ingress)
        self._run_system_tasks(state)
        for _ in range(self.config.max_messages_per_round):
            message = state.queue.pop()
            if message is None:
                break
            if isinstance(message, Response):
                self._execute_response(state, message)
            else:
                self._execute_call(state, message)
        self._finish_stopping(state)
        self._charge_allocations(state)
        state.ingress.prune(time)

    def has_work(self, state: ReplicatedState) -> bool:
        """Messages queued, or canisters that may run heartbeats or timers."""
        return len(state.queue) > 0 or any(
            c.global_timer or c.module is not None for c in state.canisters.values()
        )

    # --- ingress ------------------------------------------------------------------------

    def ingress_payer(self, state: ReplicatedState, ingress: Ingress) -> CanisterState | None:
        """The canister charged for inducting the message (spec: ingress calls to
        `aaaaa-aa` are charged to the managed canister; provisional methods are free)."""
        if not ingress.receiver.is_management_canister:
            return state.canisters.get(ingress.receiver)
        if ingress.method_name in _FREE_MANAGEMENT_INGRESS or ingress.effective_canister_id is None:
            return None
        return state.canisters.get(ingress.effective_canister_id)

    def ingress_check(self, state: ReplicatedState, ingress: Ingress) -> Reject | None:
        """Why an ingress message cannot be inducted, if it cannot (no state change).

        Messages to `aaaaa-aa` go through the management canister's ingress filter
        (controllers only, no canister-only methods), then the managed canister must be
        able to pay the induction fee.
        """
        if ingress.receiver.is_management_canister:
            if self.ingress_filter is not None:
                refused = self.ingress_filter(
                    ingress.method_name,
                    ingress.arg,
                    ingress.sender,
                    state.canisters,
                    subnet_admins=self.config.subnet_admins,
                )
                if refused is not None:
                    return refused
            payer = self.ingress_payer(state, ingress)
            if payer is None:
                return None
            cost = self.fees.ingress_induction_cost(ingress.size)
            threshold = freezing_limit(payer, self.fees)
            if payer.balance < cost + threshold:
                return error_codes.out_of_cycles(payer.canister_id, payer.balance, cost, threshold)
            return None
        canister = state.canisters.get(ingress.receiver)
        if canister is None:
            return error_codes.canister_not_found(ingress.receiver)
        if canister.module is None:
            return error_codes.no_wasm_module(ingress.receiver)
        if canister.status is CanisterStatus.STOPPED:
            return error_codes.reject(
                ErrorCode.CANISTER_STOPPED, f"Canister {ingress.receiver} is stopped"
            )
        if canister.status is CanisterStatus.STOPPING:
            return error_codes.reject(
                ErrorCode.CANISTER_STOPPING, f"Canister {ingress.receiver} is stopping"
            )
        cost = self.fees.ingress_induction_cost(ingress.size)
        threshold = freezing_limit(canister, self.fees)
        if canister.balance < cost + threshold:
            return error_codes.out_of_cycles(ingress.receiver, canister.balance, cost, threshold)
        return None

    def induct(self, state: ReplicatedState, ingress: Ingress) -> None:
        """Record the message as received and queue it, or record why it was rejected.

        A duplicate (its request id is already known) or an expired message is ignored.
        """
        if ingress.request_id in state.ingress or ingress.ingress_expiry < state.time:
            return
        owner = ingress.effective_canister_id or ingress.receiver
        state.ingress.received(
            ingress.request_id, ingress.sender, owner, ingress.ingress_expiry, state.time
        )
        reject = self.ingress_check(state, ingress)
        if reject is not None:
            state.ingress.rejected(ingress.request_id, reject, state.time)
            return
        canister = self.ingress_payer(state, ingress)
        if canister is not None:
            canister.balance -= self.fees.ingress_induction_cost(ingress.size)
            self._consumed(state, self.fees.ingress_induction_cost(ingress.size))
            state.touch(canister.canister_id)
        state.queue.push(ingress)

    # --- environment and cycles ---------------------------------------------------------

    def environment(self, canister: CanisterState, *, replicated: bool = True) -> Environment:
        wasm64 = self._is_64(canister)
        return Environment(
            canister_id=canister.canister_id,
            subnet_id=self.config.subnet_id,
            time=0,  # replaced by callers with the round's time
            controllers=canister.controllers,
            status=canister.status.value,
            version=canister.version,
            balance=canister.balance,
            liquid_balance=liquid_balance(canister, self.fees),
            certified_data=canister.certified_data,
            global_timer=canister.global_timer,
            root_key=self.config.root_key_der,
            environment_variables=canister.settings.environment_variables,
            wasm_memory_limit=canister.settings.wasm_memory_limit,
            replicated=replicated,
            call_cost_base=self.fees.call_cost_base(wasm64=wasm64),
            call_cost_per_byte=self.fees.xnet_call_bytes_fee(1),
            create_canister_fee=self.fees.scale(self.fees.canister_creation_fee),
        )

    def _is_64(self, canister: CanisterState) -> bool:
        if self._module_info is None or canister.module is None:
            return False
        return bool(getattr(self._module_info(canister), "is_64", False))

    def _exports(self, canister: CanisterState, attr: str) -> frozenset[str] | None:
        """Names the module exports in a group (None: unknown, let the sandbox decide)."""
        if self._module_info is None or canister.module is None:
            return None
        return getattr(self._module_info(canister), attr, None)

    def _consumed(self, state: ReplicatedState, cycles: int) -> None:
        state.update_metadata(
            consumed_cycles_total=state.metadata.consumed_cycles_total + max(cycles, 0)
        )

    def _prepay(self, canister: CanisterState) -> int | Reject:
        """Reserve the execution fee at the instruction limit, or the out-of-cycles reject."""
        prepay = self.fees.execution_prepayment(
            self.config.instruction_limit, wasm64=self._is_64(canister)
        )
        threshold = freezing_limit(canister, self.fees)
        if canister.balance < prepay + threshold:
            return error_codes.out_of_cycles(
                canister.canister_id, canister.balance, prepay, threshold
            )
        canister.balance -= prepay
        return prepay

    def _settle(
        self, state: ReplicatedState, canister: CanisterState, prepaid: int, used: int
    ) -> None:
        refund = self.fees.execution_refund(
            self.config.instruction_limit, used, wasm64=self._is_64(canister)
        )
        refund = min(refund, prepaid)
        canister.balance += refund
        self._consumed(state, prepaid - refund)

    def run(
        self, state: ReplicatedState, canister: CanisterState, call: EntryCall
    ) -> ExecutionOutcome:
        """Run one entry point of a non-empty canister (no effects applied)."""
        assert canister.module is not None and canister.execution is not None
        module = self.executor.compile(canister.module.wasm)
        env = replace(self.environment(canister), time=state.time)
        return self.executor.execute(module, canister.execution, call, env)

    # --- responses to call origins -------------------------------------------------------

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

    # --- applying an execution's effects ------------------------------------------------

    def _apply(
        self,
        state: ReplicatedState,
        canister: CanisterState,
        ctx: CallContext,
        outcome: ExecutionOutcome,
    ) -> None:
        append_logs(canister, outcome.logs)
        state.touch(canister.canister_id)
        if outcome.trap is not None:
            self._close_if_done(state, canister.canister_id, ctx, outcome.trap)
            return
        if outcome.state is not None:
            canister.execution = outcome.state
        if outcome.certified_data is not None:
            canister.certified_data = outcome.certified_data
        if outcome.global_timer is not None:
            canister.global_timer = outcome.global_timer
        accepted = min(outcome.cycles_accepted, ctx.available_cycles)
        ctx.available_cycles -= accepted
        canister.balance += accepted
        canister.balance -= min(outcome.cycles_burned, canister.balance)
        self._consumed(state, outcome.cycles_burned)
        for call in outcome.calls:
            self._perform_call(state, canister, ctx, call)
        if outcome.response is not None:
            self._respond(state, canister.canister_id, ctx, outcome.response)
        self._close_if_done(state, canister.canister_id, ctx)

    def _perform_call(
        self, state: ReplicatedState, canister: CanisterState, ctx: CallContext, call: object
    ) -> None:
        from replica_core.execution.interface import OutgoingCall

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

    # --- executing calls ----------------------------------------------------------------

    def _origin(self, message: Ingress | Request) -> CallOrigin:
        if isinstance(message, Ingress):
            return FromUser(message.request_id, message.sender)
        return FromCanister(message.sender, message.callback_id, message.deadline)

    def _execute_call(self, state: ReplicatedState, message: Ingress | Request) -> None:
        if isinstance(message, Request) and message.deadline and message.deadline <= state.time:
            self._drop_expired_request(state, message)
            return
        origin = self._origin(message)
        cycles = message.cycles if isinstance(message, Request) else 0
        if isinstance(message, Ingress):
            state.ingress.processing(message.request_id, state.time)
        if message.receiver.is_management_canister:
            self._execute_management(state, message, origin, cycles)
            return
        canister = state.canisters.get(message.receiver)
        reject = self._call_check(canister, message)
        if reject is not None or canister is None:
            assert reject is not None
            self.deliver(state, origin, message.receiver, reject, cycles)
            return
        prepaid = self._prepay(canister)
        if isinstance(prepaid, Reject):
            self.deliver(state, origin, message.receiver, prepaid, cycles)
            return
        state.touch(canister.canister_id)
        ctx = state.contexts(canister.canister_id).new_context(origin, cycles, state.time)
        queries = self._exports(canister, "query_methods") or frozenset()
        is_query = message.method_name in queries
        call = EntryCall(
            kind=EntryKind.QUERY if is_query else EntryKind.UPDATE,
            context=Context.RQ if is_query else Context.U,
            method_name=message.method_name,
            arg=message.arg,
            caller=message.sender,
            cycles_available=cycles,
            deadline=message.deadline if isinstance(message, Request) else 0,
            instruction_limit=self.config.instruction_limit,
        )
        outcome = self.run(state, canister, call)
        self._settle(state, canister, prepaid, outcome.instructions)
        if outcome.trap is None and is_query:
            outcome = replace(
                outcome,
                state=None,
                calls=(),
                certified_data=None,
                global_timer=None,
                cycles_burned=0,
            )
        if outcome.trap is None:
            state.update_metadata(
                update_transactions_total=state.metadata.update_transactions_total + 1
            )
        self._apply(state, canister, ctx, outcome)

    def _call_check(
        self, canister: CanisterState | None, message: Ingress | Request
    ) -> Reject | None:
        cid = message.receiver
        if canister is None:
            return error_codes.canister_not_found(cid)
        if canister.status is CanisterStatus.STOPPED:
            return error_codes.reject(ErrorCode.CANISTER_STOPPED, f"Canister {cid} is stopped")
        if canister.status is CanisterStatus.STOPPING:
            return error_codes.reject(ErrorCode.CANISTER_STOPPING, f"Canister {cid} is stopping")
        if canister.module is None:
            return error_codes.no_wasm_module(cid)
        updates = self._exports(canister, "update_methods")
        queries = self._exports(canister, "query_methods")
        composite = self._exports(canister, "composite_query_methods") or frozenset()
        if message.method_name in composite:
            return composite_query_in_replicated_mode()
        if updates is not None and message.method_name not in updates | (queries or frozenset()):
            return error_codes.method_not_found(cid, "update", message.method_name)
        minimum = canister.settings.minimum_incoming_canister_call_cycles
        if isinstance(message, Request) and message.sender != cid and message.cycles < minimum:
            return error_codes.reject(
                ErrorCode.INSUFFICIENT_CYCLES_IN_CALL,
                f"Canister {cid} requires at least {minimum} cycles attached to incoming "
                f"calls, but the call attached {message.cycles}.",
            )
        return None

    # --- responses and callbacks --------------------------------------------------------

    def _execute_response(self, state: ReplicatedState, response: Response) -> None:
        canister = state.canisters.get(response.originator)
        if canister is None:
            return
        state.touch(canister.canister_id)
        manager = state.contexts(canister.canister_id)
        record = manager.take_callback(response.callback_id)
        canister.balance += response.refund
        if record is None:
            return  # the callback was dropped (uninstall, or a best-effort call timed out)
        if record.expired and not response.deadline_expired:
            manager.callbacks[record.id] = record  # late response: dropped (spec)
            return
        canister.balance += self.fees.response_refund(response.size)
        ctx = manager.contexts.get(record.call_context_id)
        if ctx is None or canister.module is None or canister.execution is None:
            canister.balance += record.prepaid_execution
            return
        self._run_callback(state, canister, ctx, record, response)

    def _run_callback(
        self,
        state: ReplicatedState,
        canister: CanisterState,
        ctx: CallContext,
        record: CallbackRecord,
        response: Response,
    ) -> None:
        reply = response.response
        if isinstance(reply, Reply):
            kind, context, fn, arg, rej = (
                EntryKind.REPLY_CALLBACK,
                Context.Ry,
                record.on_reply,
                reply.payload,
                None,
            )
        else:
            kind, context, fn, arg, rej = (
                EntryKind.REJECT_CALLBACK,
                Context.Rt,
                record.on_reject,
                b"",
                reply,
            )
        call = EntryCall(
            kind=kind,
            context=context,
            arg=arg,
            caller=canister.canister_id,
            callback=fn,
            reject=rej,
            cycles_available=ctx.available_cycles,
            cycles_refunded=response.refund,
            deadline=response.deadline,
            instruction_limit=self.config.instruction_limit,
            call_context_instructions=ctx.instructions_used,
        )
        caller = (
            ctx.origin.caller
            if isinstance(ctx.origin, FromCanister)
            else (ctx.origin.sender if isinstance(ctx.origin, FromUser) else canister.canister_id)
        )
        call = replace(call, caller=caller)
        outcome = self.run(state, canister, call)
        ctx.instructions_used += outcome.instructions
        self._settle(state, canister, record.prepaid_execution, outcome.instructions)
        if outcome.trap is not None and record.on_cleanup is not None:
            self._run_cleanup(state, canister, record.on_cleanup, outcome)
        self._apply(state, canister, ctx, outcome)

    def _run_cleanup(
        self,
        state: ReplicatedState,
        canister: CanisterState,
        cleanup: Callback,
        failed: ExecutionOutcome,
    ) -> None:
        """After a trapping callback: run its cleanup; only its state changes are kept.

        The failed callback's logs are appended by `_apply`, after these (impl).
        """
        call = EntryCall(
            kind=EntryKind.CLEANUP,
            context=Context.C,
            callback=cleanup,
            caller=canister.canister_id,
            instruction_limit=self.config.instruction_limit,
        )
        outcome = self.run(state, canister, call)
        append_logs(canister, outcome.logs)
        if outcome.trap is None and outcome.state is not None:
            canister.execution = outcome.state

    # --- system tasks, deadlines, stopping, storage ----------------------------------------

    def _run_system_tasks(self, state: ReplicatedState) -> None:
        for cid in sorted(state.canisters):
            canister = state.canisters[cid]
            if canister.module is None or canister.status is not CanisterStatus.RUNNING:
                continue
            entry_points = self._exports(canister, "system_entry_points")
            hook = canister.low_wasm_memory_hook
            if self._low_wasm_memory_hook_ready(canister):
                canister.low_wasm_memory_hook = "executed"
            if canister.low_wasm_memory_hook != hook:
                state.touch(cid)
            if canister.low_wasm_memory_hook == "executed" and hook != "executed":
                if entry_points is None or EntryKind.ON_LOW_WASM_MEMORY.value in entry_points:
                    self._run_task(
                        state, canister, EntryKind.ON_LOW_WASM_MEMORY, "on_low_wasm_memory"
                    )
            if canister.global_timer and state.time >= canister.global_timer:
                canister.global_timer = 0
                state.touch(cid)
                if entry_points is None or EntryKind.GLOBAL_TIMER.value in entry_points:
                    self._run_task(state, canister, EntryKind.GLOBAL_TIMER, "global_timer")
            if entry_points is not None and EntryKind.HEARTBEAT.value in entry_points:
                self._run_task(state, canister, EntryKind.HEARTBEAT, "heartbeat")

    def _low_wasm_memory_hook_ready(self, canister: CanisterState) -> bool:
        """Whether the low-memory hook is due: `wasm_memory_limit - |heap|` dropped below
        `wasm_memory_threshold` since it last ran (it runs once per crossing; rising above
        the threshold again re-arms it). Without a `wasm_memory_limit` it never fires."""
        settings = canister.settings
        if canister.execution is None or not settings.wasm_memory_limit:
            canister.low_wasm_memory_hook = "condition_not_satisfied"
            return False
        remaining = settings.wasm_memory_limit - len(canister.execution.heap)
        if remaining >= settings.wasm_memory_threshold:
            canister.low_wasm_memory_hook = "condition_not_satisfied"
            return False
        if canister.low_wasm_memory_hook == "condition_not_satisfied":
            canister.low_wasm_memory_hook = "ready"
        return canister.low_wasm_memory_hook == "ready"

    def _run_task(
        self, state: ReplicatedState, canister: CanisterState, kind: EntryKind, task: str
    ) -> None:
        prepaid = self._prepay(canister)
        if isinstance(prepaid, Reject):
            return  # frozen canisters run no tasks
        ctx = state.contexts(canister.canister_id).new_context(FromSystemTask(task), 0, state.time)
        call = EntryCall(
            kind=kind,
            context=Context.T,
            caller=canister.canister_id,
            instruction_limit=self.config.instruction_limit,
        )
        outcome = self.run(state, canister, call)
        self._settle(state, canister, prepaid, outcome.instructions)
        self._apply(state, canister, ctx, outcome)

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

    def _finish_stopping(self, state: ReplicatedState) -> None:
        """Stop canisters without open call contexts; time out stop calls that waited
        `STOP_CANISTER_TIMEOUT_NS` (IC0206; the canister stays stopping)."""
        for cid in sorted(state.canisters):
            canister = state.canisters[cid]
            if canister.status is not CanisterStatus.STOPPING:
                continue
            if state.contexts(cid).open_contexts():
                self._time_out_stop_calls(state, cid)
                continue
            canister.status = CanisterStatus.STOPPED
            state.touch(cid)
            for waiter in state.stop_waiters.pop(cid, []):
                self.deliver(
                    state,
                    waiter.origin,
                    Principal.management_canister(),
                    Reply(EMPTY_CANDID_REPLY),
                    waiter.refund,
                )

    def _time_out_stop_calls(self, state: ReplicatedState, cid: Principal) -> None:
        waiters = state.stop_waiters.get(cid, [])
        expired = [w for w in waiters if w.time + STOP_CANISTER_TIMEOUT_NS <= state.time]
        if not expired:
            return
        state.stop_waiters[cid] = [w for w in waiters if w not in expired]
        reject = error_codes.reject(
            ErrorCode.STOP_CANISTER_REQUEST_TIMEOUT, "Stop canister request timed out"
        )
        for waiter in expired:
            self.deliver(
                state, waiter.origin, Principal.management_canister(), reject, waiter.refund
            )

    def _charge_allocations(self, state: ReplicatedState) -> None:
        """Charge storage and compute allocation every `duration_between_allocation_charges`."""
        last = state.metadata.last_allocation_charge
        if last == 0:
            state.update_metadata(last_allocation_charge=state.time)
            return
        elapsed = state.time - last
        if elapsed < self.fees.duration_between_allocation_charges_ns:
            return
        for cid in sorted(state.canisters):
            canister = state.canisters[cid]
            memory = max(canister.settings.memory_allocation, memory_usage(canister))
            cost = self.fees.memory_cost(memory, elapsed) + self.fees.compute_allocation_cost(
                canister.settings.compute_allocation, elapsed
            )
            if not cost:
                continue
            # Storage is paid from the reserved balance first (the IC's `CyclesUseCase::Memory`).
            from_reserved = min(cost, canister.reserved_balance)
            from_main = min(cost - from_reserved, canister.balance)
            canister.reserved_balance -= from_reserved
            canister.balance -= from_main
            self._consumed(state, from_reserved + from_main)
            state.touch(cid)
            if canister.balance == 0 and canister.reserved_balance == 0:
                self._uninstall_out_of_cycles(state, canister)
        state.update_metadata(last_allocation_charge=state.time)

    def _uninstall_out_of_cycles(self, state: ReplicatedState, canister: CanisterState) -> None:
        """Both balances reached 0: empty the canister (spec: id, controllers, version and
        history remain). Open call contexts are rejected, allocations reset, snapshots
        deleted; the version goes up and a `code_uninstall` change is recorded with the
        management canister as origin (impl)."""
        if canister.module is None and not canister.snapshots and not canister.chunk_store:
            return
        from replica_core.management.install import uninstall
        from replica_core.management_context import RoundManagementContext

        ctx = RoundManagementContext(self, state, is_ingress=True)
        uninstall(ctx, canister, Principal.management_canister(), {})
        canister.settings = replace(canister.settings, compute_allocation=0, memory_allocation=0)
        canister.snapshots.clear()

    # --- the management canister --------------------------------------------------------

    def random_bytes(self, n: int) -> bytes:
        """Deterministic bytes from the round's randomness (raw_rand, impl: SHA-256 chain)."""
        import hashlib

        out = b""
        while len(out) < n:
            self._random_counter += 1
            out += hashlib.sha256(
                self._randomness + self._random_counter.to_bytes(8, "big")
            ).digest()
        return out[:n]

    def _execute_management(
        self, state: ReplicatedState, message: Ingress | Request, origin: CallOrigin, cycles: int
    ) -> None:
        from replica_core.management_context import RoundManagementContext

        if self.management is None:
            reject = error_codes.reject(
                ErrorCode.UNKNOWN_MANAGEMENT_MESSAGE,
                f"Management canister has no method '{message.method_name}'",
            )
            self.deliver(state, origin, message.receiver, reject, cycles)
            return
        ctx = RoundManagementContext(self, state, is_ingress=isinstance(message, Ingress))
        try:
            result = self.management(ctx, message.method_name, message.arg, message.sender, cycles)
        except Exception:
            ctx.rollback()
            raise
        if isinstance(result, Reject):
            ctx.rollback()
            self.deliver(state, origin, message.receiver, result, cycles)
            return
        refund = max(cycles - ctx.accepted, 0)
        self._consumed(state, min(ctx.accepted, cycles))
        if isinstance(result, Deferred):
            state.stop_waiters.setdefault(result.canister_id, []).append(
                StopWaiter(origin, refund, state.time)
            )
            return
        self.deliver(state, origin, message.receiver, result, refund)
