"""Induction: admitting an ingress message into the round's queue and charging its fee.

Spec: IC interface spec 0.66.0, Abstract behavior › Request submission (induction: a
duplicate or expired message is ignored, a refused one is recorded as rejected); the
management canister's ingress filter and the IC's `IngressInductionCost` (impl).
"""

from __future__ import annotations

from replica_core import error_codes
from replica_core.canister import CanisterState, CanisterStatus
from replica_core.cycles import freezing_limit
from replica_core.error_codes import ErrorCode
from replica_core.errors import Reject
from replica_core.messages import Ingress
from replica_core.replicated_state import ReplicatedState
from replica_core.round.base import SchedulerBase

__all__ = ["Induction"]

_FREE_MANAGEMENT_INGRESS = frozenset(
    {"provisional_create_canister_with_cycles", "provisional_top_up_canister"}
)
"""Management methods whose ingress induction nobody pays for (the IC's `IngressInductionCost`)."""


class Induction(SchedulerBase):
    """Checks, charges and queues the batch's ingress messages."""

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
            return self._induction_unaffordable(payer, ingress)
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
        return self._induction_unaffordable(canister, ingress)

    def _induction_unaffordable(self, payer: CanisterState, ingress: Ingress) -> Reject | None:
        """The out-of-cycles reject if the payer cannot pay the induction fee and stay above
        its freezing threshold."""
        cost = self.fees.ingress_induction_cost(ingress.size)
        threshold = freezing_limit(payer, self.fees)
        if payer.balance < cost + threshold:
            return error_codes.out_of_cycles(payer.canister_id, payer.balance, cost, threshold)
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
            cost = self.fees.ingress_induction_cost(ingress.size)
            canister.balance -= cost
            self._consumed(state, cost)
            state.touch(canister.canister_id)
        state.queue.push(ingress)
