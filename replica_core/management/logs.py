"""Canister logs: keeping them (4 KiB, oldest evicted) and `fetch_canister_logs`.

Spec: IC interface spec 0.66.0, The IC management canister › IC method
`fetch_canister_logs`; Abstract behavior › canister logs (`CanisterLog` records with
consecutive `idx`, kept across upgrades, cleared on reinstall and uninstall).

`CanisterState.logs` holds the retained `LogRecord`s oldest first and `next_log_idx` the
index the next record gets, so the record at position `i` has index
`next_log_idx - len(logs) + i` (impl). `append_logs` is the one place records are added,
by the scheduler after replicated executions and by `install_code`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from replica_core.canister import CanisterState
from replica_core.errors import Reject
from replica_core.execution.interface import LogRecord, Reply
from replica_core.management.common import reply, target
from replica_core.management.rejects import ErrorCode, user_error
from replica_core.management_context import ManagementContext
from replica_core.principal import Principal

__all__ = ["MAX_LOG_BYTES", "append_logs", "clear_logs", "fetch_canister_logs", "log_records"]

MAX_LOG_BYTES = 4 * 1024
"""Canister logs keep at most 4 KiB of content; the oldest records are evicted first."""


def append_logs(canister: CanisterState, records: Iterable[LogRecord]) -> None:
    """Add records with consecutive indices, then evict the oldest beyond `MAX_LOG_BYTES`.

    A single record longer than the limit is truncated to its first `MAX_LOG_BYTES` bytes.
    """
    added = False
    for record in records:
        if len(record.content) > MAX_LOG_BYTES:
            record = LogRecord(record.timestamp, record.content[:MAX_LOG_BYTES])
        canister.logs.append(record)
        canister.next_log_idx += 1
        added = True
    if not added:
        return
    total = sum(len(r.content) for r in canister.logs)
    drop = 0
    while total > MAX_LOG_BYTES:
        total -= len(canister.logs[drop].content)
        drop += 1
    if drop:
        del canister.logs[:drop]


def clear_logs(canister: CanisterState) -> None:
    """Forget all records (reinstall, uninstall); indices keep counting up (impl)."""
    canister.logs.clear()


def log_records(canister: CanisterState) -> list[dict[str, Any]]:
    """The retained records as Candid `canister_log_record`s, oldest first."""
    first = canister.next_log_idx - len(canister.logs)
    return [
        {"idx": first + i, "timestamp_nanos": r.timestamp, "content": r.content}
        for i, r in enumerate(canister.logs)
    ]


def fetch_canister_logs(
    ctx: ManagementContext, args: dict[str, Any], caller: Principal, cycles: int
) -> Reply | Reject:
    """The canister's retained logs, for whoever `log_visibility` admits (query only)."""
    if ctx.replicated:
        return user_error(
            ErrorCode.CANISTER_REJECTED_MESSAGE,
            "fetch_canister_logs API is only accessible in non-replicated mode",
        )
    canister_id: Principal = args["canister_id"]
    canister = target(ctx, canister_id)
    if isinstance(canister, Reject):
        return canister
    if not canister.settings.log_visibility.allows(caller, canister.controllers):
        return user_error(
            ErrorCode.CANISTER_REJECTED_MESSAGE,
            f"Caller {caller.to_text()} is not allowed to query ic00 method fetch_canister_logs",
        )
    return reply("fetch_canister_logs", {"canister_log_records": log_records(canister)})
