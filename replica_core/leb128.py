"""LEB128 integers, as used by Candid, request ids and the state tree.

Spec: IC interface spec 0.66.0, HTTPS interface › Representation-independent hashing
(nat → shortest unsigned LEB128, int → shortest signed LEB128); Candid spec › Binary format.
"""

from __future__ import annotations

__all__ = ["decode_signed", "decode_unsigned", "encode_signed", "encode_unsigned"]


def encode_unsigned(n: int) -> bytes:
    """Encode a natural number as the shortest unsigned LEB128."""
    if n < 0:
        raise ValueError(f"cannot LEB128-encode negative {n} as unsigned")
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_signed(n: int) -> bytes:
    """Encode an integer as the shortest signed LEB128."""
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if (n == 0 and not byte & 0x40) or (n == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def decode_unsigned(data: bytes | memoryview, pos: int = 0) -> tuple[int, int]:
    """Decode an unsigned LEB128 at `pos`; return (value, position after it).

    Raises `ValueError` if the input ends inside the number.
    """
    try:
        byte = data[pos]
        if byte < 0x80:
            return byte, pos + 1
        result = byte & 0x7F
        shift = 7
        while True:
            pos += 1
            byte = data[pos]
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                return result, pos + 1
            shift += 7
    except IndexError:
        raise ValueError("unexpected end of input inside a LEB128 number") from None


def decode_signed(data: bytes | memoryview, pos: int = 0) -> tuple[int, int]:
    """Decode a signed LEB128 at `pos`; return (value, position after it).

    The same bytes as an unsigned number, minus 2^(7·length) when the last byte's sign bit
    (0x40) is set. Raises `ValueError` if the input ends inside the number.
    """
    value, end = decode_unsigned(data, pos)
    if data[end - 1] & 0x40:
        value -= 1 << (7 * (end - pos))
    return value, end
