"""Canister module validation: one test per rule of the spec's module requirements."""

import gzip
import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wasmtime import wat2wasm

from replica_core.execution import make_engine
from replica_core.execution.validation import (
    InvalidModule,
    ValidationLimits,
    validate_module,
)
from replica_core.execution.wasm_binary import CUSTOM, Section, read_sections, write_module

BUILD = Path(__file__).resolve().parents[2] / "canisters" / "build"

COUNTER = wat2wasm(
    """(module
      (import "ic0" "msg_reply" (func $reply))
      (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
      (memory (export "memory") 1)
      (global $n (mut i32) (i32.const 0))
      (func $start)
      (start $start)
      (func (export "canister_init"))
      (func (export "canister_update inc") (global.set $n (i32.add (global.get $n) (i32.const 1)))
        (call $reply))
      (func (export "canister_query get") (call $append (i32.const 0) (i32.const 4)) (call $reply))
      (func (export "canister_composite_query peek") (call $reply))
      (func (export "canister_global_timer"))
      (func (export "canister_on_low_wasm_memory"))
      (data (i32.const 0) "\\00\\00\\00\\00")
      (@custom "icp:public candid:service" "service : {}")
      (@custom "icp:private motoko:compiler" "0.13.6")
      (@custom "name" "ignored")
    )"""
)


def module(body: str) -> bytes:
    return wat2wasm(f"(module {body})")


def with_custom(wasm: bytes, *sections: tuple[str, bytes]) -> bytes:
    return write_module(
        read_sections(wasm) + [Section(CUSTOM, payload, name) for name, payload in sections]
    )


def rejected(wasm: bytes, **limits) -> str:
    with pytest.raises(InvalidModule) as e:
        validate_module(wasm, limits=ValidationLimits(**limits))
    return str(e.value)


# Accepted modules and what validation reports about them.


def test_valid_module_reports_methods_entry_points_and_metadata():
    v = validate_module(COUNTER)
    assert v.is_64 is False
    assert v.update_methods == {"inc"}
    assert v.query_methods == {"get"}
    assert v.composite_query_methods == {"peek"}
    assert v.exports_method("get") and not v.exports_method("memory")
    assert v.system_entry_points == {
        "canister_init",
        "canister_global_timer",
        "canister_on_low_wasm_memory",
    }
    assert v.public_metadata == {"candid:service": b"service : {}"}
    assert v.private_metadata == {"motoko:compiler": b"0.13.6"}
    assert v.wasm == COUNTER
    assert v.module_hash == hashlib.sha256(COUNTER).digest()


def test_empty_module_is_valid():
    v = validate_module(module(""))
    assert v.is_64 is False and v.update_methods == frozenset()


def test_gzipped_module_is_decompressed_and_hashed_as_given():
    gz = gzip.compress(COUNTER)
    v = validate_module(gz)
    assert v.wasm == COUNTER
    assert v.module_hash == hashlib.sha256(gz).digest() != hashlib.sha256(COUNTER).digest()


def test_validation_accepts_a_shared_engine():
    assert validate_module(COUNTER, engine=make_engine()).query_methods == {"get"}


# Decoding.


def test_zip_bomb_is_rejected_without_inflating_it():
    bomb = gzip.compress(bytes(16 << 20))
    forged = bomb[:-4] + (8).to_bytes(4, "little")
    message = rejected(forged, max_module_size=1 << 20)
    assert message == (
        "Failed to decode wasm module: Wasm module is too large, it can be at most 1048576 bytes"
    )


def test_module_that_is_neither_wasm_nor_gzip_is_rejected():
    assert rejected(b"hello") == "Failed to decode wasm module: unsupported canister module format"


def test_module_larger_than_the_size_limit_is_rejected():
    assert "it can be at most 16 bytes" in rejected(COUNTER, max_module_size=16)


def test_malformed_binary_is_a_decoding_error():
    assert rejected(COUNTER[:-3]).startswith("Failed to decode wasm module: ")


# Imports: only ic0, only listed names, exact signatures for the module's pointer width.


def test_import_from_another_module_is_rejected():
    wasm = module('(import "env" "foo" (func))')
    assert rejected(wasm) == (
        "Wasm module has an invalid import section. Module imports function 'foo' from 'env' "
        "that is not exported by the runtime."
    )


def test_system_api_name_imported_from_wrong_module_is_rejected():
    wasm = module('(import "env" "msg_reply" (func))')
    assert rejected(wasm) == (
        'Wasm module has an invalid import section. Module imports function "msg_reply" from '
        '"env", expected to be imported from one of ["ic0"] instead.'
    )


def test_unknown_ic0_import_is_rejected():
    assert "function 'mint_cycles' from 'ic0' that is not exported" in rejected(
        module('(import "ic0" "mint_cycles" (func (param i64) (result i64)))')
    )


def test_import_with_wrong_parameters_is_rejected():
    wasm = module('(import "ic0" "msg_reply_data_append" (func (param i64 i64)))')
    assert rejected(wasm) == (
        "Wasm module has an invalid function signature. Expected input params [I32, I32] for "
        "'msg_reply_data_append', got [I64, I64]."
    )


