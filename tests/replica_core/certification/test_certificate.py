"""Certificates: encoding, verify_cert with delegations, scope and freshness checks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replica_core import cbor, leb128
from replica_core.certification.certificate import (
    Certificate,
    Delegation,
    decode_canister_ranges,
    delegation_ranges,
    encode_canister_ranges,
    lookup,
    make_delegation,
    sign_tree,
    verify_certificate,
)
from replica_core.certification.hash_tree import Found, build, reconstruct, witness
from replica_core.crypto import bls
from replica_core.errors import InvalidCertificate
from replica_core.principal import CanisterRange, Principal

NOW = 1_700_000_000_000_000_000
ROOT = bls.KeyPair.from_seed(b"root" * 8)
SUBNET = bls.KeyPair.from_seed(b"subnet" * 6)
SUBNET_ID = Principal.self_authenticating(b"subnet")
RANGES = [CanisterRange.of_indices(0, 99), CanisterRange.of_indices(200, 299)]
INSIDE = Principal.from_canister_index(250)
OUTSIDE = Principal.from_canister_index(150)


def state(time: int = NOW) -> dict:
    return {b"time": leb128.encode_unsigned(time), b"canister": {INSIDE.raw: {b"x": b"1"}}}


def delegation(**kwargs) -> Delegation:
    return make_delegation(ROOT.secret_key, SUBNET_ID, SUBNET.public_key_der, RANGES, NOW, **kwargs)


def delegated_cert(time: int = NOW) -> Certificate:
    return sign_tree(build(state(time)), SUBNET.secret_key, delegation())


def test_root_signed_certificate_verifies_and_round_trips():
    cert = sign_tree(build(state()), ROOT.secret_key)
    data = cert.encode()
    assert data.startswith(b"\xd9\xd9\xf7")
    assert Certificate.decode(data) == cert
    assert verify_certificate(data, ROOT.public_key_der) == cert
    assert lookup(cert, ["canister", INSIDE.raw, "x"]) == Found(b"1")


def test_delegated_certificate_verifies_for_canister_in_ranges_both_forms():
    data = delegated_cert().encode()
    assert Certificate.decode(data).delegation == delegation()
    for form in ("legacy", "sharded", "any"):
        verify_certificate(data, ROOT.public_key_der, effective_canister_id=INSIDE, ranges=form)
    verify_certificate(data, ROOT.public_key_der, effective_subnet_id=SUBNET_ID)


@pytest.mark.parametrize("form", ["legacy", "sharded"])
def test_canister_outside_delegation_ranges_is_rejected(form):
    with pytest.raises(InvalidCertificate, match="not in delegation ranges"):
        verify_certificate(
            delegated_cert(), ROOT.public_key_der, effective_canister_id=OUTSIDE, ranges=form
        )


def test_sharded_ranges_are_the_concatenation_of_shards():
    sid = SUBNET_ID.raw
    shards = {RANGES[0].start.raw: encode_canister_ranges(RANGES[:1])}
    shards[RANGES[1].start.raw] = encode_canister_ranges(RANGES[1:])
    tree = build({b"canister_ranges": {sid: shards}})
    assert delegation_ranges(tree, SUBNET_ID, "sharded") == RANGES
    assert delegation_ranges(tree, SUBNET_ID, "legacy") == []
    assert delegation_ranges(tree, SUBNET_ID, "any") == RANGES


def test_subnet_id_mismatch_is_rejected():
    with pytest.raises(InvalidCertificate, match="does not match delegation subnet"):
        verify_certificate(
            delegated_cert(),
            ROOT.public_key_der,
            effective_subnet_id=Principal.self_authenticating(b"other"),
        )


def test_wrong_root_key_fails_the_delegation_signature():
    other_root = bls.KeyPair.from_seed(b"other-root" * 4)
    with pytest.raises(InvalidCertificate, match="delegation certificate signature does not"):
        verify_certificate(delegated_cert(), other_root.public_key_der)
    with pytest.raises(InvalidCertificate, match="^certificate signature does not verify"):
        verify_certificate(sign_tree(build(state()), ROOT.secret_key), other_root.public_key_der)


def test_tampered_tree_does_not_verify():
    cert = delegated_cert()
    tampered = Certificate(build(state(NOW + 1)), cert.signature, cert.delegation)
    with pytest.raises(InvalidCertificate, match="^certificate signature does not verify"):
        verify_certificate(tampered, ROOT.public_key_der)


def test_pruned_certificate_still_verifies():
    cert = delegated_cert()
    pruned = Certificate(witness(cert.tree, [["time"]]), cert.signature, cert.delegation)
    verify_certificate(pruned, ROOT.public_key_der, effective_canister_id=INSIDE)


def test_certificate_signed_by_subnet_without_delegation_fails():
    cert = sign_tree(build(state()), SUBNET.secret_key)
    with pytest.raises(InvalidCertificate, match="signature does not verify"):
        verify_certificate(cert, ROOT.public_key_der)


def test_delegation_certificate_with_a_delegation_is_rejected():
    nested = Delegation(SUBNET_ID, delegated_cert().encode())
    cert = sign_tree(build(state()), SUBNET.secret_key, nested)
    with pytest.raises(InvalidCertificate, match="delegation certificate has a delegation"):
        verify_certificate(cert, ROOT.public_key_der)


def test_missing_subnet_public_key_is_rejected():
    tree = build({b"time": leb128.encode_unsigned(NOW)})
    d = Delegation(SUBNET_ID, sign_tree(tree, ROOT.secret_key).encode())
    cert = sign_tree(build(state()), SUBNET.secret_key, d)
    with pytest.raises(InvalidCertificate, match="subnet public key not found"):
        verify_certificate(cert, ROOT.public_key_der)


def test_malformed_subnet_public_key_is_rejected():
    d = make_delegation(ROOT.secret_key, SUBNET_ID, SUBNET.public_key, RANGES, NOW)
    cert = sign_tree(build(state()), SUBNET.secret_key, d)
    with pytest.raises(InvalidCertificate, match="subnet public key of"):
        verify_certificate(cert, ROOT.public_key_der)


def test_delegation_signed_for_another_subnet_key_fails():
    other = bls.KeyPair.from_seed(b"other-subnet" * 3)
    cert = sign_tree(build(state()), other.secret_key, delegation())
    with pytest.raises(InvalidCertificate, match="^certificate signature does not verify"):
        verify_certificate(cert, ROOT.public_key_der)


def test_time_freshness_checks():
    day = 86_400 * 10**9
    old = delegated_cert(time=NOW - day)
    verify_certificate(old, ROOT.public_key_der)
    with pytest.raises(InvalidCertificate, match="older than"):
        verify_certificate(old, ROOT.public_key_der, now=NOW, max_age_ns=300 * 10**9)
    future = delegated_cert(time=NOW + day)
    with pytest.raises(InvalidCertificate, match="in the future"):
        verify_certificate(future, ROOT.public_key_der, now=NOW, max_age_ns=300 * 10**9)
    verify_certificate(delegated_cert(), ROOT.public_key_der, now=NOW + 10, max_age_ns=300)
    no_time = sign_tree(build({b"a": b"b"}), ROOT.secret_key)
    with pytest.raises(InvalidCertificate, match="no /time"):
        verify_certificate(no_time, ROOT.public_key_der, now=NOW, max_age_ns=1)


def test_wrong_root_key_der_is_rejected():
    with pytest.raises(InvalidCertificate, match="prefix"):
        verify_certificate(delegated_cert(), ROOT.public_key)


@pytest.mark.parametrize(
    "data",
    [
        b"\xff",
        cbor.encode([1, 2]),
        cbor.encode({"tree": [0]}),
        cbor.encode({"tree": [7], "signature": b""}),
        cbor.encode({"tree": [0], "signature": "text"}),
        cbor.encode({"tree": [0], "signature": b"", "delegation": 5}),
        cbor.encode({"tree": [0], "signature": b"", "delegation": {"subnet_id": b"x"}}),
        cbor.encode(
            {
                "tree": [0],
                "signature": b"",
                "delegation": {"subnet_id": b"x" * 30, "certificate": b""},
            }
        ),
    ],
)
def test_malformed_certificates_raise_invalid_certificate(data):
    with pytest.raises(InvalidCertificate):
        Certificate.decode(data)


def test_malformed_delegation_certificate_is_named():
    cert = sign_tree(build(state()), SUBNET.secret_key, Delegation(SUBNET_ID, b"\x00"))
    with pytest.raises(InvalidCertificate, match="^delegation certificate: "):
        verify_certificate(cert, ROOT.public_key_der)


def test_canister_ranges_round_trip_and_errors():
    blob = encode_canister_ranges(RANGES)
    assert blob.startswith(b"\xd9\xd9\xf7")
    assert decode_canister_ranges(blob) == RANGES
    for bad in (cbor.encode({}), cbor.encode([[b"a"]]), cbor.encode([[b"b", b"a"]]), b"\xff"):
        with pytest.raises(InvalidCertificate):
            decode_canister_ranges(bad)


def test_make_delegation_tree_layout():
    d = Certificate.decode(delegation().certificate)
    sid = SUBNET_ID.raw
    assert lookup(d, ["subnet", sid, "public_key"]) == Found(SUBNET.public_key_der)
    assert lookup(d, ["subnet", sid, "type"]) == Found(b"application")
    assert lookup(d, ["time"]) == Found(leb128.encode_unsigned(NOW))
    shard = lookup(d, ["canister_ranges", sid, RANGES[0].start.raw])
    assert shard == Found(encode_canister_ranges(RANGES))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_decode_of_arbitrary_bytes_raises_only_invalid_certificate(data):
    try:
        Certificate.decode(data)
    except InvalidCertificate:
        pass


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=48), st.binary(max_size=96))
def test_bls_verify_of_arbitrary_bytes_is_false(signature, public_key):
    assert bls.verify(public_key, b"msg", signature) is False


@pytest.mark.interop
def test_icp_py_core_reads_our_delegated_certificate():
    icp = pytest.importorskip("icp_certificate.certificate")
    cert = delegated_cert()
    theirs = icp.Certificate(cbor.decode(cert.encode()))
    materials = theirs.verify_cert(INSIDE.raw, backend="return_materials")
    assert materials["der_public_key"] == SUBNET.public_key_der
    assert materials["message"] == b"\x0dic-state-root" + reconstruct(cert.tree)
    assert bls.verify(materials["bls_public_key"], materials["message"], materials["signature"])
    assert theirs.lookup_time() == NOW
    with pytest.raises(ValueError, match="NotAuthorized"):
        theirs.verify_cert(OUTSIDE.raw, backend="return_materials")


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(st.binary(max_size=40), st.binary(max_size=300), max_size=6),
    st.binary(min_size=48, max_size=48),
    st.one_of(st.none(), st.tuples(st.binary(max_size=29), st.binary(max_size=700))),
)
def test_certificate_encoding_is_the_cbor_of_its_map(entries, signature, delegation):
    from replica_core.certification.certificate import Certificate, Delegation
    from replica_core.certification.hash_tree import to_cbor_obj

    tree = build({b"time": b"\x01", b"entries": entries} if entries else {b"time": b"\x01"})
    d = None if delegation is None else Delegation(Principal(delegation[0]), delegation[1])
    body: dict = {"tree": to_cbor_obj(tree), "signature": signature}
    if d is not None:
        body["delegation"] = {"subnet_id": d.subnet_id.raw, "certificate": d.certificate}
    encoded = Certificate(tree, signature, d).encode()
    assert encoded == cbor.encode(body)
    assert Certificate.decode(encoded) == Certificate(tree, signature, d)
