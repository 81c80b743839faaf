"""DER SubjectPublicKeyInfo parsing and encoding for the public keys the IC accepts.

Spec: IC interface spec 0.66.0, Overview › Signatures (Ed25519 and ECDSA, Web Authentication,
Canister signatures) and Certification › Delegation (BLS root key).

Every public key on the wire is a DER `SubjectPublicKeyInfo`::

    SEQUENCE { SEQUENCE { OID algorithm, [parameters] }, BIT STRING (0 unused bits) key }

`parse_public_key` reads that shape strictly (definite minimal lengths, no trailing bytes, zero
unused bits) and identifies the scheme from the algorithm OID (and the curve OID for ECDSA).
It does not check that the key bytes are a valid point/key: the scheme modules do that.
`read_tlv`, `encode_tlv` and `split_spki` are the package's one DER codec (`canister_sig.py`
builds on them).

ECDSA keys must carry an uncompressed SEC1 point (`04 · x · y`, 65 bytes): the spec says so
and the IC replica rejects any SPKI that is not the canonical uncompressed encoding
("non-canonical encoding"). Compressed points are accepted only as *raw* keys by `ecdsa.py`.
"""

from __future__ import annotations

from enum import StrEnum

from replica_core.errors import InvalidSignature

__all__ = [
    "BLS_DER_PREFIX",
    "ED25519_DER_PREFIX",
    "OID_BLS12_381_ALGORITHM",
    "OID_BLS12_381_CURVE",
    "OID_CANISTER_SIGNATURE",
    "OID_DER_WRAPPED_COSE",
    "OID_EC_PUBLIC_KEY",
    "OID_ED25519",
    "OID_P256",
    "OID_SECP256K1",
    "P256_DER_PREFIX",
    "SECP256K1_DER_PREFIX",
    "TAG_BIT_STRING",
    "TAG_NULL",
    "TAG_OID",
    "TAG_SEQUENCE",
    "KeyScheme",
    "canister_id_of_canister_sig_key",
    "encode_spki",
    "encode_tlv",
    "parse_public_key",
    "read_tlv",
    "split_canister_sig_key",
    "split_spki",
    "wrap_canister_sig_key",
    "wrap_cose_key",
    "wrap_ecdsa_p256_key",
    "wrap_ecdsa_secp256k1_key",
    "wrap_ed25519_key",
]


class KeyScheme(StrEnum):
    """The public key schemes the IC distinguishes by DER algorithm identifier."""

    ED25519 = "ed25519"
    ECDSA_P256 = "ecdsa_p256"
    ECDSA_SECP256K1 = "ecdsa_secp256k1"
    WEBAUTHN = "webauthn"
    CANISTER_SIG = "canister_sig"
    BLS = "bls"


# --- object identifiers (content octets of the DER OID) --------------------------------------

OID_ED25519 = bytes.fromhex("2b6570")
"""1.3.101.112 (RFC 8410)."""
OID_EC_PUBLIC_KEY = bytes.fromhex("2a8648ce3d0201")
"""1.2.840.10045.2.1 id-ecPublicKey (RFC 5480)."""
OID_P256 = bytes.fromhex("2a8648ce3d030107")
"""1.2.840.10045.3.1.7 secp256r1 (RFC 5480)."""
OID_SECP256K1 = bytes.fromhex("2b8104000a")
"""1.3.132.0.10 secp256k1 (spec: Ed25519 and ECDSA signatures)."""
OID_DER_WRAPPED_COSE = bytes.fromhex("2b0601040183b8430101")
"""1.3.6.1.4.1.56387.1.1 der-wrapped-cose (spec: Web Authentication)."""
OID_CANISTER_SIGNATURE = bytes.fromhex("2b0601040183b8430102")
"""1.3.6.1.4.1.56387.1.2 canister-signature (spec: Canister signatures)."""
OID_BLS12_381_ALGORITHM = bytes.fromhex("2b0601040182dc7c0503010201")
"""1.3.6.1.4.1.44668.5.3.1.2.1 (spec: Certification › root key)."""
OID_BLS12_381_CURVE = bytes.fromhex("2b0601040182dc7c05030201")
"""1.3.6.1.4.1.44668.5.3.2.1 (spec: Certification › root key)."""

# --- fixed prefixes of the fixed-size keys (spec digest §3.3) -------------------------------

ED25519_DER_PREFIX = bytes.fromhex("302a300506032b6570032100")
P256_DER_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")
SECP256K1_DER_PREFIX = bytes.fromhex("3056301006072a8648ce3d020106052b8104000a034200")
BLS_DER_PREFIX = bytes.fromhex(
    "308182301d060d2b0601040182dc7c0503010201060c2b0601040182dc7c05030201036100"
)

