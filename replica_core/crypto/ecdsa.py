"""ECDSA request signatures on P-256 and secp256k1 with SHA-256, verified with `cryptography`.

Spec: IC interface spec 0.66.0, Overview › Signatures › Ed25519 and ECDSA signatures.

What is checked, and why:

* Public keys: a DER SubjectPublicKeyInfo (id-ecPublicKey + curve OID) carrying an
  *uncompressed* point, as the spec requires and the IC replica enforces; or a raw SEC1 point
  (65-byte uncompressed or 33-byte compressed) when the caller names the curve. The point must
  lie on the curve (OpenSSL checks this when loading).
* Signatures: exactly 64 bytes, `r · s` as 32-byte big-endian integers, each in [1, n-1]; the
  message is hashed with SHA-256.
* High-S signatures are **accepted**: the IC replica verifies P-256 with `p256`'s
  `verify_prehash` (no s-normalisation) and secp256k1 with
  `verify_ecdsa_signature_prehashed_with_malleability` (dfinity/ic
  rs/crypto/internal/crypto_lib/basic_sig/ecdsa_secp256k1, "Previously this crate was
  implemented using OpenSSL, which does not check s-normalization"), and OpenSSL agrees.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from replica_core.crypto.der import KeyScheme, parse_public_key
from replica_core.errors import InvalidSignature

__all__ = [
    "P256_ORDER",
    "SECP256K1_ORDER",
    "SIGNATURE_LENGTH",
    "load_public_key",
    "verify",
    "verify_p256",
    "verify_secp256k1",
]

SIGNATURE_LENGTH = 64

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

_CURVES: dict[KeyScheme, tuple[ec.EllipticCurve, int, str]] = {
    KeyScheme.ECDSA_P256: (ec.SECP256R1(), P256_ORDER, "P-256"),
    KeyScheme.ECDSA_SECP256K1: (ec.SECP256K1(), SECP256K1_ORDER, "secp256k1"),
}
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def _load_point(scheme: KeyScheme, point: bytes) -> ec.EllipticCurvePublicKey:
    curve, _, name = _CURVES[scheme]
    if not ((len(point) == 65 and point[0] == 0x04) or (len(point) == 33 and point[0] in (2, 3))):
        raise InvalidSignature(f"invalid {name} public key: not a SEC1 point")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, bytes(point))
    except ValueError as e:
        raise InvalidSignature(f"invalid {name} public key: {e}") from None


def load_public_key(
    public_key: bytes, scheme: KeyScheme | None = None
) -> tuple[KeyScheme, ec.EllipticCurvePublicKey]:
    """Load a DER public key (curve read from it), or a raw SEC1 point of the curve `scheme`."""
    if scheme is not None and scheme not in _CURVES:
        raise InvalidSignature(f"{scheme} is not an ECDSA scheme")
    if public_key[:1] == b"\x30":
        found, point = parse_public_key(public_key)
        if found not in _CURVES:
            raise InvalidSignature(f"expected an ECDSA public key, got a {found} key")
        if scheme is not None and found is not scheme:
            raise InvalidSignature(f"expected a {scheme} public key, got a {found} key")
        return found, _load_point(found, point)
    if scheme is None:
        raise InvalidSignature("a raw ECDSA public key needs its curve named")
    return scheme, _load_point(scheme, public_key)


def _verify(
    scheme: KeyScheme, key: ec.EllipticCurvePublicKey, payload: bytes, signature: bytes
) -> None:
    _, order, name = _CURVES[scheme]
    if len(signature) != SIGNATURE_LENGTH:
        raise InvalidSignature(
            f"{name} signature is {len(signature)} bytes, expected {SIGNATURE_LENGTH} (r · s)"
        )
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (0 < r < order and 0 < s < order):
        raise InvalidSignature(f"{name} signature has r or s outside [1, n-1]")
    try:
        key.verify(encode_dss_signature(r, s), bytes(payload), _ECDSA_SHA256)
    except _CryptoInvalidSignature:
        raise InvalidSignature(f"{name} ECDSA signature verification failed") from None


def verify(public_key_der: bytes, payload: bytes, signature: bytes) -> None:
    """Check an ECDSA-SHA256 `r · s` signature under a DER P-256 or secp256k1 key."""
    scheme, key = load_public_key(public_key_der)
    _verify(scheme, key, payload, signature)


def verify_p256(public_key: bytes, payload: bytes, signature: bytes) -> None:
    """Check a P-256 signature; the key is DER or a raw (un)compressed SEC1 point."""
    scheme, key = load_public_key(public_key, KeyScheme.ECDSA_P256)
    _verify(scheme, key, payload, signature)


def verify_secp256k1(public_key: bytes, payload: bytes, signature: bytes) -> None:
    """Check a secp256k1 signature; the key is DER or a raw (un)compressed SEC1 point."""
    scheme, key = load_public_key(public_key, KeyScheme.ECDSA_SECP256K1)
    _verify(scheme, key, payload, signature)
