"""read_state: `/api/v2|v3/canister/<ecid>/read_state`, `/api/v2|v3/subnet/<esid>/read_state`.

Spec: IC interface spec 0.66.0, HTTPS interface › Request: Read state (the response
`{certificate}` reveals every requested subtree fully, plus `/time`), › Certification ›
Delegation (scoping per endpoint version).

Path permissions are `gateway.read_state_paths`; the certificate comes from
`Subnet.read_state` (the last certified state) and is then scoped: the delegation of the
endpoint's version, and `/subnet/<sid>/canister_ranges` hidden at v3 endpoints.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from gateway.api.common import authenticate_envelope, read_envelope, subnet_of
from gateway.cbor_response import CborResponse
from gateway.certificates import RangesScope, ScopedDelegations
from gateway.effective_id import parse_principal_in_url
from gateway.errors import HttpError
from gateway.read_state_paths import Endpoint, ReadStateContext, verify_paths
from gateway.seam import SubnetSeam
from replica_core.envelope import ReadStateContent
from replica_core.errors import AuthenticationError
from replica_core.principal import Principal

__all__ = ["is_private_section", "router"]

router = APIRouter()

_SCOPES = {
    Endpoint.CANISTER_V2: RangesScope.FLAT,
    Endpoint.CANISTER_V3: RangesScope.TREE,
    Endpoint.SUBNET_V2: RangesScope.NONE,
    Endpoint.SUBNET_V3: RangesScope.NONE,
}


@router.post("/api/v2/canister/{effective_canister_id}/read_state")
async def canister_read_state_v2(
    effective_canister_id: str, request: Request, subnet: SubnetSeam = Depends(subnet_of)
) -> Response:
    """Deprecated canister read_state: legacy ranges in the delegation and the tree."""
    ecid = parse_principal_in_url(effective_canister_id)
    return await _read_state(request, subnet, Endpoint.CANISTER_V2, ecid)


@router.post("/api/v3/canister/{effective_canister_id}/read_state")
async def canister_read_state_v3(
    effective_canister_id: str, request: Request, subnet: SubnetSeam = Depends(subnet_of)
) -> Response:
    """Canister read_state with the sharded canister ranges."""
    ecid = parse_principal_in_url(effective_canister_id)
    return await _read_state(request, subnet, Endpoint.CANISTER_V3, ecid)


@router.post("/api/v2/subnet/{effective_subnet_id}/read_state")
async def subnet_read_state_v2(
    effective_subnet_id: str, request: Request, subnet: SubnetSeam = Depends(subnet_of)
) -> Response:
    """Deprecated subnet read_state."""
    esid = parse_principal_in_url(effective_subnet_id, "subnet")
    return await _read_state(request, subnet, Endpoint.SUBNET_V2, esid)


@router.post("/api/v3/subnet/{effective_subnet_id}/read_state")
async def subnet_read_state_v3(
    effective_subnet_id: str, request: Request, subnet: SubnetSeam = Depends(subnet_of)
) -> Response:
    """Subnet read_state (the endpoint for `/subnet/<sid>/metrics`)."""
    esid = parse_principal_in_url(effective_subnet_id, "subnet")
    return await _read_state(request, subnet, Endpoint.SUBNET_V3, esid)


def is_private_section(subnet: SubnetSeam, canister_id: Principal, name: str) -> bool:
    """Whether the installed module of `canister_id` has an `icp:private` section `name`.

    (impl) The seam has no metadata query yet: the module's sections are read through the
    subnet's executor (`validated(wasm).private_metadata`), as `Subnet` itself does.
    """
    canister = subnet.canister(canister_id)
    if canister is None or canister.module is None:
        return False
    validated = getattr(getattr(subnet, "executor", None), "validated", None)
    if validated is None:
        return False
    private = getattr(validated(canister.module.wasm), "private_metadata", {})
    return name in private


def _is_controller(subnet: SubnetSeam, canister_id: Principal, principal: Principal) -> bool:
    canister = subnet.canister(canister_id)
    return canister is not None and canister.is_controller(principal)


async def _read_state(
    request: Request, subnet: SubnetSeam, endpoint: Endpoint, effective_id: Principal
) -> Response:
    envelope, content, _ = await read_envelope(request, ReadStateContent)
    if endpoint.is_subnet and effective_id != subnet.subnet_id:
        raise HttpError(
            400,
            f"Effective subnet id in URL {effective_id} is not the id of this subnet "
            f"{subnet.subnet_id}",
        )
    auth = authenticate_envelope(subnet, envelope)
    ctx = ReadStateContext(
        endpoint=endpoint,
        effective_id=effective_id,
        sender=auth.sender,
        targets=auth.targets,
        request_status=subnet.request_status,
        is_private_section=lambda cid, name: is_private_section(subnet, cid, name),
        is_controller=lambda cid, who: _is_controller(subnet, cid, who),
    )
    verify_paths(content.paths, ctx)
    try:
        cert = subnet.read_state([list(p) for p in content.paths], auth.sender)
    except AuthenticationError as e:
        raise HttpError(403, str(e)) from None
    delegations: ScopedDelegations = request.app.state.delegations
    scoped = delegations.apply(
        cert,
        _SCOPES[endpoint],
        legacy_ranges=endpoint.legacy_ranges,
        effective_id=None if endpoint.is_subnet else effective_id,
    )
    return CborResponse({"certificate": scoped.encode()})