def test_import_with_wrong_results_is_rejected():
    wasm = module('(import "ic0" "msg_arg_data_size" (func (result i64)))')
    assert rejected(wasm) == (
        "Wasm module has an invalid function signature. Expected return type [I32] for "
        "'msg_arg_data_size', got [I64]."
    )


def test_wasm64_module_imports_use_64_bit_pointers():
    good = module('(import "ic0" "msg_reply_data_append" (func (param i64 i64))) (memory i64 1)')
    assert validate_module(good).is_64 is True
    bad = module('(import "ic0" "msg_reply_data_append" (func (param i32 i32))) (memory i64 1)')
    assert "Expected input params [I64, I64]" in rejected(bad)


def test_module_without_memory_uses_32_bit_pointers():
    wasm = module('(import "ic0" "msg_arg_data_copy" (func (param i32 i32 i32)))')
    assert validate_module(wasm).is_64 is False


def test_wasm32_only_import_is_rejected_in_wasm64_module():
    wasm = module('(import "ic0" "stable_size" (func (result i32))) (memory i64 1)')
    assert "function 'stable_size' from 'ic0' that is not exported by the runtime" in rejected(wasm)


def test_wasm32_only_import_is_accepted_in_wasm32_module():
    validate_module(module('(import "ic0" "call_cycles_add" (func (param i64))) (memory 1)'))


def test_importing_a_global_is_rejected():
    assert rejected(module('(import "ic0" "g" (global i32))')).endswith(
        "Importing globals is not allowed."
    )


@pytest.mark.parametrize(
    ("body", "kind"),
    [('(import "env" "memory" (memory 1))', "memory"), ('(import "env" "t" (table 1 funcref))', "table")],
)  # fmt: skip
def test_importing_memory_or_table_is_rejected(body, kind):
    assert f"Module imports {kind}" in rejected(module(body))


# Memories.


def test_more_than_one_memory_is_rejected():
    assert "at most one memory is allowed" in rejected(module("(memory 1) (memory 1)"))


def test_wasm64_memory_maximum_above_6_gib_is_rejected():
    validate_module(module("(memory i64 1 98304)"))
    assert "maximum memory size of 98305 Wasm pages" in rejected(module("(memory i64 1 98305)"))


# Exports.


def test_method_export_with_parameters_is_rejected():
    wasm = module('(func (export "canister_update go") (param i32))')
    assert rejected(wasm) == (
        "Wasm module has an invalid function signature. Expected input params [] for "
        "'canister_update go', got [I32]."
    )


@pytest.mark.parametrize("name", ["canister_init", "canister_heartbeat", "canister_query q"])
def test_entry_point_with_a_result_is_rejected(name):
    wasm = module(f'(func (export "{name}") (result i32) (i32.const 0))')
    assert f"Expected return type [] for '{name}', got [I32]." in rejected(wasm)


def test_entry_point_signature_is_checked_for_reexported_imports():
    wasm = module(
        '(func (export "canister_init") (import "ic0" "msg_reply_data_append") (param i32 i32))'
    )
    assert "for 'canister_init', got [I32, I32]" in rejected(wasm)


@pytest.mark.parametrize(
    ("first", "second"),
    [("update", "query"), ("query", "composite_query"), ("update", "composite_query")],
)
def test_same_method_under_two_call_types_is_rejected(first, second):
    wasm = module(f'(func (export "canister_{first} m")) (func (export "canister_{second} m"))')
    assert rejected(wasm) == (
        "Duplicate function 'm' exported multiple times with different call types: "
        "update, query, or composite_query."
    )


@pytest.mark.parametrize("name", ["canister_foo", "canister_query", "canister_start"])
def test_other_canister_prefixed_function_exports_are_rejected(name):
    message = rejected(module(f'(func (export "{name}"))'))
    assert message.startswith("Wasm module has an invalid export section.")


def test_canister_prefixed_non_function_export_is_rejected():
    assert "Exporting reserved memory 'canister_query m'" in rejected(
        module('(memory (export "canister_query m") 1)')
    )


def test_reserved_instrumentation_symbol_export_is_rejected():
    assert rejected(module('(func (export "canister counter_instructions"))')) == (
        "Wasm module has an invalid export section. Exporting reserved symbol "
        "canister counter_instructions not allowed."
    )


def test_too_many_exported_methods_are_rejected():
    wasm = module("".join(f'(func (export "canister_update m{i}"))' for i in range(4)))
    validate_module(wasm, limits=ValidationLimits(max_exported_methods=4))
    assert "is 4 which exceeds 3." in rejected(wasm, max_exported_methods=3)


def test_too_long_exported_method_names_are_rejected():
    wasm = module('(func (export "canister_query abcde")) (func (export "canister_update fgh"))')
    validate_module(wasm, limits=ValidationLimits(max_exported_method_name_lengths=8))
    assert "is 8 which exceeds the allowed limit of 7." in rejected(
        wasm, max_exported_method_name_lengths=7
    )


