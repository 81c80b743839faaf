"""Delegation chains: verifying `sender_delegation` from `sender_pubkey` to the signing key.

Spec: IC interface spec 0.66.0, HTTPS interface › Authentication (delegations, `targets`,
`permissions`); Abstract behavior › Envelope Authentication (`verify_delegations`).

The checks and their order follow the IC replica (dfinity/ic rs/validator
ingress_validation.rs): chain length, then expiry of every link, then repeated public keys,
then target counts, and only then the signatures, link by link; so a cheap check fails before
any signature is verified. Error wording mirrors the replica's where it has one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from replica_core.crypto.signature import verify_signature
from replica_core.errors import AuthenticationError, InvalidSignature
from replica_core.principal import Principal
from replica_core.request_id import hash_of_map

__all__ = [
    "DOMAIN_DELEGATION",
    "MAX_DELEGATIONS",
    "MAX_TARGETS_PER_DELEGATION",
    "PERMISSIONS_ALL",
    "PERMISSIONS_QUERIES",
    "ChainResult",
    "Delegation",
    "SignedDelegation",
    "verify_delegation_chain",
]

DOMAIN_DELEGATION = b"\x1aic-request-auth-delegation"
"""Domain separator of delegation signatures (27 bytes; spec: Authentication)."""

MAX_DELEGATIONS = 20
"""At most 20 delegations per request (spec: Authentication; `requests.cddl` still says 4)."""

MAX_TARGETS_PER_DELEGATION = 1000
"""At most 1000 `targets` per delegation (spec: Authentication)."""

PERMISSIONS_QUERIES = "queries"
PERMISSIONS_ALL = "all"
_VALID_PERMISSIONS = frozenset({PERMISSIONS_QUERIES, PERMISSIONS_ALL})


@dataclass(frozen=True, slots=True)
class Delegation:
    """The `delegation` map: the delegatee's key, expiry and optional restrictions.

    `extra` keeps any further fields the client sent (sorted by name): the signature covers
    `hash_of_map` of the whole map, so they are hashed too.
    """

    pubkey: bytes
    expiration: int
    targets: tuple[Principal, ...] | None = None
    permissions: str | None = None
    extra: tuple[tuple[str, Any], ...] = field(default=(), compare=False)

    def as_map(self) -> dict[str, Any]:
        """The delegation as the map that was signed (absent optional fields omitted)."""
        content: dict[str, Any] = {"pubkey": self.pubkey, "expiration": self.expiration}
        if self.targets is not None:
            content["targets"] = [t.raw for t in self.targets]
        if self.permissions is not None:
            content["permissions"] = self.permissions
        content.update(self.extra)
        return content

    def representation_hash(self) -> bytes:
        """`hash_of_map` of the delegation; targets hash as an array of blobs."""
        return hash_of_map(self.as_map())

    def signed_payload(self) -> bytes:
        """What the delegating key signs: the domain separator and the representation hash."""
        return DOMAIN_DELEGATION + self.representation_hash()


@dataclass(frozen=True, slots=True)
class SignedDelegation:
    """One element of `sender_delegation`: a delegation and the delegator's signature."""

    delegation: Delegation
    signature: bytes


@dataclass(frozen=True, slots=True)
class ChainResult:
    """What a verified chain grants: the key that must sign the request, the canisters it
    may address (`None` = unrestricted) and whether only queries/read_state are allowed."""

    signing_key_der: bytes
    targets: frozenset[Principal] | None
    queries_only: bool


def verify_delegation_chain(
    sender_pubkey_der: bytes,
    chain: Sequence[SignedDelegation],
    now_ns: int,
    *,
    root_public_key_der: bytes | None = None,
) -> ChainResult:
    """Verify a delegation chain starting at `sender_pubkey_der` at time `now_ns`.

    Raises `AuthenticationError` for a structural failure (too long, expired, cycle, too many
    targets, unknown permissions) and `InvalidSignature` when a link's signature fails; the
    message names the link index (0 = signed by `sender_pubkey`).
    """
    if len(chain) > MAX_DELEGATIONS:
        raise AuthenticationError(
            f"Invalid delegation: Chain of delegations is too long: got {len(chain)} "
            f"delegations, but at most {MAX_DELEGATIONS} are allowed"
        )
    for index, signed in enumerate(chain):
        if signed.delegation.expiration < now_ns:
            raise AuthenticationError(
                f"Specified sender delegation has expired: delegation {index} expired at "
                f"{signed.delegation.expiration}, local replica time is {now_ns}"
            )
    seen = {bytes(sender_pubkey_der)}
    for index, signed in enumerate(chain):
        if signed.delegation.pubkey in seen:
            raise AuthenticationError(
                "Invalid delegation: Chain of delegations contains at least one cycle: first "
                f"repeating public key encountered (delegation {index}) "
                f"{signed.delegation.pubkey.hex()}"
            )
        seen.add(signed.delegation.pubkey)
    for index, signed in enumerate(chain):
        targets = signed.delegation.targets
        if targets is not None and len(targets) > MAX_TARGETS_PER_DELEGATION:
            raise AuthenticationError(
                f"Invalid delegation: expected at most {MAX_TARGETS_PER_DELEGATION} targets "
                f"per delegation, but delegation {index} has {len(targets)}"
            )
        permissions = signed.delegation.permissions
        if permissions is not None and permissions not in _VALID_PERMISSIONS:
            raise AuthenticationError(
                f"Invalid delegation: delegation {index} has permissions {permissions!r}; "
                'only "queries" and "all" are allowed'
            )

    key = bytes(sender_pubkey_der)
    allowed: frozenset[Principal] | None = None
    queries_only = False
    for index, signed in enumerate(chain):
        delegation = signed.delegation
        try:
            verify_signature(
                key,
                delegation.signed_payload(),
                signed.signature,
                root_public_key_der=root_public_key_der,
            )
        except InvalidSignature as e:
            raise InvalidSignature(f"Invalid delegation: delegation {index}: {e}") from None
        if delegation.targets is not None:
            link_targets = frozenset(delegation.targets)
            allowed = link_targets if allowed is None else allowed & link_targets
        queries_only = queries_only or delegation.permissions == PERMISSIONS_QUERIES
        key = delegation.pubkey
    return ChainResult(signing_key_der=key, targets=allowed, queries_only=queries_only)
