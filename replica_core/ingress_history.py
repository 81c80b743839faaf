"""The ingress history: the status of every user call the subnet knows about.

Spec: IC interface spec 0.66.0, HTTPS interface › Request status (`received` →
`processing` → `replied` | `rejected` → `done`, plus `received` → `rejected`), Abstract
behavior › Request submission and Call message execution; certified under
`/request_status/<request_id>`.

Pruning (impl): a terminal status (`replied`/`rejected`) is kept at least until the
call's `ingress_expiry` (replay protection, spec: "a call's status is not pruned before
its expiry"); after that it becomes `done` (the reply is forgotten), and a `done` entry
is dropped `PURGE_DELAY_NS` later, when no authentic copy of the call can still be
submitted (expiry + 5 minutes > any accepted `ingress_expiry`).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field, replace
from enum import Enum

from replica_core.errors import Reject
from replica_core.principal import Principal
from replica_core.types import RequestId

__all__ = [
    "PURGE_DELAY_NS",
    "IngressHistory",
    "IngressState",
    "IngressStatus",
]

PURGE_DELAY_NS = 5 * 60 * 1_000_000_000
"""How long a `done` entry outlives its expiry (resource-limits.md: max ingress TTL 5 min)."""


class IngressState(Enum):
    """The status names of `/request_status/<rid>/status`."""

    RECEIVED = "received"
    PROCESSING = "processing"
    REPLIED = "replied"
    REJECTED = "rejected"
    DONE = "done"

    @property
    def is_terminal(self) -> bool:
        """Replied, rejected or done: `wait` returns on these."""
        return self in (IngressState.REPLIED, IngressState.REJECTED, IngressState.DONE)


@dataclass(frozen=True, slots=True)
class IngressStatus:
    """One ingress history entry: state, its payload, and who may read it."""

    state: IngressState
    sender: Principal
    receiver: Principal  # canister id, or the effective canister id of a management call
    ingress_expiry: int
    time: int  # when this status was set
    reply: bytes | None = None
    reject: Reject | None = None


@dataclass(slots=True)
class IngressHistory:
    """Request id → status, changed only by the scheduler during a round."""

    entries: dict[RequestId, IngressStatus] = field(default_factory=dict)
    dirty: set[RequestId] = field(default_factory=set)  # changed since the last certification
    # (impl) when each entry next needs `prune`'s attention — (time, rid), stale ones
    # skipped — so a round's pruning costs O(expired log n), not a scan of the history
    _deadlines: list[tuple[int, RequestId]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for rid, status in self.entries.items():
            self._schedule(rid, status)

    def _schedule(self, rid: RequestId, status: IngressStatus) -> None:
        if status.state is IngressState.DONE:
            heapq.heappush(self._deadlines, (status.ingress_expiry + PURGE_DELAY_NS, rid))
        elif status.state.is_terminal:
            heapq.heappush(self._deadlines, (status.ingress_expiry, rid))

    def get(self, rid: RequestId) -> IngressStatus | None:
        return self.entries.get(rid)

    def __contains__(self, rid: object) -> bool:
        return rid in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def set(self, rid: RequestId, status: IngressStatus) -> None:
        self.entries[rid] = status
        self.dirty.add(rid)
        self._schedule(rid, status)

    def received(
        self, rid: RequestId, sender: Principal, receiver: Principal, expiry: int, time: int
    ) -> None:
        self.set(rid, IngressStatus(IngressState.RECEIVED, sender, receiver, expiry, time))

    def processing(self, rid: RequestId, time: int) -> None:
        entry = self.entries[rid]
        if entry.state is IngressState.RECEIVED:
            self.set(rid, replace(entry, state=IngressState.PROCESSING, time=time))

    def replied(self, rid: RequestId, payload: bytes, time: int) -> None:
        entry = self.entries[rid]
        self.set(rid, replace(entry, state=IngressState.REPLIED, reply=payload, time=time))

    def rejected(self, rid: RequestId, reject: Reject, time: int) -> None:
        entry = self.entries[rid]
        self.set(rid, replace(entry, state=IngressState.REJECTED, reject=reject, time=time))

    def prune(self, now: int) -> list[RequestId]:
        """Expire terminal entries to `done` and drop old `done` ones; returns dropped ids.

        Entries still `received`/`processing` past expiry are left alone: the call is
        being executed and will reach a terminal state (impl).
        """
        dropped: list[RequestId] = []
        deadlines, due = self._deadlines, []
        while deadlines and deadlines[0][0] < now:
            due.append(heapq.heappop(deadlines)[1])
        for rid in due:
            entry = self.entries.get(rid)
            if entry is None:
                continue
            if entry.state is IngressState.DONE:
                if now > entry.ingress_expiry + PURGE_DELAY_NS:
                    del self.entries[rid]
                    self.dirty.add(rid)
                    dropped.append(rid)
            elif entry.state.is_terminal and now > entry.ingress_expiry:
                self.set(
                    rid,
                    IngressStatus(
                        IngressState.DONE, entry.sender, entry.receiver, entry.ingress_expiry, now
                    ),
                )
        return dropped

    def take_dirty(self) -> set[RequestId]:
        dirty, self.dirty = self.dirty, set()
        return dirty
