"""The Wasm chunk store: upload_chunk, stored_chunks, clear_chunk_store.

Spec: IC interface spec 0.66.0, The IC management canister › IC method `upload_chunk`,
`clear_chunk_store`, `stored_chunks`; Abstract behavior › IC Management Canister: Upload
Chunk / Clear chunk store / List stored chunks.

Chunks are at most 1 MiB and keyed by their SHA-256; the store holds at most
`CHUNK_STORE_SIZE` chunks (the IC's 100 MiB store of 1 MiB slots). Controllers and the
canister itself may use its store. `install_chunked_code` (install.py) reads it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from replica_core.canister import CanisterState
from replica_core.errors import Reject
from replica_core.execution.interface import Reply
from replica_core.management.common import reply, target
from replica_core.management.install import chunk_store_error
from replica_core.management.rejects import invalid_controller
from replica_core.management.settings import CHUNK_SIZE
from replica_core.management_context import ManagementContext
from replica_core.principal import Principal

__all__ = [
    "CHUNK_STORE_SIZE",
    "WASM_CHUNK_STORE_MAX_SIZE",
    "clear_chunk_store",
    "stored_chunks",
    "upload_chunk",
]

WASM_CHUNK_STORE_MAX_SIZE = 100 * 1024 * 1024
"""Capacity of a chunk store in bytes (dfinity/ic `WASM_CHUNK_STORE_MAX_SIZE`, 100 MiB)."""

CHUNK_STORE_SIZE = WASM_CHUNK_STORE_MAX_SIZE // CHUNK_SIZE
"""At most 100 chunks per store (spec: `CHUNK_STORE_SIZE`)."""


def _own_store(
    ctx: ManagementContext, canister_id: Principal, caller: Principal
) -> CanisterState | Reject:
    """The canister, if the caller is one of its controllers or the canister itself."""
    canister = target(ctx, canister_id)
    if isinstance(canister, Reject):
        return canister
    if caller != canister_id and not canister.is_controller(caller):
        return invalid_controller(canister_id, canister.controllers, caller)
    return canister


def upload_chunk(
    ctx: ManagementContext, args: dict[str, Any], caller: Principal, cycles: int
) -> Reply | Reject:
    """Store a chunk (≤ 1 MiB) and return its SHA-256; storing a known chunk changes nothing."""
    canister = _own_store(ctx, args["canister_id"], caller)
    if isinstance(canister, Reject):
        return canister
    chunk: bytes = args["chunk"]
    digest = hashlib.sha256(chunk).digest()
    if digest not in canister.chunk_store:
        if len(chunk) > CHUNK_SIZE:
            return chunk_store_error(
                f"Wasm chunk size {len(chunk)} exceeds the maximum chunk size of {CHUNK_SIZE}"
            )
        if len(canister.chunk_store) >= CHUNK_STORE_SIZE:
            return chunk_store_error(
                "Wasm chunk store has already reached maximum capacity of "
                f"{WASM_CHUNK_STORE_MAX_SIZE} bytes or the maximum number of entries, "
                f"{CHUNK_STORE_SIZE}"
            )
        canister.chunk_store[digest] = bytes(chunk)
    return reply("upload_chunk", {"hash": digest})


def stored_chunks(
    ctx: ManagementContext, args: dict[str, Any], caller: Principal, cycles: int
) -> Reply | Reject:
    """The hashes of the stored chunks, in hash order."""
    canister = _own_store(ctx, args["canister_id"], caller)
    if isinstance(canister, Reject):
        return canister
    return reply("stored_chunks", [{"hash": h} for h in sorted(canister.chunk_store)])


def clear_chunk_store(
    ctx: ManagementContext, args: dict[str, Any], caller: Principal, cycles: int
) -> Reply | Reject:
    """Remove every chunk."""
    canister = _own_store(ctx, args["canister_id"], caller)
    if isinstance(canister, Reject):
        return canister
    canister.chunk_store.clear()
    return reply("clear_chunk_store")
