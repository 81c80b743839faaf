"""BLS12-381 signatures in the minimal-signature-size variant, as the IC certifies state.

Spec: IC interface spec 0.66.0, Certification › BLS signatures (draft-irtf-cfrg-bls-
signature-04 §4, ciphersuite `BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_`; signatures in
G1, 48 bytes compressed; public keys in G2, 96 bytes compressed) and › public key DER.
Key generation: draft-irtf-cfrg-bls-signature-05 §2.3 (KeyGen, HKDF-SHA-256).

pyblst (blst) does the curve arithmetic; its `ValueError`s stay in this module: `verify`
answers False for any bad encoding, off-curve or out-of-subgroup point, and rejects the
point at infinity as a public key or signature.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

import pyblst

from replica_core.errors import InvalidCertificate

__all__ = [
    "DER_PREFIX",
    "DST",
    "PUBLIC_KEY_SIZE",
    "SIGNATURE_SIZE",
    "KeyPair",
    "der_decode_public_key",
    "der_encode_public_key",
    "keygen",
    "public_key",
    "sign",
    "verify",
]

DST = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"
"""Hash-to-curve domain separation tag of the IC's ciphersuite (spec: BLS signatures)."""

DER_PREFIX = bytes.fromhex(
    "308182301d060d2b0601040182dc7c0503010201060c2b0601040182dc7c05030201036100"
)
"""(derived) SubjectPublicKeyInfo up to the key: OIDs 1.3.6.1.4.1.44668.5.3.1.2.1 and
1.3.6.1.4.1.44668.5.3.2.1, then a 97-byte BIT STRING header (0 unused bits)."""

PUBLIC_KEY_SIZE = 96
SIGNATURE_SIZE = 48

R = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
"""Order of the BLS12-381 prime-order subgroups (and of the secret key field)."""

_KEYGEN_SALT = b"BLS-SIG-KEYGEN-SALT-"
_KEYGEN_L = 48  # ceil((3 * ceil(log2(R))) / 16)

_G2_GENERATOR = pyblst.BlstP2Element.uncompress(
    bytes.fromhex(
        "93e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5"
        "ac7d055d042b7e024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac"
        "0326a805bbefd48056c8c121bdb8"
    )
)
# NB: pyblst.BlstP2Element() is the point at infinity, not the generator.

_G1_INFINITY = b"\xc0" + bytes(SIGNATURE_SIZE - 1)
_G2_INFINITY = b"\xc0" + bytes(PUBLIC_KEY_SIZE - 1)


def keygen(ikm: bytes, key_info: bytes = b"") -> int:
    """Derive a secret key from at least 32 bytes of keying material (IETF KeyGen)."""
    if len(ikm) < 32:
        raise ValueError(f"BLS KeyGen needs at least 32 bytes of key material, got {len(ikm)}")
    salt, sk = _KEYGEN_SALT, 0
    info = key_info + _KEYGEN_L.to_bytes(2, "big")
    while sk == 0:
        salt = hashlib.sha256(salt).digest()
        prk = hmac.new(salt, ikm + b"\x00", hashlib.sha256).digest()  # HKDF-Extract
        okm, block, counter = b"", b"", 1
        while len(okm) < _KEYGEN_L:  # HKDF-Expand
            block = hmac.new(prk, block + info + bytes((counter,)), hashlib.sha256).digest()
            okm += block
            counter += 1
        sk = int.from_bytes(okm[:_KEYGEN_L], "big") % R
    return sk


def _check_secret_key(sk: int) -> None:
    if not 0 < sk < R:
        raise ValueError("a BLS secret key is an integer in 1..r-1")


def public_key(sk: int) -> bytes:
    """The 96-byte compressed G2 public key `sk · g2`."""
    _check_secret_key(sk)
    return _G2_GENERATOR.scalar_mul(sk).compress()


def sign(sk: int, msg: bytes) -> bytes:
    """The 48-byte compressed G1 signature `sk · hash_to_G1(msg)`."""
    _check_secret_key(sk)
    return pyblst.BlstP1Element.hash_to_group(msg, DST).scalar_mul(sk).compress()


def verify(public_key: bytes, msg: bytes, signature: bytes) -> bool:
    """Whether `signature` is valid for `msg` under `public_key`; never raises.

    Checks `e(signature, g2) == e(hash_to_G1(msg), public_key)` after decoding both points
    with subgroup checks; the point at infinity is refused for either.
    """
    if not isinstance(public_key, bytes) or not isinstance(signature, bytes):
        return False
    if not isinstance(msg, bytes):
        return False
    if len(public_key) != PUBLIC_KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        return False
    if public_key == _G2_INFINITY or signature == _G1_INFINITY:
        return False
    try:
        sig_point = pyblst.BlstP1Element.uncompress(signature)
        pk_point = pyblst.BlstP2Element.uncompress(public_key)
    except (ValueError, TypeError):
        return False
    # Any other encoding of infinity, or a non-canonical form, does not round-trip.
    if sig_point.compress() != signature or pk_point.compress() != public_key:
        return False
    hashed = pyblst.BlstP1Element.hash_to_group(msg, DST)
    return bool(
        pyblst.final_verify(
            pyblst.miller_loop(sig_point, _G2_GENERATOR), pyblst.miller_loop(hashed, pk_point)
        )
    )


def der_encode_public_key(public_key: bytes) -> bytes:
    """The 133-byte DER SubjectPublicKeyInfo of a 96-byte public key."""
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise ValueError(f"a BLS public key is {PUBLIC_KEY_SIZE} bytes, got {len(public_key)}")
    return DER_PREFIX + public_key


def der_decode_public_key(der: bytes) -> bytes:
    """The 96-byte key inside a DER BLS public key; `InvalidCertificate` if malformed."""
    if not isinstance(der, bytes) or not der.startswith(DER_PREFIX):
        raise InvalidCertificate("BLS public key DER does not start with the BLS12-381 prefix")
    if len(der) != len(DER_PREFIX) + PUBLIC_KEY_SIZE:
        raise InvalidCertificate(
            f"BLS public key DER is {len(der)} bytes, expected {len(DER_PREFIX) + PUBLIC_KEY_SIZE}"
        )
    return der[len(DER_PREFIX) :]


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A BLS secret key with its public key (raw and DER), e.g. a subnet's or the root's."""

    secret_key: int = field(repr=False)
    public_key: bytes
    public_key_der: bytes

    @classmethod
    def from_seed(cls, ikm: bytes, key_info: bytes = b"") -> KeyPair:
        """Derive a key pair with `keygen` from at least 32 bytes of key material."""
        return cls.from_secret_key(keygen(ikm, key_info))

    @classmethod
    def from_secret_key(cls, sk: int) -> KeyPair:
        pk = public_key(sk)
        return cls(sk, pk, der_encode_public_key(pk))

    def sign(self, msg: bytes) -> bytes:
        return sign(self.secret_key, msg)
