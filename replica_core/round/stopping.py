"""Canister stopping: a stopping canister stops once it has no open call contexts.

Spec: IC interface spec 0.66.0, Abstract behavior › Canister stopping (`stop_canister`
replies `()` once the canister is stopped); a `stop_canister` call that waited
`STOP_CANISTER_TIMEOUT_NS` is rejected with IC0206 and the canister stays stopping (impl,
as the IC).
"""

from __future__ import annotations

from replica_core import error_codes
from replica_core.canister import CanisterStatus
from replica_core.error_codes import ErrorCode
from replica_core.execution.interface import Reply
from replica_core.principal import Principal
from replica_core.replicated_state import ReplicatedState
from replica_core.round.call_routing import CallRouting

__all__ = ["EMPTY_CANDID_REPLY", "STOP_CANISTER_TIMEOUT_NS", "CanisterStopping"]

EMPTY_CANDID_REPLY = b"DIDL\x00\x00"
"""Candid `()`: the reply of `stop_canister` when the canister has stopped."""

STOP_CANISTER_TIMEOUT_NS = 5 * 60 * 1_000_000_000
"""A pending `stop_canister` call is rejected after 5 minutes (dfinity/ic
`STOP_CANISTER_TIMEOUT_DURATION`)."""


class CanisterStopping(CallRouting):
    """Stops canisters at the end of a round and answers the waiting `stop_canister` calls."""

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