def test_non_canister_exports_are_allowed():
    validate_module(module('(func (export "helper")) (memory (export "memory") 1)'))


# Functions, globals, data, code size.


def test_too_many_functions_are_rejected():
    wasm = module("(func) (func) (func)")
    assert rejected(wasm, max_functions=2) == (
        "Wasm module defined 3 functions which exceeds the maximum number allowed 2."
    )


def test_too_many_globals_are_rejected():
    wasm = module("(global i32 (i32.const 0)) (global i64 (i64.const 0))")
    assert rejected(wasm, max_globals=1) == (
        "Wasm module defined 2 globals which exceeds the maximum number allowed 1."
    )


def test_reference_typed_global_is_rejected():
    assert rejected(module("(global funcref (ref.null func))")) == (
        "Wasm module has an invalid global section. Unsupported global type: FuncRef"
    )


def test_data_segment_offset_must_be_a_single_constant():
    wasm = module('(global i32 (i32.const 0)) (memory 1) (data (global.get 0) "x")')
    assert rejected(wasm) == (
        "Wasm module has an invalid data section. Invalid offset expression in data segment "
        "for 32bit memory: GlobalGet"
    )


def test_data_segment_in_wasm64_module_uses_i64_const():
    v = validate_module(module('(memory i64 1) (data (i64.const 11) "x") (data "passive")'))
    assert v.is_64 is True


def test_code_section_larger_than_the_limit_is_rejected():
    wasm = module("(func) (func)")
    assert "code section size of 7 exceeds the maximum allowed size of 6." in rejected(
        wasm, max_code_section_size=6
    )


def test_start_function_is_allowed():
    assert validate_module(module("(func $s) (start $s)")).system_entry_points == frozenset()


# Custom sections.


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("icp:public", "'icp:' section names must have a space after the public/private scope"),
        ("icp:protected x", "Custom section 'icp:protected x' has no public/private scope"),
    ],
)
def test_icp_section_without_valid_scope_is_rejected(name, message):
    assert message in rejected(with_custom(module(""), (name, b"")))


def test_same_name_public_and_private_is_rejected():
    wasm = with_custom(module(""), ("icp:public x", b"1"), ("icp:private x", b"2"))
    assert rejected(wasm) == (
        "Wasm module has an invalid custom section. Invalid custom section: name x already exists"
    )


def test_empty_icp_section_name_and_non_icp_sections_are_allowed():
    v = validate_module(with_custom(module(""), ("icp:public ", b"e"), ("other", b"z")))
    assert v.public_metadata == {"": b"e"} and v.private_metadata == {}


def test_more_than_16_icp_sections_are_rejected():
    sections = [(f"icp:private s{i}", b"") for i in range(17)]
    assert rejected(with_custom(module(""), *sections)) == (
        "Wasm module defined 17 custom sections which exceeds the maximum number allowed 16."
    )
    validate_module(with_custom(module(""), *sections[:16]))


def test_icp_sections_above_1_mib_in_total_are_rejected():
    big = ("icp:public a", bytes(1024 * 1024 - 1))
    validate_module(with_custom(module(""), big))
    message = rejected(with_custom(module(""), big, ("icp:private b", b"")))
    assert "size 1048577 bytes, allowed 1048576 bytes" in message


# wasmtime's validation comes last.


def test_module_wasmtime_rejects_is_invalid_with_its_message():
    message = rejected(module("(func (result i32) (i64.const 0))"))
    assert message.startswith(
        "Wasmtime failed to validate wasm module wasmtime::Module::validate() failed with"
    )
    assert "type mismatch" in message


def test_threads_proposal_shared_memory_is_rejected():
    assert rejected(module("(memory 1 1 shared)")).startswith("Wasmtime failed to validate")


# Robustness.


@settings(max_examples=60)
@given(st.data())
def test_mutated_modules_raise_only_invalid_module(data):
    wasm = bytearray(COUNTER)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(wasm) - 1))
        wasm[position] = data.draw(st.integers(0, 255))
    try:
        validate_module(bytes(wasm))
    except InvalidModule:
        pass


def test_every_truncation_inside_a_section_is_invalid():
    boundaries = {8}
    for section in read_sections(COUNTER):
        boundaries.add(len(write_module(read_sections(COUNTER[: max(boundaries)]) + [section])))
    for end in set(range(len(COUNTER))) - boundaries:
        with pytest.raises(InvalidModule):
            validate_module(COUNTER[:end])


@pytest.mark.skipif(not BUILD.is_dir(), reason="no Motoko builds in tests/canisters/build")
def test_motoko_compiled_modules_are_valid():
    paths = sorted(BUILD.rglob("*.wasm"))
    assert paths
    for path in paths:
        v = validate_module(path.read_bytes())
        assert {"canister_init", "canister_pre_upgrade", "canister_post_upgrade"} <= (
            v.system_entry_points
        ), path
        assert "__motoko_async_helper" in v.update_methods, path
        assert "candid:service" in v.private_metadata, path
        assert v.is_64 == (path.parent.name == "core"), path
