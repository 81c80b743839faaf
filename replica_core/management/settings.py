"""Canister settings and the read-only views: update_settings, canister_status, canister_info,
canister_metadata.

Spec: IC interface spec 0.66.0, The IC management canister › IC method `update_settings`,
`canister_status`, `canister_info`, `canister_metadata`, and › Canister settings; Abstract
behavior › IC Management Canister: Changing settings / Canister status / Canister information
/ Canister metadata.

Settings arrive as Candid `canister_settings` (every field `opt`); `parse_settings` checks
each field's range in the order the IC does (rs/execution_environment canister_settings.rs,
then canister_manager.rs) and returns the new definite `CanisterSettings`. Messages are the
IC's, including its quirks (the Wasm memory limit's message names 2^64-1 while the bound
checked is 2^48).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from replica_core.canister import (
    MAX_CONTROLLERS,
    CanisterSettings,
    CanisterState,
    Visibility,
)
from replica_core.cycles import idle_cycles_burned_per_day
from replica_core.errors import Reject
from replica_core.execution.interface import Reply
from replica_core.execution.validation import InvalidModule, validate_module
from replica_core.management.common import (
    bump_version,
    controlled_change,
    opt,
    record_change,
    reply,
    target,
)
from replica_core.management.logs import MAX_LOG_BYTES
from replica_core.management.rejects import (
    RESERVED_CYCLES_LIMIT_IS_TOO_LOW,
    ErrorCode,
    help_suffix,
    invalid_controller,
    invalid_settings,
    user_error,
)
from replica_core.management_context import ManagementContext
from replica_core.principal import Principal

__all__ = [
    "CHUNK_SIZE",
    "MAX_ALLOWED_VIEWERS",
    "MAX_ENVIRONMENT_VARIABLES",
    "MAX_ENVIRONMENT_VARIABLE_NAME_LENGTH",
    "MAX_ENVIRONMENT_VARIABLE_VALUE_LENGTH",
    "MAX_WASM_MEMORY_LIMIT",
    "canister_info",
    "canister_metadata",
    "canister_status",
    "definite_settings",
    "memory_metrics",
    "parse_settings",
    "update_settings",
    "visibility_to_candid",
]

MAX_WASM_MEMORY_LIMIT = 1 << 48  # spec: wasm_memory_limit in 0..2^48
MAX_ENVIRONMENT_VARIABLES = 20  # dfinity/ic rs/config execution_environment.rs
MAX_ENVIRONMENT_VARIABLE_NAME_LENGTH = 128  # same source
MAX_ENVIRONMENT_VARIABLE_VALUE_LENGTH = 128  # same source
MAX_ALLOWED_VIEWERS = 10  # spec: allowed_viewers of log/snapshot/status visibility, ≤ 10
CHUNK_SIZE = 1024 * 1024  # spec: upload_chunk, chunks ≤ 1 MiB, each billed as 1 MiB
_U64 = (1 << 64) - 1
_U128 = (1 << 128) - 1


_BOUNDED_SETTINGS: tuple[tuple[str, int, str], ...] = (
    ("compute_allocation", 100, "ComputeAllocation expected to be in the range [0..100], got "),
    (
        "memory_allocation",
        _U64,
        f"MemoryAllocation expected to be in the range [0..{_U64}], got ",
    ),
    (
        "freezing_threshold",
        _U64,
        "Freezing threshold expected to be in the range of [0..2^64-1], got ",
    ),
    (
        "reserved_cycles_limit",
        _U128,
        "Reserved cycles limit expected to be in the range of [0..2^128-1], got ",
    ),
    (
        "minimum_incoming_canister_call_cycles",
        _U128,
        "Minimum incoming canister call cycles expected to be in the range of [0..2^128-1], got ",
    ),
    (
        "wasm_memory_limit",
        MAX_WASM_MEMORY_LIMIT,
        "Wasm memory limit expected to be in the range of [0..2^64-1], got ",
    ),
    (
        "wasm_memory_threshold",
        _U64,
        "Wasm memory threshold expected to be in the range of [0..2^64-1], got ",
    ),
)
"""The numeric settings, in the IC's checking order: field, largest allowed value, and the
start of the IC's contract-violation message (the value follows, printed as a `nat`)."""


