"""The working copy of the subnet's replicated state during rounds.

Spec: IC interface spec 0.66.0, Abstract behavior › Abstract state (`S.canisters`,
`S.call_contexts`, `S.messages`, `S.requests` (the ingress history), `S.system_time`).

Loaded once from the `Store`, changed only by the scheduler and the management canister
inside a round, and handed back to the store as one `RoundDelta` per round (`take_delta`).
Changed records are tracked (`touch`) so that the store writes and the state tree rehashes
only what a round changed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from replica_core.call_context import CallContextManager, CallOrigin
from replica_core.canister import CanisterState
from replica_core.ingress_history import IngressHistory
from replica_core.messages import MessageQueue
from replica_core.principal import Principal
from replica_core.store.interface import RoundDelta, Store, SubnetMetadata

__all__ = ["ReplicatedState", "StopWaiter"]


@dataclass(frozen=True, slots=True)
class StopWaiter:
    """A `stop_canister` call waiting for its canister to become stopped."""

    origin: CallOrigin
    refund: int = 0
    time: int = 0  # when the stop call was executed (it times out after 5 minutes)


@dataclass(slots=True)
class ReplicatedState:
    """All replicated state of the subnet, with the set of records changed this round."""

    metadata: SubnetMetadata = field(default_factory=SubnetMetadata)
    canisters: dict[Principal, CanisterState] = field(default_factory=dict)
    call_contexts: dict[Principal, CallContextManager] = field(default_factory=dict)
    queue: MessageQueue = field(default_factory=MessageQueue)
    ingress: IngressHistory = field(default_factory=IngressHistory)
    stop_waiters: dict[Principal, list[StopWaiter]] = field(default_factory=dict)
    dirty: set[Principal] = field(default_factory=set)
    deleted: set[Principal] = field(default_factory=set)

    @classmethod
    def load(cls, store: Store) -> ReplicatedState:
        state = cls(metadata=store.get_metadata())
        for cid in store.canister_ids():
            canister = store.get_canister(cid)
            assert canister is not None
            state.canisters[cid] = canister
            state.call_contexts[cid] = store.get_call_contexts(cid) or CallContextManager()
        state.queue = MessageQueue(store.get_queue())
        state.ingress = IngressHistory(store.ingress_history())
        state.stop_waiters = {
            cid: [w for w in ws if isinstance(w, StopWaiter)]
            for cid, ws in store.get_stop_waiters().items()
        }
        return state

    @property
    def time(self) -> int:
        return self.metadata.time

    def update_metadata(self, **changes: int) -> None:
        self.metadata = dataclasses.replace(self.metadata, **changes)

    def touch(self, canister_id: Principal) -> None:
        """Mark a canister (its state or call contexts) changed in this round."""
        self.dirty.add(canister_id)

    def contexts(self, canister_id: Principal) -> CallContextManager:
        manager = self.call_contexts.get(canister_id)
        if manager is None:
            manager = self.call_contexts[canister_id] = CallContextManager()
        return manager

    def add_canister(self, canister: CanisterState) -> None:
        self.canisters[canister.canister_id] = canister
        self.call_contexts[canister.canister_id] = CallContextManager()
        self.deleted.discard(canister.canister_id)
        self.touch(canister.canister_id)

    def remove_canister(self, canister_id: Principal) -> None:
        self.canisters.pop(canister_id, None)
        self.call_contexts.pop(canister_id, None)
        self.dirty.discard(canister_id)
        self.deleted.add(canister_id)

    def take_delta(self) -> tuple[RoundDelta, set[Principal], set[Principal]]:
        """The round's changes for the store, plus the changed and deleted canister ids."""
        dirty, deleted = self.dirty, self.deleted
        self.dirty, self.deleted = set(), set()
        rids = self.ingress.take_dirty()
        delta = RoundDelta(
            metadata=self.metadata,
            canisters={cid: self.canisters[cid] for cid in sorted(dirty)},
            deleted_canisters=set(deleted),
            call_contexts={cid: self.contexts(cid) for cid in sorted(dirty)},
            ingress={rid: self.ingress.get(rid) for rid in sorted(rids)},
            queue=list(self.queue),
            stop_waiters={cid: list(ws) for cid, ws in self.stop_waiters.items()},
        )
        return delta, dirty, deleted
