"""Tests of the Candid `.did` parser (replica_core/candid/did.py and did_lexer.py).

Spec: Candid spec/Candid.md › Type Structure (grammar, shorthands, comments, services,
functions, type definitions, imports, interfaces).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from replica_core.candid.did import load_did, parse_did, parse_type, parse_types
from replica_core.candid.did_lexer import tokenize
from replica_core.candid.types import (
    BOOL,
    INT,
    NAT,
    NAT8,
    NAT64,
    NULL,
    PRINCIPAL,
    TEXT,
    Field,
    Func,
    Opt,
    Rec,
    Record,
    Service,
    Variant,
    Vec,
    field_hash,
    unroll,
)
from replica_core.errors import CandidError

ROOT = Path(__file__).resolve().parents[3]


def fields_of(t) -> dict:
    return {f.label: f.type for f in unroll(t).fields}


# --- lexical structure --------------------------------------------------------------------


def test_line_and_nested_block_comments_are_skipped():
    src = """
    // a line comment
    /* a block /* with a nested */ comment */
    type A = /* inline */ nat; // trailing
    """
    assert parse_did(src).types == {"A": NAT}


def test_unclosed_nested_block_comment_is_an_error_with_position():
    with pytest.raises(CandidError, match=r"^2:1: unclosed block comment"):
        parse_did("type A = nat;\n/* outer /* inner */ still open")


def test_text_escapes_in_quoted_labels():
    t = parse_type(r'record { "\u{2603}" : nat; "a\tb\"c" : text; "\e2\98\83x" : bool }')
    assert fields_of(t) == {"☃": NAT, 'a\tb"c': TEXT, "☃x": BOOL}


def test_invalid_utf8_in_a_quoted_label_is_rejected():
    with pytest.raises(CandidError, match="not valid UTF-8"):
        parse_type(r'record { "\ff" : nat }')


def test_tokens_record_line_and_column():
    tokens = tokenize("type\n  A = nat")
    assert [(t.kind, t.line, t.column) for t in tokens] == [
        ("type", 1, 1),
        ("id", 2, 3),
        ("=", 2, 5),
        ("id", 2, 7),
        ("eof", 2, 10),
    ]


def test_unexpected_character_is_reported_with_line_and_column():
    with pytest.raises(CandidError, match=r"^1:10: unexpected character '@'"):
        parse_did("type A = @")


# --- type forms ---------------------------------------------------------------------------


def test_primitive_types_and_blob_shorthand():
    assert parse_type("nat") == NAT
    assert parse_type("principal") == PRINCIPAL
    assert parse_type("null") == NULL
    assert parse_type("blob") == Vec(NAT8)
    assert parse_type("opt vec int") == Opt(Vec(INT))


def test_record_named_numeric_and_positional_fields():
    t = parse_type("record { nat; 5 : text; bool; name : int }")
    assert t == Record(
        (
            Field(0, None, NAT),
            Field(5, None, TEXT),
            Field(6, None, BOOL),
            Field(field_hash("name"), "name", INT),
        )
    )


def test_tuple_record_of_type_names():
    env = {"A": NAT, "B": TEXT}
    assert parse_type("record { A; B }", env) == Record.tuple([NAT, TEXT])


def test_quoted_labels_are_names_hashed_even_when_numeric_looking():
    t = parse_type('record { "foo bar" : nat; "0" : text }')
    assert {(f.id, f.name) for f in t.fields} == {
        (field_hash("foo bar"), "foo bar"),
        (field_hash("0"), "0"),
    }


def test_variant_fields_without_type_are_null():
    t = parse_type("variant { ok; err : text; 3 }")
    assert t == Variant.of({"ok": NULL, "err": TEXT, 3: NULL})


def test_duplicate_field_ids_are_rejected_with_position():
    with pytest.raises(CandidError, match=r"^1:19: record has two fields with id 97"):
        parse_type("record { a : nat; a : text }")


def test_field_id_beyond_32_bits_is_rejected():
    with pytest.raises(CandidError, match="32-bit"):
        parse_type("record { 4294967296 : nat }")


def test_keywords_must_be_quoted_to_be_used_as_labels():
    with pytest.raises(CandidError, match="expected a type"):
        parse_type("record { type : nat }")
    assert fields_of(parse_type('record { "type" : nat }')) == {"type": NAT}


def test_func_types_with_named_args_and_annotations():
    assert parse_type("func (x : nat, text) -> (id : nat64) query") == Func(
        (NAT, TEXT), (NAT64,), ("query",)
    )
    assert parse_type("func () -> () oneway").modes == ("oneway",)
    assert parse_type("func () -> () composite_query").modes == ("composite_query",)


def test_duplicate_argument_names_are_rejected():
    with pytest.raises(CandidError, match="duplicate argument name 'x'"):
        parse_type("func (x : nat, x : nat) -> ()")


def test_oneway_function_with_results_is_rejected():
    with pytest.raises(CandidError, match="oneway function must not have results"):
        parse_type("func () -> (nat) oneway")


def test_service_type_with_quoted_method_names_and_type_name_methods():
    env = {"F": Func((NAT,), (), ())}
    t = parse_type('service { "hello world" : (text) -> (); g : F }', env)
    assert t == Service((("hello world", Func((TEXT,), (), ())), ("g", env["F"])))


def test_method_given_by_a_non_function_type_name_is_rejected():
    with pytest.raises(CandidError, match="not a function type"):
        parse_did("type T = nat; service : { m : T }")


def test_parse_types_reads_a_tuple_type():
    assert parse_types("(nat, name : text, opt bool)") == (NAT, TEXT, Opt(BOOL))


# --- definitions and recursion ------------------------------------------------------------


def test_recursive_definition_becomes_a_rec_knot():
    types = parse_did("type List = opt record { head : nat; tail : List };").types
    knot = types["List"]
    assert isinstance(knot, Rec) and knot.name == "List"
    record = unroll(knot).inner
    assert fields_of(record) == {"head": NAT, "tail": knot}


def test_mutually_recursive_definitions_resolve_through_knots():
    types = parse_did(
        "type node = record { head : nat; tail : list };\ntype list = opt node;"
    ).types
    node, lst = types["node"], types["list"]
    assert isinstance(unroll(lst), Opt)
    assert unroll(unroll(lst).inner) is unroll(node)
    assert fields_of(node)["tail"] == lst


def test_non_recursive_aliases_are_inlined():
    types = parse_did("type id = principal; type rec = record { owner : id };").types
    assert types["id"] == PRINCIPAL
    assert types["rec"] == Record.of({"owner": PRINCIPAL})


def test_alias_to_a_recursive_type_shares_its_knot():
    types = parse_did("type A = B; type B = record { a : opt A };").types
    assert unroll(types["A"]) is unroll(types["B"])


def test_vacuous_cyclic_definitions_are_rejected():
    with pytest.raises(CandidError, match=r"1:22: vacuous \(cyclic\) type definition A = B = A"):
        parse_did("type A = B; type B = A;")
    with pytest.raises(CandidError, match="vacuous"):
        parse_did("type A = A;")


def test_unbound_type_name_is_reported_with_line_and_column():
    with pytest.raises(CandidError, match=r"^2:19: unbound type name 'missing'"):
        parse_did("type A = nat;\ntype B = record { missing };")


def test_duplicate_type_definition_is_rejected():
    with pytest.raises(CandidError, match="defined twice"):
        parse_did("type A = nat; type A = text;")
    files = {"a.did": "type A = nat;"}
    with pytest.raises(CandidError, match=r"already defined at a\.did:1:6"):
        parse_did('import "a.did"; type A = text;', loader=files.__getitem__)


# --- the main service ---------------------------------------------------------------------


def test_service_forms():
    plain = parse_did("service : { f : () -> () }")
    assert plain.service == Service((("f", Func()),)) and plain.init_args is None
    named = parse_did("service demo : { f : () -> (); };")
    assert named.service == plain.service
    by_name = parse_did("type S = service { f : () -> () }; service : S")
    assert by_name.service == plain.service
    ctor = parse_did("type S = service { f : () -> () }; service : (nat, opt text) -> S")
    assert ctor.service == plain.service and ctor.init_args == (NAT, Opt(TEXT))
    assert parse_did("type A = nat;").service is None


def test_main_service_must_be_a_service_type():
    with pytest.raises(CandidError, match="must be a service type"):
        parse_did("type S = nat; service : S")


def test_trailing_garbage_after_the_service_is_rejected():
    with pytest.raises(CandidError, match=r"^1:28: unexpected 'type' after the end"):
        parse_did("service : { f : () -> () } type A = nat;")


# --- imports ------------------------------------------------------------------------------


def test_import_includes_definitions_through_the_loader():
    files = {
        "lib/a.did": 'import "b.did"; type A = record { b : B };',
        "lib/b.did": "type B = nat;",
    }
    did = parse_did('import "lib/a.did"; service : { f : (A) -> () }', loader=files.__getitem__)
    assert did.types["B"] == NAT
    assert did.service.method("f") == Func((Record.of({"b": NAT}),), (), ())


def test_import_service_merges_the_imported_methods():
    files = {"s.did": "service : { g : () -> () query }"}
    did = parse_did('import service "s.did"; service : { f : () -> () }', loader=files.__getitem__)
    assert [name for name, _ in did.service.methods] == ["f", "g"]


def test_plain_import_ignores_the_imported_service():
    files = {"s.did": "type T = nat; service : { g : () -> () }"}
    did = parse_did('import "s.did"; service : { f : (T) -> () }', loader=files.__getitem__)
    assert [name for name, _ in did.service.methods] == ["f"]


def test_import_service_with_a_clashing_method_is_rejected():
    files = {"s.did": "service : { f : () -> () }"}
    with pytest.raises(CandidError, match="method 'f' is defined by two services"):
        parse_did('import service "s.did"; service : { f : () -> () }', loader=files.__getitem__)


def test_import_errors():
    with pytest.raises(CandidError, match="no loader given"):
        parse_did('import "a.did";')
    cyclic = {"a.did": 'import "b.did";', "b.did": 'import "a.did";'}
    with pytest.raises(CandidError, match="import cycle"):
        parse_did('import "a.did";', loader=cyclic.__getitem__, origin="main.did")
    files = {"a.did": "type A = ;"}
    with pytest.raises(CandidError, match=r"^a\.did:1:10: expected a type"):
        parse_did('import "a.did";', loader=files.__getitem__)


def test_load_did_reads_imports_relative_to_the_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "t.did").write_text("type T = text;")
    (tmp_path / "main.did").write_text('import "sub/t.did"; service : { f : (T) -> () }')
    assert load_did(tmp_path / "main.did").service.method("f") == Func((TEXT,), (), ())


# --- the real interfaces ------------------------------------------------------------------


def test_management_canister_interface_parses():
    did = load_did(ROOT / "replica_core" / "management" / "ic.did")
    install_code = did.service.method("install_code")
    (args,) = install_code.args
    assert set(fields_of(args)) == {
        "mode",
        "canister_id",
        "wasm_module",
        "arg",
        "sender_canister_version",
    }
    assert fields_of(args)["wasm_module"] == Vec(NAT8)
    assert fields_of(args)["sender_canister_version"] == Opt(NAT64)
    mode = fields_of(fields_of(args)["mode"])
    assert set(mode) == {"install", "reinstall", "upgrade"}
    assert mode["install"] == NULL
    assert did.service.method("canister_status").modes == ("query",)
    assert did.init_args is None


def test_management_canister_interface_lists_every_service_method():
    source = (ROOT / "replica_core" / "management" / "ic.did").read_text()
    body = source[source.index("service ic") :]
    declared = set(re.findall(r"^\s+(\w+)\s*:", body, flags=re.M))
    did = load_did(ROOT / "replica_core" / "management" / "ic.did")
    assert {name for name, _ in did.service.methods} == declared


def test_internet_identity_interface_parses():
    did = load_did(ROOT / "identity" / "internet_identity.did")
    assert did.init_args is not None and len(did.init_args) == 1
    assert isinstance(unroll(did.init_args[0]), Opt)
    lookup = did.service.method("lookup")
    assert lookup.modes == ("query",)
    assert lookup.args == (NAT64,)
    assert "http_request" in dict(did.service.methods)


# --- the Rust candid_parser's test assets (ported under official/parser/) -----------------

PARSER_ASSETS = Path(__file__).parent / "official" / "parser"

BAD_ASSETS = {
    "bad_comment.did": "unclosed block comment",
    "bad_import.did": "cannot import 'no_such_file.did'",
    "bad_import2.did": "'import/a.did' is a service constructor",
    "bad_import3.did": "type 'f' is already defined",
    "bad_import_duplicate_method.did": "method 'f' is defined by two services",
    "bad_import_no_service.did": "'import/no_service.did' has no main service",
    "collision_fields.did": "record has two fields with id 2",
    "collision_fields2.did": "record has two fields with id 1832283146",
    "invalid_cyclic.did": "vacuous",
    "not_func.did": "is not a function type",
    "not_serv.did": "the main service must be a service type",
    "oneway.did": "a oneway function must not have results",
    "surrogate.did": "is not a scalar value",
    "undefine.did": "unbound type name 'a'",
}
GOOD_ASSETS = sorted(p.name for p in PARSER_ASSETS.glob("*.did") if p.name not in BAD_ASSETS)


@pytest.mark.parametrize("name", GOOD_ASSETS)
def test_upstream_good_did_files_parse(name):
    did = load_did(PARSER_ASSETS / name)
    assert did.types or did.service is not None or name == "empty.did"


@pytest.mark.parametrize("name", sorted(BAD_ASSETS))
def test_upstream_bad_did_files_are_rejected_with_the_reason(name):
    with pytest.raises(CandidError, match=re.escape(BAD_ASSETS[name])):
        load_did(PARSER_ASSETS / name)


def test_diamond_imports_are_included_once():
    did = load_did(PARSER_ASSETS / "example.did")
    assert did.types["b"] == Record.tuple([INT, NAT])
    names = {name for name, _ in did.service.methods}
    assert {"bbbbb", "f", "g"} <= names


def test_fieldnat_asset_positional_ids_follow_numbered_fields():
    did = load_did(PARSER_ASSETS / "fieldnat.did")
    assert did.types["non_tuple"] == Record((Field(1, None, TEXT), Field(2, None, TEXT)))
    (bar_arg,) = did.service.method("bar").args
    assert bar_arg == Record((Field(field_hash("2"), "2", INT),))
    (bab_first, bab_second) = did.service.method("bab").args
    assert (bab_first, bab_second) == (INT, NAT)


def test_deeply_nested_type_is_a_candid_error_not_a_recursion_error():
    with pytest.raises(CandidError, match="type nested deeper than"):
        parse_type("opt " * 5000 + "nat")
    assert parse_type("opt " * 50 + "nat") is not None


def test_recursive_service_type_as_the_main_service():
    did = parse_did("type S = service { next : () -> (S) query }; service : S")
    knot = did.types["S"]
    assert isinstance(knot, Rec)
    assert did.service == unroll(knot)
    assert did.service.method("next") == Func((), (knot,), ("query",))


def test_method_named_by_a_function_type_still_being_resolved():
    did = parse_did("type F = func () -> (S); type S = service { m : F }; service : S")
    (ret,) = unroll(did.types["F"]).rets
    assert unroll(ret).method("m") is did.types["F"]


def test_long_chains_of_definitions_fail_cleanly_or_parse():
    chain = (
        "".join(f"type T{i} = record {{ T{i + 1} }};\n" for i in range(3000)) + "type T3000 = nat;"
    )
    try:
        did = parse_did(chain)
    except CandidError as e:
        assert "nested too deeply" in str(e)
    else:
        assert did.types["T2999"] == Record.tuple([NAT])
