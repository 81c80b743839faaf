"""The round: induct ingress, run system tasks, execute messages, route calls, charge cycles.

Spec: IC interface spec 0.66.0, Abstract behavior › Request submission (induction), Call
message execution, Response delivery, Call context starvation (a context with no reply and
no outstanding callbacks is rejected), Canister stopping, Timers and heartbeats,
Best-effort calls (deadline expiry → `SYS_UNKNOWN`).

One `execute_round(state, batch)` is the step function: given the same state and batch it
produces the same state (time and randomness come only from the batch). Order within a
round (impl, as the IC): expire best-effort deadlines, induct the batch's ingress, run
global timers and heartbeats (canisters in id order), then execute the message queue in
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
from replica_core.cycles import FeeTable, freezing_limit, liquid_balance, memory_usage
from replica_core.error_codes import ErrorCode
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
    TrapKind,
)
from replica_core.management_context import Deferred, Executor
from replica_core.messages import Ingress, Request, Response
from replica_core.principal import CanisterRange, Principal
from replica_core.replicated_state import ReplicatedState, StopWaiter

__all__ = [
    "EMPTY_CANDID_REPLY",
    "MAX_LOG_BYTES",
    "Batch",
    "ManagementDispatch",
    "Scheduler",
    "SchedulerConfig",
    "trap_reject",
]

EMPTY_CANDID_REPLY = b"DIDL\x00\x00"
"""Candid `()`: the reply of `stop_canister` when the canister has stopped."""

MAX_LOG_BYTES = 4096
"""Canister logs keep the newest records up to 4 KiB of content (spec: fetch_canister_logs)."""

ManagementDispatch = Callable[..., Reply | Reject | Deferred]
"""`dispatch(ctx, method, arg, caller, cycles)` of `replica_core.management`."""


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


def trap_reject(canister_id: Principal, trap: Trap) -> Reject:
    """The reject a caller sees when the execution handling its call trapped."""
    if trap.kind is TrapKind.OUT_OF_INSTRUCTIONS:
        code = ErrorCode.CANISTER_INSTRUCTION_LIMIT_EXCEEDED
    elif trap.kind is TrapKind.CONTRACT_VIOLATION:
        code = ErrorCode.CANISTER_CONTRACT_VIOLATION
    elif trap.kind is TrapKind.OUT_OF_MEMORY:
        code = ErrorCode.CANISTER_OUT_OF_MEMORY
    elif trap.kind is TrapKind.NO_EXPORT:
        code = ErrorCode.CANISTER_METHOD_NOT_FOUND
    elif trap.message.startswith("Canister called `ic0.trap`"):
        code = ErrorCode.CANISTER_CALLED_TRAP
    else:
        code = ErrorCode.CANISTER_TRAPPED
    return error_codes.reject(code, f"Error from Canister {canister_id}: {trap.message}")


def _append_logs(canister: CanisterState, outcome: ExecutionOutcome) -> None:
    if not outcome.logs:
        return
    canister.logs.extend(outcome.logs)
    canister.next_log_idx += len(outcome.logs)
    total = sum(len(r.content) for r in canister.logs)
    while canister.logs and total > MAX_LOG_BYTES:
        total -= len(canister.logs.pop(0).content)


class Scheduler:
    """Executes rounds on a `ReplicatedState` with an `Executor` and the management canister."""

    def __init__(
        self,
        config: SchedulerConfig,
        executor: Executor,
        management: ManagementDispatch | None = None,
        module_info: Callable[[CanisterState], object] | None = None,
    ) -> None:
        self.config = config
        self.fees = config.fees
        self.executor = executor
        self.management = management
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

    def ingress_check(self, state: ReplicatedState, ingress: Ingress) -> Reject | None:
        """Why an ingress message cannot be inducted, if it cannot (no state change)."""
        if ingress.receiver.is_management_canister:
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
        canister = state.canisters.get(ingress.receiver)
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
        _append_logs(canister, outcome)
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
        _append_logs(canister, outcome)
        if outcome.trap is None and outcome.state is not None:
            canister.execution = outcome.state

    # --- system tasks, deadlines, stopping, storage ----------------------------------------

    def _run_system_tasks(self, state: ReplicatedState) -> None:
        for cid in sorted(state.canisters):
            canister = state.canisters[cid]
            if canister.module is None or canister.status is not CanisterStatus.RUNNING:
                continue
            entry_points = self._exports(canister, "system_entry_points")
            if canister.global_timer and state.time >= canister.global_timer:
                canister.global_timer = 0
                state.touch(cid)
                if entry_points is None or EntryKind.GLOBAL_TIMER.value in entry_points:
                    self._run_task(state, canister, EntryKind.GLOBAL_TIMER, "global_timer")
            if entry_points is not None and EntryKind.HEARTBEAT.value in entry_points:
                self._run_task(state, canister, EntryKind.HEARTBEAT, "heartbeat")

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
                manager.callbacks[record.id] = replace(record, deadline=0)
                reject = error_codes.reject(
                    ErrorCode.DEADLINE_EXPIRED, "Call deadline has expired."
                )
                reject = Reject(RejectCode.SYS_UNKNOWN, reject.message, reject.error_code)
                state.queue.push(Response(cid, record.respondent, record.id, reject, 0))
                state.touch(cid)

    def _finish_stopping(self, state: ReplicatedState) -> None:
        for cid in sorted(state.canisters):
            canister = state.canisters[cid]
            if canister.status is not CanisterStatus.STOPPING:
                continue
            if state.contexts(cid).open_contexts():
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
            if cost:
                charged = min(cost, canister.balance)
                canister.balance -= charged
                self._consumed(state, charged)
                state.touch(cid)
        state.update_metadata(last_allocation_charge=state.time)

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
            state.stop_waiters.setdefault(result.canister_id, []).append(StopWaiter(origin, refund))
            return
        self.deliver(state, origin, message.receiver, result, refund)
