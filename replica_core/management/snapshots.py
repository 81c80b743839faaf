"""Canister snapshots: take, load, list and delete.

Spec: IC interface spec 0.66.0, The IC management canister › IC method
`take_canister_snapshot`, `load_canister_snapshot`, `list_canister_snapshots`,
`delete_canister_snapshot`; Abstract behavior › IC Management Canister: Take canister
snapshot / Load canister snapshot.

A snapshot holds what a canister would need to be restored: module, Wasm state (heap,
globals, stable memory), certified data, chunk store and global timer. Its id is the IC's
layout (impl, dfinity/ic `SnapshotId`): an 8-byte big-endian number local to the canister
followed by the canister id, so the id names its canister; messages print it in hex.
A canister keeps at most `MAX_SNAPSHOTS`; snapshots go with the canister when it is
deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from replica_core.canister import CanisterState, InstalledModule
from replica_core.errors import InvalidPrincipal, Reject
from replica_core.execution.interface import ExecutionState, Reply
from replica_core.management.common import (
    bump_version,
    controlled,
    controlled_change,
    opt,
    record_change,
    reply,
    target,
)
from replica_core.management.install import uninstall
from replica_core.management.rejects import ErrorCode, help_suffix, invalid_controller, user_error
from replica_core.management_context import ManagementContext
from replica_core.principal import Principal

__all__ = [
    "MAX_SNAPSHOTS",
    "CanisterSnapshot",
    "delete_canister_snapshot",
    "list_canister_snapshots",
    "load_canister_snapshot",
    "snapshot_canister_id",
    "take_canister_snapshot",
]

MAX_SNAPSHOTS = 10
"""Snapshots per canister (resource-limits.md: `MAX_SNAPSHOTS`)."""


@dataclass(frozen=True, slots=True)
class CanisterSnapshot:
    """A canister's code and state at one moment (spec: `Snapshot`)."""

    snapshot_id: bytes
    taken_at_timestamp: int
    canister_version: int
    module: InstalledModule
    execution: ExecutionState
    certified_data: bytes
    chunk_store: tuple[tuple[bytes, bytes], ...]
    global_timer: int
    source: str = "taken_from_canister"

    @property
    def total_size(self) -> int:
        """Bytes the snapshot occupies (memories, module, globals, chunks, certified data)."""
        return (
            len(self.execution.heap)
            + len(self.execution.stable_memory)
            + 8 * len(self.execution.globals)
            + len(self.module.wasm)
            + len(self.certified_data)
            + sum(len(chunk) for _, chunk in self.chunk_store)
        )

    def candid(self) -> dict[str, object]:
        """The Candid `snapshot` record."""
        return {
            "id": self.snapshot_id,
            "taken_at_timestamp": self.taken_at_timestamp,
            "total_size": self.total_size,
        }


def snapshot_canister_id(snapshot_id: bytes) -> Principal | None:
    """The canister a snapshot id belongs to, or None if the id is malformed."""
    if len(snapshot_id) < 8:
        return None
    try:
        return Principal(snapshot_id[8:])
    except InvalidPrincipal:
        return None


def _not_found(canister_id: Principal, snapshot_id: bytes) -> Reject:
    return user_error(
        ErrorCode.CANISTER_SNAPSHOT_NOT_FOUND,
        f"Could not find the snapshot ID {snapshot_id.hex()} for canister "
        f"{canister_id.to_text()}."
        + help_suffix(
            "Use the `list_canister_snapshot` API to see which snapshots are present.",
            "canister-snapshot-not-found",
        ),
    )


def _owned(canister: CanisterState, snapshot_id: bytes) -> CanisterSnapshot | Reject:
    """The canister's snapshot `snapshot_id` (ownership, then existence, as the IC checks)."""
    canister_id = canister.canister_id
    if snapshot_canister_id(snapshot_id) != canister_id:
        return user_error(
            ErrorCode.CANISTER_REJECTED_MESSAGE,
            f"The snapshot {snapshot_id.hex()} does not belong to canister "
            f"{canister_id.to_text()}."
            + help_suffix(
                "Use the `list_canister_snapshot` API to see which snapshots are present.",
                "canister-snapshot-invalid-ownership",
            ),
        )
    snapshot = canister.snapshots.get(snapshot_id)
    if not isinstance(snapshot, CanisterSnapshot):
        return _not_found(canister_id, snapshot_id)
    return snapshot


