"""Principals: the ids of users, canisters and subnets, in binary and textual form.

Spec: IC interface spec 0.66.0, Overview › Principals (special forms: opaque ids,
self-authenticating ids, derived ids, the anonymous id) and › Textual representation of
principals; Management canister › canister id ranges (impl: 8-byte index · 0x01 · 0x01).
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from dataclasses import dataclass

from replica_core.errors import InvalidPrincipal

__all__ = [
    "ANONYMOUS",
    "MANAGEMENT_CANISTER",
    "MAX_PRINCIPAL_LENGTH",
    "CanisterRange",
    "Principal",
]

MAX_PRINCIPAL_LENGTH = 29
"""A principal is at most 29 bytes (spec: Principals)."""

SELF_AUTHENTICATING_SUFFIX = 0x02
ANONYMOUS_SUFFIX = 0x04
OPAQUE_CANISTER_SUFFIX = b"\x01\x01"
"""(impl) Canister ids minted by the IC: 8-byte big-endian index, then 0x01 0x01."""


@dataclass(frozen=True, slots=True, order=True)
class Principal:
    """A principal, held as its raw bytes; ordered lexicographically by those bytes."""

    raw: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.raw, bytes):
            raise InvalidPrincipal(f"a principal is bytes, not {type(self.raw).__name__}")
        if len(self.raw) > MAX_PRINCIPAL_LENGTH:
            raise InvalidPrincipal(
                f"principal of {len(self.raw)} bytes exceeds the maximum of {MAX_PRINCIPAL_LENGTH}"
            )

    # --- textual form ---------------------------------------------------------------

    @classmethod
    def from_text(cls, text: str) -> Principal:
        """Parse the textual form: base32 of CRC32 · bytes, lowercase, dash every 5 chars.

        Errors name what is wrong: characters, grouping, length or checksum.
        """
        if not isinstance(text, str) or not text:
            raise InvalidPrincipal("empty principal text")
        if text != text.lower():
            raise InvalidPrincipal(f"principal text {text!r} must be lowercase")
        groups = text.split("-")
        if any(len(g) != 5 for g in groups[:-1]) or not 1 <= len(groups[-1]) <= 5:
            raise InvalidPrincipal(
                f"principal text {text!r} is not in groups of 5 characters separated by dashes"
            )
        compact = "".join(groups)
        if any(c not in _BASE32_ALPHABET for c in compact):
            raise InvalidPrincipal(f"principal text {text!r} has characters outside base32")
        padded = compact.upper() + "=" * (-len(compact) % 8)
        try:
            decoded = base64.b32decode(padded)
        except (ValueError, TypeError) as e:
            raise InvalidPrincipal(f"principal text {text!r} is not valid base32: {e}") from None
        if len(decoded) < 4:
            raise InvalidPrincipal(f"principal text {text!r} is too short to hold a checksum")
        checksum, raw = decoded[:4], decoded[4:]
        if len(raw) > MAX_PRINCIPAL_LENGTH:
            raise InvalidPrincipal(
                f"principal text {text!r} encodes {len(raw)} bytes, more than "
                f"{MAX_PRINCIPAL_LENGTH}"
            )
        if zlib.crc32(raw).to_bytes(4, "big") != checksum:
            raise InvalidPrincipal(f"principal text {text!r} has a wrong CRC32 checksum")
        principal = cls(raw)
        if principal.to_text() != text:
            raise InvalidPrincipal(f"principal text {text!r} is not in canonical form")
        return principal

    def to_text(self) -> str:
        """The textual form, e.g. `aaaaa-aa` for the management canister."""
        data = zlib.crc32(self.raw).to_bytes(4, "big") + self.raw
        compact = base64.b32encode(data).decode("ascii").lower().rstrip("=")
        return "-".join(compact[i : i + 5] for i in range(0, len(compact), 5))

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"Principal({self.to_text()!r})"

    # --- special forms --------------------------------------------------------------

    @classmethod
    def self_authenticating(cls, der_public_key: bytes) -> Principal:
        """The id of a user holding a key: SHA-224 of the DER public key, then 0x02."""
        return cls(hashlib.sha224(der_public_key).digest() + bytes((SELF_AUTHENTICATING_SUFFIX,)))

    @classmethod
    def anonymous(cls) -> Principal:
        """The anonymous principal `2vxsx-fae` (the single byte 0x04)."""
        return ANONYMOUS

    @classmethod
    def management_canister(cls) -> Principal:
        """The management canister `aaaaa-aa` (the empty principal)."""
        return MANAGEMENT_CANISTER

    @classmethod
    def from_canister_index(cls, index: int) -> Principal:
        """The canister id with the given index: 8-byte big-endian index, 0x01, 0x01."""
        if not 0 <= index < 1 << 64:
            raise InvalidPrincipal(f"canister index {index} is out of the 64-bit range")
        return cls(index.to_bytes(8, "big") + OPAQUE_CANISTER_SUFFIX)

    @property
    def canister_index(self) -> int | None:
        """The index of a canister id minted by `from_canister_index`, else None."""
        if len(self.raw) == 10 and self.raw.endswith(OPAQUE_CANISTER_SUFFIX):
            return int.from_bytes(self.raw[:8], "big")
        return None

    @property
    def is_anonymous(self) -> bool:
        return self.raw == b"\x04"

    @property
    def is_management_canister(self) -> bool:
        return self.raw == b""

    @property
    def is_self_authenticating(self) -> bool:
        return len(self.raw) == 29 and self.raw[-1] == SELF_AUTHENTICATING_SUFFIX


_BASE32_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz234567")

ANONYMOUS = Principal(bytes((ANONYMOUS_SUFFIX,)))
MANAGEMENT_CANISTER = Principal(b"")


@dataclass(frozen=True, slots=True)
class CanisterRange:
    """A closed interval [start, end] of principals, compared lexicographically by bytes.

    Spec: Certification › canister ranges (`canister_range = [principal principal]`).
    """

    start: Principal
    end: Principal

    def __post_init__(self) -> None:
        if self.start.raw > self.end.raw:
            raise InvalidPrincipal(
                f"canister range starts after it ends: {self.start} > {self.end}"
            )

    def __contains__(self, principal: object) -> bool:
        return isinstance(principal, Principal) and self.start.raw <= principal.raw <= self.end.raw

    @classmethod
    def of_indices(cls, first: int, last: int) -> CanisterRange:
        """The range of canister ids with indices first..last inclusive."""
        return cls(Principal.from_canister_index(first), Principal.from_canister_index(last))
