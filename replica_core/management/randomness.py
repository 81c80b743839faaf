"""`raw_rand`: 32 fresh random bytes for a calling canister.

Spec: IC interface spec 0.66.0, The IC management canister › IC method `raw_rand`;
Abstract behavior › IC Management Canister: Random numbers.

The bytes come from the round's randomness (`ctx.random_bytes`, seeded per batch), never
from the host's generator, so replaying the same batches replays the same answers.
"""

from __future__ import annotations

from typing import Any

from replica_core.errors import Reject
from replica_core.execution.interface import Reply
from replica_core.management.common import reply
from replica_core.management_context import ManagementContext
from replica_core.principal import Principal

__all__ = ["RAW_RAND_BYTES", "raw_rand"]

RAW_RAND_BYTES = 32
"""`raw_rand` returns 32 bytes (spec)."""


def raw_rand(ctx: ManagementContext, args: Any, caller: Principal, cycles: int) -> Reply | Reject:
    """32 bytes of the round's randomness, fresh for each call."""
    return reply("raw_rand", ctx.random_bytes(RAW_RAND_BYTES))
