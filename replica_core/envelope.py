"""Request envelopes: the one place a CBOR request body becomes typed values.

Spec: IC interface spec 0.66.0, HTTPS interface › Request: Call / Query / Read state,
› Authentication (envelope fields, delegations), › Request ids; `requests.cddl`.

`decode_envelope` checks shape and types only (no signatures, no clock): every field the
spec names is type-checked, with a message that names the field. The request id is computed
once, from the content map exactly as received, so fields this module does not know (a newer
spec's optional fields) still count in the request id, as `hash_of_map(content)` requires.
Unknown *envelope* fields are ignored, as the IC replica ignores them.

Limits enforced here (a violation is `MalformedEnvelope`, or `MalformedCbor` for the size):
nonce ≤ 32 bytes, principals ≤ 29 bytes, ≤ 1000 read_state paths of ≤ 127 labels,
`ingress_expiry` and delegation `expiration` fit in 64 bits (the replica's `u64`), body ≤
`MAX_ENVELOPE_SIZE`. Delegation-chain limits (20 links, 1000 targets) are checked by
`crypto.delegation.verify_delegation_chain`, as the replica does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from replica_core import cbor
from replica_core.crypto.delegation import Delegation, SignedDelegation
from replica_core.errors import InvalidPrincipal, MalformedEnvelope
from replica_core.principal import Principal
from replica_core.request_id import request_id
from replica_core.types import Label, RequestId

__all__ = [
    "ENVELOPE_OVERHEAD",
    "MAX_ENVELOPE_SIZE",
    "MAX_INGRESS_PAYLOAD",
    "MAX_LABELS_PER_PATH",
    "MAX_NONCE_LENGTH",
    "MAX_PATHS",
    "CallContent",
    "Content",
    "Envelope",
    "QueryContent",
    "ReadStateContent",
    "SenderInfo",
    "decode_envelope",
    "parse_envelope",
]

MAX_INGRESS_PAYLOAD = 2 * 1024 * 1024
"""Maximum ingress message payload, 2 MiB (docs/references/resource-limits.md)."""

ENVELOPE_OVERHEAD = 256 * 1024
"""(impl) Room above the payload for the envelope: keys, signatures and up to 20 delegations
(a canister-signature link carries a certificate of a few KiB; 1000 targets ≈ 14 KiB)."""

MAX_ENVELOPE_SIZE = MAX_INGRESS_PAYLOAD + ENVELOPE_OVERHEAD
"""(impl) Largest request body accepted; the gateway answers 413 above it."""

MAX_NONCE_LENGTH = 32
MAX_PATHS = 1000
MAX_LABELS_PER_PATH = 127
_U64_LIMIT = 1 << 64


@dataclass(frozen=True, slots=True)
class SenderInfo:
    """`content.sender_info`: canister-signed information about the sender."""

    info: bytes
    signer: Principal
    sig: bytes


@dataclass(frozen=True, slots=True)
class _CanisterCallContent:
    """The fields shared by the two kinds of canister method call: update call and query."""

    request_type: ClassVar[str]
    canister_id: Principal
    method_name: str
    arg: bytes
    sender: Principal
    ingress_expiry: int
    nonce: bytes | None
    sender_info: SenderInfo | None
    request_id: RequestId


@dataclass(frozen=True, slots=True)
class CallContent(_CanisterCallContent):
    """The content of an update call (`request_type` "call")."""

    request_type: ClassVar[str] = "call"


@dataclass(frozen=True, slots=True)
class QueryContent(_CanisterCallContent):
    """The content of a query call (`request_type` "query")."""

    request_type: ClassVar[str] = "query"


@dataclass(frozen=True, slots=True)
class ReadStateContent:
    """The content of a read_state request (`request_type` "read_state")."""

    request_type: ClassVar[str] = "read_state"
    paths: tuple[tuple[Label, ...], ...]
    sender: Principal
    ingress_expiry: int
    nonce: bytes | None
    request_id: RequestId


Content = CallContent | QueryContent | ReadStateContent


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded request: content plus the (unverified) authentication fields."""

    content: Content
    sender_pubkey: bytes | None = None
    sender_sig: bytes | None = None
    sender_delegation: tuple[SignedDelegation, ...] | None = None


