"""The store: where the replicated state of the subnet lives between rounds.

Spec: IC interface spec 0.66.0, Abstract behavior › Abstract state (`S`: canisters and their
system state, call contexts, messages, ingress history, system time) — stored per record.

The scheduler works on a round-level working copy of the state and hands the store one
`RoundDelta` per round; `commit` applies it atomically (all of it or nothing). Execution
code never sees the store, so a durable implementation (next issue: SQL) plugs in behind
this protocol without touching it. The in-memory implementation is `store/memory.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from replica_core.call_context import CallContextManager
from replica_core.canister import CanisterState
from replica_core.ingress_history import IngressStatus
from replica_core.messages import Message
from replica_core.principal import Principal
from replica_core.types import RequestId

__all__ = ["CertifiedState", "RoundDelta", "Store", "SubnetMetadata"]


@dataclass(frozen=True, slots=True)
class SubnetMetadata:
    """Subnet-wide scalars of the replicated state."""

    height: int = 0  # rounds executed
    time: int = 0  # ns, the last round's time
    next_canister_index: int = 0  # next id handed out from the canister range
    last_allocation_charge: int = 0  # ns, when storage/compute fees were last charged
    consumed_cycles_total: int = 0  # /subnet/<sid>/metrics
    update_transactions_total: int = 0


@dataclass(frozen=True, slots=True)
class CertifiedState:
    """What was certified after a round: its height, time, root hash and signature."""

    height: int
    time: int
    root_hash: bytes
    signature: bytes


@dataclass(slots=True)
class RoundDelta:
    """Everything one round changed; committed as one transaction."""

    metadata: SubnetMetadata
    canisters: dict[Principal, CanisterState] = field(default_factory=dict)
    deleted_canisters: set[Principal] = field(default_factory=set)
    call_contexts: dict[Principal, CallContextManager] = field(default_factory=dict)
    ingress: dict[RequestId, IngressStatus | None] = field(default_factory=dict)  # None: pruned
    queue: list[Message] | None = None  # the whole message queue if it changed
    stop_waiters: dict[Principal, list[object]] | None = None
    certified: CertifiedState | None = None


class Store(Protocol):
    """Get and put the replicated state's records; `commit` is the only writer."""

    def get_metadata(self) -> SubnetMetadata:
        """The subnet's scalars (the defaults for a fresh store)."""
        ...

    def canister_ids(self) -> list[Principal]:
        """All canisters, in principal order."""
        ...

    def get_canister(self, canister_id: Principal) -> CanisterState | None:
        """A private copy of the canister's state (changing it does not change the store)."""
        ...

    def get_call_contexts(self, canister_id: Principal) -> CallContextManager | None: ...

    def ingress_history(self) -> dict[RequestId, IngressStatus]:
        """The whole ingress history (a copy)."""
        ...

    def get_ingress(self, request_id: RequestId) -> IngressStatus | None: ...

    def get_queue(self) -> list[Message]: ...

    def get_stop_waiters(self) -> dict[Principal, list[object]]: ...

    def get_certified(self) -> CertifiedState | None: ...

    def commit(self, delta: RoundDelta) -> None:
        """Apply a round's changes atomically."""
        ...
