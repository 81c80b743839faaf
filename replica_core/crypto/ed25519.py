"""Ed25519 signatures (RFC 8032): request verification and node signing, with libsodium.

Spec: IC interface spec 0.66.0, Overview › Signatures › Ed25519 and ECDSA signatures.

Public keys arrive DER-wrapped (RFC 8410, 44 bytes: `302a300506032b6570032100 · key`); a raw
32-byte key is accepted too, for callers that already unwrapped it. Signatures are the 64-byte
`R · S` of RFC 8032.

(impl) libsodium (PyNaCl) verifies in about half the time of OpenSSL (`cryptography`), and
every request is verified, so it does the work here; `cryptography` still holds the other
schemes and the key objects. libsodium's check is RFC 8032's cofactorless equation with a
canonical `S`, and it is stricter than OpenSSL on inputs no honest signer produces: it also
refuses a non-canonical or small-order public key or `R` (as `ed25519-dalek`'s
`verify_strict` does). Signing is deterministic, so `sign` gives exactly the bytes
`Ed25519PrivateKey.sign` gives (tests compare both).
"""

from __future__ import annotations

import functools

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from nacl import bindings as _sodium
from nacl.exceptions import BadSignatureError as _SodiumBadSignature

from replica_core.crypto.der import ED25519_DER_PREFIX, KeyScheme, parse_public_key
from replica_core.errors import InvalidSignature

__all__ = ["PUBLIC_KEY_LENGTH", "SIGNATURE_LENGTH", "raw_public_key", "sign", "verify"]

PUBLIC_KEY_LENGTH = 32
SIGNATURE_LENGTH = 64

_DER_LENGTH = len(ED25519_DER_PREFIX) + PUBLIC_KEY_LENGTH


def raw_public_key(public_key: bytes) -> bytes:
    """The 32 key bytes of a DER (44-byte) or raw (32-byte) Ed25519 public key."""
    public_key = bytes(public_key)
    if len(public_key) == PUBLIC_KEY_LENGTH:
        return public_key
    if len(public_key) == _DER_LENGTH and public_key.startswith(ED25519_DER_PREFIX):
        return public_key[len(ED25519_DER_PREFIX) :]
    scheme, raw = parse_public_key(public_key)
    if scheme is not KeyScheme.ED25519:
        raise InvalidSignature(f"expected an Ed25519 public key, got a {scheme} key")
    if len(raw) != PUBLIC_KEY_LENGTH:
        raise InvalidSignature(
            f"invalid Ed25519 public key: {len(raw)} bytes, expected {PUBLIC_KEY_LENGTH}"
        )
    return raw


def verify(public_key: bytes, payload: bytes, signature: bytes) -> None:
    """Check an Ed25519 `signature` on `payload`; raise `InvalidSignature` saying why not."""
    key = raw_public_key(public_key)
    if len(signature) != SIGNATURE_LENGTH:
        raise InvalidSignature(
            f"Ed25519 signature is {len(signature)} bytes, expected {SIGNATURE_LENGTH}"
        )
    try:
        _sodium.crypto_sign_open(bytes(signature) + bytes(payload), key)
    except _SodiumBadSignature:
        raise InvalidSignature("Ed25519 signature verification failed") from None


@functools.lru_cache(maxsize=64)
def _secret_key(private_key: Ed25519PrivateKey) -> bytes:
    """libsodium's 64-byte secret key (seed · public key) of a `cryptography` key object."""
    seed = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    _, secret = _sodium.crypto_sign_seed_keypair(seed)
    return bytes(secret)


def sign(private_key: Ed25519PrivateKey, message: bytes) -> bytes:
    """The RFC 8032 signature of `message` (the same bytes `private_key.sign` returns)."""
    signed = _sodium.crypto_sign(bytes(message), _secret_key(private_key))
    return bytes(signed[:SIGNATURE_LENGTH])