def _nat(n: int) -> str:
    """How the IC prints a Candid `nat` in messages (`1_000`)."""
    return f"{n:_}"


def _contract(message: str) -> Reject:
    return user_error(ErrorCode.CANISTER_CONTRACT_VIOLATION, message)


def _visibility(raw: Mapping[str, Any]) -> Visibility | Reject:
    ((kind, value),) = raw.items()
    if kind != "allowed_viewers":
        return Visibility(kind)
    viewers = tuple(value)
    if len(viewers) > MAX_ALLOWED_VIEWERS:
        return invalid_settings(
            "Invalid settings: 'allowed_viewers' length exceeds maximum size allowed of "
            f"{MAX_ALLOWED_VIEWERS}."
        )
    return Visibility(kind, viewers)


def visibility_to_candid(v: Visibility) -> dict[str, object]:
    """A `Visibility` as the Candid `log_visibility`/`status_visibility` variant."""
    if v.kind == "allowed_viewers":
        return {"allowed_viewers": list(v.allowed_viewers)}
    return {v.kind: None}


def parse_settings(
    raw: Mapping[str, Any], current: CanisterSettings, reserved_balance: int = 0
) -> CanisterSettings | Reject:
    """Apply a Candid `canister_settings` to `current`: omitted fields stay unchanged."""
    changes: dict[str, object] = {}
    for field, bound, message in _BOUNDED_SETTINGS:
        value = opt(raw.get(field, []))
        if value is not None:
            if value > bound:
                return _contract(message + _nat(value))
            changes[field] = value
    env = opt(raw.get("environment_variables", []))
    if env is not None:
        pairs = [(e["name"], e["value"]) for e in env]
        names = {name for name, _ in pairs}
        if len(names) != len(pairs):
            return user_error(
                ErrorCode.INVALID_MANAGEMENT_PAYLOAD,
                "Duplicate environment variables are not allowed",
            )
        if len(pairs) > MAX_ENVIRONMENT_VARIABLES:
            return user_error(
                ErrorCode.INVALID_MANAGEMENT_PAYLOAD,
                f"Too many environment variables: {len(pairs)} (max: {MAX_ENVIRONMENT_VARIABLES})",
            )
        for name, value in sorted(pairs):
            if len(name.encode()) > MAX_ENVIRONMENT_VARIABLE_NAME_LENGTH:
                return user_error(
                    ErrorCode.INVALID_MANAGEMENT_PAYLOAD,
                    f'Environment variable name "{name}" exceeds the maximum allowed length '
                    f"of {MAX_ENVIRONMENT_VARIABLE_NAME_LENGTH}.",
                )
            if len(value.encode()) > MAX_ENVIRONMENT_VARIABLE_VALUE_LENGTH:
                return user_error(
                    ErrorCode.INVALID_MANAGEMENT_PAYLOAD,
                    f'Environment variable value "{value}" exceeds the maximum allowed '
                    f"length of {MAX_ENVIRONMENT_VARIABLE_VALUE_LENGTH}.",
                )
        changes["environment_variables"] = tuple(sorted(pairs))
    controllers = opt(raw.get("controllers", []))
    if controllers is not None:
        if len(controllers) > MAX_CONTROLLERS:
            return invalid_settings(
                "Invalid settings: 'controllers' length exceeds maximum size allowed of "
                f"{MAX_CONTROLLERS}."
            )
        # The IC keeps controllers as a set: duplicates collapse, order is principal order.
        changes["controllers"] = tuple(sorted(set(controllers)))
    for field in ("log_visibility", "snapshot_visibility", "status_visibility"):
        value = opt(raw.get(field, []))
        if value is not None:
            parsed = _visibility(value)
            if isinstance(parsed, Reject):
                return parsed
            changes[field] = parsed
    new_limit = changes.get("reserved_cycles_limit")
    if isinstance(new_limit, int) and new_limit < reserved_balance:
        return user_error(
            RESERVED_CYCLES_LIMIT_IS_TOO_LOW,
            f"Cannot set the reserved cycles limit {new_limit} below the reserved cycles "
            f"balance of the canister {reserved_balance}."
            + help_suffix(
                "Set the reserved cycles limit in the canister settings to a value that is at "
                "least the current reserved cycles balance.",
                "reserved-cycles-limit-is-too-low",
            ),
        )
    return dataclasses.replace(current, **changes)  # type: ignore[arg-type]


