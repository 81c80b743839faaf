"""WebAuthn request signatures: DER-wrapped COSE keys and CBOR-wrapped assertions.

Spec: IC interface spec 0.66.0, Overview › Signatures › Web Authentication.

A WebAuthn public key is a SubjectPublicKeyInfo with OID 1.3.6.1.4.1.56387.1.1 whose BIT STRING
is a COSE key (RFC 8152). A signature is CBOR (tag 55799 optional) of
`{authenticator_data: blob, client_data_json: text, signature: blob}`.

Checked here, matching what the IC replica checks (dfinity/ic rs/validator/src/webauthn.rs,
rs/types/types/src/messages/webauthn.rs, rs/crypto/internal/crypto_lib/basic_sig/cose):

* the COSE key: a map with `kty` (1) and `alg` (3); EC2/ES256 (`kty` 2, `alg` -7) with
  `crv` 1 (P-256) and 32-byte `x`, `y`; RSA/RS256 (`kty` 3, `alg` -257) with `n`, `e`, modulus
  of 2048..8192 bits; OKP/EdDSA (`kty` 1, `alg` -8) with `crv` 6 (Ed25519) and 32-byte `x`
  (spec 0.62.0). If `key_ops` (4) is present it must be the text "verify", as the IC requires.
  Anything else is an unsupported algorithm;
* the signature map has the three fields (`client_data_json` as text or bytes; other keys
  ignored, as serde does);
* `client_data_json` is a JSON object whose `type`, `challenge` and `origin` are strings;
* `challenge` is base64url (RFC 4648 §5; padding tolerated) of exactly the signed payload
  (domain separator · message);
* `signature` verifies on `authenticator_data · SHA-256(client_data_json)`: ECDSA P-256 with a
  DER signature (high S accepted), RSASSA-PKCS1-v1_5 with SHA-256, or Ed25519 (64 bytes).

Deliberately **not** checked, because the IC does not check them either: the value of the
client data `type` (not compared with "webauthn.get"), the `origin`, the RP id hash, the
user-present / user-verified flags, the signature counter, and the length of the
authenticator data (no 37-byte minimum).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from replica_core import cbor
from replica_core.crypto.der import KeyScheme, parse_public_key
from replica_core.errors import InvalidSignature, MalformedCbor

__all__ = [
    "COSE_ALG_EDDSA",
    "COSE_ALG_ES256",
    "COSE_ALG_RS256",
    "CosePublicKey",
    "WebAuthnSignature",
    "decode_signature",
    "load_cose_key",
    "verify",
    "verify_cose",
]

COSE_ALG_ES256 = -7
COSE_ALG_EDDSA = -8
COSE_ALG_RS256 = -257

_COSE_KTY, _COSE_ALG, _COSE_KEY_OPS = 1, 3, 4
_KTY_OKP, _KTY_EC2, _KTY_RSA = 1, 2, 3
_CRV_P256, _CRV_ED25519 = 1, 6
_RSA_MIN_BITS, _RSA_MAX_BITS = 2048, 8192
_MAX_COSE_SIZE = 4096
_BASE64URL = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

CosePublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
"""A COSE key loaded as a `cryptography` public key."""


def _int(value: Any) -> int | None:
    return value if type(value) is int else None


def load_cose_key(cose_key: bytes) -> CosePublicKey:
    """Load a COSE public key of one of the three algorithms the IC allows."""
    try:
        fields = cbor.decode(cose_key, max_size=_MAX_COSE_SIZE)
    except MalformedCbor as e:
        raise InvalidSignature(f"invalid COSE public key: {e}") from None
    if not isinstance(fields, Mapping):
        raise InvalidSignature("invalid COSE public key: not a CBOR map")
    kty, alg = _int(fields.get(_COSE_KTY)), _int(fields.get(_COSE_ALG))
    if kty is None or alg is None:
        raise InvalidSignature("invalid COSE public key: kty (1) and alg (3) must be integers")
    if _COSE_KEY_OPS in fields and fields[_COSE_KEY_OPS] != "verify":
        raise InvalidSignature('unsupported COSE public key: key_ops is not "verify"')
    if kty == _KTY_EC2 and alg == COSE_ALG_ES256:
        return _load_ec2(fields)
    if kty == _KTY_RSA and alg == COSE_ALG_RS256:
        return _load_rsa(fields)
    if kty == _KTY_OKP and alg == COSE_ALG_EDDSA:
        return _load_okp(fields)
    raise InvalidSignature(
        f"unsupported COSE public key algorithm (kty {kty}, alg {alg}): WebAuthn keys must be "
        "ECDSA P-256 (ES256), RSA PKCS#1 v1.5 (RS256) or Ed25519 (EdDSA)"
    )


def _load_ec2(fields: Mapping[Any, Any]) -> ec.EllipticCurvePublicKey:
    if _int(fields.get(-1)) != _CRV_P256:
        raise InvalidSignature("unsupported COSE EC2 key: crv (-1) must be 1 (P-256)")
    x, y = fields.get(-2), fields.get(-3)
    if not (isinstance(x, bytes) and isinstance(y, bytes) and len(x) == len(y) == 32):
        raise InvalidSignature("invalid COSE EC2 key: x (-2) and y (-3) must be 32-byte blobs")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + x + y)
    except ValueError as e:
        raise InvalidSignature(f"invalid COSE EC2 key: {e}") from None


def _load_rsa(fields: Mapping[Any, Any]) -> rsa.RSAPublicKey:
    n, e = fields.get(-1), fields.get(-2)
    if not (isinstance(n, bytes) and isinstance(e, bytes) and n and e):
        raise InvalidSignature("invalid COSE RSA key: n (-1) and e (-2) must be blobs")
    modulus, exponent = int.from_bytes(n, "big"), int.from_bytes(e, "big")
    if not _RSA_MIN_BITS <= modulus.bit_length() <= _RSA_MAX_BITS:
        raise InvalidSignature(
            f"invalid COSE RSA key: modulus of {modulus.bit_length()} bits is outside "
            f"{_RSA_MIN_BITS}..{_RSA_MAX_BITS}"
        )
    try:
        return rsa.RSAPublicNumbers(exponent, modulus).public_key()
    except ValueError as err:
        raise InvalidSignature(f"invalid COSE RSA key: {err}") from None


def _load_okp(fields: Mapping[Any, Any]) -> ed25519.Ed25519PublicKey:
    if _int(fields.get(-1)) != _CRV_ED25519:
        raise InvalidSignature("unsupported COSE OKP key: crv (-1) must be 6 (Ed25519)")
    x = fields.get(-2)
    if not (isinstance(x, bytes) and len(x) == 32):
        raise InvalidSignature("invalid COSE OKP key: x (-2) must be a 32-byte blob")
    try:
        return ed25519.Ed25519PublicKey.from_public_bytes(x)
    except ValueError as e:
        raise InvalidSignature(f"invalid COSE OKP key: {e}") from None


@dataclass(frozen=True, slots=True)
class WebAuthnSignature:
    """A decoded WebAuthn signature blob: the assertion's three parts."""

    authenticator_data: bytes
    client_data_json: bytes
    signature: bytes

    def signed_bytes(self) -> bytes:
        """What the authenticator signed: `authenticator_data · SHA-256(client_data_json)`."""
        return self.authenticator_data + hashlib.sha256(self.client_data_json).digest()

    def challenge(self) -> bytes:
        """The base64url-decoded `challenge` of the client data."""
        try:
            client_data = json.loads(self.client_data_json)
        except (ValueError, UnicodeDecodeError) as e:
            raise InvalidSignature(
                f"WebAuthn envelope creation failed: ClientDataJSON parsing failed with: {e}"
            ) from None
        if not isinstance(client_data, dict):
            raise InvalidSignature("WebAuthn client_data_json is not a JSON object")
        for field in ("type", "challenge", "origin"):
            if not isinstance(client_data.get(field), str):
                raise InvalidSignature(f"WebAuthn client_data_json has no string field {field!r}")
        return _base64url_decode(client_data["challenge"])