# --- field readers ---------------------------------------------------------------------------


def _is_array(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray)


def _blob(value: Any, name: str) -> bytes:
    if not isinstance(value, bytes):
        raise MalformedEnvelope(f"{name} must be a blob, not {_kind(value)}")
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise MalformedEnvelope(f"{name} must be text, not {_kind(value)}")
    return value


def _nat64(value: Any, name: str) -> int:
    if type(value) is not int or value < 0:
        raise MalformedEnvelope(f"{name} must be a nat, not {_kind(value)}")
    if value >= _U64_LIMIT:
        raise MalformedEnvelope(f"{name} must be a nat below 2^64, got {value}")
    return value


def _principal(value: Any, name: str) -> Principal:
    raw = _blob(value, name)
    try:
        return Principal(raw)
    except InvalidPrincipal as e:
        raise MalformedEnvelope(f"{name} is not a valid principal: {e}") from None


def _map(value: Any, name: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise MalformedEnvelope(f"{name} must be a map, not {_kind(value)}")
    for key in value:
        if not isinstance(key, str):
            raise MalformedEnvelope(f"{name} has a non-text key {key!r}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, int):
        return "a negative int" if value < 0 else "a nat"
    if isinstance(value, bytes):
        return "a blob"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Mapping):
        return "a map"
    if _is_array(value):
        return "an array"
    return type(value).__name__


def _required(fields: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in fields:
        raise MalformedEnvelope(f"{where} is missing the required field {key!r}")
    return fields[key]


# --- content ---------------------------------------------------------------------------------


def _request_id(content: Mapping[str, Any]) -> RequestId:
    try:
        return request_id(content)
    except TypeError as e:
        raise MalformedEnvelope(f"content cannot be hashed into a request id: {e}") from None


def _common(content: Mapping[str, Any]) -> tuple[Principal, int, bytes | None]:
    sender = _principal(_required(content, "sender", "content"), "content.sender")
    expiry = _nat64(_required(content, "ingress_expiry", "content"), "content.ingress_expiry")
    nonce = None
    if "nonce" in content:
        nonce = _blob(content["nonce"], "content.nonce")
        if len(nonce) > MAX_NONCE_LENGTH:
            raise MalformedEnvelope(
                f"Nonce in request is too big: got {len(nonce)} bytes, but at most "
                f"{MAX_NONCE_LENGTH} are allowed"
            )
    return sender, expiry, nonce


def _sender_info(content: Mapping[str, Any]) -> SenderInfo | None:
    if "sender_info" not in content:
        return None
    fields = _map(content["sender_info"], "content.sender_info")
    where = "content.sender_info"
    return SenderInfo(
        info=_blob(_required(fields, "info", where), f"{where}.info"),
        signer=_principal(_required(fields, "signer", where), f"{where}.signer"),
        sig=_blob(_required(fields, "sig", where), f"{where}.sig"),
    )


def _canister_call(
    content: Mapping[str, Any], cls: type[CallContent] | type[QueryContent]
) -> CallContent | QueryContent:
    sender, expiry, nonce = _common(content)
    return cls(
        canister_id=_principal(_required(content, "canister_id", "content"), "content.canister_id"),
        method_name=_text(_required(content, "method_name", "content"), "content.method_name"),
        arg=_blob(_required(content, "arg", "content"), "content.arg"),
        sender=sender,
        ingress_expiry=expiry,
        nonce=nonce,
        sender_info=_sender_info(content),
        request_id=_request_id(content),
    )


def _paths(value: Any) -> tuple[tuple[Label, ...], ...]:
    if not _is_array(value):
        raise MalformedEnvelope(f"content.paths must be an array of paths, not {_kind(value)}")
    if len(value) > MAX_PATHS:
        raise MalformedEnvelope(
            f"Too many paths in read state request: got {len(value)} paths, but at most "
            f"{MAX_PATHS} are allowed"
        )
    paths = []
    for i, path in enumerate(value):
        if not _is_array(path):
            raise MalformedEnvelope(f"content.paths[{i}] must be an array of blobs")
        if len(path) > MAX_LABELS_PER_PATH:
            raise MalformedEnvelope(
                "At least one path in read state request is too deep: got "
                f"{len(path)} labels, but at most {MAX_LABELS_PER_PATH} are allowed"
            )
        for j, label in enumerate(path):
            if not isinstance(label, bytes):
                raise MalformedEnvelope(f"content.paths[{i}][{j}] must be a blob")
        paths.append(tuple(Label(label) for label in path))
    return tuple(paths)


def _read_state(content: Mapping[str, Any]) -> ReadStateContent:
    sender, expiry, nonce = _common(content)
    return ReadStateContent(
        paths=_paths(_required(content, "paths", "content")),
        sender=sender,
        ingress_expiry=expiry,
        nonce=nonce,
        request_id=_request_id(content),
    )


def _content(value: Any) -> Content:
    content = _map(value, "content")
    request_type = _text(_required(content, "request_type", "content"), "content.request_type")
    if request_type == "call":
        return _canister_call(content, CallContent)
    if request_type == "query":
        return _canister_call(content, QueryContent)
    if request_type == "read_state":
        return _read_state(content)
    raise MalformedEnvelope(
        f"unknown request_type {request_type!r} (expected call, query or read_state)"
    )


# --- delegations -----------------------------------------------------------------------------

_DELEGATION_FIELDS = frozenset({"pubkey", "expiration", "targets", "permissions"})


def _delegation(value: Any, where: str) -> Delegation:
    fields = _map(value, where)
    targets = None
    if "targets" in fields:
        raw_targets = fields["targets"]
        if not _is_array(raw_targets):
            raise MalformedEnvelope(f"{where}.targets must be an array of principals")
        targets = tuple(_principal(t, f"{where}.targets[{i}]") for i, t in enumerate(raw_targets))
    permissions = None
    if "permissions" in fields:
        permissions = _text(fields["permissions"], f"{where}.permissions")
    extra = tuple(sorted((k, v) for k, v in fields.items() if k not in _DELEGATION_FIELDS))
    delegation = Delegation(
        pubkey=_blob(_required(fields, "pubkey", where), f"{where}.pubkey"),
        expiration=_nat64(_required(fields, "expiration", where), f"{where}.expiration"),
        targets=targets,
        permissions=permissions,
        extra=extra,
    )
    try:
        delegation.representation_hash()
    except TypeError as e:
        raise MalformedEnvelope(f"{where} cannot be hashed: {e}") from None
    return delegation


def _delegations(value: Any) -> tuple[SignedDelegation, ...]:
    if not _is_array(value):
        raise MalformedEnvelope(f"sender_delegation must be an array, not {_kind(value)}")
    chain = []
    for i, item in enumerate(value):
        where = f"sender_delegation[{i}]"
        fields = _map(item, where)
        chain.append(
            SignedDelegation(
                delegation=_delegation(
                    _required(fields, "delegation", where), f"{where}.delegation"
                ),
                signature=_blob(_required(fields, "signature", where), f"{where}.signature"),
            )
        )
    return tuple(chain)


# --- envelope --------------------------------------------------------------------------------


def parse_envelope(value: Any) -> Envelope:
    """Turn a decoded CBOR envelope (maps and arrays, any Mapping/Sequence) into an Envelope."""
    envelope = _map(value, "envelope")
    content = _content(_required(envelope, "content", "envelope"))
    pubkey, sig, chain = (
        envelope.get(k) for k in ("sender_pubkey", "sender_sig", "sender_delegation")
    )
    return Envelope(
        content=content,
        sender_pubkey=None if pubkey is None else _blob(pubkey, "sender_pubkey"),
        sender_sig=None if sig is None else _blob(sig, "sender_sig"),
        sender_delegation=None if chain is None else _delegations(chain),
    )


def decode_envelope(body: bytes, *, max_size: int = MAX_ENVELOPE_SIZE) -> Envelope:
    """Decode a CBOR request body (self-describe tag optional) into an `Envelope`.

    Raises `MalformedCbor` if the body is not one CBOR item or exceeds `max_size` bytes, and
    `MalformedEnvelope` naming the offending field otherwise.
    """
    return parse_envelope(cbor.decode(body, max_size=max_size))
