"""BLS12-381 min-sig: byte-exact agreement with py-ecc, rejection of bad points and keys."""

from __future__ import annotations

import hashlib

import pytest
from py_ecc.bls import G2Basic
from py_ecc.bls.hash_to_curve import hash_to_G1
from py_ecc.bls.point_compression import compress_G1, compress_G2
from py_ecc.optimized_bls12_381 import FQ, G2, curve_order, field_modulus, multiply, pairing

from replica_core.crypto import bls
from replica_core.errors import InvalidCertificate

IKM = bytes(range(32))
MSG = b"\x0dic-state-root" + bytes(range(32))


@pytest.fixture(scope="module")
def key() -> bls.KeyPair:
    return bls.KeyPair.from_seed(IKM)


def test_keygen_matches_py_ecc_keygen():
    assert bls.keygen(IKM) == G2Basic.KeyGen(IKM)
    assert bls.keygen(IKM, b"info") == G2Basic.KeyGen(IKM, b"info")
    assert bls.keygen(b"\xff" * 40) == G2Basic.KeyGen(b"\xff" * 40)


def test_keygen_needs_32_bytes_of_key_material():
    with pytest.raises(ValueError, match="at least 32 bytes"):
        bls.keygen(bytes(31))


def test_public_key_and_signature_match_py_ecc_oracle(key):
    oracle_pk = compress_G2(multiply(G2, key.secret_key))
    assert key.public_key == oracle_pk[0].to_bytes(48, "big") + oracle_pk[1].to_bytes(48, "big")
    hashed = hash_to_G1(MSG, bls.DST, hashlib.sha256)
    oracle_sig = compress_G1(multiply(hashed, key.secret_key)).to_bytes(48, "big")
    assert bls.sign(key.secret_key, MSG) == oracle_sig


def test_signature_verifies_with_py_ecc_pairing(key):
    sig_point = multiply(hash_to_G1(MSG, bls.DST, hashlib.sha256), key.secret_key)
    pk_point = multiply(G2, key.secret_key)
    # e(sig, g2) == e(H(m), pk): the relation bls.verify checks, computed independently.
    hashed = hash_to_G1(MSG, bls.DST, hashlib.sha256)
    assert pairing(G2, sig_point) == pairing(pk_point, hashed)
    assert bls.verify(key.public_key, MSG, key.sign(MSG))


def test_tampered_message_signature_or_key_do_not_verify(key):
    sig = key.sign(MSG)
    assert not bls.verify(key.public_key, MSG + b"\x00", sig)
    assert not bls.verify(key.public_key, MSG, key.sign(MSG + b"\x00"))
    other = bls.KeyPair.from_seed(b"\x01" * 32)
    assert not bls.verify(other.public_key, MSG, sig)
    flipped = bytes([sig[0] ^ 0x20]) + sig[1:]  # the other y: still a valid point
    assert not bls.verify(key.public_key, MSG, flipped)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-1],
        lambda s: s + b"\x00",
        lambda s: b"",
        lambda s: bytes(48),  # no compression flag
        lambda s: b"\xff" * 48,  # x beyond the field
        lambda s: b"\xc0" + bytes(47),  # the point at infinity
        lambda s: b"\xe0" + bytes(47),  # infinity with the sign bit: not canonical
        lambda s: "not bytes",
    ],
)
def test_invalid_signature_encodings_are_false_not_errors(key, mangle):
    assert bls.verify(key.public_key, MSG, mangle(key.sign(MSG))) is False


def test_identity_public_key_is_rejected():
    # sk = 0 would make pk and every signature the identity; they must not verify.
    infinity_sig = b"\xc0" + bytes(47)
    assert not bls.verify(b"\xc0" + bytes(95), MSG, infinity_sig)


def g1_point_outside_subgroup() -> bytes:
    """A compressed point on y^2 = x^3 + 4 that is not in the prime-order subgroup."""
    p = field_modulus
    x = 1
    while True:
        rhs = (x**3 + 4) % p
        y = pow(rhs, (p + 1) // 4, p)
        if y * y % p == rhs:
            point = (FQ(x), FQ(y), FQ(1))
            if multiply(point, curve_order)[2] != FQ(0):  # r·P ≠ O: outside the subgroup
                flags = 0x80 | (0x20 if y > (p - 1) // 2 else 0)
                raw = bytearray(x.to_bytes(48, "big"))
                raw[0] |= flags
                return bytes(raw)
        x += 1


def test_point_outside_subgroup_is_rejected(key):
    assert bls.verify(key.public_key, MSG, g1_point_outside_subgroup()) is False


def test_der_public_key_round_trip_and_errors(key):
    der = bls.der_encode_public_key(key.public_key)
    assert len(der) == 133 and der == key.public_key_der
    assert der.hex().startswith("308182301d060d2b0601040182dc7c0503010201060c2b0601040182dc7c05")
    assert bls.der_decode_public_key(der) == key.public_key
    with pytest.raises(InvalidCertificate, match="prefix"):
        bls.der_decode_public_key(b"\x31" + der[1:])
    with pytest.raises(InvalidCertificate, match="133"):
        bls.der_decode_public_key(der + b"\x00")
    with pytest.raises(ValueError):
        bls.der_encode_public_key(key.public_key[:-1])


def test_secret_key_out_of_range_is_refused():
    with pytest.raises(ValueError):
        bls.sign(0, MSG)
    with pytest.raises(ValueError):
        bls.public_key(curve_order)
