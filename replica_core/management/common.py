"""Checks and bookkeeping shared by the management canister's method groups.

Spec: IC interface spec 0.66.0, The IC management canister (controller checks,
`sender_canister_version`, canister history); Abstract behavior › IC Management Canister
(`change_origin`, `New_canister_history`).

Each helper either returns what the method needs or a `Reject` in the IC's wording, so a
method body reads as the spec's list of conditions followed by the state change:

    canister = target(ctx, args["canister_id"])
    if isinstance(canister, Reject):
        return canister
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from replica_core.canister import CanisterChange, CanisterState
from replica_core.errors import Reject
from replica_core.execution.interface import Reply
from replica_core.management.candid_types import encode_result
from replica_core.management.rejects import (
    canister_not_found,
    invalid_controller,
    sender_canister_version_mismatch,
)
from replica_core.management_context import ManagementContext
from replica_core.principal import Principal

__all__ = [
    "MAX_HISTORY_CHANGES",
    "bump_version",
    "change_origin",
    "check_sender_canister_version",
    "controlled",
    "controlled_change",
    "controlled_or_admin",
    "opt",
    "record_change",
    "reply",
    "target",
]

MAX_HISTORY_CHANGES = 20
"""The canister history keeps at least the 20 most recent changes (spec: canister_info)."""


def opt(value: list[Any]) -> Any:
    """The value of a decoded Candid `opt` (`[]` → None, `[v]` → v)."""
    return value[0] if value else None


def reply(method: str, *values: Any) -> Reply:
    """A reply carrying the Candid encoding of the method's result."""
    return Reply(encode_result(method, *values))


def target(ctx: ManagementContext, canister_id: Principal) -> CanisterState | Reject:
    """The canister a call manages, or the IC's "not found" reject (IC0301)."""
    canister = ctx.get_canister(canister_id)
    if canister is None:
        return canister_not_found(canister_id)
    return canister


def controlled(
    ctx: ManagementContext, canister_id: Principal, caller: Principal
) -> CanisterState | Reject:
    """The canister, if it exists and `caller` controls it (IC0301 / IC0512 otherwise)."""
    canister = target(ctx, canister_id)
    if isinstance(canister, Reject):
        return canister
    if not canister.is_controller(caller):
        return invalid_controller(canister_id, canister.controllers, caller)
    return canister


def controlled_or_admin(
    ctx: ManagementContext, canister_id: Principal, caller: Principal
) -> CanisterState | Reject:
    """As `controlled`, but the subnet's admins may also act (start/stop/delete/uninstall)."""
    canister = target(ctx, canister_id)
    if isinstance(canister, Reject):
        return canister
    if not canister.is_controller(caller) and caller not in ctx.subnet_admins:
        return invalid_controller(canister_id, canister.controllers, caller)
    return canister


def check_sender_canister_version(
    ctx: ManagementContext, args: Mapping[str, Any], caller: Principal
) -> Reject | None:
    """If the argument names a `sender_canister_version`, it must be the caller's version.

    Only a calling canister has a version; for ingress the field is ignored (as the IC
    does: the check is part of applying a canister's outgoing call).
    """
    given = opt(args.get("sender_canister_version", []))
    if given is None or ctx.is_ingress:
        return None
    sender = ctx.get_canister(caller)
    if sender is None:
        return None
    if given != sender.version:
        return sender_canister_version_mismatch(given, sender.version)
    return None


def controlled_change(
    ctx: ManagementContext, args: Mapping[str, Any], caller: Principal, *, or_admin: bool = False
) -> CanisterState | Reject:
    """The canister of a call that changes it: `args["canister_id"]` checked by `controlled`
    (or `controlled_or_admin`), then `check_sender_canister_version`, in that order."""
    check = controlled_or_admin if or_admin else controlled
    canister = check(ctx, args["canister_id"], caller)
    if isinstance(canister, Reject):
        return canister
    mismatch = check_sender_canister_version(ctx, args, caller)
    if mismatch is not None:
        return mismatch
    return canister


def bump_version(canister: CanisterState) -> int:
    """Increment the canister version (every successful management change does)."""
    canister.version += 1
    return canister.version


def change_origin(
    ctx: ManagementContext, caller: Principal, args: Mapping[str, Any]
) -> dict[str, object]:
    """`change_origin(M.caller, A.sender_canister_version, M.origin)` of the spec."""
    if ctx.is_ingress:
        return {"from_user": {"user_id": caller}}
    version = opt(args.get("sender_canister_version", []))
    return {
        "from_canister": {
            "canister_id": caller,
            "canister_version": [] if version is None else [version],
        }
    }


def record_change(
    ctx: ManagementContext,
    canister: CanisterState,
    caller: Principal,
    args: Mapping[str, Any],
    details: dict[str, object],
) -> None:
    """Append a change to the canister history (at the canister's current version).

    Call after `bump_version`: the spec records `canister_version = S.canister_version + 1`,
    the version the change produces. Only the `MAX_HISTORY_CHANGES` newest are kept.
    """
    canister.history.append(
        CanisterChange(
            timestamp_nanos=ctx.time,
            canister_version=canister.version,
            origin=change_origin(ctx, caller, args),
            details=details,
        )
    )
    canister.total_num_changes += 1
    if len(canister.history) > MAX_HISTORY_CHANGES:
        del canister.history[: len(canister.history) - MAX_HISTORY_CHANGES]
