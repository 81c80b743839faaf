"""Principals: textual form, special forms, canister ids and ranges (spec: Principals)."""

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replica_core.errors import InvalidPrincipal
from replica_core.principal import CanisterRange, Principal


@pytest.mark.parametrize(
    ("text", "raw_hex"),
    [
        ("aaaaa-aa", ""),
        ("2vxsx-fae", "04"),
        ("ryjl3-tyaaa-aaaaa-aaaba-cai", "00000000000000020101"),
        ("rrkah-fqaaa-aaaaa-aaaaq-cai", "00000000000000010101"),
        ("rwlgt-iiaaa-aaaaa-aaaaa-cai", "00000000000000000101"),
    ],
)
def test_textual_form_round_trips_known_principals(text, raw_hex):
    p = Principal.from_text(text)
    assert p.raw.hex() == raw_hex
    assert p.to_text() == text
    assert str(p) == text


def test_management_canister_and_anonymous_have_their_special_forms():
    assert Principal.management_canister().to_text() == "aaaaa-aa"
    assert Principal.management_canister().is_management_canister
    assert Principal.anonymous().to_text() == "2vxsx-fae"
    assert Principal.anonymous().is_anonymous


def test_self_authenticating_id_is_sha224_of_der_key_then_0x02():
    der = bytes.fromhex("302a300506032b6570032100") + bytes(range(32))
    p = Principal.self_authenticating(der)
    assert p.raw == hashlib.sha224(der).digest() + b"\x02"
    assert p.is_self_authenticating
    assert len(p.raw) == 29


def test_canister_id_is_index_big_endian_then_0x01_0x01():
    p = Principal.from_canister_index(2)
    assert p.raw == bytes.fromhex("0000000000000002") + b"\x01\x01"
    assert p.canister_index == 2
    assert Principal.anonymous().canister_index is None
    with pytest.raises(InvalidPrincipal):
        Principal.from_canister_index(-1)
    with pytest.raises(InvalidPrincipal):
        Principal.from_canister_index(1 << 64)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("ryjl3-tyaaa-aaaaa-aaaba-caa", "checksum"),
        ("RYJL3-TYAAA-AAAAA-AAABA-CAI", "lowercase"),
        ("ryjl3tyaaa-aaaaa-aaaba-cai", "groups"),
        ("ryjl3-tyaaa-aaaaa-aaaba-ca1", "base32"),
        ("aa", "checksum"),
        ("ryjl3-tyaaa-aaaaa-aaaba-cai-", "groups"),
    ],
)
def test_invalid_text_is_rejected_with_a_reason(text, reason):
    with pytest.raises(InvalidPrincipal, match=reason):
        Principal.from_text(text)


def test_principal_longer_than_29_bytes_is_rejected():
    with pytest.raises(InvalidPrincipal, match="maximum of 29"):
        Principal(bytes(30))
    too_long_text = Principal(bytes(29)).to_text() + "-aaaaa"
    with pytest.raises(InvalidPrincipal):
        Principal.from_text(too_long_text)


def test_canister_ranges_are_closed_intervals_compared_by_bytes():
    r = CanisterRange.of_indices(0, 10)
    assert Principal.from_canister_index(0) in r
    assert Principal.from_canister_index(10) in r
    assert Principal.from_canister_index(11) not in r
    assert Principal.management_canister() not in r
    with pytest.raises(InvalidPrincipal):
        CanisterRange.of_indices(5, 4)


@given(st.binary(max_size=29))
def test_every_principal_round_trips_through_text(raw):
    p = Principal(raw)
    assert Principal.from_text(p.to_text()) == p