def definite_settings(s: CanisterSettings) -> dict[str, object]:
    """`definite_canister_settings` as a Candid value."""
    return {
        "controllers": list(s.controllers),
        "compute_allocation": s.compute_allocation,
        "memory_allocation": s.memory_allocation,
        "freezing_threshold": s.freezing_threshold,
        "reserved_cycles_limit": s.reserved_cycles_limit,
        "minimum_incoming_canister_call_cycles": s.minimum_incoming_canister_call_cycles,
        "log_visibility": visibility_to_candid(s.log_visibility),
        "snapshot_visibility": visibility_to_candid(s.snapshot_visibility),
        "status_visibility": visibility_to_candid(s.status_visibility),
        "wasm_memory_limit": s.wasm_memory_limit,
        "wasm_memory_threshold": s.wasm_memory_threshold,
        "environment_variables": [{"name": n, "value": v} for n, v in s.environment_variables],
        # the IC reports its log store limit (ic-management-canister-types 0.7.1, which the
        # icp CLI decodes with, requires it): icbox keeps a fixed `MAX_LOG_BYTES` of logs
        "log_memory_limit": MAX_LOG_BYTES,
    }


def update_settings(
    ctx: ManagementContext, args: dict[str, Any], caller: Principal, cycles: int
) -> Reply | Reject:
    """Change the settings given; a controllers change is recorded in the history."""
    canister = controlled_change(ctx, args, caller)
    if isinstance(canister, Reject):
        return canister
    settings = parse_settings(args["settings"], canister.settings, canister.reserved_balance)
    if isinstance(settings, Reject):
        return settings
    canister.settings = settings
    bump_version(canister)
    if opt(args["settings"].get("controllers", [])) is not None:
        record_change(
            ctx,
            canister,
            caller,
            args,
            {"controllers_change": {"controllers": list(settings.controllers)}},
        )
    return reply("update_settings")


def _history_size(canister: CanisterState) -> int:
    # (impl) the IC counts the in-memory size of the entries; ours: a fixed 112 bytes per
    # change plus 29 per principal listed in it.
    size = 0
    for change in canister.history:
        size += 112
        details = change.details
        for value in details.values():
            if isinstance(value, dict):
                size += 29 * len(value.get("controllers", ()))  # type: ignore[arg-type]
    return size


def memory_metrics(canister: CanisterState) -> dict[str, int]:
    """The `memory_metrics` record of canister_status (bytes)."""
    execution = canister.execution
    wasm_memory = len(execution.heap) if execution else 0
    stable_memory = len(execution.stable_memory) if execution else 0
    global_memory = 8 * len(execution.globals) if execution else 0
    binary = len(canister.module.wasm) if canister.module else 0
    snapshots = sum(getattr(s, "total_size", 0) for s in canister.snapshots.values())
    return {
        "wasm_memory_size": wasm_memory,
        "stable_memory_size": stable_memory,
        "global_memory_size": global_memory,
        "wasm_binary_size": binary,
        "custom_sections_size": 0,
        "canister_history_size": _history_size(canister),
        "wasm_chunk_store_size": CHUNK_SIZE * len(canister.chunk_store),
        "snapshots_size": snapshots,
        # the IC reports its log store (ic-management-canister-types 0.7.1, which the icp
        # CLI decodes with, requires the field): here the bytes of the retained records
        "log_memory_store_size": sum(len(r.content) for r in canister.logs),
    }


