"""CBOR as the IC uses it: self-describing tag 55799, size and depth limits.

Spec: IC interface spec 0.66.0, HTTPS interface › CBOR encoding of requests and responses.

`decode` is the one place where cbor2's exceptions are turned into `MalformedCbor`.
The self-describe prefix `d9d9f7` is stripped before decoding because cbor2 decodes
everything under tag 55799 into immutable containers (see shared/notes/dependencies.md).
"""

from __future__ import annotations

import io
from typing import Any

import cbor2

from replica_core.errors import MalformedCbor

__all__ = ["MAX_DEPTH", "SELF_DESCRIBE_PREFIX", "decode", "encode"]

SELF_DESCRIBE_PREFIX = b"\xd9\xd9\xf7"
"""CBOR tag 55799 (self-describe), which IC messages and certificates start with."""

MAX_DEPTH = 64
"""(impl) Deepest container nesting accepted; real envelopes and trees stay far below it."""


def decode(data: bytes, *, max_size: int | None = None, max_depth: int = MAX_DEPTH) -> Any:
    """Decode one CBOR item, with or without the self-describe tag.

    Rejects (with `MalformedCbor`): input over `max_size` bytes, empty input, bad CBOR,
    indefinite lengths, duplicate map keys, nesting deeper than `max_depth`, trailing bytes.
    """
    if max_size is not None and len(data) > max_size:
        raise MalformedCbor(f"CBOR input of {len(data)} bytes exceeds the limit of {max_size}")
    if data[:3] == SELF_DESCRIBE_PREFIX:
        data = data[3:]
    if not data:
        raise MalformedCbor("empty CBOR input")
    stream = io.BytesIO(data)
    try:
        decoder = cbor2.CBORDecoder(
            stream,
            max_depth=max_depth,
            allow_duplicate_keys=False,
            allow_indefinite=False,
        )
        value = decoder.decode()
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError) as e:
        raise MalformedCbor(f"invalid CBOR: {e}") from None
    if stream.tell() != len(data):
        raise MalformedCbor(f"{len(data) - stream.tell()} trailing bytes after the CBOR item")
    return value


def encode(value: Any, *, self_describe: bool = True) -> bytes:
    """Encode a value, prefixed with tag 55799 unless `self_describe` is false."""
    body = cbor2.dumps(value)
    return SELF_DESCRIBE_PREFIX + body if self_describe else body