TAG_SEQUENCE = 0x30
TAG_OID = 0x06
TAG_BIT_STRING = 0x03
TAG_NULL = 0x05

_ED25519_KEY_LENGTH = 32
_EC_UNCOMPRESSED_LENGTH = 65
_BLS_KEY_LENGTH = 96


def _fail(what: str) -> InvalidSignature:
    return InvalidSignature(f"invalid DER public key: {what}")


def read_tlv(data: bytes, pos: int, expected_tag: int, what: str) -> tuple[bytes, int]:
    """Read one tag-length-value at `pos`; return (value, position after it).

    The length must be definite and minimally encoded (at most 4 length octets); `what` names
    the element in the `InvalidSignature` raised when it is missing or malformed.
    """
    if pos >= len(data):
        raise _fail(f"{what} is missing")
    if data[pos] != expected_tag:
        raise _fail(f"{what} has tag 0x{data[pos]:02x}, expected 0x{expected_tag:02x}")
    pos += 1
    if pos >= len(data):
        raise _fail(f"{what} has no length")
    first = data[pos]
    pos += 1
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise _fail(f"{what} has an unsupported length encoding")
        if pos + count > len(data):
            raise _fail(f"{what} length is truncated")
        length = int.from_bytes(data[pos : pos + count], "big")
        if data[pos] == 0 or length < 0x80:
            raise _fail(f"{what} length is not minimally encoded")
        pos += count
    end = pos + length
    if end > len(data):
        raise _fail(f"{what} is truncated ({length} bytes announced, {len(data) - pos} present)")
    return data[pos:end], end


def encode_tlv(tag: int, value: bytes) -> bytes:
    """One DER tag-length-value with a minimal definite length."""
    n = len(value)
    if n < 0x80:
        length = bytes((n,))
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes((0x80 | len(raw),)) + raw
    return bytes((tag,)) + length + value


def encode_spki(algorithm_oid: bytes, key: bytes, *, parameter_oid: bytes | None = None) -> bytes:
    """Encode a SubjectPublicKeyInfo with the given algorithm OID (content octets), optional
    parameter OID, and key bytes (placed in a BIT STRING with 0 unused bits)."""
    algorithm = encode_tlv(TAG_OID, algorithm_oid)
    if parameter_oid is not None:
        algorithm += encode_tlv(TAG_OID, parameter_oid)
    return encode_tlv(
        TAG_SEQUENCE,
        encode_tlv(TAG_SEQUENCE, algorithm) + encode_tlv(TAG_BIT_STRING, b"\x00" + key),
    )


def split_spki(der: bytes) -> tuple[bytes, bytes]:
    """The AlgorithmIdentifier contents and the key bytes of a DER SubjectPublicKeyInfo.

    Checks the outer framing only: one SEQUENCE with nothing after it, holding exactly an
    AlgorithmIdentifier SEQUENCE and a BIT STRING with 0 unused bits.
    """
    spki, end = read_tlv(der, 0, TAG_SEQUENCE, "SubjectPublicKeyInfo")
    if end != len(der):
        raise _fail(f"{len(der) - end} trailing bytes after SubjectPublicKeyInfo")
    algorithm, pos = read_tlv(spki, 0, TAG_SEQUENCE, "AlgorithmIdentifier")
    bit_string, pos = read_tlv(spki, pos, TAG_BIT_STRING, "subjectPublicKey BIT STRING")
    if pos != len(spki):
        raise _fail("trailing bytes inside SubjectPublicKeyInfo")
    if not bit_string or bit_string[0] != 0:
        raise _fail("subjectPublicKey BIT STRING must have 0 unused bits")
    return algorithm, bit_string[1:]


def parse_public_key(der: bytes) -> tuple[KeyScheme, bytes]:
    """Identify the scheme of a DER public key and return `(scheme, key_bytes)`.

    `key_bytes` is the raw Ed25519 key, the uncompressed SEC1 point, the COSE key, the
    canister-signature key body (`len · canister_id · seed`) or the 96-byte BLS key.
    Raises `InvalidSignature` for malformed DER and unsupported algorithms.
    """
    if not isinstance(der, bytes | bytearray):
        raise _fail(f"expected bytes, got {type(der).__name__}")
    algorithm, key = split_spki(bytes(der))
    oid, apos = read_tlv(algorithm, 0, TAG_OID, "algorithm OID")
    param: bytes | None = None
    if apos < len(algorithm):
        if algorithm[apos] == TAG_NULL:
            null, apos = read_tlv(algorithm, apos, TAG_NULL, "algorithm parameters")
            if null:
                raise _fail("NULL parameters must be empty")
        else:
            param, apos = read_tlv(algorithm, apos, TAG_OID, "algorithm parameter OID")
        if apos != len(algorithm):
            raise _fail("trailing bytes inside AlgorithmIdentifier")
    return _identify(oid, param, key)


