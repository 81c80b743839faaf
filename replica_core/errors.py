"""Errors and reject codes of the replica core.

Spec: IC interface spec 0.66.0, Overview › Reject codes; HTTPS interface › Errors.

The exception tree of icbox (expected failures only; a bug is still a plain exception)::

    IcboxError
     ├── InvalidPrincipal          bad textual or binary principal        (ValueError)
     ├── CandidError               Candid encoding/decoding/type errors   (ValueError)
     ├── InvalidRequest            a client error: becomes an HTTP 4xx
     │    ├── MalformedCbor         not CBOR, too large, too deep, bad shape
     │    ├── MalformedEnvelope     CBOR fine, but not a valid envelope
     │    └── AuthenticationError   sender, signature, delegation or expiry rejected
     │         └── InvalidSignature one signature check failed (says which)
     ├── HashTreeError             a malformed hash tree
     └── InvalidCertificate        a certificate failed verification (says which check)

Outcomes that the spec models as values (a reject from a canister, a lookup that finds
nothing) are values, not exceptions: see `Reject` below and `certification.hash_tree`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

__all__ = [
    "AuthenticationError",
    "CandidError",
    "HashTreeError",
    "IcboxError",
    "InvalidCertificate",
    "InvalidPrincipal",
    "InvalidRequest",
    "InvalidSignature",
    "MalformedCbor",
    "MalformedEnvelope",
    "Reject",
    "RejectCode",
]


class RejectCode(IntEnum):
    """The reject codes of the spec (Overview › Reject codes)."""

    SYS_FATAL = 1
    SYS_TRANSIENT = 2
    DESTINATION_INVALID = 3
    CANISTER_REJECT = 4
    CANISTER_ERROR = 5
    SYS_UNKNOWN = 6


@dataclass(frozen=True, slots=True)
class Reject:
    """A rejected call: the spec's reject code and message, plus the IC's `error_code`."""

    code: RejectCode
    message: str
    error_code: str | None = None


class IcboxError(Exception):
    """Base of every expected failure in icbox."""


class InvalidPrincipal(IcboxError, ValueError):
    """A principal's textual or binary form is invalid."""


class CandidError(IcboxError, ValueError):
    """A Candid value or type could not be encoded, decoded or parsed."""


class InvalidRequest(IcboxError):
    """The client sent something the spec does not accept (an HTTP 4xx)."""


class MalformedCbor(InvalidRequest):
    """The body is not well-formed CBOR, or exceeds a size or depth limit."""


class MalformedEnvelope(InvalidRequest):
    """The CBOR is well-formed but is not a valid request envelope."""


class AuthenticationError(InvalidRequest):
    """The sender, signature, delegation chain or expiry of a request is not valid."""


class InvalidSignature(AuthenticationError):
    """A signature did not verify; the message says which check failed."""


class HashTreeError(IcboxError, ValueError):
    """A hash tree is malformed (bad CBOR shape, bad node tag, bad pruned hash length)."""


class InvalidCertificate(IcboxError):
    """A certificate failed verification; the message says which check failed."""
