"""Storage of the replicated state: the `Store` protocol and its implementations.

Spec: IC interface spec 0.66.0, Abstract behavior › Abstract state.
"""

from __future__ import annotations

from replica_core.store.interface import CertifiedState, RoundDelta, Store, SubnetMetadata
from replica_core.store.memory import MemoryStore, copy_canister

__all__ = [
    "CertifiedState",
    "MemoryStore",
    "RoundDelta",
    "Store",
    "SubnetMetadata",
    "copy_canister",
]