def canister_status(
    ctx: ManagementContext, args: dict[str, Any], caller: Principal, cycles: int
) -> Reply | Reject:
    """Status, settings, module hash, memory and cycles of a canister.

    Allowed to the canister itself, the subnet admins, and whoever `status_visibility`
    admits (controllers by default).
    """
    canister_id: Principal = args["canister_id"]
    canister = target(ctx, canister_id)
    if isinstance(canister, Reject):
        return canister
    visible = canister.settings.status_visibility.allows(caller, canister.controllers)
    if not (visible or caller == canister_id or caller in ctx.subnet_admins):
        return invalid_controller(canister_id, canister.controllers, caller)
    metrics = memory_metrics(canister)
    return reply(
        "canister_status",
        {
            "status": {canister.status.label: None},
            "ready_for_migration": False,
            "version": canister.version,
            "settings": definite_settings(canister.settings),
            "module_hash": [canister.module.module_hash] if canister.module else [],
            "memory_size": sum(metrics.values()),
            "memory_metrics": metrics,
            "cycles": canister.balance,
            "reserved_cycles": canister.reserved_balance,
            "idle_cycles_burned_per_day": idle_cycles_burned_per_day(canister, ctx.fees),
            "query_stats": {
                "num_calls_total": 0,
                "num_instructions_total": 0,
                "request_payload_bytes_total": 0,
                "response_payload_bytes_total": 0,
            },
        },
    )


def canister_info(
    ctx: ManagementContext, args: dict[str, Any], caller: Principal, cycles: int
) -> Reply | Reject:
    """History, module hash and controllers of any canister (for canisters only)."""
    canister = target(ctx, args["canister_id"])
    if isinstance(canister, Reject):
        return canister
    wanted = opt(args.get("num_requested_changes", [])) or 0
    recent = canister.history[len(canister.history) - wanted :] if wanted else []
    return reply(
        "canister_info",
        {
            "total_num_changes": canister.total_num_changes,
            "recent_changes": [
                {
                    "timestamp_nanos": c.timestamp_nanos,
                    "canister_version": c.canister_version,
                    "origin": c.origin,
                    "details": c.details,
                }
                for c in recent
            ],
            "module_hash": [canister.module.module_hash] if canister.module else [],
            "controllers": list(canister.controllers),
        },
    )


def canister_metadata(
    ctx: ManagementContext, args: dict[str, Any], caller: Principal, cycles: int
) -> Reply | Reject:
    """The content of a custom section `icp:public <name>` (or `icp:private`, controllers)."""
    canister_id: Principal = args["canister_id"]
    canister = target(ctx, canister_id)
    if isinstance(canister, Reject):
        return canister
    name: str = args["name"]
    if canister.module is None:
        return user_error(
            ErrorCode.CANISTER_REJECTED_MESSAGE,
            f"The canister {canister_id.to_text()} has no Wasm module and hence no metadata "
            "is available.",
        )
    try:
        module = validate_module(canister.module.wasm)
    except InvalidModule:  # pragma: no cover - it was validated when installed
        module = None
    value = None
    if module is not None:
        value = module.public_metadata.get(name)
        if value is None and canister.is_controller(caller):
            value = module.private_metadata.get(name)
    if value is None:
        return user_error(
            ErrorCode.CANISTER_REJECTED_MESSAGE,
            f"The canister {canister_id.to_text()} has no metadata section with the name {name}.",
        )
    return reply("canister_metadata", {"value": value})
