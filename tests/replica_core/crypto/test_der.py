"""DER SubjectPublicKeyInfo: scheme identification, spec prefixes, strict parsing."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from replica_core.crypto import der
from replica_core.crypto.der import KeyScheme, parse_public_key
from replica_core.errors import InvalidSignature

SPEC_WEBAUTHN_KEY = bytes.fromhex(
    "305E300C060A2B0601040183B8430101034E00"
    "A5010203262001215820 7FFD83632072FD1BFEAF3FBAA43146E0EF95C3F55E39"
    "94A41BBF2B5174D771DA2258203249 7EED0A7F6F000928765B8318162CFD80A9"
    "4E525A6A368C2363063D04E6ED".replace(" ", "")
)


def _spki(key) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def test_ed25519_key_from_cryptography_is_identified_with_spec_prefix():
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    encoded = _spki(key)
    assert encoded.startswith(der.ED25519_DER_PREFIX) and len(encoded) == 44
    assert parse_public_key(encoded) == (
        KeyScheme.ED25519,
        key.public_bytes(Encoding.Raw, PublicFormat.Raw),
    )
    assert der.wrap_ed25519_key(encoded[12:]) == encoded


@pytest.mark.parametrize(
    ("curve", "scheme", "prefix", "length"),
    [
        (ec.SECP256R1(), KeyScheme.ECDSA_P256, der.P256_DER_PREFIX, 91),
        (ec.SECP256K1(), KeyScheme.ECDSA_SECP256K1, der.SECP256K1_DER_PREFIX, 88),
    ],
)
def test_ecdsa_keys_are_identified_by_curve_oid(curve, scheme, prefix, length):
    key = ec.generate_private_key(curve).public_key()
    encoded = _spki(key)
    assert encoded.startswith(prefix) and len(encoded) == length
    point = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    assert parse_public_key(encoded) == (scheme, point)


def test_compressed_ecdsa_point_in_der_is_refused_as_the_spec_requires_uncompressed():
    key = ec.generate_private_key(ec.SECP256K1()).public_key()
    compressed = key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    encoded = der.encode_spki(der.OID_EC_PUBLIC_KEY, compressed, parameter_oid=der.OID_SECP256K1)
    with pytest.raises(InvalidSignature, match="uncompressed"):
        parse_public_key(encoded)


def test_spec_example_webauthn_key_parses_to_its_cose_key():
    scheme, cose = parse_public_key(SPEC_WEBAUTHN_KEY)
    assert scheme is KeyScheme.WEBAUTHN
    assert cose == SPEC_WEBAUTHN_KEY[19:] and len(SPEC_WEBAUTHN_KEY) == 96
    assert der.wrap_cose_key(cose) == SPEC_WEBAUTHN_KEY


def test_canister_signature_key_carries_canister_id_and_seed():
    canister = bytes.fromhex("00000000000000070101")
    encoded = der.wrap_canister_sig_key(canister, b"seed")
    scheme, body = parse_public_key(encoded)
    assert scheme is KeyScheme.CANISTER_SIG
    assert der.canister_id_of_canister_sig_key(body) == canister
    assert body == b"\x0a" + canister + b"seed"


def test_bls_root_key_prefix_is_recognised():
    encoded = der.BLS_DER_PREFIX + bytes(96)
    assert parse_public_key(encoded) == (KeyScheme.BLS, bytes(96))


def test_rsa_spki_is_an_unsupported_algorithm():
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    with pytest.raises(InvalidSignature, match=r"unsupported public key algorithm 1\.2\.840"):
        parse_public_key(_spki(key))


def test_unknown_oid_is_named_in_the_error():
    encoded = der.encode_spki(bytes.fromhex("2a0304"), b"key")
    with pytest.raises(InvalidSignature, match=r"unsupported public key algorithm 1\.2\.3\.4"):
        parse_public_key(encoded)


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        (b"", "SubjectPublicKeyInfo is missing"),
        (b"\x31\x00", "tag 0x31"),
        (der.ED25519_DER_PREFIX + bytes(32) + b"\x00", "trailing bytes"),
        (der.ED25519_DER_PREFIX + bytes(31), "truncated"),
        (bytes.fromhex("302a300506032b6570032101") + bytes(32), "0 unused bits"),
        (bytes.fromhex("30812a300506032b6570032100") + bytes(32), "minimally encoded"),
        (der.encode_spki(der.OID_ED25519, bytes(31)), "31 bytes"),
        (
            der.encode_spki(
                der.OID_BLS12_381_ALGORITHM, bytes(32), parameter_oid=der.OID_BLS12_381_CURVE
            ),
            "BLS key is 32 bytes",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_malformed_der_is_rejected_with_the_failed_check(encoded, message):
    with pytest.raises(InvalidSignature, match=message):
        parse_public_key(encoded)


def test_canister_signature_key_shorter_than_its_length_prefix_is_rejected():
    with pytest.raises(InvalidSignature, match="shorter than its canister id"):
        parse_public_key(der.encode_spki(der.OID_CANISTER_SIGNATURE, b"\x0a\x00\x01"))
