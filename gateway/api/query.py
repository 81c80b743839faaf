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
from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Scope

from gateway.api.common import authenticate_envelope, decode_body, read_envelope, subnet_of
from gateway.api.fast_path import FastPath, RawResponse
from gateway.cbor_response import CONTENT_TYPE_CBOR
from gateway.effective_id import check_effective_canister_id, parse_principal_in_url
from gateway.errors import HttpError
from gateway.query_response import signed_query_response
from gateway.seam import GatewayFront, SubnetSeam
from replica_core import cbor
from replica_core.envelope import Envelope, QueryContent
from replica_core.errors import Reject
from replica_core.execution.interface import Reply
from replica_core.principal import Principal
from replica_core.types import RequestId

__all__ = [
    "AuthenticatedQuery",
    "QueryFastPath",
    "authenticated_query",
    "cached_query_result",
    "canister_query",
    "cbor_bytes",
    "router",
    "run_query",
    "signed_query_body",
]

router = APIRouter()

_CBOR_CONTENT_TYPE = CONTENT_TYPE_CBOR.encode("latin-1")


@router.post("/api/v2/canister/{effective_canister_id}/query")
@router.post("/api/v3/canister/{effective_canister_id}/query")
async def query(effective_canister_id: str, request: Request) -> Response:
    """Run a query method and answer with the node-signed response."""
    subnet = await subnet_of(request)  # called, not `Depends`: no dependency solving per query
    body = await canister_query(
        subnet, effective_canister_id, request.headers.get("content-type", ""), await request.body()
    )
    return Response(body, media_type=CONTENT_TYPE_CBOR)


async def canister_query(
    subnet: SubnetSeam, effective_canister_id: str, content_type: str, body: bytes
) -> bytes:
    """The CBOR body answering a canister query POSTed to `effective_canister_id` (its text
    in the URL); raises `HttpError` for a request the gateway refuses."""
    query = authenticated_query(subnet, effective_canister_id, content_type, body)
    result, certified_time = await run_query(subnet, query)
    return signed_query_body(subnet, query, result, certified_time)


@dataclass(frozen=True, slots=True)
class AuthenticatedQuery:
    """A query that passed the gateway's stateless checks, with its authenticated sender."""

    request_id: RequestId
    canister_id: Principal
    method_name: str
    arg: bytes
    sender: Principal


def authenticated_query(
    front: GatewayFront, effective_canister_id: str, content_type: str, body: bytes
) -> AuthenticatedQuery:
    """The stateless part of a canister query: decode, effective-id check, authenticate
    (a gateway worker process runs it); raises `HttpError`."""
    ecid = parse_principal_in_url(effective_canister_id)
    envelope, content, _ = decode_body(content_type, body, QueryContent)
    check_effective_canister_id(content, ecid)
    return _authenticated(front, envelope, content)


def _authenticated(
    front: GatewayFront, envelope: Envelope, content: QueryContent
) -> AuthenticatedQuery:
    auth = authenticate_envelope(front, envelope)
    return AuthenticatedQuery(
        content.request_id, content.canister_id, content.method_name, content.arg, auth.sender
    )


def cached_query_result(
    subnet: SubnetSeam, query: AuthenticatedQuery
) -> tuple[Reply | Reject, int] | None:
    """`query`'s result and certified time from the subnet's query cache, or None (a miss,
    or a fake seam without a cache). A hit runs no Wasm: callers answer it inline."""
    cached_query = getattr(subnet, "cached_query", None)
    if cached_query is None:
        return None
    hit: tuple[Reply | Reject, int] | None = cached_query(
        query.canister_id, query.method_name, query.arg, query.sender
    )
    return hit


async def run_query(subnet: SubnetSeam, query: AuthenticatedQuery) -> tuple[Reply | Reject, int]:
    """Run `query` on the last certified state: its result and that state's time (a cache
    hit inline, otherwise on a worker thread so the event loop keeps serving)."""
    hit = cached_query_result(subnet, query)
    if hit is not None:
        return hit
    result = await asyncio.to_thread(
        subnet.query, query.canister_id, query.method_name, query.arg, query.sender
    )
    return result, subnet.certified_time


def signed_query_body(
    front: GatewayFront, query: AuthenticatedQuery, result: Reply | Reject, certified_time: int
) -> bytes:
    """The CBOR response body: `result` signed by the subnet's first node, with the time of
    the state the query ran on (the certified state) as the signature's timestamp."""
    response = signed_query_response(result, query.request_id, certified_time, front.keys.nodes[0])
    return cbor.encode(response, self_describe=True)


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
    return Response(await _answer(subnet, envelope, content), media_type=CONTENT_TYPE_CBOR)


async def _answer(subnet: SubnetSeam, envelope: Envelope, content: QueryContent) -> bytes:
    query = _authenticated(subnet, envelope, content)
    result, certified_time = await run_query(subnet, query)
    return signed_query_body(subnet, query, result, certified_time)


def _canister_query_ecid(route_path: str) -> str | None:
    """The `<ecid>` of `/api/v2|v3/canister/<ecid>/query` (as the routes above match it)."""
    parts = route_path.split("/")
    if (
        len(parts) == 6
        and parts[5] == "query"
        and parts[3] == "canister"
        and parts[1] == "api"
        and parts[2] in ("v2", "v3")
        and parts[4]
    ):
        return parts[4]
    return None


class QueryFastPath(FastPath):
    """(impl) Serves `POST /api/v2|v3/canister/<ecid>/query` — the hottest endpoint — with
    the same `canister_query` as the `query` route above, without FastAPI's machinery (see
    `gateway/api/fast_path.py`)."""

    def match(self, route_path: str) -> str | None:
        return _canister_query_ecid(route_path)

    async def answer(self, scope: Scope, target: str, content_type: str, body: bytes) -> ASGIApp:
        return cbor_bytes(await canister_query(self.subnet, target, content_type, body))


def cbor_bytes(body: bytes) -> RawResponse:
    """A 200 response with a CBOR body, sent without building a `Response` object."""
    headers = [
        (b"content-length", str(len(body)).encode("latin-1")),
        (b"content-type", _CBOR_CONTENT_TYPE),
    ]
    return RawResponse(200, headers, body)