def _identify(oid: bytes, param: bytes | None, key: bytes) -> tuple[KeyScheme, bytes]:
    if oid == OID_ED25519 and param is None:
        if len(key) != _ED25519_KEY_LENGTH:
            raise _fail(f"Ed25519 key is {len(key)} bytes, expected {_ED25519_KEY_LENGTH}")
        return KeyScheme.ED25519, key
    if oid == OID_EC_PUBLIC_KEY and param in (OID_P256, OID_SECP256K1):
        scheme = KeyScheme.ECDSA_P256 if param == OID_P256 else KeyScheme.ECDSA_SECP256K1
        if len(key) != _EC_UNCOMPRESSED_LENGTH or key[0] != 0x04:
            raise _fail(f"{scheme} key must be an uncompressed point (04 · x · y, 65 bytes)")
        return scheme, key
    if oid == OID_DER_WRAPPED_COSE and param is None:
        return KeyScheme.WEBAUTHN, key
    if oid == OID_CANISTER_SIGNATURE and param is None:
        canister_id_of_canister_sig_key(key)  # validates the length prefix
        return KeyScheme.CANISTER_SIG, key
    if oid == OID_BLS12_381_ALGORITHM and param == OID_BLS12_381_CURVE:
        if len(key) != _BLS_KEY_LENGTH:
            raise _fail(f"BLS key is {len(key)} bytes, expected {_BLS_KEY_LENGTH}")
        return KeyScheme.BLS, key
    described = _oid_to_text(oid) + (f" with parameter {_oid_to_text(param)}" if param else "")
    raise InvalidSignature(f"unsupported public key algorithm {described}")


def split_canister_sig_key(key: bytes) -> tuple[bytes, bytes]:
    """The signing canister id and the seed of a canister-signature key body
    `len · canister_id · seed`."""
    if not key or len(key) < 1 + key[0]:
        raise _fail("canister signature key is shorter than its canister id length prefix")
    if key[0] > 29:
        raise _fail(f"canister signature key names a {key[0]}-byte canister id (max 29)")
    return key[1 : 1 + key[0]], key[1 + key[0] :]


def canister_id_of_canister_sig_key(key: bytes) -> bytes:
    """The signing canister id inside a canister-signature key body `len · canister_id · seed`."""
    return split_canister_sig_key(key)[0]


def _oid_to_text(oid: bytes) -> str:
    """Dotted form of OID content octets, for error messages."""
    if not oid:
        return "<empty OID>"
    parts: list[int] = []
    value = 0
    for byte in oid:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    if not parts:
        return "0x" + oid.hex()
    first = parts[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(p) for p in head + parts[1:])


# --- wrapping helpers ------------------------------------------------------------------------


def wrap_ed25519_key(raw: bytes) -> bytes:
    """The 44-byte DER of a raw 32-byte Ed25519 key."""
    if len(raw) != _ED25519_KEY_LENGTH:
        raise _fail(f"Ed25519 key is {len(raw)} bytes, expected {_ED25519_KEY_LENGTH}")
    return ED25519_DER_PREFIX + raw


def wrap_ecdsa_p256_key(point: bytes) -> bytes:
    """The 91-byte DER of an uncompressed P-256 point."""
    if len(point) != _EC_UNCOMPRESSED_LENGTH or point[0] != 0x04:
        raise _fail("P-256 key must be an uncompressed point (04 · x · y, 65 bytes)")
    return P256_DER_PREFIX + point


def wrap_ecdsa_secp256k1_key(point: bytes) -> bytes:
    """The 88-byte DER of an uncompressed secp256k1 point."""
    if len(point) != _EC_UNCOMPRESSED_LENGTH or point[0] != 0x04:
        raise _fail("secp256k1 key must be an uncompressed point (04 · x · y, 65 bytes)")
    return SECP256K1_DER_PREFIX + point


def wrap_cose_key(cose: bytes) -> bytes:
    """The DER-wrapped COSE key (OID 1.3.6.1.4.1.56387.1.1) used by WebAuthn identities."""
    return encode_spki(OID_DER_WRAPPED_COSE, cose)


def wrap_canister_sig_key(canister_id: bytes, seed: bytes) -> bytes:
    """The DER canister-signature key `len(canister_id) · canister_id · seed`."""
    if len(canister_id) > 29:
        raise _fail(f"canister id of {len(canister_id)} bytes exceeds 29")
    return encode_spki(OID_CANISTER_SIGNATURE, bytes((len(canister_id),)) + canister_id + seed)
