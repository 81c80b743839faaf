"""Low-level Candid wire codecs: LEB128, text, principal bytes and primitive values.

Spec: IC interface spec 0.66.0, Candid (dfinity/candid spec/Candid.md › Binary Format ›
Notation, Memory: `leb128`, `sleb128`, `i<N>`, `f<N>`, `utf8`, references).

Readers take `(buf, pos)` (plus an unused `ctx`, so they serve directly as decoders) and
return `(value, position after it)`; running off the end raises IndexError or struct.error,
which `decode` turns into `CandidError`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from replica_core.candid.types import Prim
from replica_core.errors import CandidError
from replica_core.leb128 import encode_signed
from replica_core.principal import MAX_PRINCIPAL_LENGTH, Principal

__all__ = [
    "FIXED_WIDTH",
    "SMALL_BYTES",
    "Decoder",
    "bulk_vec_decoder",
    "leb_signed",
    "leb_unsigned",
    "new_principal",
    "primitive_decoder",
    "read_func",
    "read_leb",
    "read_principal_bytes",
    "read_sleb",
    "read_text",
    "slow_principal",
]

Decoder = Callable[[bytes, int, list[int]], tuple[Any, int]]

SMALL_BYTES = [bytes((i,)) for i in range(128)]
"""The one-byte encodings 0..127 (a LEB128 number below 128 is that byte)."""


FIXED_WIDTH: dict[str, struct.Struct] = {
    "nat8": struct.Struct("<B"),
    "nat16": struct.Struct("<H"),
    "nat32": struct.Struct("<I"),
    "nat64": struct.Struct("<Q"),
    "int8": struct.Struct("<b"),
    "int16": struct.Struct("<h"),
    "int32": struct.Struct("<i"),
    "int64": struct.Struct("<q"),
    "float32": struct.Struct("<f"),
    "float64": struct.Struct("<d"),
}
"""The fixed-width primitives (`i<N>`/`f<N>` little-endian) and their `struct` layouts."""


def read_leb(b: bytes, pos: int, ctx: object = None) -> tuple[int, int]:
    """Unsigned LEB128 at `pos` (overlong forms allowed, as the spec's tests require).

    Straight-line for up to five bytes (values below 2^35), then a loop."""
    x = b[pos]
    if x < 0x80:
        return x, pos + 1
    y = b[pos + 1]
    if y < 0x80:
        return x & 0x7F | y << 7, pos + 2
    result = x & 0x7F | (y & 0x7F) << 7
    x = b[pos + 2]
    if x < 0x80:
        return result | x << 14, pos + 3
    result |= (x & 0x7F) << 14
    x = b[pos + 3]
    if x < 0x80:
        return result | x << 21, pos + 4
    result |= (x & 0x7F) << 21
    x = b[pos + 4]
    if x < 0x80:
        return result | x << 28, pos + 5
    result |= (x & 0x7F) << 28
    shift = 35
    pos += 5
    while True:
        x = b[pos]
        pos += 1
        result |= (x & 0x7F) << shift
        if x < 0x80:
            return result, pos
        shift += 7


def read_sleb(b: bytes, pos: int, ctx: object = None) -> tuple[int, int]:
    """Signed LEB128 at `pos`."""
    result = 0
    shift = 0
    while True:
        x = b[pos]
        pos += 1
        result |= (x & 0x7F) << shift
        shift += 7
        if x < 0x80:
            if x & 0x40:
                result -= 1 << shift
            return result, pos


def new_principal(raw: bytes) -> Principal:
    """A Principal from raw bytes already checked to be at most 29 bytes long."""
    p = object.__new__(Principal)
    object.__setattr__(p, "raw", raw)
    return p


def read_principal_bytes(b: bytes, pos: int, what: str) -> tuple[bytes, int]:
    tag = b[pos]
    if tag != 1:
        raise CandidError(f"{what} reference has tag {tag}; only 1 (transparent id) is supported")
    n, pos = read_leb(b, pos + 1)
    if n > MAX_PRINCIPAL_LENGTH:
        raise CandidError(f"{what} of {n} bytes exceeds {MAX_PRINCIPAL_LENGTH}")
    end = pos + n
    if end > len(b):
        raise CandidError(f"unexpected end of input inside a {what}")
    return b[pos:end], end


def read_text(b: bytes, pos: int, ctx: object = None) -> tuple[str, int]:
    x = b[pos]
    if x < 0x80:
        n = x
        pos += 1
    else:
        n, pos = read_leb(b, pos)
    end = pos + n
    if end > len(b):
        raise CandidError(f"text of {n} bytes overruns the input")
    try:
        return str(b[pos:end], "utf-8"), end
    except UnicodeDecodeError as e:
        raise CandidError(f"text is not valid UTF-8: {e.reason}") from None


def slow_principal(b: bytes, pos: int, ctx: list[int]) -> tuple[Any, int]:
    raw, pos = read_principal_bytes(b, pos, "principal")
    return new_principal(raw), pos


def primitive_decoder(t: Prim) -> Decoder:
    name = t.name
    if name == "nat":
        return read_leb
    if name == "int":
        return read_sleb
    if name == "nat8":

        def dec_nat8(b: bytes, pos: int, ctx: list[int]) -> tuple[Any, int]:
            return b[pos], pos + 1

        return dec_nat8
    if name in FIXED_WIDTH:
        s = FIXED_WIDTH[name]
        unpack_from = s.unpack_from
        size = s.size

        def dec_fixed(b: bytes, pos: int, ctx: list[int]) -> tuple[Any, int]:
            return unpack_from(b, pos)[0], pos + size

        return dec_fixed
    if name == "text":
        return read_text
    if name == "bool":

        def dec_bool(b: bytes, pos: int, ctx: list[int]) -> tuple[Any, int]:
            x = b[pos]
            if x > 1:
                raise CandidError(f"bool byte is {x}, not 0 or 1")
            return x == 1, pos + 1

        return dec_bool
    if name in ("null", "reserved"):
        return lambda b, pos, ctx: (None, pos)
    if name == "principal":

        def dec_principal(b: bytes, pos: int, ctx: list[int]) -> tuple[Any, int]:
            if b[pos] == 1:
                n = b[pos + 1]
                if n <= MAX_PRINCIPAL_LENGTH:
                    end = pos + 2 + n
                    if end <= len(b):
                        return new_principal(b[pos + 2 : end]), end
            raw, pos = read_principal_bytes(b, pos, "principal")
            return new_principal(raw), pos

        return dec_principal
    message = f"cannot decode a value of type {name} (it has none)"

    def dec_none(b: bytes, pos: int, ctx: list[int]) -> tuple[Any, int]:
        raise CandidError(message)

    return dec_none


def bulk_vec_decoder(t: Prim) -> Decoder | None:
    """Whole-vector decoders for fixed-size primitive elements (one slice or unpack)."""
    name = t.name
    layout = FIXED_WIDTH.get("nat8" if name == "bool" else name)
    if layout is None:
        return None
    size = layout.size
    code = layout.format[1:]

    def dec_bulk(b: bytes, pos: int, ctx: list[int]) -> tuple[Any, int]:
        x = b[pos]
        if x < 0x80:
            n = x
            pos += 1
        else:
            n, pos = read_leb(b, pos)
        end = pos + n * size
        if end > len(b):
            raise CandidError(f"vec of {n} {name} overruns the input")
        if name == "nat8":
            return b[pos:end], end
        if name == "bool":
            chunk = b[pos:end]
            if chunk.translate(None, b"\x00\x01"):
                raise CandidError("bool byte in vec bool is not 0 or 1")
            return [c == 1 for c in chunk], end
        return list(struct.unpack_from(f"<{n}{code}", b, pos)), end

    return dec_bulk


def read_func(b: bytes, pos: int) -> tuple[tuple[Principal, str], int]:
    tag = b[pos]
    if tag != 1:
        raise CandidError(f"func reference has tag {tag}; only 1 (public method) is supported")
    raw, pos = read_principal_bytes(b, pos + 1, "service")
    method, pos = read_text(b, pos)
    return (new_principal(raw), method), pos


def leb_unsigned(n: int) -> bytes:
    """Unsigned LEB128 of `n >= 0`, with fast paths for values below 2^28."""
    if n < 0x80:
        return SMALL_BYTES[n]
    if n < 0x4000:
        return bytes((n & 0x7F | 0x80, n >> 7))
    if n < 0x200000:
        return bytes((n & 0x7F | 0x80, (n >> 7) & 0x7F | 0x80, n >> 14))
    if n < 0x10000000:
        return bytes((n & 0x7F | 0x80, (n >> 7) & 0x7F | 0x80, (n >> 14) & 0x7F | 0x80, n >> 21))
    if n < 0x800000000:
        return bytes(
            (
                n & 0x7F | 0x80,
                (n >> 7) & 0x7F | 0x80,
                (n >> 14) & 0x7F | 0x80,
                (n >> 21) & 0x7F | 0x80,
                n >> 28,
            )
        )
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def leb_signed(n: int) -> bytes:
    if -0x40 <= n < 0x40:
        return SMALL_BYTES[n & 0x7F]
    return encode_signed(n)
