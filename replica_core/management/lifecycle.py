"""Canister lifecycle: create (also provisional), start, stop, delete, deposit and top up.

Spec: IC interface spec 0.66.0, The IC management canister › IC method `create_canister`,
`start_canister`, `stop_canister`, `delete_canister`, `deposit_cycles`,
`provisional_create_canister_with_cycles`, `provisional_top_up_canister`; Abstract behavior
› IC Management Canister: Canister creation / Stopping / Starting / Canister deletion /
Depositing cycles / Canister creation with cycles / Top up canister.

Cycles: a method keeps attached cycles only through `ctx.accept_cycles`; the rest goes
back to the caller. `create_canister` keeps everything (the fee is burned, the remainder
becomes the new canister's balance); the provisional methods keep nothing.
"""

from __future__ import annotations

import hashlib
from typing import Any

from replica_core.canister import CanisterSettings, CanisterState, CanisterStatus
from replica_core.errors import Reject
from replica_core.execution.interface import Reply
from replica_core.management.common import (
    bump_version,
    check_sender_canister_version,
    controlled_or_admin,
    opt,
    record_change,
    reply,
    target,
)
from replica_core.management.rejects import ErrorCode, help_suffix, user_error
from replica_core.management.settings import parse_settings
from replica_core.management_context import Deferred, ManagementContext
from replica_core.principal import Principal

__all__ = [
    "DEFAULT_PROVISIONAL_CYCLES_BALANCE",
    "create_canister",
    "delete_canister",
    "deposit_cycles",
    "provisional_create_canister_with_cycles",
    "provisional_top_up_canister",
    "start_canister",
    "stop_canister",
]

DEFAULT_PROVISIONAL_CYCLES_BALANCE = 100_000_000_000_000
"""Balance of a provisionally created canister without `amount` (dfinity/ic: 100T cycles)."""


def _environment_variables_hash(settings: CanisterSettings) -> list[bytes]:
    """`environment_variables_hash` of a creation record: None without variables.

    (impl) SHA-256 over the variables sorted by name, each as name and value each
    prefixed with its 4-byte big-endian length.
    """
    if not settings.environment_variables:
        return []
    h = hashlib.sha256()
    for name, value in settings.environment_variables:
        for part in (name.encode(), value.encode()):
            h.update(len(part).to_bytes(4, "big"))
            h.update(part)
    return [h.digest()]


def _create(
    ctx: ManagementContext,
    args: dict[str, Any],
    caller: Principal,
    balance: int,
    specified_id: Principal | None = None,
) -> CanisterState | Reject:
    """The steps shared by both creation methods: settings, the canister, its first change."""
    mismatch = check_sender_canister_version(ctx, args, caller)
    if mismatch is not None:
        return mismatch
    settings = parse_settings(opt(args.get("settings", [])) or {}, CanisterSettings((caller,)))
    if isinstance(settings, Reject):
        return settings
    canister = ctx.create_canister(settings, balance, specified_id)
    if isinstance(canister, Reject):
        return canister
    record_change(
        ctx,
        canister,
        caller,
        args,
        {
            "creation": {
                "controllers": list(settings.controllers),
                "environment_variables_hash": _environment_variables_hash(settings),
            }
        },
    )
    return canister


def create_canister(
    ctx: ManagementContext, args: dict[str, Any], caller: Principal, cycles: int
) -> Reply | Reject:
    """Create an empty canister; the attached cycles minus the creation fee are its balance.

    Subnet admins (the only users who may send it as ingress) pay nothing.
    """
    fee = 0 if caller in ctx.subnet_admins else ctx.fees.canister_creation_fee
    if cycles < fee:
        return user_error(
            ErrorCode.INSUFFICIENT_CYCLES_FOR_CREATE_CANISTER,
            f"Creating a canister requires a fee of {fee} that is deducted from the canister's "
            f"initial balance but only {cycles} cycles were received with the create_canister "
            "request."
            + help_suffix(
                "Try sending more cycles with the request.", "create-canister-not-enough-cycles"
            ),
        )
    canister = _create(ctx, args, caller, cycles - fee)
    if isinstance(canister, Reject):
        return canister
    ctx.accept_cycles(cycles)
    return reply("create_canister", {"canister_id": canister.canister_id})


