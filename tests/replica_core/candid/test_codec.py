"""Candid binary codec: primitive and composite round trips against the spec's bytes."""

from __future__ import annotations

import math
import re

import pytest

from replica_core.candid import (
    BOOL,
    EMPTY,
    FLOAT32,
    FLOAT64,
    INT,
    INT8,
    INT16,
    INT32,
    INT64,
    NAT,
    NAT8,
    NAT16,
    NAT32,
    NAT64,
    NULL,
    PRINCIPAL,
    RESERVED,
    TEXT,
    Func,
    Opt,
    Rec,
    Record,
    Service,
    Variant,
    Vec,
    decode,
    decode_with_types,
    encode,
    field_hash,
    field_id,
)
from replica_core.errors import CandidError
from replica_core.principal import Principal

H = bytes.fromhex


@pytest.mark.parametrize(
    ("t", "value", "hex_bytes"),
    [
        (NULL, None, "4449444c00017f"),
        (BOOL, True, "4449444c00017e01"),
        (BOOL, False, "4449444c00017e00"),
        (NAT, 0, "4449444c00017d00"),
        (NAT, 624485, "4449444c00017de58e26"),
        (NAT, 2**64, "4449444c00017d808080808080808080" + "02"),
        (INT, -123456, "4449444c00017cc0bb78"),
        (INT, 63, "4449444c00017c3f"),
        (INT, 64, "4449444c00017cc000"),
        (INT, -64, "4449444c00017c40"),
        (NAT8, 255, "4449444c00017bff"),
        (NAT16, 65535, "4449444c00017affff"),
        (NAT32, 4294967295, "4449444c000179ffffffff"),
        (NAT64, 2**64 - 1, "4449444c000178ffffffffffffffff"),
        (INT8, -128, "4449444c00017780"),
        (INT16, -32768, "4449444c0001760080"),
        (INT32, -1, "4449444c000175ffffffff"),
        (INT64, -(2**63), "4449444c0001740000000000000080"),
        (FLOAT32, 0.5, "4449444c0001730000003f"),
        (FLOAT64, -0.5, "4449444c000172000000000000e0bf"),
        (TEXT, "hello", "4449444c0001710568656c6c6f"),
        (TEXT, "☃", "4449444c00017103e29883"),
        (RESERVED, None, "4449444c000170"),
        (PRINCIPAL, Principal(H("caffee")), "4449444c0001680103caffee"),
        (PRINCIPAL, Principal.management_canister(), "4449444c0001680100"),
    ],
)
def test_primitive_round_trip_matches_spec_bytes(t, value, hex_bytes):
    data = encode([t], [value])
    assert data.hex() == hex_bytes
    assert decode(data, [t]) == [value]
    assert decode(data) == [value]


def test_text_hello_is_the_spec_example():
    assert encode([TEXT], ["hello"]) == H("4449444c0001710568656c6c6f")


def test_float_special_values_round_trip():
    for t in (FLOAT32, FLOAT64):
        for x in (math.inf, -math.inf, 0.0, -0.0):
            assert decode(encode([t], [x]), [t]) == [x]
        (nan,) = decode(encode([t], [math.nan]), [t])
        assert math.isnan(nan)
    assert decode(encode([FLOAT64], [-0.0]), [FLOAT64])[0].hex() == (-0.0).hex()


def test_empty_argument_list_is_the_minimal_message():
    assert encode([], []) == b"DIDL\x00\x00"
    assert decode(b"DIDL\x00\x00") == []


def test_blob_is_bytes_and_list_of_ints_is_accepted():
    t = Vec(NAT8)
    data = encode([t], [b"\x00\xff"])
    assert data == H("4449444c016d7b01000200ff")
    assert encode([t], [[0, 255]]) == data
    assert decode(data, [t]) == [b"\x00\xff"]


