"""The ic0 imports that build and perform inter-canister calls.

Spec: IC interface spec 0.66.0, The System API › Inter-canister method calls.

`call_new` starts a call (abandoning an unperformed one and returning its cycles),
`call_data_append` / `call_cycles_add128` / `call_on_cleanup` /
`call_with_best_effort_response` amend it, and `call_perform` queues it as an
`OutgoingCall`. The scheduler sends the queued calls only if the execution does not trap.
`call_perform` returns 2 ("not performed") when the call's fee (from `Environment`) would
take the liquid balance below zero; the fee is only checked here and charged by the
scheduler (impl).
"""

from __future__ import annotations

from replica_core.errors import InvalidPrincipal
from replica_core.execution.interface import Callback, OutgoingCall
from replica_core.execution.system_api.base import (
    MAX_CALL_TIMEOUT,
    MAX_INTER_CANISTER_PAYLOAD,
    ApiBase,
    PendingCall,
)
from replica_core.principal import Principal

__all__ = ["CallApi"]

_NOT_PERFORMED = 2  # spec: call_perform returns 2 when the call was not performed


class CallApi(ApiBase):
    """`call_*`."""

    __slots__ = ()

    def _pending(self, name: str) -> PendingCall:
        pending = self.pending
        if pending is None:
            raise self.violation(
                f"ic0.{name}: the call must be started with ic0.call_new first "
                "(no call is under construction)"
            )
        return pending

    def call_new(
        self,
        callee_src: int,
        callee_size: int,
        name_src: int,
        name_size: int,
        reply_fun: int,
        reply_env: int,
        reject_fun: int,
        reject_env: int,
    ) -> None:
        """Start building a call; an unperformed call under construction is abandoned."""
        callee = self.read_heap("ic0.call_new", callee_src, callee_size)
        raw_name = self.read_heap("ic0.call_new", name_src, name_size)
        try:
            Principal(callee)
        except InvalidPrincipal as e:
            raise self.violation(f"ic0.call_new: invalid callee id: {e}") from None
        try:
            method_name = raw_name.decode("utf-8")
        except UnicodeDecodeError:
            raise self.violation(
                "ic0.call_new: the method name is not a valid UTF-8 string"
            ) from None
        self._abandon_pending()
        self.pending = PendingCall(
            callee, method_name, (reply_fun, reply_env), (reject_fun, reject_env)
        )

    def _abandon_pending(self) -> None:
        """Drop the call under construction; its attached cycles go back to the balance."""
        if self.pending is not None:
            self.cycles_attached -= self.pending.cycles
            self.pending = None

    def call_on_cleanup(self, fun: int, env: int) -> None:
        """Set the cleanup callback of the call under construction (at most once)."""
        pending = self._pending("call_on_cleanup")
        if pending.cleanup is not None:
            raise self.violation("ic0.call_on_cleanup: the cleanup closure has been already set")
        pending.cleanup = (fun, env)

    def call_data_append(self, src: int, size: int) -> None:
        """Append heap bytes to the argument of the call under construction."""
        pending = self._pending("call_data_append")
        if len(pending.arg) + size > MAX_INTER_CANISTER_PAYLOAD:
            raise self.violation(
                f"ic0.call_data_append: the payload size ({len(pending.arg) + size}) "
                f"exceeds the maximum allowed inter-canister payload "
                f"({MAX_INTER_CANISTER_PAYLOAD})."
            )
        pending.arg += self.read_heap("ic0.call_data_append", src, size)

    def call_with_best_effort_response(self, timeout_seconds: int) -> None:
        """Make the call under construction a bounded-wait call (at most once)."""
        pending = self._pending("call_with_best_effort_response")
        if pending.timeout_seconds is not None:
            raise self.violation(
                "ic0.call_with_best_effort_response: the timeout has already been set"
            )
        pending.timeout_seconds = min(timeout_seconds, MAX_CALL_TIMEOUT)

    def _add_cycles(self, name: str, amount: int) -> None:
        pending = self._pending(name)
        liquid = self.liquid_balance
        if amount > liquid:
            raise self.violation(
                f"Canister {self.env.canister_id.to_text()} is out of cycles: please top up "
                f"the canister with at least {amount - liquid} additional cycles"
            )
        pending.cycles += amount
        self.cycles_attached += amount

    def call_cycles_add128(self, amount_high: int, amount_low: int) -> None:
        """Move cycles from the balance onto the call under construction."""
        self._add_cycles("call_cycles_add128", (amount_high << 64) | amount_low)

    def call_cycles_add(self, amount: int) -> None:
        """64-bit variant of `call_cycles_add128` (wasm32 only)."""
        self._add_cycles("call_cycles_add", amount)

    def call_perform(self) -> int:
        """Queue the call under construction: 0 if queued, 2 if it could not be performed."""
        pending = self._pending("call_perform")
        self.pending = None
        fee = self.env.call_cost_base + self.env.call_cost_per_byte * (
            len(pending.method_name.encode("utf-8")) + len(pending.arg)
        )
        if fee > self.liquid_balance:
            self.cycles_attached -= pending.cycles
            return _NOT_PERFORMED
        self.cycles_reserved += fee
        cleanup = pending.cleanup
        self.calls.append(
            OutgoingCall(
                callee=Principal(pending.callee),
                method_name=pending.method_name,
                arg=bytes(pending.arg),
                cycles=pending.cycles,
                on_reply=Callback(*pending.on_reply),
                on_reject=Callback(*pending.on_reject),
                on_cleanup=Callback(*cleanup) if cleanup is not None else None,
                timeout_seconds=pending.timeout_seconds,
            )
        )
        return 0
