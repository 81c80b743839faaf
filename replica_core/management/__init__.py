"""The IC management canister `aaaaa-aa`: the method table, `dispatch`, and ingress admission.

Spec: IC interface spec 0.66.0, The IC management canister; Abstract behavior › IC
Management Canister; HTTPS interface › Effective canister id (§ Request: Call) and the
ingress admission rules for `aaaaa-aa` (`canister_inspect_message` is never run for it).

The management canister has no Wasm and no state of its own. The scheduler hands each
call to

    dispatch(ctx, method, arg, caller, cycles) -> Reply | Reject | Deferred

which looks the method up in `METHODS` (one entry per Candid method of `ic.did`, pointing
to a function in the file of its group), refuses ingress and non-replicated calls the
method does not allow, decodes the Candid argument at the method's `.did` type, and runs
the method against the `ManagementContext`. The gateway asks `ingress_allowed` before it
accepts an ingress message to `aaaaa-aa`, and `effective_canister_id` to route it.

Methods of `ic.did` that need what a single icbox subnet does not have (threshold keys,
HTTPS outcalls, Bitcoin, node metrics, snapshot up/download) are refused with
`IC0406` (impl).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from replica_core.canister import CanisterState
from replica_core.error_codes import canister_not_found as ingress_canister_not_found
from replica_core.errors import CandidError, Reject
from replica_core.execution.interface import Reply
from replica_core.management import (
    chunks,
    install,
    lifecycle,
    logs,
    randomness,
    settings,
    subnet_info,
)
from replica_core.management import snapshots as snapshots_
from replica_core.management.candid_types import decode_arg, method_type
from replica_core.management.rejects import (
    ErrorCode,
    candid_decode_error,
    method_not_found,
    only_canisters,
    user_error,
)
from replica_core.management_context import Deferred, ManagementContext
from replica_core.principal import Principal

__all__ = [
    "METHODS",
    "Admission",
    "Deferred",
    "Method",
    "dispatch",
    "effective_canister_id",
    "ingress_allowed",
]

Handler = Callable[[ManagementContext, Any, Principal, int], Reply | Reject | Deferred]


class Admission(Enum):
    """Who may send a method as an ingress message (abstract behaviour's admission rules)."""

    CANISTERS_ONLY = "canisters_only"  # never as ingress
    CONTROLLERS = "controllers"  # controllers of the effective canister
    CONTROLLERS_OR_ADMINS = "controllers_or_admins"  # ... or the subnet's admins
    STATUS_VIEWERS = "status_viewers"  # per `status_visibility`, and admins
    SUBNET_ADMINS = "subnet_admins"  # create_canister
    ANYONE = "anyone"  # provisional methods (icbox is a development instance)
    QUERY_ONLY = "query_only"  # fetch_canister_logs: only through /query
    SUBNET_ADMINS_QUERY = "subnet_admins_query"  # list_canisters: admins, only through /query


@dataclass(frozen=True, slots=True)
class Method:
    """One management method: its implementation, ingress admission, and query support."""

    handler: Handler
    admission: Admission
    query: bool = False  # may run non-replicated (a query call to aaaaa-aa)


_A = Admission
METHODS: dict[str, Method] = {
    "canister_info": Method(settings.canister_info, _A.CANISTERS_ONLY),
    "canister_metadata": Method(settings.canister_metadata, _A.CANISTERS_ONLY),
    "canister_status": Method(settings.canister_status, _A.STATUS_VIEWERS, query=True),
    "clear_chunk_store": Method(chunks.clear_chunk_store, _A.CONTROLLERS),
    "create_canister": Method(lifecycle.create_canister, _A.SUBNET_ADMINS),
    "delete_canister": Method(lifecycle.delete_canister, _A.CONTROLLERS_OR_ADMINS),
    "delete_canister_snapshot": Method(snapshots_.delete_canister_snapshot, _A.CONTROLLERS),
    "deposit_cycles": Method(lifecycle.deposit_cycles, _A.CANISTERS_ONLY),
    "fetch_canister_logs": Method(logs.fetch_canister_logs, _A.QUERY_ONLY, query=True),
    "install_chunked_code": Method(install.install_chunked_code, _A.CONTROLLERS),
    "install_code": Method(install.install_code, _A.CONTROLLERS),
    "list_canisters": Method(subnet_info.list_canisters, _A.SUBNET_ADMINS_QUERY, query=True),
    "list_canister_snapshots": Method(snapshots_.list_canister_snapshots, _A.CONTROLLERS),
    "load_canister_snapshot": Method(snapshots_.load_canister_snapshot, _A.CONTROLLERS),
    "provisional_create_canister_with_cycles": Method(
        lifecycle.provisional_create_canister_with_cycles, _A.ANYONE
    ),
    "provisional_top_up_canister": Method(lifecycle.provisional_top_up_canister, _A.ANYONE),
    "raw_rand": Method(randomness.raw_rand, _A.CANISTERS_ONLY),
    "start_canister": Method(lifecycle.start_canister, _A.CONTROLLERS_OR_ADMINS),
    "stop_canister": Method(lifecycle.stop_canister, _A.CONTROLLERS_OR_ADMINS),
    "stored_chunks": Method(chunks.stored_chunks, _A.CONTROLLERS),
    "take_canister_snapshot": Method(snapshots_.take_canister_snapshot, _A.CONTROLLERS),
    "uninstall_code": Method(install.uninstall_code, _A.CONTROLLERS_OR_ADMINS),
    "update_settings": Method(settings.update_settings, _A.CONTROLLERS),
    "upload_chunk": Method(chunks.upload_chunk, _A.CONTROLLERS),
}
"""The management methods icbox implements, keyed by their `ic.did` name."""

# Methods of ic.did a user may send as ingress on the IC but icbox does not implement; they
# are admitted like the IC does, then refused by `dispatch` as unsupported.
_UNSUPPORTED_CONTROLLER_METHODS = frozenset(
    {
        "canister_metrics",
        "read_canister_snapshot_metadata",
        "read_canister_snapshot_data",
        "upload_canister_snapshot_metadata",
        "upload_canister_snapshot_data",
    }
)


def _unsupported(method: str) -> Reject:
    return user_error(
        ErrorCode.CANISTER_REJECTED_MESSAGE,
        f"ic00 method {method} is not supported by this replica",
    )


def dispatch(
    ctx: ManagementContext, method: str, arg: bytes, caller: Principal, cycles: int
) -> Reply | Reject | Deferred:
    """Run one call to the management canister (see the module docstring)."""
    entry = METHODS.get(method)
    if entry is None:
        if method_type(method) is None:
            return method_not_found(method)
        if ctx.is_ingress and method not in _UNSUPPORTED_CONTROLLER_METHODS:
            return only_canisters(method)
        return _unsupported(method)
    if entry.admission is Admission.SUBNET_ADMINS_QUERY:
        refused = subnet_info.list_canisters_allowed(
            caller, tuple(ctx.subnet_admins), is_ingress=ctx.is_ingress, replicated=ctx.replicated
        )
        if refused is not None:
            return refused
    if ctx.is_ingress:
        if entry.admission is Admission.CANISTERS_ONLY:
            return only_canisters(method)
        if entry.admission is Admission.QUERY_ONLY and ctx.replicated:
            return _logs_via_ingress()
        if entry.admission is Admission.SUBNET_ADMINS and caller not in ctx.subnet_admins:
            return only_canisters(method)
    if not ctx.replicated and not entry.query:
        return user_error(
            ErrorCode.CANISTER_REJECTED_MESSAGE,
            f"ic00 method {method} cannot be called in non-replicated mode",
        )
    try:
        args = decode_arg(method, arg)
    except CandidError as e:
        return candid_decode_error(str(e))
    return entry.handler(ctx, args, caller, cycles)


def _logs_via_ingress() -> Reject:
    return user_error(
        ErrorCode.CANISTER_REJECTED_MESSAGE,
        "fetch_canister_logs API is not accessible via ingress in replicated mode",
    )


def effective_canister_id(method: str, arg: bytes) -> Principal | None:
    """The canister a management call is about (HTTPS interface › effective canister id).

    The `canister_id` field of the argument (`target_canister` for `install_chunked_code`,
    `specified_id` if given for provisional creation); None when the method names no
    canister or the argument does not decode.
    """
    if method_type(method) is None:
        return None
    try:
        args = decode_arg(method, arg)
    except CandidError:
        return None
    if not isinstance(args, dict):
        return None
    if method == "install_chunked_code":
        return args.get("target_canister")
    if method == "provisional_create_canister_with_cycles":
        specified = args.get("specified_id") or []
        return specified[0] if specified else None
    value = args.get("canister_id")
    if isinstance(value, list):  # `opt canister_id` (threshold key methods)
        return value[0] if value else None
    return value if isinstance(value, Principal) else None


def _lookup(state: object, canister_id: Principal) -> CanisterState | None:
    if isinstance(state, Mapping):
        return state.get(canister_id)
    get_canister = getattr(state, "get_canister", None)
    if callable(get_canister):
        return get_canister(canister_id)
    if callable(state):
        return state(canister_id)
    raise TypeError("state must be a mapping, a lookup function, or have get_canister")


def ingress_allowed(
    method: str,
    arg: bytes,
    sender: Principal,
    state: object,
    *,
    subnet_admins: tuple[Principal, ...] = (),
) -> Reject | None:
    """Whether an ingress message to `aaaaa-aa` is admitted: None, or the IC's reject.

    `state` finds canisters: a mapping from id to `CanisterState`, a function, or an
    object with `get_canister` (a `ManagementContext` or the subnet's state). Wording and
    codes follow the IC's ingress filter (`should_accept_ingress_message`).
    """
    entry = METHODS.get(method)
    if entry is None:
        if method not in _UNSUPPORTED_CONTROLLER_METHODS:
            return only_canisters(method)
        admission = Admission.CONTROLLERS
    else:
        admission = entry.admission
    if admission is Admission.CANISTERS_ONLY:
        return only_canisters(method)
    if admission is Admission.QUERY_ONLY:
        return _logs_via_ingress()
    if admission is Admission.SUBNET_ADMINS_QUERY:
        return subnet_info.list_canisters_allowed(
            sender, subnet_admins, is_ingress=True, replicated=True
        )
    if admission is Admission.ANYONE:
        return None
    if admission is Admission.SUBNET_ADMINS:
        return None if sender in subnet_admins else only_canisters(method)
    canister_id = effective_canister_id(method, arg)
    if canister_id is None:
        return user_error(
            ErrorCode.INVALID_MANAGEMENT_PAYLOAD,
            f"Failed to decode payload for ic00 method: {method}",
        )
    canister = _lookup(state, canister_id)
    if canister is None:
        return ingress_canister_not_found(canister_id)
    allowed = canister.is_controller(sender)
    if admission is Admission.CONTROLLERS_OR_ADMINS:
        allowed = allowed or sender in subnet_admins
    elif admission is Admission.STATUS_VIEWERS:
        allowed = (
            canister.settings.status_visibility.allows(sender, canister.controllers)
            or sender in subnet_admins
        )
    if not allowed:
        return user_error(
            ErrorCode.CANISTER_INVALID_CONTROLLER,
            f"Only controllers of canister {canister_id.to_text()} can call ic00 method {method}",
        )
    return None
