"""Candid decoding at an expected type: coercion by the subtyping rules."""

from __future__ import annotations

import pytest

from replica_core.candid import (
    BOOL,
    EMPTY,
    INT,
    NAT,
    NAT8,
    NULL,
    PRINCIPAL,
    RESERVED,
    TEXT,
    Func,
    Opt,
    Record,
    Service,
    Variant,
    Vec,
    decode,
    encode,
    is_subtype,
)
from replica_core.errors import CandidError
from replica_core.principal import Principal

P = Principal(b"\xca\xff\xee")


def test_extra_record_fields_are_dropped():
    data = encode([Record.of({"a": NAT, "b": TEXT, "c": Vec(NAT)})], [{"a": 1, "b": "x", "c": [1]}])
    assert decode(data, [Record.of({"b": TEXT})]) == [{"b": "x"}]


def test_missing_optional_null_and_reserved_fields_read_as_null():
    data = encode([Record.of({"a": NAT})], [{"a": 1}])
    expected = Record.of({"a": NAT, "o": Opt(TEXT), "n": NULL, "r": RESERVED})
    assert decode(data, [expected]) == [{"a": 1, "o": [], "n": None, "r": None}]


def test_missing_required_field_is_an_error():
    data = encode([Record.of({"a": NAT})], [{"a": 1}])
    with pytest.raises(CandidError, match="field 'b' is missing"):
        decode(data, [Record.of({"a": NAT, "b": NAT})])


def test_nat_coerces_to_int_but_not_back():
    assert decode(encode([NAT], [5]), [INT]) == [5]
    assert decode(encode([Vec(NAT)], [[1, 200]]), [Vec(INT)]) == [[1, 200]]
    with pytest.raises(CandidError, match="does not coerce"):
        decode(encode([INT], [5]), [NAT])


def test_non_optional_value_coerces_into_opt():
    assert decode(encode([BOOL], [True]), [Opt(BOOL)]) == [[True]]
    assert decode(encode([BOOL], [True]), [Opt(Opt(BOOL))]) == [[[True]]]
    assert decode(encode([NAT], [7]), [Opt(INT)]) == [[7]]


def test_value_that_does_not_coerce_into_opt_content_becomes_none():
    assert decode(encode([TEXT], ["x"]), [Opt(NAT)]) == [[]]
    assert decode(encode([Opt(BOOL)], [[True]]), [Opt(NAT)]) == [[]]
    # the wire value is still consumed: a following argument decodes correctly
    assert decode(encode([Opt(TEXT), NAT], [["abc"], 9]), [Opt(NAT), NAT]) == [[], 9]


def test_wire_null_and_reserved_read_as_none_at_opt():
    assert decode(encode([NULL], [None]), [Opt(NAT)]) == [[]]
    assert decode(encode([RESERVED], [None]), [Opt(NAT)]) == [[]]
    assert decode(encode([Opt(NULL)], [[]]), [Opt(Opt(NULL))]) == [[]]


def test_anything_coerces_to_reserved():
    data = encode([Record.of({"a": Vec(TEXT)})], [{"a": ["x", "y"]}])
    assert decode(data, [RESERVED]) == [None]


def test_reserved_does_not_coerce_to_null():
    with pytest.raises(CandidError):
        decode(encode([RESERVED], [None]), [NULL])


def test_variant_tag_must_exist_in_expected_type():
    wire = Variant.of({"a": NAT, "b": TEXT})
    assert decode(encode([wire], [{"a": 1}]), [Variant.of({"a": INT, "c": BOOL})]) == [{"a": 1}]
    with pytest.raises(CandidError, match="not in the expected type"):
        decode(encode([wire], [{"b": "x"}]), [Variant.of({"a": INT})])
    # under opt, an unknown tag is a recoverable coercion failure
    assert decode(encode([wire], [{"b": "x"}]), [Opt(Variant.of({"a": INT}))]) == [[]]


def test_missing_trailing_arguments_must_be_nullable():
    data = encode([NAT], [1])
    assert decode(data, [NAT, Opt(TEXT), NULL, RESERVED]) == [1, [], None, None]
    with pytest.raises(CandidError, match="argument 1 .* missing"):
        decode(data, [NAT, TEXT])


def test_extra_wire_arguments_are_ignored():
    data = encode([NAT, TEXT, Vec(NAT8)], [1, "x", b"abc"])
    assert decode(data, [NAT]) == [1]
    assert decode(data, []) == []


def test_func_reference_coerces_only_to_a_supertype():
    wire = Func((TEXT,), (NAT,), ("query",))
    data = encode([wire], [(P, "m")])
    assert decode(data, [Func((TEXT, Opt(TEXT)), (), ("query",))]) == [(P, "m")]
    with pytest.raises(CandidError, match="not a subtype"):
        decode(data, [Func((TEXT,), (NAT,))])
    assert decode(data, [Opt(Func((NAT,), (NAT,), ("query",)))]) == [[]]


def test_service_reference_coerces_by_method_subtyping_and_to_principal():
    m = Func((TEXT,), (NAT,))
    wire = Service((("foo", m), ("bar", m)))
    data = encode([wire], [P])
    assert decode(data, [Service((("foo", m),))]) == [P]
    assert decode(data, [PRINCIPAL]) == [P]
    with pytest.raises(CandidError):
        decode(data, [Service((("baz", m),))])
    with pytest.raises(CandidError):
        decode(encode([PRINCIPAL], [P]), [Service(())])


def test_subtyping_relation_examples():
    assert is_subtype(NAT, INT)
    assert not is_subtype(INT, NAT)
    assert is_subtype(EMPTY, TEXT)
    assert is_subtype(TEXT, RESERVED)
    assert is_subtype(TEXT, Opt(NAT))  # any type is a subtype of an option
    assert is_subtype(Record.of({"a": NAT, "b": NAT}), Record.of({"a": INT, "c": Opt(NAT)}))
    assert not is_subtype(Record.of({}), Record.of({"a": NAT}))
    assert is_subtype(Variant.of({"a": NAT}), Variant.of({"a": INT, "b": TEXT}))
    assert not is_subtype(Variant.of({"a": NAT, "b": TEXT}), Variant.of({"a": INT}))
    assert not is_subtype(Func((), (), ("query",)), Func((), ()))
    assert is_subtype(Service(()), PRINCIPAL)
    assert not is_subtype(PRINCIPAL, Service(()))


def test_wire_type_of_empty_never_decodes():
    with pytest.raises(CandidError, match="empty"):
        decode(b"DIDL\x00\x01\x6f", [EMPTY])