def provisional_create_canister_with_cycles(
    ctx: ManagementContext, args: dict[str, Any], caller: Principal, cycles: int
) -> Reply | Reject:
    """Create a canister with `amount` cycles (or the default), optionally at `specified_id`.

    Development instances only; icbox is one. Attached cycles are returned.
    """
    amount = opt(args.get("amount", []))
    balance = DEFAULT_PROVISIONAL_CYCLES_BALANCE if amount is None else amount
    specified_id = opt(args.get("specified_id", []))
    canister = _create(ctx, args, caller, balance, specified_id)
    if isinstance(canister, Reject):
        return canister
    return reply("provisional_create_canister_with_cycles", {"canister_id": canister.canister_id})


def provisional_top_up_canister(
    ctx: ManagementContext, args: dict[str, Any], caller: Principal, cycles: int
) -> Reply | Reject:
    """Add `amount` cycles to a canister (development instances; anyone may call)."""
    canister = target(ctx, args["canister_id"])
    if isinstance(canister, Reject):
        return canister
    canister.balance += args["amount"]
    return reply("provisional_top_up_canister")


def deposit_cycles(
    ctx: ManagementContext, args: dict[str, Any], caller: Principal, cycles: int
) -> Reply | Reject:
    """Move all attached cycles to the canister (any canister may call)."""
    canister = target(ctx, args["canister_id"])
    if isinstance(canister, Reject):
        return canister
    canister.balance += cycles
    ctx.accept_cycles(cycles)
    return reply("deposit_cycles")


def start_canister(
    ctx: ManagementContext, args: dict[str, Any], caller: Principal, cycles: int
) -> Reply | Reject:
    """Set the canister running; pending `stop_canister` calls are rejected."""
    canister_id: Principal = args["canister_id"]
    canister = controlled_or_admin(ctx, canister_id, caller)
    if isinstance(canister, Reject):
        return canister
    if canister.status is CanisterStatus.STOPPING:
        ctx.reject_stop_calls(
            canister_id,
            user_error(
                ErrorCode.CANISTER_STOPPING_CANCELLED,
                f"Canister {canister_id.to_text()}'s stop request was cancelled.",
            ),
        )
    canister.status = CanisterStatus.RUNNING
    bump_version(canister)
    return reply("start_canister")


def stop_canister(
    ctx: ManagementContext, args: dict[str, Any], caller: Principal, cycles: int
) -> Reply | Reject | Deferred:
    """Set the canister stopping; the reply comes when it is stopped.

    A stopped canister acknowledges at once. Otherwise the call is `Deferred`: the scheduler
    moves the canister from stopping to stopped once it has no open call contexts and then
    replies to every pending stop call.
    """
    canister_id: Principal = args["canister_id"]
    canister = controlled_or_admin(ctx, canister_id, caller)
    if isinstance(canister, Reject):
        return canister
    bump_version(canister)
    if canister.status is CanisterStatus.STOPPED:
        return reply("stop_canister")
    canister.status = CanisterStatus.STOPPING
    return Deferred(canister_id)


def delete_canister(
    ctx: ManagementContext, args: dict[str, Any], caller: Principal, cycles: int
) -> Reply | Reject:
    """Delete a stopped canister with its code, state, snapshots and cycles."""
    canister_id: Principal = args["canister_id"]
    canister = controlled_or_admin(ctx, canister_id, caller)
    if isinstance(canister, Reject):
        return canister
    if caller == canister_id:
        return user_error(
            ErrorCode.CANISTER_INVALID_CONTROLLER,
            f"Canister {canister_id.to_text()} cannot delete itself."
            + help_suffix(
                "Delete the canister from one of its other controllers.", "delete-canister-self"
            ),
        )
    if canister.status is not CanisterStatus.STOPPED:
        return user_error(
            ErrorCode.CANISTER_NOT_STOPPED,
            f"Canister {canister_id.to_text()} must be stopped before it is deleted."
            + help_suffix("Stop the canister before deleting it.", "delete-canister-not-stopped"),
        )
    ctx.delete_canister(canister_id)
    return reply("delete_canister")
