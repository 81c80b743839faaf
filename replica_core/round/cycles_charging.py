"""Cycles charging: execution prepaid and refunded, and the periodic allocation charge.

Spec: IC interface spec 0.66.0, Abstract behavior › Cycles (an execution prepays its
instruction limit and gets the unused part back), storage and compute allocation charges,
and a canister whose balances both reach 0 being uninstalled. Fee numbers come from
`cycles.py`'s `FeeTable`.
"""

from __future__ import annotations

from dataclasses import replace

from replica_core import error_codes
from replica_core.canister import CanisterState
from replica_core.cycles import freezing_limit, memory_usage
from replica_core.errors import Reject
from replica_core.principal import Principal
from replica_core.replicated_state import ReplicatedState
from replica_core.round.base import SchedulerBase

__all__ = ["CyclesCharging"]


class CyclesCharging(SchedulerBase):
    """Prepays and settles executions; charges allocations every charging period."""

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
