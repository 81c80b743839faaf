"""Tests of the Candid textual value parser (replica_core/candid/text_parse.py).

Spec: Candid spec/Candid.md › Values (and its Syntactic Shorthands).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replica_core.candid import text as candid_text
from replica_core.candid.decode import decode
from replica_core.candid.did import parse_type, parse_types
from replica_core.candid.encode import encode
from replica_core.candid.text_parse import MAX_DEPTH, parse_args, parse_value
from replica_core.candid.types import (
    BOOL,
    EMPTY,
    FLOAT32,
    FLOAT64,
    INT,
    INT8,
    NAT,
    NAT8,
    NAT16,
    NAT64,
    NULL,
    PRINCIPAL,
    RESERVED,
    TEXT,
    Field,
    Func,
    Opt,
    Record,
    Service,
    Variant,
    Vec,
    field_hash,
)
from replica_core.errors import CandidError
from replica_core.principal import Principal

IC = Principal.from_text("aaaaa-aa")


# --- without types: inference as the Rust IDLArgs parser does ---------------------------


def test_untyped_literals_get_inferred_types():
    types, values = parse_args(
        '(1, "a", opt vec { 1; 2 }, record { a = 1; 2 = "b" }, variant { ok }, '
        'blob "\\00\\ab", principal "aaaaa-aa", func "aaaaa-aa".method, service "aaaaa-aa", '
        "null, true, -3, 1_000, 0x1f, 1.5e3, (5 : nat8))"
    )
    assert types == [
        INT,
        TEXT,
        Opt(Vec(INT)),
        Record((Field(2, None, TEXT), Field(field_hash("a"), "a", INT))),
        Variant.of({"ok": NULL}),
        Vec(NAT8),
        PRINCIPAL,
        Func(),
        Service(),
        NULL,
        BOOL,
        INT,
        INT,
        INT,
        FLOAT64,
        NAT8,
    ]
    assert values == [
        1,
        "a",
        [[1, 2]],
        {"a": 1, 2: "b"},
        {"ok": None},
        b"\x00\xab",
        IC,
        (IC, "method"),
        IC,
        None,
        True,
        -3,
        1000,
        31,
        1500.0,
        5,
    ]


def test_untyped_empty_vec_is_vec_empty_and_vec_takes_its_first_elements_type():
    assert parse_args("(vec {}, vec { 1 : nat8; 2 })") == (
        [Vec(EMPTY), Vec(NAT8)],
        [[], b"\x01\x02"],
    )


def test_untyped_vec_with_mismatched_elements_is_rejected():
    with pytest.raises(CandidError, match="cannot be of type"):
        parse_args('(vec { 1; "two" })')


def test_positional_record_fields_follow_the_previous_id():
    types, values = parse_args('(record { 5 = "a"; "b"; c = 1; true })')
    assert values == [{5: "a", 6: "b", "c": 1, field_hash("c") + 1: True}]
    assert [f.id for f in types[0].fields] == sorted([5, 6, field_hash("c"), field_hash("c") + 1])


def test_number_forms():
    _, values = parse_args("(+5, -0x10, 3., .5, 1e3, 2.5E-1, 1_000_000)")
    assert values == [5, -16, 3.0, 0.5, 1000.0, 0.25, 1_000_000]


def test_text_escapes_and_unicode():
    _, values = parse_args(r'("\u{2603}", "\u{26_03}", "\t\n\r\"\'\\", "\e2\98\83", "☃")')
    assert values == ["☃", "☃", "\t\n\r\"'\\", "☃", "☃"]


def test_text_must_be_utf8_but_blob_may_hold_any_bytes():
    with pytest.raises(CandidError, match="not valid UTF-8"):
        parse_args(r'("\ff")')
    assert parse_args(r'(blob "\ff\00a")')[1] == [b"\xff\x00a"]


def test_unclosed_unicode_escape_is_rejected():
    with pytest.raises(CandidError, match="malformed unicode escape"):
        parse_args(r'("\u{2603")')


def test_quoted_and_keyword_like_labels():
    _, values = parse_args('(record { "first name" = "x"; "type" = 1 }, variant { "☃" })')
    assert values == [{"first name": "x", "type": 1}, {"☃": None}]


# --- with types: checking and conversion --------------------------------------------------


def test_numbers_convert_to_the_expected_type_with_range_checks():
    types = [NAT8, NAT16, INT8, NAT, INT, NAT64]
    assert parse_args("(255, 65535, -128, 0, -1, 18446744073709551615)", types)[1] == [
        255,
        65535,
        -128,
        0,
        -1,
        2**64 - 1,
    ]
    with pytest.raises(CandidError, match=r"1:2: 256 is out of range for nat8"):
        parse_args("(256)", [NAT8])
    with pytest.raises(CandidError, match="negative, not a nat"):
        parse_args("(-1)", [NAT])
    with pytest.raises(CandidError, match="float literal 1.5 cannot be of type int"):
        parse_args("(1.5)", [INT])


def test_integer_literals_fit_float_types_and_float32_rounds():
    _, values = parse_args("(3, 0.1, 1e39)", [FLOAT64, FLOAT32, FLOAT32])
    assert values[0] == 3.0 and isinstance(values[0], float)
    assert values[1] == pytest.approx(0.1, rel=1e-7) and values[1] != 0.1
    assert values[2] == math.inf


def test_opt_values_need_opt_syntax_and_null_is_none():
    t = Opt(Opt(NAT))
    assert parse_args("(null, opt null, opt opt 5)", [t, t, t])[1] == [[], [[]], [[5]]]
    with pytest.raises(CandidError, match="cannot be of type"):
        parse_args("(5)", [Opt(NAT)])


def test_vec_nat8_and_blob_both_give_bytes():
    assert (
        parse_args('(vec { 1; 2 }, blob "\\01\\02")', [Vec(NAT8), Vec(NAT8)])[1]
        == [b"\x01\x02"] * 2
    )
    with pytest.raises(CandidError, match="out of range for nat8"):
        parse_args("(vec { 256 })", [Vec(NAT8)])


def test_record_fields_are_checked_defaulted_and_extra_ones_dropped():
    t = parse_type("record { a : nat; b : opt text; c : null; d : reserved }")
    assert parse_args("(record { a = 1; z = 9 })", [t])[1] == [
        {"a": 1, "b": [], "c": None, "d": None}
    ]
    with pytest.raises(CandidError, match="record field 'a' is missing"):
        parse_args("(record { b = null })", [t])


def test_tuple_records_are_keyed_by_id():
    assert parse_args('(record { 1; "x" })', [Record.tuple([NAT, TEXT])])[1] == [{0: 1, 1: "x"}]


def test_variant_tag_must_be_in_the_type():
    t = parse_type("variant { ok : nat; err : text; none }")
    assert parse_args("(variant { ok = 1 }, variant { none })", [t, t])[1] == [
        {"ok": 1},
        {"none": None},
    ]
    with pytest.raises(CandidError, match="variant tag 'other' is not in"):
        parse_args("(variant { other })", [t])
    with pytest.raises(CandidError, match="exactly one tag"):
        parse_args("(variant { ok = 1; err = 2 })", [t])


def test_reserved_accepts_any_value():
    assert parse_args('(record { x = "anything" })', [RESERVED])[1] == [None]


def test_empty_has_no_value():
    with pytest.raises(CandidError, match="no value has type empty"):
        parse_args("(null)", [EMPTY])


def test_references_check_their_kind():
    func_t = parse_type("func (nat) -> () query")
    types = [PRINCIPAL, Service(), func_t]
    values = parse_args('(principal "aaaaa-aa", service "aaaaa-aa", func "aaaaa-aa"."m n")', types)[
        1
    ]
    assert values == [IC, IC, (IC, "m n")]
    with pytest.raises(CandidError, match="principal value cannot be of type"):
        parse_args('(principal "aaaaa-aa")', [Service()])


def test_invalid_principal_is_a_candid_error_with_position():
    with pytest.raises(CandidError, match=r"^1:12: invalid principal"):
        parse_args('(principal "not-a-principal")')


def test_annotations_must_match_the_expected_type():
    assert parse_args("((5 : nat8), (7 : nat))", [NAT8, INT])[1] == [5, 7]
    with pytest.raises(CandidError, match="annotated type nat8 does not match"):
        parse_args("((5 : nat8))", [NAT])


def test_annotation_can_use_named_types_from_env():
    env = {"Id": NAT64}
    assert parse_args("((5 : Id))", env=env) == ([NAT64], [5])


def test_omitted_trailing_arguments_default_only_when_nullable():
    types = list(parse_types("(nat, opt nat, null, reserved)"))
    assert parse_args("(1)", types) == (types, [1, [], None, None])
    with pytest.raises(CandidError, match="missing argument 1"):
        parse_args("()", [NAT])


def test_more_values_than_types_is_an_error():
    with pytest.raises(CandidError, match="2 values given for 1 types"):
        parse_args("(1, 2)", [NAT])


# --- syntax errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1", r"1:1: expected '\(' opening the argument list"),
        ("(1, @)", r"1:5: unexpected character '@'"),
        ("(1", r"1:3: expected '\)'"),
        ("(1) 2", r"1:5: unexpected decimal 2 after the end"),
        ("(record { a = 1; a = 2 })", r"1:18: record has two fields with id"),
        ('(func "aaaaa-aa")', r"expected '\.' between"),
        ("(-)", r"expected a number after the sign"),
        ('("unclosed)', r"1:2: unclosed text literal"),
        ("(\n  vec { 1;; })", r"2:11: expected a value"),
    ],
)
def test_syntax_errors_name_the_position(text, message):
    with pytest.raises(CandidError, match=message):
        parse_args(text)


def test_deep_nesting_is_a_candid_error_not_a_recursion_error():
    with pytest.raises(CandidError, match="nested deeper"):
        parse_args("(" + "opt " * 5000 + "1)")


def test_parse_value_reads_one_annotated_value():
    assert parse_value("record { a = 1 }") == (Record.of({"a": INT}), {"a": 1})
    assert parse_value("5", NAT8) == (NAT8, 5)
    assert parse_value("(5 : nat16)") == (NAT16, 5)


# --- agreement with the printer -----------------------------------------------------------


def test_printed_values_parse_back_to_the_same_values():
    types = list(
        parse_types(
            "(nat, int8, float64, text, opt vec nat16, blob, record { a : bool; 1 : text },"
            " variant { x : null; y : principal }, func () -> (), service {}, reserved, null)"
        )
    )
    values = [
        12345678901234567890,
        -128,
        -2.5,
        'q"\\☃\n',
        [[1, 65535]],
        b"\x00\xff",
        {"a": True, 1: "z"},
        {"y": IC},
        (IC, "go"),
        IC,
        None,
        None,
    ]
    printed = candid_text.args_to_text(types, values)
    assert parse_args(printed, types) == (types, values)


# --- properties: printer and parser agree on generated types and values -------------------

_PRIM_VALUES = {
    NULL: st.none(),
    BOOL: st.booleans(),
    NAT: st.integers(min_value=0, max_value=2**80),
    INT: st.integers(min_value=-(2**80), max_value=2**80),
    NAT8: st.integers(0, 255),
    NAT16: st.integers(0, 65535),
    INT8: st.integers(-128, 127),
    NAT64: st.integers(0, 2**64 - 1),
    FLOAT64: st.floats(allow_nan=False, allow_infinity=False),
    FLOAT32: st.floats(allow_nan=False, allow_infinity=False, width=32),
    TEXT: st.text(max_size=8),
    PRINCIPAL: st.binary(max_size=29).map(Principal),
}
_LABELS = st.one_of(st.integers(0, 2**32 - 1), st.sampled_from(["a", "b", "name", "x y", "☃"]))


def _fields(children):
    def build(pairs):
        seen, fields = set(), []
        for label, t in pairs:
            fid = label if isinstance(label, int) else field_hash(label)
            if fid not in seen:
                seen.add(fid)
                fields.append(Field(fid, None if isinstance(label, int) else label, t))
        return tuple(fields)

    return st.lists(st.tuples(_LABELS, children), min_size=1, max_size=3).map(build)


_TYPES = st.recursive(
    st.sampled_from(list(_PRIM_VALUES)),
    lambda children: st.one_of(
        children.map(Opt),
        children.map(Vec),
        _fields(children).map(Record),
        _fields(children).map(Variant),
    ),
    max_leaves=6,
)


def _values(t):
    if t in _PRIM_VALUES:
        return _PRIM_VALUES[t]
    if isinstance(t, Opt):
        return st.one_of(st.just([]), _values(t.inner).map(lambda v: [v]))
    if isinstance(t, Vec):
        if t.inner == NAT8:
            return st.binary(max_size=4)
        return st.lists(_values(t.inner), max_size=3)
    if isinstance(t, Record):
        return st.fixed_dictionaries({f.label: _values(f.type) for f in t.fields})
    return st.one_of(*[_values(f.type).map(lambda v, f=f: {f.label: v}) for f in t.fields])


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_printed_types_and_values_parse_back(data):
    t = data.draw(_TYPES)
    v = data.draw(_values(t))
    assert parse_type(candid_text.type_to_text(t)) == t
    assert parse_value(candid_text.value_to_text(t, v), t) == (t, v)


def test_nesting_up_to_the_limit_parses_in_every_value_form():
    depth = MAX_DEPTH - 1
    record = "record { a = " * depth + "1" + " }" * depth
    vec = "vec { " * depth + "1" + " }" * depth
    types, values = parse_args(f"({record}, {vec})")
    assert len(values) == 2
    with pytest.raises(CandidError, match="nested deeper"):
        parse_args("(" + "record { a = " * (MAX_DEPTH + 1) + "1" + " }" * (MAX_DEPTH + 1) + ")")


def test_inferred_types_and_values_encode_and_decode_back():
    types, values = parse_args(
        '(1, "a", opt vec { 1; 2 }, record { a = 1; 2 = "b" }, variant { ok }, blob "\\00\\ab",'
        ' principal "aaaaa-aa", func "aaaaa-aa".m, service "aaaaa-aa", null, true, -3, 1.5e3,'
        " (5 : nat8), vec {}, record { vec { opt (7 : int16) } })"
    )
    assert decode(encode(types, values), types) == values
