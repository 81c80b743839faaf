"""The instruction decoder agrees with wasmtime's WAT encoder on every opcode it knows.

WebAssembly core spec 2.0 › Binary format › Instructions (+ memory64, multi-memory, SIMD,
bulk memory, reference types, tail calls, typed function references).
"""

from __future__ import annotations

import struct

import pytest
import wasmtime
from hypothesis import given, settings
from hypothesis import strategies as st

from replica_core.execution.wasm_binary import CODE, InvalidWasm, read_sections, split_code_section
from replica_core.execution.wasm_code import (
    FC,
    FD,
    OPCODES,
    OPCODES_BY_NAME,
    Imm,
    Instruction,
    decode_expression,
    decode_function_body,
    encode_instruction,
    encode_instructions,
)


def bodies(wat: str) -> list[bytes]:
    wasm = wasmtime.wat2wasm(wat)
    code = [s for s in read_sections(wasm) if s.id == CODE]
    return split_code_section(code[0].payload) if code else []


def wat_operand(name: str, imm: Imm) -> str:
    """Text-format immediates for one instruction (the parser does not type-check)."""
    if imm is Imm.BLOCK:
        return "(result i32) end"
    if imm is Imm.INDEX2:
        return "0 (type 0)" if "call_indirect" in name else "0 0"
    return {
        Imm.NONE: "",
        Imm.INDEX: "0",
        Imm.BR_TABLE: "0 1 0",
        Imm.MEMARG: "offset=8",
        Imm.MEMARG_LANE: "offset=8 1",
        Imm.I32: "-7",
        Imm.I64: "-7",
        Imm.F32: "1.5",
        Imm.F64: "1.5",
        Imm.V128: "i32x4 1 2 3 4",
        Imm.SHUFFLE: " ".join(str(i) for i in range(16)),
        Imm.LANE: "1",
        Imm.SELECT_T: "",
        Imm.HEAP_TYPE: "func",
    }[imm]


def group(key: int) -> str:
    return "simd" if key & FD == FD else "0xfc" if key & FC == FC else "core"


TESTABLE = [op for op in OPCODES.values() if op.name != "end"]  # `end` closes the body


@pytest.mark.parametrize("op", TESTABLE, ids=lambda op: f"{group(op.key)}:{op.name}")
def test_every_opcode_decodes_as_wasmtime_encodes_it_and_reencodes_identically(op):
    text = (
        "select (result i32)"
        if op.name == "select_t"
        else f"{op.name} {wat_operand(op.name, op.imm)}"
    )
    module = f"(module (type (func)) (memory 1) (table 1 funcref) (func {text}))"
    (body,) = bodies(module)
    decoded = decode_function_body(body)
    expected = [op.name, "end"] + (["end"] if op.imm is Imm.BLOCK else [])
    assert [i.name for i in decoded.instructions] == expected
    assert encode_instructions(decoded.instructions) == body[decoded.code_offset :]


def test_opcode_table_covers_all_groups():
    groups = {group(key) for key in OPCODES}
    assert groups == {"core", "0xfc", "simd"}
    assert len([k for k in OPCODES if group(k) == "simd"]) == 236 + 20  # SIMD + relaxed SIMD
    assert len([k for k in OPCODES if group(k) == "0xfc"]) == 18


def test_locals_and_immediates_are_decoded():
    (body,) = bodies(
        """(module (memory 1) (func (param i32) (local i64 i64) (local f32)
             local.get 0 i64.const -129 drop br_table 0 0 0 drop
             i32.const 0 i64.load offset=70000 align=4 drop))"""
    )
    decoded = decode_function_body(body)
    assert decoded.locals == ((2, b"\x7e"), (1, b"\x7d"))
    ins = decoded.instructions
    assert ins[1].imm == (-129,)
    assert ins[3].name == "br_table" and ins[3].imm == (0, 0, 0)
    assert ins[6].name == "i64.load" and ins[6].imm == (2, 70000, 0)


def test_memory64_memarg_offset_is_u64():
    (body,) = bodies("(module (memory i64 1) (func i64.const 0 i64.load offset=0x100000000 drop))")
    ins = decode_function_body(body).instructions
    assert ins[1].imm == (3, 1 << 32, 0)


def test_multi_memory_memarg_carries_the_memory_index():
    (body,) = bodies(
        "(module (memory 1) (memory $m 1) (func i32.const 0 i32.load $m offset=4 drop"
        " i32.const 0 i32.const 0 i32.const 0 memory.copy 1 0))"
    )
    ins = decode_function_body(body).instructions
    assert ins[1].imm == (2, 4, 1)
    assert ins[6].name == "memory.copy" and ins[6].imm == (1, 0)
    assert encode_instructions(ins) == body[decode_function_body(body).code_offset :]


def test_multi_value_block_type_is_a_type_index():
    (body,) = bodies(
        "(module (type $t (func (param i32) (result i32 i32)))"
        " (func (result i32 i32) i32.const 1 block (type $t) (param i32) (result i32 i32)"
        " i32.const 2 end))"
    )
    ins = decode_function_body(body).instructions
    assert ins[1].name == "block" and ins[1].imm == (b"\x00",)


