"""Candid deserialisation: check `DIDL`, read the type table, decode and coerce the values.

Spec: IC interface spec 0.66.0, Candid (dfinity/candid spec/Candid.md › Binary Format ›
Types, Parameters and Results, Deserialisation, Deserialisation of future types).

`decode(data, types)` reads the wire types, then decodes each argument and coerces it to the
expected type (Candid spec › Coercion, implemented by `replica_core.candid.decoders`). Missing
trailing arguments must be of type null, reserved or opt (they read as null); extra wire
arguments are decoded (so they are validated and metered) and dropped. Without `types` the
values come back at their wire types, with record and variant labels as integer ids.

Every malformed input raises `CandidError`. Sizes announced in the input are checked against
the bytes that remain before anything is allocated; the decoding cost is metered against a
quota (default `DEFAULT_BASE_QUOTA + QUOTA_PER_BYTE × len(data)`), and recursion depth is
capped, so hostile messages fail fast instead of exhausting memory or the stack.

(impl) The parsed header and the compiled decoders are cached, keyed by the header bytes
and the identity of the expected types, so decoding many messages of one shape compiles once.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from replica_core.candid import fastpath
from replica_core.candid.decoders import DecoderCompiler
from replica_core.candid.subtype import is_null_like
from replica_core.candid.type_table import MAGIC, parse_header
from replica_core.candid.types import (
    CandidType,
    Opt,
    unroll,
)
from replica_core.candid.wire import Decoder
from replica_core.errors import CandidError

__all__ = [
    "DEFAULT_BASE_QUOTA",
    "MAGIC",
    "QUOTA_PER_BYTE",
    "decode",
    "decode_with_types",
    "parse_header",
]

DEFAULT_BASE_QUOTA = 1_000_000
"""(impl) Decoding cost allowed for any message, in value nodes."""
QUOTA_PER_BYTE = 4
"""(impl) Extra decoding cost allowed per byte of input."""

_CACHE_LIMIT = 256
_CACHE_MAX_HEADER = 4096
"""(impl) Only headers up to this size are cached (bounds the cache's memory)."""


class _Plan:
    """A parsed header plus the decoders for one tuple of expected types."""

    __slots__ = ("decoders", "expected", "values_start", "wire_types")

    def __init__(
        self,
        wire_types: list[CandidType],
        values_start: int,
        decoders: list[tuple[Decoder, int, Any]],
        expected: tuple[CandidType, ...] | None,
    ) -> None:
        self.wire_types = wire_types
        self.values_start = values_start
        self.decoders = decoders
        self.expected = expected


_plan_cache: dict[tuple[bytes, tuple[int, ...] | None], _Plan] = {}
fastpath.register_cache(_plan_cache.clear)


def decode(
    data: bytes, types: Sequence[CandidType] | None = None, *, quota: int | None = None
) -> list[Any]:
    """Decode a Candid message; with `types`, coerce the arguments to them."""
    return _decode(data, types, quota)[1]


def decode_with_types(
    data: bytes, *, quota: int | None = None
) -> tuple[list[CandidType], list[Any]]:
    """Decode a Candid message at its own wire types; return (wire types, values)."""
    return _decode(data, None, quota)


def _decode(
    data: bytes, types: Sequence[CandidType] | None, quota: int | None
) -> tuple[list[CandidType], list[Any]]:
    if not isinstance(data, bytes):
        if not isinstance(data, bytearray | memoryview):
            raise CandidError(f"Candid data must be bytes, not {type(data).__name__}")
        data = bytes(data)
    try:
        plan = _plan(data, None if types is None else tuple(types))
        ctx = [DEFAULT_BASE_QUOTA + QUOTA_PER_BYTE * len(data) if quota is None else quota, 0]
        pos = plan.values_start
        values: list[Any] = []
        for dec, cost, default in plan.decoders:
            if dec is None:
                values.append(default)
                continue
            ctx[0] -= cost
            if ctx[0] < 0:
                raise CandidError("decoding cost exceeds the quota (a value of excessive size)")
            v, pos = dec(data, pos, ctx)
            values.append(v)
    except (IndexError, struct.error):
        raise CandidError("unexpected end of input inside a value") from None
    except UnicodeDecodeError as e:
        raise CandidError(f"text is not valid UTF-8: {e.reason}") from None
    except RecursionError:
        raise CandidError("Candid message nested too deeply") from None
    if pos != len(data):
        raise CandidError(f"{len(data) - pos} trailing bytes after the last argument")
    n = len(plan.wire_types) if plan.expected is None else len(plan.expected)
    return plan.wire_types, values[:n]


def _plan(data: bytes, expected: tuple[CandidType, ...] | None) -> _Plan:
    wire_types, values_start = parse_header(data)
    header = data[:values_start]
    key = (header, None if expected is None else tuple(map(id, expected)))
    hit = _plan_cache.get(key)
    if hit is not None and (
        expected is None
        or (
            hit.expected is not None
            and all(a is b for a, b in zip(hit.expected, expected, strict=True))
        )
    ):
        return hit
    compiler = DecoderCompiler()
    decoders: list[tuple[Any, int, Any]] = []
    targets = wire_types if expected is None else expected
    for i, et in enumerate(targets):
        if i < len(wire_types):
            wt = wire_types[i]
            decoders.append((compiler.compile(wt, et), compiler.cost(unroll(wt)), None))
        elif is_null_like(et):
            decoders.append((None, 0, [] if isinstance(unroll(et), Opt) else None))
        else:
            raise CandidError(f"argument {i} of type {et} is missing and not optional")
    for wt in wire_types[len(targets) :]:  # extra arguments: validated, then dropped
        decoders.append((compiler.skipper(wt), compiler.cost(unroll(wt)), None))
    plan = _Plan(wire_types, values_start, decoders, expected)
    if len(header) <= _CACHE_MAX_HEADER:
        if len(_plan_cache) >= _CACHE_LIMIT:
            _plan_cache.clear()
        _plan_cache[key] = plan
    return plan
