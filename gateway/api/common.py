"""Steps every endpoint shares: read the body, decode the envelope, authenticate it.

Spec: IC interface spec 0.66.0, HTTPS interface › Overview (CBOR bodies,
`Content-Type: application/cbor`), › Authentication; the checks run in the IC replica's
order (content type, CBOR, envelope shape, effective id, then signatures and expiry).
"""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request

from gateway.cbor_response import CONTENT_TYPE_CBOR
from gateway.errors import HttpError, invalid_request
from gateway.seam import GatewayFront, SubnetSeam
from replica_core.authentication import AuthResult, authenticate
from replica_core.envelope import (
    MAX_ENVELOPE_SIZE,
    CallContent,
    Envelope,
    QueryContent,
    ReadStateContent,
    decode_envelope,
)
from replica_core.errors import AuthenticationError, InvalidRequest, MalformedEnvelope

__all__ = ["authenticate_envelope", "decode_body", "is_cbor", "read_envelope", "subnet_of"]

C = TypeVar("C", CallContent, QueryContent, ReadStateContent)

_WHAT = {CallContent: "call message", QueryContent: "query", ReadStateContent: "read request"}


async def subnet_of(request: Request) -> SubnetSeam:
    """The subnet the app was created with (FastAPI dependency; `async` so that FastAPI
    calls it inline instead of handing every request to its thread pool)."""
    subnet: SubnetSeam = request.app.state.subnet
    return subnet


def is_cbor(content_type: str) -> bool:
    """Whether a `Content-Type` header value (`""` if absent) names CBOR."""
    return content_type.split(";", 1)[0].strip().lower() == CONTENT_TYPE_CBOR


async def read_envelope(request: Request, kind: type[C]) -> tuple[Envelope, C, int]:
    """Decode the body as an envelope whose content is a `kind`; returns the envelope, its
    content and the body size. Any failure is a 400 in the replica's words."""
    return decode_body(request.headers.get("content-type", ""), await request.body(), kind)


def decode_body(content_type: str, body: bytes, kind: type[C]) -> tuple[Envelope, C, int]:
    """`read_envelope` on a body already read, with its `Content-Type` (`""` if absent)."""
    if not is_cbor(content_type):
        raise HttpError(400, f"Unexpected content-type, expected {CONTENT_TYPE_CBOR}.")
    what = _WHAT[kind]
    try:
        envelope = decode_envelope(body, max_size=MAX_ENVELOPE_SIZE)
        if not isinstance(envelope.content, kind):
            raise MalformedEnvelope(
                f"content.request_type is {envelope.content.request_type!r}, "
                f"expected {kind.request_type!r}"
            )
    except InvalidRequest as e:
        raise invalid_request(e, what) from None
    return envelope, envelope.content, len(body)


def authenticate_envelope(front: GatewayFront, envelope: Envelope) -> AuthResult:
    """Verify sender, signature, delegations and expiry at the subnet's current time."""
    try:
        return authenticate(envelope, front.clock.now(), root_public_key_der=front.root_key)
    except AuthenticationError as e:
        raise HttpError(400, str(e)) from None
