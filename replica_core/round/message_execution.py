"""Message execution: running a call or a response callback and applying its effects.

Spec: IC interface spec 0.66.0, Abstract behavior › Call message execution (a stopped,
stopping or empty canister refuses calls; queries in replicated mode keep no state),
Response delivery (reply and reject callbacks; the cleanup callback after a trapping one).
Effects of an execution (`ExecutionOutcome`) are applied in `_apply` and only there.
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
from replica_core.canister import CanisterState, CanisterStatus
from replica_core.composite_query import composite_query_in_replicated_mode
from replica_core.error_codes import ErrorCode
from replica_core.errors import Reject
from replica_core.execution.interface import (
    Callback,
    Context,
    EntryCall,
    EntryKind,
    ExecutionOutcome,
    Reply,
)
from replica_core.management.logs import append_logs
from replica_core.messages import Ingress, Request, Response
from replica_core.replicated_state import ReplicatedState
from replica_core.round.cycles_charging import CyclesCharging
from replica_core.round.management_calls import ManagementCalls

__all__ = ["MessageExecution"]


class MessageExecution(ManagementCalls, CyclesCharging):
    """Executes queued requests, ingress messages and responses."""

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
