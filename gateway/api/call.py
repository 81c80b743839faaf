"""Update calls: `/api/v2/canister/<ecid>/call` (asynchronous) and the synchronous
`/api/v3/canister/<ecid>/call`, `/api/v4/canister/<ecid>/call`, `/api/v4/subnet/<esid>/call`.

Spec: IC interface spec 0.66.0, HTTPS interface › Request: Call (acceptance checks,
synchronous and asynchronous responses), › Effective canister id, › Effective subnet id;
Abstract behavior › Request submission.

Acceptance, in the IC replica's order: the body decodes as a call envelope; the effective
id matches; the body is at most 2 MiB (413 otherwise, naming the request id); the envelope
authenticates; then the pre-consensus check — management admission (`ingress_allowed`) for
`aaaaa-aa`, otherwise the subnet's `inspect` (canister exists, has a module, is running, can
pay, `canister_inspect_message` accepts). A rejection there is an HTTP 200 with a CBOR
reject body, never a 4xx. Accepted calls go to `Subnet.submit`; the round loop (started by
the app) executes them, and the synchronous endpoints wait for the certified outcome.
The routes and the pure-ASGI `CallFastPath` (which serves the same paths without FastAPI's
routing) share `call_endpoint`, so both answer identically. It is two halves: the stateless
`authenticate_endpoint_call` (decode, route, size, authenticate), which a gateway worker
process runs, and the stateful `finish_call` (admission, submission, the wait), which runs
where the subnet is (`gateway.workers`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Scope

from gateway.api.common import authenticate_envelope, decode_body, subnet_of
from gateway.api.fast_path import FastPath
from gateway.cbor_response import CborResponse
from gateway.certificates import RangesScope, ScopedDelegations
from gateway.effective_id import (
    ANY_ID_CALL_METHODS,
    check_effective_canister_id,
    parse_principal_in_url,
)
from gateway.errors import HttpError, plain_text, reject_body
from gateway.seam import GatewayFront, SubnetSeam
from replica_core.certification.certificate import Certificate, lookup
from replica_core.certification.hash_tree import Found
from replica_core.envelope import MAX_INGRESS_PAYLOAD, CallContent
from replica_core.errors import Reject
from replica_core.ingress_history import IngressState
from replica_core.management import ingress_allowed
from replica_core.messages import Ingress
from replica_core.principal import Principal
from replica_core.types import RequestId

__all__ = [
    "CallFastPath",
    "admit_call",
    "authenticate_endpoint_call",
    "authenticated_call",
    "call_endpoint",
    "finish_call",
    "router",
]

router = APIRouter()

_CERTIFICATION_GRACE_S = 1.0
"""(impl) How long to wait for a terminal status to appear in the certified tree."""

_TERMINAL = frozenset(s.value.encode() for s in IngressState if s.is_terminal)


def authenticated_call(
    front: GatewayFront,
    content_type: str,
    body: bytes,
    *,
    ecid: Principal | None = None,
    esid: Principal | None = None,
) -> Ingress:
    """The stateless part of accepting a call: decode, route, size-check, authenticate.

    Needs no replicated state (only the subnet's id, root key and clock), so a gateway worker
    process runs it; raises `HttpError` for a client error at the HTTP level.
    """
    envelope, content, size = decode_body(content_type, body, CallContent)
    if esid is not None:
        effective = _check_subnet_call(front, content, esid)
    else:
        assert ecid is not None
        effective = check_effective_canister_id(content, ecid)
    if size > MAX_INGRESS_PAYLOAD:
        raise HttpError(
            413,
            f"Request {bytes(content.request_id).hex()} is too large. Message byte size "
            f"{size} is larger than the max allowed {MAX_INGRESS_PAYLOAD}.",
        )
    auth = authenticate_envelope(front, envelope)
    return Ingress(
        request_id=content.request_id,
        sender=auth.sender,
        receiver=content.canister_id,
        method_name=content.method_name,
        arg=content.arg,
        ingress_expiry=content.ingress_expiry,
        effective_canister_id=effective,
    )


async def admit_call(subnet: SubnetSeam, ingress: Ingress) -> Reject | None:
    """The pre-consensus check of an authenticated call: management admission
    (`ingress_allowed`) for `aaaaa-aa`, otherwise the subnet's `inspect`."""
    if ingress.receiver.is_management_canister:
        return ingress_allowed(
            ingress.method_name,
            ingress.arg,
            ingress.sender,
            subnet.canister,
            subnet_admins=tuple(subnet.config.subnet_admins),
        )
    if _inspect_runs_code(subnet, ingress):
        return await asyncio.to_thread(subnet.inspect, ingress)
    return subnet.inspect(ingress)  # only the replica's own checks: cheap, no thread hand-off


def _inspect_runs_code(subnet: SubnetSeam, ingress: Ingress) -> bool:
    runs = getattr(subnet, "inspect_runs_code", None)
    return True if runs is None else bool(runs(ingress))


def _check_subnet_call(front: GatewayFront, content: CallContent, esid: Principal) -> Principal:
    if esid != front.subnet_id:
        raise HttpError(
            400,
            f"Effective subnet id in URL {esid} is not the id of this subnet {front.subnet_id}",
        )
    if not content.canister_id.is_management_canister or (
        content.method_name not in ANY_ID_CALL_METHODS
    ):
        raise HttpError(
            400,
            "A subnet call must be create_canister or provisional_create_canister_with_cycles "
            f"to aaaaa-aa, not {content.method_name} to {content.canister_id}",
        )
    return esid


_ENDPOINTS = ("v2/canister", "v3/canister", "v4/canister", "v4/subnet")
"""The call endpoints, as `<version>/<canister|subnet>` of their paths."""

_SCOPES = {
    "v3/canister": RangesScope.FLAT,  # the certificate's delegation: flat canister ranges
    "v4/canister": RangesScope.TREE,  # sharded canister ranges
    "v4/subnet": RangesScope.NONE,  # no canister ranges
}


async def call_endpoint(
    endpoint: str, subnet: SubnetSeam, state: Any, url_id: str, content_type: str, body: bytes
) -> Response:
    """The response of a call endpoint: `endpoint` is one of `_ENDPOINTS` (`"v3/canister"`
    …), `url_id` the id's text in the URL, `state` the app's state (`sync_call_timeout`,
    `delegations`). Raises `HttpError` (and `InvalidRequest`) as the routes do."""
    ingress = authenticate_endpoint_call(endpoint, subnet, url_id, content_type, body)
    return await finish_call(endpoint, subnet, state, ingress)


def authenticate_endpoint_call(
    endpoint: str, front: GatewayFront, url_id: str, content_type: str, body: bytes
) -> Ingress:
    """`authenticated_call` for the call POSTed to `endpoint` with `url_id` in its path."""
    if endpoint == "v4/subnet":
        esid = parse_principal_in_url(url_id, "subnet")
        return authenticated_call(front, content_type, body, esid=esid)
    ecid = parse_principal_in_url(url_id)
    return authenticated_call(front, content_type, body, ecid=ecid)


async def finish_call(endpoint: str, subnet: SubnetSeam, state: Any, ingress: Ingress) -> Response:
    """The stateful part of a call endpoint, after `authenticate_endpoint_call`: admission,
    then submission (`v2`: 202 at once) or the wait for the certified outcome."""
    reject = await admit_call(subnet, ingress)
    if endpoint == "v2/canister":
        if reject is not None:
            return CborResponse(reject_body(reject, synchronous=False))
        subnet.submit(ingress)
        return Response(status_code=202)
    return await _call_sync(reject or ingress, subnet, state, _SCOPES[endpoint])


async def _route(endpoint: str, url_id: str, request: Request, subnet: SubnetSeam) -> Response:
    content_type = request.headers.get("content-type", "")
    return await call_endpoint(
        endpoint, subnet, request.app.state, url_id, content_type, await request.body()
    )


@router.post("/api/v2/canister/{effective_canister_id}/call")
async def call_async(
    effective_canister_id: str, request: Request, subnet: SubnetSeam = Depends(subnet_of)
) -> Response:
    """Accept a call for execution: 202 with no body, or 200 with the reject."""
    return await _route("v2/canister", effective_canister_id, request, subnet)


@router.post("/api/v3/canister/{effective_canister_id}/call")
async def call_sync_v3(
    effective_canister_id: str, request: Request, subnet: SubnetSeam = Depends(subnet_of)
) -> Response:
    """Synchronous call; the certificate's delegation uses the flat canister ranges."""
    return await _route("v3/canister", effective_canister_id, request, subnet)


@router.post("/api/v4/canister/{effective_canister_id}/call")
async def call_sync_v4(
    effective_canister_id: str, request: Request, subnet: SubnetSeam = Depends(subnet_of)
) -> Response:
    """Synchronous call; the certificate's delegation uses the sharded canister ranges."""
    return await _route("v4/canister", effective_canister_id, request, subnet)


@router.post("/api/v4/subnet/{effective_subnet_id}/call")
async def call_sync_subnet(
    effective_subnet_id: str, request: Request, subnet: SubnetSeam = Depends(subnet_of)
) -> Response:
    """Synchronous canister creation on the subnet named in the URL."""
    return await _route("v4/subnet", effective_subnet_id, request, subnet)


async def _call_sync(
    outcome: Ingress | Reject, subnet: SubnetSeam, state: Any, scope: RangesScope
) -> Response:
    if isinstance(outcome, Reject):
        return CborResponse(reject_body(outcome, synchronous=True))
    rid = outcome.request_id
    known = subnet.request_status(rid)
    if known is None or not known.state.is_terminal:
        if known is None:
            subnet.submit(outcome)
        timeout: float = state.sync_call_timeout
        status = await subnet.wait(rid, timeout)
        if status is None or not status.state.is_terminal:
            return plain_text(
                202,
                "Message did not complete execution and certification within the replica "
                "defined timeout.",
            )
    delegations: ScopedDelegations = state.delegations
    cert = await _certified_status(subnet, rid, outcome.sender)
    if cert is None:
        return plain_text(202, "Certified state is not available. Please try /read_state.")
    scoped = delegations.apply(
        cert, scope, legacy_ranges=True, effective_id=outcome.effective_canister_id
    )
    return CborResponse({"status": "replied", "certificate": scoped.encode()})


async def _certified_status(
    subnet: SubnetSeam, rid: RequestId, sender: Principal
) -> Certificate | None:
    """The certificate of `/request_status/<rid>` once it shows a terminal status."""
    deadline = time.monotonic() + _CERTIFICATION_GRACE_S
    while True:
        cert = subnet.read_state([[b"request_status", bytes(rid)]], sender)
        found = lookup(cert, [b"request_status", bytes(rid), b"status"])
        if isinstance(found, Found) and found.value in _TERMINAL:
            return cert
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(0.005)


def _call_endpoint_of(route_path: str) -> tuple[str, str] | None:
    """`(endpoint, url_id)` of a call path the routes above match, e.g.
    `/api/v3/canister/<ecid>/call` → `("v3/canister", "<ecid>")`."""
    parts = route_path.split("/")
    if len(parts) != 6 or parts[5] != "call" or parts[1] != "api" or not parts[4]:
        return None
    endpoint = f"{parts[2]}/{parts[3]}"
    return (endpoint, parts[4]) if endpoint in _ENDPOINTS else None


class CallFastPath(FastPath):
    """(impl) Serves the call endpoints (`POST /api/v2|v3|v4/canister/<ecid>/call`,
    `/api/v4/subnet/<esid>/call`) with the same `call_endpoint` as the routes above, without
    FastAPI's machinery (see `gateway/api/fast_path.py`)."""

    def match(self, route_path: str) -> tuple[str, str] | None:
        return _call_endpoint_of(route_path)

    async def answer(
        self, scope: Scope, target: tuple[str, str], content_type: str, body: bytes
    ) -> ASGIApp:
        endpoint, url_id = target
        return await call_endpoint(
            endpoint, self.subnet, scope["app"].state, url_id, content_type, body
        )