def take_canister_snapshot(
    ctx: ManagementContext, args: dict[str, Any], caller: Principal, cycles: int
) -> Reply | Reject:
    """Save the canister's code and state; optionally replace a snapshot, then uninstall."""
    canister_id: Principal = args["canister_id"]
    canister = controlled_change(ctx, args, caller)
    if isinstance(canister, Reject):
        return canister
    replace = opt(args.get("replace_snapshot", []))
    if replace is not None:
        replaced = _owned(canister, replace)
        if isinstance(replaced, Reject):
            return replaced
    elif len(canister.snapshots) >= MAX_SNAPSHOTS:
        return user_error(
            ErrorCode.CANISTER_REJECTED_MESSAGE,
            f"Canister {canister_id.to_text()} has reached the maximum number of snapshots "
            f"allowed: {MAX_SNAPSHOTS}."
            + help_suffix(
                "Consider deleting an unnecessary snapshot of the specified canister before "
                "creating a new one.",
                "canister-snapshot-limit-exceeded",
            ),
        )
    if canister.module is None or canister.execution is None:
        return user_error(
            ErrorCode.CANISTER_REJECTED_MESSAGE,
            f"Failed to create snapshot for empty canister {canister_id.to_text()}:",
        )
    snapshot_id = canister.next_snapshot_id.to_bytes(8, "big") + canister_id.raw
    canister.next_snapshot_id += 1
    snapshot = CanisterSnapshot(
        snapshot_id=snapshot_id,
        taken_at_timestamp=ctx.time,
        canister_version=canister.version,
        module=canister.module,
        execution=canister.execution,
        certified_data=canister.certified_data,
        chunk_store=tuple(sorted(canister.chunk_store.items())),
        global_timer=canister.global_timer,
    )
    if replace is not None:
        del canister.snapshots[replace]
    canister.snapshots[snapshot_id] = snapshot
    if opt(args.get("uninstall_code", [])):
        uninstall(ctx, canister, caller, args)
    return reply("take_canister_snapshot", snapshot.candid())


def load_canister_snapshot(
    ctx: ManagementContext, args: dict[str, Any], caller: Principal, cycles: int
) -> Reply | Reject:
    """Restore a snapshot of this canister, or of another canister the caller also controls."""
    canister_id: Principal = args["canister_id"]
    canister = controlled_change(ctx, args, caller)
    if isinstance(canister, Reject):
        return canister
    snapshot_id: bytes = args["snapshot_id"]
    source_id = snapshot_canister_id(snapshot_id)
    if source_id is None:
        return _not_found(canister_id, snapshot_id)
    source = canister if source_id == canister_id else ctx.get_canister(source_id)
    if source is None:
        return _not_found(canister_id, snapshot_id)
    if source is not canister and not source.is_controller(caller):
        return user_error(
            ErrorCode.CANISTER_REJECTED_MESSAGE,
            f"Only a controller of the canister that snapshot {snapshot_id.hex()} belongs to "
            f"can load it on canister {canister_id.to_text()}. Sender: {caller.to_text()}."
            + help_suffix(
                "Execute this call from a controller of the target canister or add the "
                "current caller as a controller.",
                "invalid-controller",
            ),
        )
    snapshot = _owned(source, snapshot_id)
    if isinstance(snapshot, Reject):
        return snapshot
    canister.module = snapshot.module
    canister.execution = snapshot.execution
    canister.certified_data = snapshot.certified_data
    canister.chunk_store = dict(snapshot.chunk_store)
    canister.global_timer = snapshot.global_timer
    bump_version(canister)
    record_change(
        ctx,
        canister,
        caller,
        args,
        {
            "load_snapshot": {
                "from_canister_id": [] if source is canister else [source_id],
                "snapshot_id": snapshot_id,
                "canister_version": snapshot.canister_version,
                "taken_at_timestamp": snapshot.taken_at_timestamp,
                "source": {snapshot.source: None},
            }
        },
    )
    return reply("load_canister_snapshot")


def list_canister_snapshots(
    ctx: ManagementContext, args: dict[str, Any], caller: Principal, cycles: int
) -> Reply | Reject:
    """The canister's snapshots, for whoever `snapshot_visibility` admits."""
    canister_id: Principal = args["canister_id"]
    canister = target(ctx, canister_id)
    if isinstance(canister, Reject):
        return canister
    if not canister.settings.snapshot_visibility.allows(caller, canister.controllers):
        return invalid_controller(canister_id, canister.controllers, caller)
    snapshots = [
        s.candid() for _, s in sorted(canister.snapshots.items()) if isinstance(s, CanisterSnapshot)
    ]
    return reply("list_canister_snapshots", snapshots)


def delete_canister_snapshot(
    ctx: ManagementContext, args: dict[str, Any], caller: Principal, cycles: int
) -> Reply | Reject:
    """Delete one of the canister's snapshots."""
    canister = controlled(ctx, args["canister_id"], caller)
    if isinstance(canister, Reject):
        return canister
    snapshot = _owned(canister, args["snapshot_id"])
    if isinstance(snapshot, Reject):
        return snapshot
    del canister.snapshots[snapshot.snapshot_id]
    return reply("delete_canister_snapshot")
