"""The Candid textual form printed for types and values."""

from __future__ import annotations

import math

from replica_core.candid import (
    BOOL,
    FLOAT64,
    INT8,
    NAT,
    NAT8,
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
    args_to_text,
    type_to_text,
    value_to_text,
)
from replica_core.candid.text import rec_definitions_to_text, text_literal
from replica_core.principal import Principal


def test_types_print_in_candid_syntax():
    assert type_to_text(Record.of({"a": NAT, "1": TEXT})) == "record { 1 : text; a : nat }"
    assert type_to_text(Record.tuple([NAT, TEXT])) == "record { nat; text }"
    assert type_to_text(Vec(NAT8)) == "blob"
    assert type_to_text(Opt(Vec(NAT))) == "opt vec nat"
    assert type_to_text(Variant.of({"ok": NULL, "err": TEXT})) == "variant { ok; err : text }"
    assert type_to_text(Record.of({"my field": NAT})) == 'record { "my field" : nat }'
    assert type_to_text(Func((TEXT,), (NAT,), ("query",))) == "func (text) -> (nat) query"
    assert type_to_text(Service((("get", Func((), (NAT,))),))) == "service { get : () -> (nat); }"
    assert str(Opt(NAT)) == "opt nat"


def test_recursive_types_print_by_name():
    lst = Rec("list")
    lst.define(Opt(Record.of({"head": NAT, "tail": lst})))
    assert type_to_text(Vec(lst)) == "vec list"
    assert (
        rec_definitions_to_text(Vec(lst)) == "type list = opt record { head : nat; tail : list };"
    )


def test_values_print_like_the_reference_printer():
    t = Record.of({"name": TEXT, "5": NAT})
    assert value_to_text(t, {"name": "x", 5: 1}) == 'record { 5 = 1 : nat; name = "x" }'
    assert args_to_text([t, Opt(Vec(NAT))], [{"name": "x", 5: 1}, [[1, 2]]]) == (
        '(record { 5 = 1 : nat; name = "x" }, opt vec { 1 : nat; 2 : nat })'
    )
    assert value_to_text(Opt(NAT), [3]) == "opt (3 : nat)"
    assert value_to_text(Opt(TEXT), []) == "null"
    assert value_to_text(Vec(NAT8), b"\x00\xff") == 'blob "\\00\\ff"'
    assert value_to_text(Vec(NAT8), b"hi") == 'blob "hi"'
    assert value_to_text(PRINCIPAL, Principal.management_canister()) == 'principal "aaaaa-aa"'
    assert value_to_text(Variant.of({"ok": NAT}), {"ok": 5}) == "variant { ok = 5 : nat }"
    assert value_to_text(Variant.of({"none": NULL}), {"none": None}) == "variant { none }"
    assert value_to_text(INT8, -5) == "-5 : int8"
    assert value_to_text(BOOL, True) == "true"
    assert value_to_text(NULL, None) == "null"
    assert value_to_text(RESERVED, None) == "null : reserved"
    assert value_to_text(Record.tuple([NAT, TEXT]), (1, "a")) == 'record { 1 : nat; "a" }'
    assert value_to_text(Func((), ()), (Principal.management_canister(), "go")) == (
        'func "aaaaa-aa".go'
    )


def test_floats_print_with_a_decimal_point():
    assert value_to_text(FLOAT64, 3.0) == "3.0 : float64"
    assert value_to_text(FLOAT64, 0.5) == "0.5 : float64"
    assert value_to_text(FLOAT64, math.inf) == "inf : float64"
    assert value_to_text(FLOAT64, math.nan) == "nan : float64"


def test_text_escapes_follow_the_spec():
    assert text_literal("\t\n\r\"'\\") == '"\\t\\n\\r\\"\\\'\\\\"'
    assert text_literal("☃") == '"☃"'
    assert text_literal("\x00") == '"\\u{0}"'
