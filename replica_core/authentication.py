"""Request authentication: the spec's `verify_envelope`, plus ingress expiry.

Spec: IC interface spec 0.66.0, HTTPS interface › Authentication, › Request: Call (expiry,
`sender_info`); Abstract behavior › Envelope Authentication; resource-limits.md (5 minutes).

Checks, in the IC replica's order (dfinity/ic rs/validator ingress_validation.rs), with its
wording where it has one:

1. expiry: `now ≤ ingress_expiry ≤ now + MAX_INGRESS_TTL + skew`, except for anonymous
   `query` and `read_state`, which the spec lets carry any expiry (since 0.48.0);
2. anonymous sender: no `sender_pubkey`, `sender_sig`, `sender_delegation` or `sender_info`;
3. otherwise `sender_pubkey` and `sender_sig` are required and `sender` must be the
   self-authenticating id of `sender_pubkey`;
4. the delegation chain (`crypto.delegation.verify_delegation_chain`);
5. a call through a chain holding a `"queries"` delegation is refused;
6. `sender_sig` verifies on `"\\x0Aic-request" · request_id` under the chain's last key;
7. `sender_info`, if present: `sender_pubkey` is a canister-signature key, `signer` is its
   canister, and `sig` is that canister's signature on `"\\x0Eic-sender-info" · info`;
8. for call and query, `canister_id` must be among the delegation targets (read_state
   callers check the canisters they touch with `check_target`).

The future bound is the replica's: `MAX_INGRESS_TTL` (5 min) plus `PERMITTED_DRIFT_AT_VALIDATOR`
(30 s) for clients whose clock runs slightly ahead.
"""

from __future__ import annotations

from dataclasses import dataclass

from replica_core.crypto.delegation import verify_delegation_chain
from replica_core.crypto.der import KeyScheme, canister_id_of_canister_sig_key, parse_public_key
from replica_core.crypto.signature import verify_signature
from replica_core.envelope import (
    CallContent,
    Envelope,
    QueryContent,
    ReadStateContent,
    SenderInfo,
)
from replica_core.errors import AuthenticationError, InvalidSignature
from replica_core.principal import Principal
from replica_core.request_id import DOMAIN_IC_REQUEST

__all__ = [
    "DOMAIN_SENDER_INFO",
    "MAX_INGRESS_TTL_NS",
    "PERMITTED_DRIFT_AT_VALIDATOR_NS",
    "AuthResult",
    "authenticate",
    "check_expiry",
    "check_target",
]

DOMAIN_SENDER_INFO = b"\x0eic-sender-info"
"""Domain separator of the `sender_info` canister signature (15 bytes)."""

MAX_INGRESS_TTL_NS = 5 * 60 * 1_000_000_000
"""Ingress expiry horizon, 5 minutes (resource-limits.md; the replica's MAX_INGRESS_TTL)."""

PERMITTED_DRIFT_AT_VALIDATOR_NS = 30 * 1_000_000_000
"""(impl) Extra 30 s allowed beyond the horizon, as the replica's PERMITTED_DRIFT_AT_VALIDATOR."""


@dataclass(frozen=True, slots=True)
class AuthResult:
    """An authenticated request: who sent it and which canisters it may address
    (`None` = unrestricted); `sender_info` is set only if present and verified."""

    sender: Principal
    targets: frozenset[Principal] | None
    sender_info: SenderInfo | None = None


def check_expiry(
    envelope: Envelope, now_ns: int, *, max_expiry_skew_ns: int = PERMITTED_DRIFT_AT_VALIDATOR_NS
) -> None:
    """Refuse an expired request, or one expiring more than 5 minutes (+ skew) from now."""
    content = envelope.content
    if content.sender.is_anonymous and isinstance(content, QueryContent | ReadStateContent):
        return
    latest = now_ns + MAX_INGRESS_TTL_NS + max_expiry_skew_ns
    if not now_ns <= content.ingress_expiry <= latest:
        raise AuthenticationError(
            "Specified ingress_expiry not within expected range: "
            f"Minimum allowed expiry: {now_ns}, Maximum allowed expiry: {latest}, "
            f"Provided expiry: {content.ingress_expiry}"
        )


def authenticate(
    envelope: Envelope,
    now_ns: int,
    *,
    root_public_key_der: bytes,
    max_expiry_skew_ns: int = PERMITTED_DRIFT_AT_VALIDATOR_NS,
) -> AuthResult:
    """Authenticate `envelope` at time `now_ns`; raise `AuthenticationError` (or its subclass
    `InvalidSignature`) saying which check failed."""
    check_expiry(envelope, now_ns, max_expiry_skew_ns=max_expiry_skew_ns)
    content = envelope.content
    sender = content.sender
    sender_info = None if isinstance(content, ReadStateContent) else content.sender_info

    if sender.is_anonymous:
        if (
            envelope.sender_pubkey is not None
            or envelope.sender_sig is not None
            or envelope.sender_delegation is not None
        ):
            raise AuthenticationError("Signature is not allowed for the anonymous user")
        if sender_info is not None:
            raise AuthenticationError("sender_info is not allowed for the anonymous user")
        return AuthResult(sender=sender, targets=None)

    pubkey, sig = envelope.sender_pubkey, envelope.sender_sig
    if pubkey is None or sig is None:
        raise AuthenticationError(f"Missing signature from user: {sender}")
    if Principal.self_authenticating(pubkey) != sender:
        raise AuthenticationError(
            f"The user id {sender} does not match the public key {pubkey.hex()}"
        )
    chain = verify_delegation_chain(
        pubkey, envelope.sender_delegation or (), now_ns, root_public_key_der=root_public_key_der
    )
    if chain.queries_only and isinstance(content, CallContent):
        raise AuthenticationError(
            'Invalid delegation: a delegation with permissions "queries" cannot authorize '
            "an update call"
        )
    try:
        verify_signature(
            chain.signing_key_der,
            DOMAIN_IC_REQUEST + content.request_id,
            sig,
            root_public_key_der=root_public_key_der,
        )
    except InvalidSignature as e:
        raise InvalidSignature(f"Invalid signature: {e}") from None
    if sender_info is not None:
        _verify_sender_info(pubkey, sender_info, root_public_key_der)
    auth = AuthResult(sender=sender, targets=chain.targets, sender_info=sender_info)
    if isinstance(content, CallContent | QueryContent):
        check_target(auth, content.canister_id)
    return auth


def _verify_sender_info(pubkey: bytes, info: SenderInfo, root_public_key_der: bytes) -> None:
    scheme, key = parse_public_key(pubkey)
    if scheme is not KeyScheme.CANISTER_SIG:
        raise AuthenticationError(
            "sender_info is only allowed when sender_pubkey is a canister signature key"
        )
    signing_canister = Principal(canister_id_of_canister_sig_key(key))
    if info.signer != signing_canister:
        raise AuthenticationError(
            f"sender_info.signer {info.signer} is not the signing canister {signing_canister} "
            "of sender_pubkey"
        )
    try:
        verify_signature(
            pubkey,
            DOMAIN_SENDER_INFO + info.info,
            info.sig,
            root_public_key_der=root_public_key_der,
        )
    except InvalidSignature as e:
        raise InvalidSignature(f"Invalid sender_info signature: {e}") from None


def check_target(auth: AuthResult, canister_id: Principal) -> None:
    """Refuse a canister outside the delegation targets of an authenticated request."""
    if auth.targets is not None and canister_id not in auth.targets:
        raise AuthenticationError(f"Canister {canister_id} is not one of the delegation targets")