def test_vectors_of_fixed_size_numbers_round_trip():
    for t, values in [
        (INT64, [-(2**63), 0, 2**63 - 1]),
        (NAT16, [0, 1, 65535]),
        (FLOAT64, [1.5, -2.25]),
        (BOOL, [True, False, True]),
        (INT8, [-128, 127]),
    ]:
        assert decode(encode([Vec(t)], [values]), [Vec(t)]) == [values]


def test_nested_opts_use_list_representation():
    t = Opt(Opt(NAT))
    cases = {(): "00", (((),)): "0100", ((5,),): "010105"}
    for value, suffix in [([], "00"), ([[]], "0100"), ([[5]], "010105")]:
        data = encode([t], [value])
        assert data.hex().endswith(suffix)
        assert decode(data, [t]) == [value]
    assert cases  # the three shapes above are distinct encodings
    assert encode([Opt(NAT)], [None]) == encode([Opt(NAT)], [[]])


def test_record_field_ids_are_idl_hashes_and_numbers():
    assert field_hash("foo") == 5097222
    assert field_hash("bar") == 4895187
    assert field_id("0") == 0
    assert field_id("name") == field_hash("name")
    t = Record.of({"foo": INT, "bar": BOOL})
    data = encode([t], [{"foo": 42, "bar": True}])
    assert data == H("4449444c016c02d3e3aa027e868eb7027c0100012a")
    assert decode(data, [t]) == [{"foo": 42, "bar": True}]
    assert decode(data) == [{4895187: True, 5097222: 42}]


def test_record_accepts_id_keys_and_tuple_values():
    t = Record.of({"foo": INT, "bar": BOOL})
    assert encode([t], [{5097222: 42, 4895187: True}]) == encode([t], [{"foo": 42, "bar": True}])
    tup = Record.tuple([NAT, TEXT])
    data = encode([tup], [(1, "a")])
    assert encode([tup], [{0: 1, 1: "a"}]) == data
    assert decode(data, [tup]) == [{0: 1, 1: "a"}]


def test_numeric_labels_in_record_of_are_ids():
    t = Record.of({"1": NAT, "name": TEXT})
    assert [f.id for f in t.fields] == sorted([1, field_hash("name")])
    assert t.fields[0].name is None


def test_variant_round_trip_with_named_and_null_tags():
    t = Variant.of({"ok": NAT, "err": TEXT, "none": NULL})
    for v in ({"ok": 5}, {"err": "bad"}, {"none": None}):
        assert decode(encode([t], [v]), [t]) == [v]
    result = Variant.of({"Ok": TEXT, "Err": TEXT})
    data = encode([result], [{"Ok": "good"}])
    assert data == H("4449444c016b02bc8a0171c5fed2017101000004676f6f64")


def test_recursive_linked_list_round_trip():
    lst = Rec("list")
    lst.define(Opt(Record.of({"head": INT, "tail": lst})))
    value = [{"head": 1, "tail": [{"head": 2, "tail": [{"head": 3, "tail": []}]}]}]
    data = encode([lst], [value])
    assert data.startswith(H("4449444c026e016c02a0d2aca8047c90eddae7040001000101"))
    assert decode(data, [lst]) == [value]
    wire_types, wire_values = decode_with_types(data)
    assert isinstance(wire_types[0], Rec)
    assert wire_values[0][0][field_hash("head")] == 1


def test_recursive_variant_list_and_mutual_recursion():
    vl = Rec("VariantList")
    vl.define(Variant.of({"nil": NULL, "cons": Record.of({"head": INT, "tail": vl})}))
    value = {"cons": {"head": 1, "tail": {"cons": {"head": 2, "tail": {"nil": None}}}}}
    assert decode(encode([vl], [value]), [vl]) == [value]
    list1, list2 = Rec("List1"), Rec("List2")
    list1.define(Opt(list2))
    list2.define(Record.of({"head": INT, "tail": list1}))
    v = [{"head": 1, "tail": [{"head": 2, "tail": []}]}]
    assert decode(encode([list1], [v]), [list1]) == [v]


def test_structurally_equal_types_share_one_table_entry():
    r = Record.of({"a": NAT})
    data = encode([r, Record.of({"a": NAT}), Vec(r)], [{"a": 1}, {"a": 2}, []])
    assert data[4] == 2  # the record once, the vec once


