"""Request ids: the representation-independent hash of a request's content.

Spec: IC interface spec 0.66.0, HTTPS interface › Request ids and
› Representation-independent hashing of structured data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from replica_core.leb128 import encode_signed, encode_unsigned
from replica_core.principal import Principal
from replica_core.types import RequestId

__all__ = ["DOMAIN_IC_REQUEST", "hash_of_map", "hash_value", "request_id", "to_text"]

DOMAIN_IC_REQUEST = b"\x0aic-request"
"""Domain separator of request signatures: `"\\x0Aic-request" · request_id` is signed."""


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def hash_value(value: Any) -> bytes:
    """Hash one value: blobs and text hash their bytes, nats their LEB128, arrays and maps
    recursively (spec table in › Representation-independent hashing)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return _sha256(bytes(value))
    if isinstance(value, str):
        return _sha256(value.encode("utf-8"))
    if isinstance(value, bool):
        raise TypeError("booleans have no representation-independent hash")
    if isinstance(value, int):
        return _sha256(encode_unsigned(value) if value >= 0 else encode_signed(value))
    if isinstance(value, Principal):
        return _sha256(value.raw)
    if isinstance(value, Mapping):
        return hash_of_map(value)
    if isinstance(value, Sequence):
        return _sha256(b"".join(hash_value(v) for v in value))
    raise TypeError(f"no representation-independent hash for {type(value).__name__}")


def hash_of_map(content: Mapping[str, Any]) -> bytes:
    """The hash of a map: sort H(key)·H(value) pairs bytewise, hash their concatenation."""
    pairs = sorted(_sha256(k.encode("utf-8")) + hash_value(v) for k, v in content.items())
    return _sha256(b"".join(pairs))


def request_id(content: Mapping[str, Any]) -> RequestId:
    """The request id of a call, query or read_state `content` map."""
    return RequestId(hash_of_map(content))


def to_text(rid: bytes) -> str:
    """The textual form of a request id: `0x` and lowercase hex."""
    return "0x" + rid.hex()
