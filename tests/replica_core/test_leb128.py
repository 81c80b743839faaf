"""LEB128 as used by Candid and request ids (spec: Representation-independent hashing)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replica_core.leb128 import decode_signed, decode_unsigned, encode_signed, encode_unsigned


@pytest.mark.parametrize(("n", "hex_"), [(0, "00"), (127, "7f"), (128, "8001"), (624485, "e58e26")])
def test_unsigned_matches_spec_examples(n, hex_):
    assert encode_unsigned(n).hex() == hex_
    assert decode_unsigned(bytes.fromhex(hex_)) == (n, len(hex_) // 2)


@pytest.mark.parametrize(
    ("n", "hex_"), [(0, "00"), (-1, "7f"), (63, "3f"), (64, "c000"), (-123456, "c0bb78")]
)
def test_signed_matches_spec_examples(n, hex_):
    assert encode_signed(n).hex() == hex_
    assert decode_signed(bytes.fromhex(hex_)) == (n, len(hex_) // 2)


def test_truncated_input_is_an_error():
    with pytest.raises(ValueError, match="end of input"):
        decode_unsigned(b"\x80")
    with pytest.raises(ValueError, match="end of input"):
        decode_signed(b"\xff\xff")
    with pytest.raises(ValueError):
        encode_unsigned(-1)


@given(st.integers(min_value=0, max_value=1 << 200))
def test_unsigned_round_trip(n):
    assert decode_unsigned(b"x" + encode_unsigned(n), 1)[0] == n


@given(st.integers(min_value=-(1 << 200), max_value=1 << 200))
def test_signed_round_trip(n):
    assert decode_signed(encode_signed(n))[0] == n
