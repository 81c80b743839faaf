"""Query responses signed by a node, exactly as agents verify them.

Spec: IC interface spec 0.66.0, HTTPS interface › Request: Query call (response shape,
`signatures: [{timestamp, signature, identity}]`), › Query call signatures (the signed
payload: `"\\x0Bic-response" · hash_of_map(response fields + timestamp + request_id)`).

A reject by the canister itself (`ic0.msg_reject`) carries the IC's error code `IC0406`
when the replica core gives none, as the IC replica does (impl).
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

from replica_core.error_codes import ErrorCode
from replica_core.errors import Reject
from replica_core.execution.interface import Reply
from replica_core.leb128 import encode_unsigned
from replica_core.principal import Principal
from replica_core.request_id import hash_of_map, hash_value
from replica_core.types import RequestId

__all__ = [
    "DOMAIN_IC_RESPONSE",
    "NodeSigner",
    "replied_hash",
    "response_fields",
    "signed_query_response",
]

DOMAIN_IC_RESPONSE = b"\x0bic-response"
"""Domain separator of a node's query response signature (12 bytes)."""


class NodeSigner(Protocol):
    """A node key: its id and an Ed25519 `sign`."""

    @property
    def node_id(self) -> Principal: ...

    def sign(self, message: bytes) -> bytes: ...


def response_fields(result: Reply | Reject) -> dict[str, Any]:
    """The response map without signatures (also the signed fields, minus time and id)."""
    if isinstance(result, Reply):
        return {"status": "replied", "reply": {"arg": result.payload}}
    error_code = result.error_code or str(ErrorCode.CANISTER_REJECTED_MESSAGE)
    return {
        "status": "rejected",
        "reject_code": int(result.code),
        "reject_message": result.message,
        "error_code": error_code,
    }


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


_REPLIED_KEYS = ("status", "reply", "timestamp", "request_id")
_REPLIED_ORDER = sorted(range(4), key=lambda i: _sha256(_REPLIED_KEYS[i].encode()))
_STATUS_PAIR = _sha256(b"status") + hash_value("replied")
_REPLY_KEY, _TIMESTAMP_KEY, _REQUEST_ID_KEY = (_sha256(k.encode()) for k in _REPLIED_KEYS[1:])
_ARG_KEY = _sha256(b"arg")


def replied_hash(payload: bytes, timestamp: int, request_id: bytes) -> bytes:
    """(impl) `hash_of_map` of the signed fields of a reply — `{status: "replied", reply:
    {arg}, timestamp, request_id}` — with the constant key hashes computed once."""
    pairs = (
        _STATUS_PAIR,
        _REPLY_KEY + _sha256(_ARG_KEY + _sha256(payload)),
        _TIMESTAMP_KEY + _sha256(encode_unsigned(timestamp)),
        _REQUEST_ID_KEY + _sha256(request_id),
    )
    return _sha256(b"".join([pairs[i] for i in _REPLIED_ORDER]))


def signed_query_response(
    result: Reply | Reject, request_id: RequestId, timestamp: int, node: NodeSigner
) -> dict[str, Any]:
    """The CBOR map of a query response with one node signature over it."""
    fields = response_fields(result)
    if isinstance(result, Reply) and timestamp >= 0:
        signed_hash = replied_hash(bytes(result.payload), timestamp, bytes(request_id))
    else:
        signed_hash = hash_of_map(
            {**fields, "timestamp": timestamp, "request_id": bytes(request_id)}
        )
    signature = node.sign(DOMAIN_IC_RESPONSE + signed_hash)
    return {
        **fields,
        "signatures": [
            {"timestamp": timestamp, "signature": signature, "identity": node.node_id.raw}
        ],
    }
