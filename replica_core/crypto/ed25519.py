"""Ed25519 request signatures (RFC 8032), verified with `cryptography`.

Spec: IC interface spec 0.66.0, Overview › Signatures › Ed25519 and ECDSA signatures.

Public keys arrive DER-wrapped (RFC 8410, 44 bytes: `302a300506032b6570032100 · key`); a raw
32-byte key is accepted too, for callers that already unwrapped it. Signatures are the 64-byte
`R · S` of RFC 8032. OpenSSL performs the cofactorless RFC 8032 check and rejects a
non-canonical `S`.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from replica_core.crypto.der import ED25519_DER_PREFIX, KeyScheme, parse_public_key
from replica_core.errors import InvalidSignature

__all__ = ["PUBLIC_KEY_LENGTH", "SIGNATURE_LENGTH", "load_public_key", "verify"]

PUBLIC_KEY_LENGTH = 32
SIGNATURE_LENGTH = 64


def _load_raw(raw: bytes) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as e:
        raise InvalidSignature(f"invalid Ed25519 public key: {e}") from None


def load_public_key(public_key: bytes) -> Ed25519PublicKey:
    """Load a DER (44-byte) or raw (32-byte) Ed25519 public key."""
    if len(public_key) == PUBLIC_KEY_LENGTH:
        return _load_raw(bytes(public_key))
    if len(public_key) == len(ED25519_DER_PREFIX) + PUBLIC_KEY_LENGTH and public_key.startswith(
        ED25519_DER_PREFIX
    ):
        return _load_raw(bytes(public_key[len(ED25519_DER_PREFIX) :]))
    scheme, raw = parse_public_key(public_key)
    if scheme is not KeyScheme.ED25519:
        raise InvalidSignature(f"expected an Ed25519 public key, got a {scheme} key")
    return _load_raw(raw)


def verify(public_key: bytes, payload: bytes, signature: bytes) -> None:
    """Check an Ed25519 `signature` on `payload`; raise `InvalidSignature` saying why not."""
    key = load_public_key(public_key)
    if len(signature) != SIGNATURE_LENGTH:
        raise InvalidSignature(
            f"Ed25519 signature is {len(signature)} bytes, expected {SIGNATURE_LENGTH}"
        )
    try:
        key.verify(bytes(signature), bytes(payload))
    except _CryptoInvalidSignature:
        raise InvalidSignature("Ed25519 signature verification failed") from None
