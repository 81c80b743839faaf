"""CBOR decoding limits and the self-describe tag (spec: CBOR encoding of requests)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replica_core import cbor
from replica_core.errors import MalformedCbor


def test_self_describe_tag_is_stripped_and_containers_are_mutable():
    value = cbor.decode(bytes.fromhex("d9d9f7a16161820102"))
    assert value == {"a": [1, 2]}
    assert isinstance(value, dict)
    assert isinstance(value["a"], list)


def test_encode_prefixes_the_self_describe_tag():
    assert cbor.encode({"a": 1}).hex() == "d9d9f7a1616101"
    assert cbor.encode({"a": 1}, self_describe=False).hex() == "a1616101"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (bytes.fromhex("d9d9f7"), "empty"),
        (bytes.fromhex("a1616101ff"), "trailing"),
        (bytes.fromhex("a2616101616102"), "Duplicate"),
        (bytes.fromhex("5f41004100ff"), "indefinite"),
        (b"\x81" * 200 + b"\x00", "depth"),
        (bytes.fromhex("5affffffff"), "invalid CBOR"),
        (bytes.fromhex("1c"), "invalid CBOR"),
    ],
)
def test_malformed_input_raises_malformed_cbor(data, message):
    with pytest.raises(MalformedCbor, match=message):
        cbor.decode(data)


def test_oversized_input_is_rejected_before_decoding():
    with pytest.raises(MalformedCbor, match="exceeds the limit of 10"):
        cbor.decode(cbor.encode(b"x" * 20), max_size=10)


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(1 << 64) + 1, max_value=(1 << 64) - 1)
    | st.binary(max_size=40)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(values)
def test_round_trip(value):
    assert cbor.decode(cbor.encode(value)) == value


@given(st.binary(max_size=64))
def test_arbitrary_bytes_never_raise_anything_but_malformed_cbor(data):
    try:
        cbor.decode(data)
    except MalformedCbor:
        pass
