"""Canister signatures: public key DER, building and verifying, each failing check."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replica_core import cbor, leb128
from replica_core.certification.certificate import make_delegation, sign_tree
from replica_core.certification.hash_tree import (
    EMPTY,
    Fork,
    Found,
    Labeled,
    Leaf,
    build,
    decode,
    lookup_path,
    reconstruct,
    witness,
)
from replica_core.crypto import bls
from replica_core.crypto.canister_sig import (
    canister_sig_public_key,
    encode_canister_signature,
    parse_canister_sig_public_key,
    sig_path,
    sign_with_canister,
    signature_tree,
    verify_canister_signature,
)
from replica_core.errors import InvalidSignature
from replica_core.principal import CanisterRange, Principal

ROOT = bls.KeyPair.from_seed(b"root" * 8)
SUBNET = bls.KeyPair.from_seed(b"subnet" * 6)
SUBNET_ID = Principal.self_authenticating(b"subnet")
CANISTER = Principal.from_canister_index(7)
SEED = b"anchor-10000"
PAYLOAD = b"\x0aic-request" + bytes(range(32))


RANGES = [CanisterRange.of_indices(0, 99)]


def delegation(subnet_type="application", ranges=RANGES):
    return make_delegation(
        ROOT.secret_key,
        SUBNET_ID,
        SUBNET.public_key_der,
        list(ranges),
        0,
        subnet_type=subnet_type,
    )


def test_public_key_der_layout_and_round_trip():
    der = canister_sig_public_key(CANISTER, SEED)
    expected = (
        "30" + f"{14 + 2 + 1 + 1 + 10 + len(SEED):02x}" + "300c060a2b0601040183b8430102"
        "03" + f"{2 + 10 + len(SEED):02x}" + "00" + "0a" + CANISTER.raw.hex() + SEED.hex()
    )
    assert der.hex() == expected
    assert parse_canister_sig_public_key(der) == (CANISTER, SEED)
    long_seed = bytes(300)  # long-form DER lengths
    assert parse_canister_sig_public_key(canister_sig_public_key(CANISTER, long_seed)) == (
        CANISTER,
        long_seed,
    )
    assert Principal.self_authenticating(der) != Principal.self_authenticating(
        canister_sig_public_key(CANISTER, SEED + b"x")
    )


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d: d + b"\x00",  # trailing bytes
        lambda d: d[:-1],  # truncated
        lambda d: b"\x31" + d[1:],  # not a SEQUENCE
        lambda d: d[:13] + b"\x03" + d[14:],  # different OID
        lambda d: d[:16] + b"\x04" + d[17:],  # not a BIT STRING
        lambda d: d[:18] + b"\x01" + d[19:],  # unused bits
        lambda d: d[:19] + b"\x7f" + d[20:],  # id length beyond the content
        lambda d: b"\x30\x81" + d[1:],  # non-minimal long-form length
        lambda d: "text",
    ],
)
def test_malformed_public_keys_raise_invalid_signature(mangle):
    with pytest.raises(InvalidSignature):
        parse_canister_sig_public_key(mangle(canister_sig_public_key(CANISTER, SEED)))


def test_algorithm_identifier_with_null_parameters_is_not_the_canister_signature_oid():
    from replica_core.crypto import der

    body = bytes((len(CANISTER.raw),)) + CANISTER.raw + SEED
    algorithm = der.encode_tlv(der.TAG_OID, der.OID_CANISTER_SIGNATURE) + b"\x05\x00"
    key = der.encode_tlv(
        der.TAG_SEQUENCE,
        der.encode_tlv(der.TAG_SEQUENCE, algorithm)
        + der.encode_tlv(der.TAG_BIT_STRING, b"\x00" + body),
    )
    with pytest.raises(InvalidSignature, match="not the canister signature OID"):
        parse_canister_sig_public_key(key)


def test_matches_der_module_of_the_dispatcher():
    der_module = pytest.importorskip("replica_core.crypto.der")
    assert der_module.wrap_canister_sig_key(CANISTER.raw, SEED) == canister_sig_public_key(
        CANISTER, SEED
    )


def verify(signature, *, payload=PAYLOAD, canister=CANISTER, seed=SEED, root=ROOT):
    pk = canister_sig_public_key(canister, seed)
    verify_canister_signature(pk, payload, signature, root.public_key_der)


def test_root_certified_signature_verifies():
    verify(sign_with_canister(ROOT.secret_key, CANISTER, SEED, PAYLOAD))


def test_delegated_signature_verifies():
    verify(sign_with_canister(SUBNET.secret_key, CANISTER, SEED, PAYLOAD, delegation=delegation()))


def test_signature_shape_is_certificate_and_tree():
    sig = sign_with_canister(ROOT.secret_key, CANISTER, SEED, PAYLOAD)
    obj = cbor.decode(sig)
    assert sig.startswith(b"\xd9\xd9\xf7") and set(obj) == {"certificate", "tree"}
    tree = decode(cbor.encode(obj["tree"], self_describe=False))
    assert lookup_path(sig_path(SEED, PAYLOAD), tree) == Found(b"")


def test_wrong_seed_payload_or_canister_fail():
    sig = sign_with_canister(ROOT.secret_key, CANISTER, SEED, PAYLOAD)
    with pytest.raises(InvalidSignature, match="no empty leaf"):
        verify(sig, seed=b"other-seed")
    with pytest.raises(InvalidSignature, match="no empty leaf"):
        verify(sig, payload=PAYLOAD + b"x")
    with pytest.raises(InvalidSignature, match="certified_data of canister"):
        verify(sig, canister=Principal.from_canister_index(8))


def test_wrong_root_key_fails_certificate_check():
    sig = sign_with_canister(ROOT.secret_key, CANISTER, SEED, PAYLOAD)
    with pytest.raises(InvalidSignature, match="certificate: certificate signature does not"):
        verify(sig, root=SUBNET)


def test_tampered_certificate_fails():
    sig = cbor.decode(sign_with_canister(ROOT.secret_key, CANISTER, SEED, PAYLOAD))
    cert = bytearray(sig["certificate"])
    cert[-5] ^= 1  # inside the tree or signature bytes
    tampered = encode_canister_signature(bytes(cert), decode(cbor.encode(sig["tree"])))
    with pytest.raises(InvalidSignature, match="certificate"):
        verify(tampered)


def test_signing_canister_outside_delegation_ranges_fails():
    d = delegation(ranges=[CanisterRange.of_indices(100, 199)])
    sig = sign_with_canister(SUBNET.secret_key, CANISTER, SEED, PAYLOAD, delegation=d)
    with pytest.raises(InvalidSignature, match="not in delegation ranges"):
        verify(sig)


def test_cloud_engine_or_missing_subnet_type_fails():
    d = delegation(subnet_type="cloud_engine")
    sig = sign_with_canister(SUBNET.secret_key, CANISTER, SEED, PAYLOAD, delegation=d)
    with pytest.raises(InvalidSignature, match="cloud_engine"):
        verify(sig)
    d = delegation(subnet_type=None)
    sig = sign_with_canister(SUBNET.secret_key, CANISTER, SEED, PAYLOAD, delegation=d)
    with pytest.raises(InvalidSignature, match="lacks the type"):
        verify(sig)


def certify(tree_root: bytes) -> bytes:
    state = build(
        {
            b"time": leb128.encode_unsigned(0),
            b"canister": {CANISTER.raw: {b"certified_data": tree_root}},
        }
    )
    return sign_tree(state, ROOT.secret_key).encode()


def test_tree_not_well_formed_fails():
    _, s, m = sig_path(SEED, PAYLOAD)
    # Leaf next to labels: lookup still finds the leaf, but the tree is not well formed.
    bad = Labeled(b"sig", Labeled(s, Fork(Labeled(m, Leaf(b"")), Leaf(b"junk"))))
    with pytest.raises(InvalidSignature, match="not well formed"):
        verify(encode_canister_signature(certify(reconstruct(bad)), bad))


def test_non_empty_leaf_fails():
    _, s, m = sig_path(SEED, PAYLOAD)
    tree = build({b"sig": {s: {m: b"x"}}})
    with pytest.raises(InvalidSignature, match="no empty leaf"):
        verify(encode_canister_signature(certify(reconstruct(tree)), tree))


def test_signature_tree_with_many_entries_witnesses_one():
    entries = [(b"seed%d" % i, b"payload%d" % i) for i in range(50)]
    tree = signature_tree(entries)
    w = witness(tree, [sig_path(*entries[17])])
    assert lookup_path(sig_path(*entries[17]), w) == Found(b"")
    assert lookup_path(sig_path(*entries[18]), w) != Found(b"")
    sig = encode_canister_signature(certify(tree.root_hash), w)
    verify(sig, seed=b"seed17", payload=b"payload17")
    assert hashlib.sha256(b"seed17").digest() == sig_path(b"seed17", b"")[1]


@pytest.mark.parametrize(
    "signature",
    [
        b"\xff",
        cbor.encode([1]),
        cbor.encode({"tree": [0]}),
        cbor.encode({"certificate": b"", "tree": [9]}),
        cbor.encode({"certificate": b""}),
        cbor.encode({"certificate": b"\x00", "tree": [0]}),
    ],
)
def test_malformed_signatures_raise_invalid_signature(signature):
    with pytest.raises(InvalidSignature):
        verify(signature)


def test_empty_tree_is_not_a_signature():
    with pytest.raises(InvalidSignature, match="no empty leaf"):
        verify(encode_canister_signature(certify(reconstruct(EMPTY)), EMPTY))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=120), st.binary(max_size=120))
def test_arbitrary_keys_and_signatures_raise_only_invalid_signature(public_key, signature):
    with pytest.raises(InvalidSignature):
        verify_canister_signature(public_key, PAYLOAD, signature, ROOT.public_key_der)
