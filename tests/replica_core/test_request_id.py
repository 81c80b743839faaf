"""Request ids (spec: HTTPS interface › Request ids, with the spec's worked example)."""

import hashlib

import pytest

from replica_core.principal import Principal
from replica_core.request_id import hash_of_map, hash_value, request_id, to_text

SPEC_CONTENT = {
    "request_type": "call",
    "sender": b"\x04",
    "ingress_expiry": 1685570400000000000,
    "canister_id": bytes.fromhex("00000000000004D2"),
    "method_name": "hello",
    "arg": bytes.fromhex("4449444c00fd2a"),
}


def test_request_id_matches_the_spec_example():
    rid = request_id(SPEC_CONTENT)
    assert rid.hex() == "1d1091364d6bb8a6c16b203ee75467d59ead468f523eb058880ae8ec80e2b101"
    assert to_text(rid) == "0x" + rid.hex()


def test_field_hashes_match_the_spec_table():
    assert (
        hash_value(b"\x04").hex()
        == "e52d9c508c502347344d8c07ad91cbd6068afc75ff6292f062a09ca381c89e71"
    )
    assert (
        hash_value(1685570400000000000).hex()
        == "db8e57abc8cda1525d45fdd2637af091bc1f28b35819a40df71517d1501f2c76"
    )
    assert (
        hash_value(bytes.fromhex("00000000000004D2")).hex()
        == "4d8c47c3c1c837964011441882d745f7e92d10a40cef0520447c63029eafe396"
    )
    assert (
        hash_value("hello").hex()
        == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    )


def test_request_id_does_not_depend_on_field_order():
    reordered = dict(reversed(list(SPEC_CONTENT.items())))
    assert request_id(reordered) == request_id(SPEC_CONTENT)


def test_principal_hashes_like_its_bytes():
    assert hash_value(Principal(b"\x04")) == hash_value(b"\x04")


def test_arrays_hash_the_concatenation_of_element_hashes():
    paths = [[b"request_status", b"\x01" * 32]]
    inner = hashlib.sha256(
        hashlib.sha256(b"request_status").digest() + hashlib.sha256(b"\x01" * 32).digest()
    ).digest()
    assert hash_value(paths) == hashlib.sha256(inner).digest()


def test_nested_maps_hash_recursively():
    sha = lambda b: hashlib.sha256(b).digest()  # noqa: E731
    inner = sha(sha(b"arg") + sha(b"DIDL\x00\x00"))
    assert hash_of_map({"reply": {"arg": b"DIDL\x00\x00"}}) == sha(sha(b"reply") + inner)


def test_negative_ints_hash_as_signed_leb128():
    assert hash_value(-123456) == hashlib.sha256(bytes.fromhex("c0bb78")).digest()


@pytest.mark.parametrize("bad", [True, 1.5, object()])
def test_values_without_a_hash_are_refused(bad):
    with pytest.raises(TypeError):
        hash_value(bad)