def test_func_and_service_references():
    f = Func((TEXT,), (NAT,), ("query",))
    s = Service((("foo", Func((TEXT,), (NAT,))),))
    p = Principal(H("caffee"))
    data = encode([f, s], [(p, "foo"), p])
    assert decode(data, [f, s]) == [(p, "foo"), p]
    assert encode([Func((), ())], [(p, "a")]).endswith(H("01010 3caffee0161".replace(" ", "")))
    assert decode(encode([s], [p]), [PRINCIPAL]) == [p]


def test_multiple_arguments_spec_example():
    data = H("4449444c000a7f7e7d7c7f707f7b7a79012a2a2a2a002a000000")
    types = [NULL, BOOL, NAT, INT, NULL, RESERVED, NULL, NAT8, NAT16, NAT32]
    assert decode(data, types) == [None, True, 42, 42, None, None, None, 42, 42, 42]


@pytest.mark.parametrize(
    ("t", "value", "fragment"),
    [
        (NAT8, 256, "nat8 cannot hold 256"),
        (NAT, -1, "nat cannot hold -1"),
        (INT64, 2**63, "int64 cannot hold"),
        (NAT64, -1, "nat64 cannot hold -1"),
        (TEXT, b"x", "text cannot hold b'x'"),
        (BOOL, 1, "bool cannot hold 1"),
        (NAT, True, "nat cannot hold True"),
        (NULL, 0, "null cannot hold 0"),
        (PRINCIPAL, "aaaaa-aa", "principal cannot hold"),
        (EMPTY, None, "empty has no values"),
        (Opt(NAT), [1, 2], "an opt value is [] or [value]"),
        (Variant.of({"a": NAT}), {"b": 1}, "unknown tag 'b'"),
        (Variant.of({"a": NAT}), {"a": 1, "b": 2}, "exactly one"),
        (Record.of({"a": NAT}), {"a": 1, "z": 2}, "unknown field 'z'"),
        (Record.of({"a": NAT}), {}, "missing field 'a'"),
        (Vec(NAT8), [1, 300], "not a list of nat8"),
        (TEXT, "\ud800", "not encodable as UTF-8"),
    ],
)
def test_encode_rejects_values_that_do_not_fit(t, value, fragment):
    with pytest.raises(CandidError, match=None) as info:
        encode([t], [value])
    assert fragment in str(info.value)


def test_encode_error_names_the_path_to_the_bad_value():
    t = Vec(Record.of({"id": NAT64, "name": TEXT, "tags": Vec(NAT8)}))
    good = {"id": 1, "name": "x", "tags": b""}
    with pytest.raises(CandidError) as info:
        encode([NAT, t], [0, [good, good, {"id": -1, "name": "y", "tags": b""}]])
    message = str(info.value)
    assert "nat64 cannot hold -1" in message
    assert "arg 1 › [2] › .id" in message


def test_missing_optional_record_field_encodes_as_none():
    t = Record.of({"a": NAT, "b": Opt(NAT)})
    assert decode(encode([t], [{"a": 1}]), [t]) == [{"a": 1, "b": []}]


def test_encode_checks_argument_count():
    with pytest.raises(CandidError, match="2 argument types but 1 values"):
        encode([NAT, NAT], [1])


def test_undefined_and_non_well_founded_recursion_is_rejected():
    loose = Rec("loose")
    with pytest.raises(CandidError, match="never defined"):
        encode([Opt(loose)], [[]])
    x = Rec("x")
    x.define(x)
    with pytest.raises(CandidError, match="not well-founded"):
        encode([x], [None])


def test_package_exports_are_complete_and_sorted():
    import replica_core.candid as candid

    def isort_key(name):  # constants, then classes, then functions; numbers naturally
        kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
        return kind, [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]

    assert candid.__all__ == sorted(candid.__all__, key=isort_key)
    for name in candid.__all__:
        assert hasattr(candid, name), name
