"""Which state-tree paths a read_state request may ask for, at which endpoint.

Spec: IC interface spec 0.66.0, HTTPS interface › Request: Read state (the path table:
`/time`, `/api_boundary_nodes`, `/subnet/...`, `/canister_ranges/<sid>` at subnet
endpoints only, `/request_status/<rid>` for its sender at its effective id and within the
delegation targets, at most one request id, `/canister/<ecid>/...` except `certified_data`,
private metadata only for controllers); Abstract behavior › `may_read_path_for_canister`,
`may_read_path_for_subnet`.

Status codes and wording are the IC replica's (`dfinity/ic`
rs/http_endpoints/public/src/read_state/): 400 for an unparsable label or a principal other
than the URL's, 403 for another user's request or a private metadata section, 404
("Invalid path requested.") for every path the endpoint does not serve — including
`/canister/<id>/certified_data`, which the spec never lets read_state reveal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from gateway.errors import HttpError
from replica_core.errors import InvalidPrincipal
from replica_core.ingress_history import IngressStatus
from replica_core.principal import Principal
from replica_core.types import Label, RequestId

__all__ = [
    "CANISTER_FIELDS",
    "REQUEST_ID_LENGTH",
    "REQUEST_STATUS_FIELDS",
    "Endpoint",
    "ReadStateContext",
    "verify_paths",
]

CANISTER_FIELDS = frozenset(
    {b"module_hash", b"controllers", b"canister_creation_timestamp", b"last_install_timestamp"}
)
"""`/canister/<ecid>/<field>` paths readable by anyone (not `certified_data`)."""

REQUEST_STATUS_FIELDS = frozenset(
    {b"status", b"reply", b"reject_code", b"reject_message", b"error_code"}
)

REQUEST_ID_LENGTH = 32


class Endpoint(Enum):
    """The four read_state endpoints."""

    CANISTER_V2 = "canister_v2"
    CANISTER_V3 = "canister_v3"
    SUBNET_V2 = "subnet_v2"
    SUBNET_V3 = "subnet_v3"

    @property
    def is_subnet(self) -> bool:
        return self in (Endpoint.SUBNET_V2, Endpoint.SUBNET_V3)

    @property
    def legacy_ranges(self) -> bool:
        """Whether `/subnet/<sid>/canister_ranges` of a non-root subnet is served (v2)."""
        return self in (Endpoint.CANISTER_V2, Endpoint.SUBNET_V2)


@dataclass(frozen=True, slots=True)
class ReadStateContext:
    """What the path rules need to know about the request and the state."""

    endpoint: Endpoint
    effective_id: Principal  # the URL's canister id, or subnet id at subnet endpoints
    sender: Principal
    targets: frozenset[Principal] | None  # delegation targets (None: unrestricted)
    request_status: Callable[[RequestId], IngressStatus | None]
    is_private_section: Callable[[Principal, str], bool]  # (canister, name)
    is_controller: Callable[[Principal, Principal], bool]  # (canister, principal)


def _invalid_path() -> HttpError:
    return HttpError(404, "Invalid path requested.")


def _principal(label: bytes) -> Principal:
    try:
        return Principal(label)
    except InvalidPrincipal as e:
        raise HttpError(400, f"Could not parse principal ID: {e}.") from None


def _same_as_url(principal: Principal, ctx: ReadStateContext) -> None:
    if principal != ctx.effective_id:
        raise HttpError(
            400,
            f"Effective principal id in URL {ctx.effective_id} does not match requested "
            f"principal id: {principal}.",
        )


def verify_paths(paths: Sequence[Sequence[Label]], ctx: ReadStateContext) -> None:
    """Raise `HttpError` for the first path this request may not read."""
    request_id: RequestId | None = None
    ranges_subnet: bytes | None = None
    for raw in paths:
        path = [bytes(label) for label in raw]
        head, rest = (path[0], path[1:]) if path else (b"", [])
        if path == [b"time"] or _is_boundary_node_path(path):
            continue
        if head == b"subnet":
            _check_subnet_path(rest, ctx)
        elif head == b"canister" and not ctx.endpoint.is_subnet:
            _check_canister_path(rest, ctx)
        elif head == b"canister_ranges" and ctx.endpoint.is_subnet and 1 <= len(rest) <= 2:
            if ranges_subnet is not None and ranges_subnet != rest[0]:
                raise HttpError(
                    400, "All /canister_ranges paths of one request must name the same subnet."
                )
            ranges_subnet = rest[0]
        elif head == b"request_status" and (
            len(rest) == 1 or (len(rest) == 2 and rest[1] in REQUEST_STATUS_FIELDS)
        ):
            request_id = _check_request_status(rest[0], request_id, ctx)
        else:
            raise _invalid_path()


def _is_boundary_node_path(path: list[bytes]) -> bool:
    if not path or path[0] != b"api_boundary_nodes":
        return False
    return len(path) <= 2 or (
        len(path) == 3 and path[2] in (b"domain", b"ipv4_address", b"ipv6_address")
    )


def _check_subnet_path(rest: list[bytes], ctx: ReadStateContext) -> None:
    if len(rest) <= 1:
        return
    field = rest[1]
    if len(rest) == 2 and field in (b"public_key", b"type", b"node"):
        return
    if field == b"node" and (len(rest) == 3 or (len(rest) == 4 and rest[3] == b"public_key")):
        return
    if len(rest) == 2 and field == b"canister_ranges" and ctx.endpoint.legacy_ranges:
        return
    if len(rest) == 2 and field == b"metrics" and ctx.endpoint.is_subnet:
        _same_as_url(_principal(rest[0]), ctx)
        return
    raise _invalid_path()


def _check_canister_path(rest: list[bytes], ctx: ReadStateContext) -> None:
    if len(rest) == 2 and rest[1] in CANISTER_FIELDS:
        _same_as_url(_principal(rest[0]), ctx)
        return
    if len(rest) == 3 and rest[1] == b"metadata":
        try:
            name = rest[2].decode("utf-8")
        except UnicodeDecodeError as e:
            raise HttpError(400, f"Could not parse the custom section name: {e}.") from None
        canister_id = _principal(rest[0])
        _same_as_url(canister_id, ctx)
        if ctx.is_private_section(canister_id, name) and not ctx.is_controller(
            canister_id, ctx.sender
        ):
            raise HttpError(
                403,
                f"Custom section {name:.100} can only be requested by the controllers of the "
                "canister.",
            )
        return
    raise _invalid_path()


def _check_request_status(
    label: bytes, previous: RequestId | None, ctx: ReadStateContext
) -> RequestId:
    if len(label) != REQUEST_ID_LENGTH:
        raise HttpError(
            400,
            "Invalid request id in paths. Maybe the request ID is not of "
            f"{REQUEST_ID_LENGTH} bytes in length?!",
        )
    rid = RequestId(label)
    if previous is not None and previous != rid:
        raise HttpError(
            400,
            "More than one non-unique request ID exists in request_status paths: "
            f"{bytes(previous).hex()} and {label.hex()}.",
        )
    status = ctx.request_status(rid)
    if status is None:
        return rid
    if status.sender != ctx.sender:
        raise HttpError(403, "The user tries to access Request ID not signed by the caller.")
    if status.receiver != ctx.effective_id:
        raise HttpError(
            403,
            f"The request was sent with effective id {status.receiver}, not the effective id "
            f"in URL {ctx.effective_id}.",
        )
    if ctx.targets is not None and status.receiver not in ctx.targets:
        raise HttpError(
            403,
            "The user tries to access request IDs for canisters not belonging to sender "
            "delegation targets.",
        )
    return rid
