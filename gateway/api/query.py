"""Query calls: `/api/v2|v3/canister/<ecid>/query` and `/api/v3/subnet/<esid>/query`.

Spec: IC interface spec 0.66.0, HTTPS interface › Request: Query call, › Effective canister
id (`list_canisters` on `aaaaa-aa` accepts any id), › Effective subnet id (a subnet query is
only `list_canisters` to `aaaaa-aa`).

The query runs on the last certified state (`Subnet.query`, in a worker thread so the event
loop keeps serving; a reply still valid in the subnet's query cache, `Subnet.cached_query`,
is taken inline, since no Wasm runs); the answer — reply or reject — is signed by the subnet's first node,
with that state's time (`Subnet.certified_time`) as the signature's timestamp.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.api.common import authenticate_envelope, read_envelope, subnet_of
from gateway.cbor_response import CborResponse
from gateway.effective_id import check_effective_canister_id, parse_principal_in_url
from gateway.errors import HttpError
from gateway.query_response import signed_query_response
from gateway.seam import SubnetSeam
from replica_core.envelope import Envelope, QueryContent

__all__ = ["router"]

router = APIRouter()


@router.post("/api/v2/canister/{effective_canister_id}/query")
@router.post("/api/v3/canister/{effective_canister_id}/query")
async def query(effective_canister_id: str, request: Request) -> Response:
    """Run a query method and answer with the node-signed response."""
    subnet = await subnet_of(request)  # called, not `Depends`: no dependency solving per query
    ecid = parse_principal_in_url(effective_canister_id)
    envelope, content, _ = await read_envelope(request, QueryContent)
    check_effective_canister_id(content, ecid)
    return await _answer(subnet, envelope, content)


@router.post("/api/v3/subnet/{effective_subnet_id}/query")
async def subnet_query(effective_subnet_id: str, request: Request) -> Response:
    """A query to the management canister about the subnet (`list_canisters`)."""
    subnet = await subnet_of(request)
    esid = parse_principal_in_url(effective_subnet_id, "subnet")
    envelope, content, _ = await read_envelope(request, QueryContent)
    if esid != subnet.subnet_id:
        raise HttpError(
            400,
            f"Effective subnet id in URL {esid} is not the id of this subnet {subnet.subnet_id}",
        )
    if not content.canister_id.is_management_canister or content.method_name != "list_canisters":
        raise HttpError(
            400,
            "A subnet query must be list_canisters to aaaaa-aa, not "
            f"{content.method_name} to {content.canister_id}",
        )
    return await _answer(subnet, envelope, content)


async def _answer(subnet: SubnetSeam, envelope: Envelope, content: QueryContent) -> Response:
    auth = authenticate_envelope(subnet, envelope)
    query_args = (content.canister_id, content.method_name, content.arg, auth.sender)
    # a query-cache hit runs no Wasm: answer it inline, without the hop to a worker thread
    # (fakes of the seam may have no cache)
    cached_query = getattr(subnet, "cached_query", None)
    hit = cached_query(*query_args) if cached_query is not None else None
    if hit is not None:
        result, certified_time = hit
    else:
        result = await asyncio.to_thread(subnet.query, *query_args)
        certified_time = subnet.certified_time
    node = subnet.keys.nodes[0]
    # the node signs the time of the state the query ran on (the certified state)
    body = signed_query_response(result, content.request_id, certified_time, node)
    return CborResponse(body)
