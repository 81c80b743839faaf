"""Calls to the management canister `aaaaa-aa` inside a round, and the round's randomness.

Spec: IC interface spec 0.66.0, The IC management canister (methods dispatched through
`replica_core.management`), `raw_rand`. A method runs against a `RoundManagementContext`:
a reject or an exception rolls its changes back, unaccepted cycles are refunded, and a
`Deferred` result (`stop_canister`) waits for the canister to stop (`stopping.py`).
"""

from __future__ import annotations

import hashlib

from replica_core import error_codes
from replica_core.call_context import CallOrigin
from replica_core.error_codes import ErrorCode
from replica_core.errors import Reject
from replica_core.management_context import Deferred
from replica_core.messages import Ingress, Request
from replica_core.replicated_state import ReplicatedState, StopWaiter
from replica_core.round.call_routing import CallRouting

__all__ = ["ManagementCalls"]


class ManagementCalls(CallRouting):
    """Dispatches a queued call to `aaaaa-aa` and routes its result."""

    def random_bytes(self, n: int) -> bytes:
        """Deterministic bytes from the round's randomness (raw_rand, impl: SHA-256 chain)."""
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
