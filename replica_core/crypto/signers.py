"""Key pairs that sign exactly as IC clients do, and envelope builders, for tests and tools.

Spec: IC interface spec 0.66.0, Overview › Signatures; HTTPS interface › Authentication.

(impl) The replica only ever verifies; these signers exist so that tests, benchmarks and the
gateway's tests can build real signed envelopes and delegation chains (the way agent-js,
icp-py-core or a browser authenticator would) without an external client. Each signer has
`public_key_der` and `sign(payload) -> signature bytes` in the wire format of its scheme.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from replica_core import cbor
from replica_core.crypto.delegation import DOMAIN_DELEGATION, Delegation
from replica_core.crypto.der import wrap_cose_key, wrap_ed25519_key
from replica_core.principal import Principal
from replica_core.request_id import DOMAIN_IC_REQUEST, request_id

__all__ = [
    "EcdsaSigner",
    "Ed25519Signer",
    "Signer",
    "WebAuthnSigner",
    "build_envelope",
    "delegate",
]


class Signer(Protocol):
    """Anything that holds a key and signs payloads in its scheme's wire format."""

    @property
    def public_key_der(self) -> bytes: ...

    def sign(self, payload: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Ed25519Signer:
    """An Ed25519 identity (agent-js `Ed25519KeyIdentity`)."""

    private_key: ed25519.Ed25519PrivateKey = field(
        default_factory=ed25519.Ed25519PrivateKey.generate
    )

    @property
    def public_key_der(self) -> bytes:
        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return wrap_ed25519_key(raw)

    @property
    def principal(self) -> Principal:
        return Principal.self_authenticating(self.public_key_der)

    def sign(self, payload: bytes) -> bytes:
        return self.private_key.sign(payload)


@dataclass(frozen=True, slots=True)
class EcdsaSigner:
    """An ECDSA-SHA256 identity on P-256 or secp256k1; signs as raw `r · s` (64 bytes)."""

    private_key: ec.EllipticCurvePrivateKey

    @classmethod
    def p256(cls) -> EcdsaSigner:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def secp256k1(cls) -> EcdsaSigner:
        return cls(ec.generate_private_key(ec.SECP256K1()))

    @property
    def public_key_der(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            Encoding.DER, PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def principal(self) -> Principal:
        return Principal.self_authenticating(self.public_key_der)

    def sign(self, payload: bytes) -> bytes:
        r, s = decode_dss_signature(self.private_key.sign(payload, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


@dataclass(frozen=True, slots=True)
class WebAuthnSigner:
    """A simulated WebAuthn authenticator holding a P-256, RSA or Ed25519 credential.

    `sign` produces the IC's signature blob: CBOR (tag 55799) of authenticator data, client
    data JSON whose challenge is base64url(payload), and the authenticator's signature.
    """

    private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
    origin: str = "https://identity.ic0.app"
    authenticator_data: bytes = (
        hashlib.sha256(b"identity.ic0.app").digest() + b"\x05\x00\x00\x00\x01"
    )
    client_data_as_text: bool = True

    @classmethod
    def p256(cls) -> WebAuthnSigner:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def rsa(cls, bits: int = 2048) -> WebAuthnSigner:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=bits))

    @classmethod
    def ed25519(cls) -> WebAuthnSigner:
        return cls(ed25519.Ed25519PrivateKey.generate())

    @property
    def cose_key(self) -> bytes:
        public = self.private_key.public_key()
        if isinstance(public, ec.EllipticCurvePublicKey):
            nums = public.public_numbers()
            key = {
                1: 2,
                3: -7,
                -1: 1,
                -2: nums.x.to_bytes(32, "big"),
                -3: nums.y.to_bytes(32, "big"),
            }
        elif isinstance(public, rsa.RSAPublicKey):
            nums = public.public_numbers()
            n = nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")
            e = nums.e.to_bytes((nums.e.bit_length() + 7) // 8, "big")
            key = {1: 3, 3: -257, -1: n, -2: e}
        else:
            x = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
            key = {1: 1, 3: -8, -1: 6, -2: x}
        return cbor2.dumps(key)

    @property
    def public_key_der(self) -> bytes:
        return wrap_cose_key(self.cose_key)

    @property
    def principal(self) -> Principal:
        return Principal.self_authenticating(self.public_key_der)

    def client_data_json(self, payload: bytes, type_: str = "webauthn.get") -> bytes:
        challenge = base64.urlsafe_b64encode(payload).rstrip(b"=").decode("ascii")
        return json.dumps(
            {"type": type_, "challenge": challenge, "origin": self.origin, "crossOrigin": False},
            separators=(",", ":"),
        ).encode("utf-8")

    def sign_assertion(self, authenticator_data: bytes, client_data_json: bytes) -> bytes:
        """The authenticator's raw signature on `authenticator_data · SHA-256(cdj)`."""
        data = authenticator_data + hashlib.sha256(client_data_json).digest()
        key = self.private_key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(hashes.SHA256()))
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return key.sign(data)

    def sign(self, payload: bytes) -> bytes:
        cdj = self.client_data_json(payload)
        blob = {
            "authenticator_data": self.authenticator_data,
            "client_data_json": cdj.decode("utf-8") if self.client_data_as_text else cdj,
            "signature": self.sign_assertion(self.authenticator_data, cdj),
        }
        return cbor.encode(blob)


def delegate(
    signer: Signer,
    delegatee_der: bytes,
    expiration: int,
    *,
    targets: Iterable[Principal] | None = None,
    permissions: str | None = None,
) -> dict[str, Any]:
    """A signed delegation in wire form: `{delegation: {...}, signature}` signed by `signer`."""
    delegation = Delegation(
        pubkey=delegatee_der,
        expiration=expiration,
        targets=None if targets is None else tuple(targets),
        permissions=permissions,
    )
    return {
        "delegation": delegation.as_map(),
        "signature": signer.sign(DOMAIN_DELEGATION + delegation.representation_hash()),
    }


def build_envelope(
    content: Mapping[str, Any],
    sender: Signer | None,
    *,
    delegations: Sequence[Mapping[str, Any]] = (),
    final_signer: Signer | None = None,
) -> bytes:
    """CBOR of a signed envelope for `content` (sent as given; anonymous if `sender` is None).

    With delegations, `final_signer` (the key of the last delegation) signs the request.
    """
    envelope: dict[str, Any] = {"content": dict(content)}
    if sender is not None:
        envelope["sender_pubkey"] = sender.public_key_der
        if delegations:
            envelope["sender_delegation"] = [dict(d) for d in delegations]
        signing = final_signer if final_signer is not None else sender
        envelope["sender_sig"] = signing.sign(DOMAIN_IC_REQUEST + request_id(content))
    return cbor.encode(envelope)