def test_float_and_v128_constants_keep_their_exact_bits():
    (body,) = bodies(
        "(module (func f32.const nan:0x200001 drop f64.const -0 drop v128.const i8x16 "
        "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 drop))"
    )
    ins = decode_function_body(body).instructions
    assert ins[0].imm == (struct.pack("<I", 0x7FA00001),)
    assert ins[2].imm == (struct.pack("<d", -0.0),)
    assert ins[4].imm == (bytes(range(1, 17)),)


def test_nested_blocks_end_at_the_matching_end():
    (body,) = bodies("(module (func block loop i32.const 1 if nop else nop end end end))")
    names = [i.name for i in decode_function_body(body).instructions]
    assert names == ["block", "loop", "i32.const", "if", "nop", "else", "nop"] + ["end"] * 4


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (b"\x06\x40\x0b\x0b", "exception handling"),
        (b"\x1f\x40\x00\x0b\x0b", "exception handling"),
        (b"\xfe\x00\x02\x00\x0b", "atomics"),
        (b"\xfb\x00\x00\x0b", "GC"),
        (b"\x27\x0b", "unknown opcode 0x27"),
        (b"\xfc\x63\x0b", "unknown instruction 0xfc 99"),
        (b"\xfd\x9a\x01\x0b", "unknown instruction 0xfd 154"),
    ],
)
def test_unsupported_or_unknown_opcodes_raise_invalid_wasm(code, message):
    with pytest.raises(InvalidWasm, match=message):
        decode_expression(code)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (b"\x41", "ends inside an instruction"),  # i32.const without a value
        (b"\x41\x80\x80\x80\x80\x80\x00\x0b", "longer than s32"),
        (b"\x20\xff\xff\xff\xff\x1f\x0b", "out of range"),  # local index > u32
        (b"\x01\x0b\x01", "1 bytes after the final end"),
        (b"\x02\x40\x0b", "ends inside"),  # missing the function's end
    ],
)
def test_malformed_expressions_raise_invalid_wasm(code, message):
    with pytest.raises(InvalidWasm, match=message):
        decode_expression(code)


# --- Property: encode ∘ decode is the identity on random instruction sequences ----------

_u32 = st.integers(0, 2**32 - 1)
_valtype = st.sampled_from([b"\x7f", b"\x7e", b"\x7d", b"\x7c", b"\x7b", b"\x70", b"\x6f"])


def _immediates(op) -> st.SearchStrategy[tuple]:
    imm = op.imm
    if imm is Imm.NONE:
        return st.just(())
    if imm is Imm.INDEX:
        return st.tuples(_u32)
    if imm is Imm.INDEX2:
        return st.tuples(_u32, _u32)
    if imm is Imm.BR_TABLE:
        return st.lists(_u32, min_size=1, max_size=5).map(tuple)
    if imm is Imm.MEMARG:
        return st.tuples(st.integers(0, 16), st.integers(0, 2**64 - 1), _u32)
    if imm is Imm.MEMARG_LANE:
        return st.tuples(st.integers(0, 4), st.integers(0, 2**64 - 1), _u32, st.integers(0, 15))
    if imm is Imm.I32:
        return st.tuples(st.integers(-(2**31), 2**31 - 1))
    if imm is Imm.I64:
        return st.tuples(st.integers(-(2**63), 2**63 - 1))
    if imm in (Imm.F32, Imm.F64, Imm.V128, Imm.SHUFFLE):
        size = {Imm.F32: 4, Imm.F64: 8, Imm.V128: 16, Imm.SHUFFLE: 16}[imm]
        return st.tuples(st.binary(min_size=size, max_size=size))
    if imm is Imm.LANE:
        return st.tuples(st.integers(0, 255))
    if imm is Imm.SELECT_T:
        return st.lists(_valtype, min_size=1, max_size=2).map(tuple)
    if imm is Imm.HEAP_TYPE:
        return st.sampled_from([(b"\x70",), (b"\x6f",)])
    assert imm is Imm.BLOCK
    return st.sampled_from([(b"\x40",), (b"\x7f",), (b"\x05",)])


_STRAIGHT = [
    op for op in OPCODES.values() if op.imm is not Imm.BLOCK and op.name not in ("end", "else")
]
_instruction = st.sampled_from(_STRAIGHT).flatmap(
    lambda op: _immediates(op).map(lambda imm: (op.name, imm))
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_instruction, max_size=30))
def test_decode_inverts_encode_for_random_instruction_sequences(seq):
    code = b"".join(encode_instruction(name, *imm) for name, imm in seq) + b"\x0b"
    decoded = decode_expression(code)
    assert [(i.name, i.imm) for i in decoded[:-1]] == seq
    assert encode_instructions(decoded) == code


@settings(max_examples=150, deadline=None)
@given(st.lists(_instruction, min_size=1, max_size=10), st.data())
def test_truncated_or_corrupted_bodies_raise_only_invalid_wasm(seq, data):
    code = b"".join(encode_instruction(name, *imm) for name, imm in seq) + b"\x0b"
    cut = data.draw(st.integers(0, len(code) - 1))
    corrupted = bytearray(code)
    corrupted[cut] = data.draw(st.integers(0, 255))
    for candidate in (code[:cut], bytes(corrupted)):
        try:
            decode_expression(candidate)
        except InvalidWasm:
            pass


def test_instruction_name_property_and_lookup_by_name():
    assert OPCODES_BY_NAME["memory.fill"].key == FC | 11
    assert OPCODES_BY_NAME["i8x16.shuffle"].key == FD | 13
    assert Instruction(OPCODES_BY_NAME["nop"], 0).name == "nop"