def _base64url_decode(text: str) -> bytes:
    raw = text.encode("ascii", "replace").rstrip(b"=")
    if len(text) - len(raw) > 2 or any(c not in _BASE64URL for c in raw):
        raise InvalidSignature("WebAuthn challenge is not base64url")
    try:
        return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except binascii.Error as e:
        raise InvalidSignature(f"WebAuthn challenge base64url parsing failed with: {e}") from None


def decode_signature(signature: bytes) -> WebAuthnSignature:
    """Decode the CBOR signature blob (self-describe tag optional)."""
    try:
        fields = cbor.decode(signature)
    except MalformedCbor as e:
        raise InvalidSignature(f"WebAuthn signature CBOR parsing failed with: {e}") from None
    if not isinstance(fields, Mapping):
        raise InvalidSignature("WebAuthn signature is not a CBOR map")
    parts: dict[str, bytes] = {}
    for field in ("authenticator_data", "client_data_json", "signature"):
        value = fields.get(field)
        if field == "client_data_json" and isinstance(value, str):
            value = value.encode("utf-8")
        if not isinstance(value, bytes):
            raise InvalidSignature(f"WebAuthn signature field {field!r} is missing or not a blob")
        parts[field] = value
    return WebAuthnSignature(**parts)


def verify_cose(cose_key: bytes, payload: bytes, signature: bytes) -> None:
    """Check a WebAuthn `signature` blob for `payload` under a (bare) COSE key."""
    key = load_cose_key(cose_key)
    assertion = decode_signature(signature)
    challenge = assertion.challenge()
    if challenge != payload:
        raise InvalidSignature(
            f"Challenge in webauthn is 0x{challenge.hex()} while it is expected to be "
            f"0x{bytes(payload).hex()}"
        )
    data, sig = assertion.signed_bytes(), assertion.signature
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(sig, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            if len(sig) != 64:
                raise InvalidSignature(f"WebAuthn Ed25519 signature is {len(sig)} bytes, not 64")
            key.verify(sig, data)
    except (_CryptoInvalidSignature, ValueError):
        raise InvalidSignature("WebAuthn signature verification failed") from None


def verify(public_key_der: bytes, payload: bytes, signature: bytes) -> None:
    """Check a WebAuthn `signature` blob for `payload` under a DER-wrapped COSE key."""
    scheme, cose_key = parse_public_key(public_key_der)
    if scheme is not KeyScheme.WEBAUTHN:
        raise InvalidSignature(f"expected a DER-wrapped COSE (WebAuthn) key, got a {scheme} key")
    verify_cose(cose_key, payload, signature)
