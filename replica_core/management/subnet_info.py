"""The management canister's subnet-level query: `list_canisters`.

Spec: IC interface spec 0.66.0, The IC management canister › IC method `list_canisters`
(only subnet admins, only as a non-replicated query — not from canisters, not replicated,
not from composite queries; the result is every canister of the subnet as consecutive id
ranges, deleted canisters excluded); HTTPS interface › Effective subnet id.

Who is a subnet admin on icbox (impl): the principals in `SubnetConfig.subnet_admins`.
A development instance configured with no admins (the default of `icbox start`) has no
one to restrict the subnet view to, so there every caller may list the canisters —
canister ids are public on the IC anyway (each is visible in certified read_state paths).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from replica_core.errors import Reject
from replica_core.execution.interface import Reply
from replica_core.management.common import reply
from replica_core.management.rejects import ErrorCode, user_error
from replica_core.management_context import ManagementContext
from replica_core.principal import Principal

__all__ = ["canister_id_ranges", "list_canisters", "list_canisters_allowed"]


def canister_id_ranges(canister_ids: Iterable[Principal]) -> list[tuple[Principal, Principal]]:
    """`(start, end)` ranges, inclusive, covering exactly the given ids: consecutive
    canister indices are merged; an id that is not index-shaped is a range of its own."""
    ranges: list[tuple[Principal, Principal]] = []
    last_index: int | None = None
    for cid in sorted(set(canister_ids)):
        index = cid.canister_index
        if ranges and index is not None and last_index is not None and index == last_index + 1:
            ranges[-1] = (ranges[-1][0], cid)
        else:
            ranges.append((cid, cid))
        last_index = index
    return ranges


def list_canisters_allowed(
    caller: Principal, subnet_admins: tuple[Principal, ...], *, is_ingress: bool, replicated: bool
) -> Reject | None:
    """Why a `list_canisters` call is refused, or None (see the module docstring)."""
    if not is_ingress or replicated:
        return user_error(
            ErrorCode.CANISTER_REJECTED_MESSAGE,
            "ic00 method list_canisters can only be called by subnet admins via query calls",
        )
    if subnet_admins and caller not in subnet_admins:
        return user_error(
            ErrorCode.CANISTER_REJECTED_MESSAGE,
            f"Caller {caller.to_text()} is not a subnet admin and cannot call ic00 method "
            "list_canisters",
        )
    return None


def list_canisters(
    ctx: ManagementContext, args: Any, caller: Principal, cycles: int
) -> Reply | Reject:
    """Every canister of the subnet as `vec canister_id_range` (subnet admins, query only)."""
    refused = list_canisters_allowed(
        caller, tuple(ctx.subnet_admins), is_ingress=ctx.is_ingress, replicated=ctx.replicated
    )
    if refused is not None:
        return refused
    ranges = canister_id_ranges(ctx.canister_ids())
    return reply("list_canisters", {"canisters": [{"start": s, "end": e} for s, e in ranges]})
