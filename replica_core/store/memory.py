"""The in-memory store: the `Store` protocol over dictionaries.

Spec: IC interface spec 0.66.0, Abstract behavior › Abstract state (see `store/interface.py`).

Records are copied on the way in and out, so the working copy of a round and the committed
state never share mutable objects (canister Wasm state is immutable bytes and is shared).
"""

from __future__ import annotations

import copy
import dataclasses

from replica_core.call_context import CallContextManager
from replica_core.canister import CanisterState
from replica_core.ingress_history import IngressStatus
from replica_core.messages import Message
from replica_core.principal import Principal
from replica_core.store.interface import CertifiedState, RoundDelta, SubnetMetadata
from replica_core.types import RequestId

__all__ = ["MemoryStore", "copy_canister"]


def copy_canister(state: CanisterState) -> CanisterState:
    """A copy sharing only immutable parts (settings, module, Wasm state, log records)."""
    return dataclasses.replace(
        state,
        history=list(state.history),
        logs=list(state.logs),
        chunk_store=dict(state.chunk_store),
        snapshots=dict(state.snapshots),
    )


class MemoryStore:
    """Keeps the committed state in dictionaries; lost when the process ends."""

    def __init__(self) -> None:
        self._metadata = SubnetMetadata()
        self._canisters: dict[Principal, CanisterState] = {}
        self._call_contexts: dict[Principal, CallContextManager] = {}
        self._ingress: dict[RequestId, IngressStatus] = {}
        self._queue: list[Message] = []
        self._stop_waiters: dict[Principal, list[object]] = {}
        self._certified: CertifiedState | None = None
        self.commits = 0

    def get_metadata(self) -> SubnetMetadata:
        return self._metadata

    def canister_ids(self) -> list[Principal]:
        return sorted(self._canisters)

    def get_canister(self, canister_id: Principal) -> CanisterState | None:
        state = self._canisters.get(canister_id)
        return None if state is None else copy_canister(state)

    def get_call_contexts(self, canister_id: Principal) -> CallContextManager | None:
        manager = self._call_contexts.get(canister_id)
        return None if manager is None else copy.deepcopy(manager)

    def ingress_history(self) -> dict[RequestId, IngressStatus]:
        return dict(self._ingress)

    def get_ingress(self, request_id: RequestId) -> IngressStatus | None:
        return self._ingress.get(request_id)

    def get_queue(self) -> list[Message]:
        return list(self._queue)

    def get_stop_waiters(self) -> dict[Principal, list[object]]:
        return {k: list(v) for k, v in self._stop_waiters.items()}

    def get_certified(self) -> CertifiedState | None:
        return self._certified

    def commit(self, delta: RoundDelta) -> None:
        # Copy everything first, then swap in: a failure while copying leaves the store as it was.
        canisters = {cid: copy_canister(s) for cid, s in delta.canisters.items()}
        contexts = {cid: copy.deepcopy(m) for cid, m in delta.call_contexts.items()}
        self._metadata = delta.metadata
        self._canisters.update(canisters)
        self._call_contexts.update(contexts)
        for cid in delta.deleted_canisters:
            self._canisters.pop(cid, None)
            self._call_contexts.pop(cid, None)
        for rid, status in delta.ingress.items():
            if status is None:
                self._ingress.pop(rid, None)
            else:
                self._ingress[rid] = status
        if delta.queue is not None:
            self._queue = list(delta.queue)
        if delta.stop_waiters is not None:
            self._stop_waiters = {k: list(v) for k, v in delta.stop_waiters.items()}
        if delta.certified is not None:
            self._certified = delta.certified
        self.commits += 1
