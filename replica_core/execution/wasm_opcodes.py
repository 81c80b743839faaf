"""The WebAssembly instruction table: opcode keys, text-format names, immediate kinds.

Spec: IC interface spec 0.66.0, The System API › WebAssembly module requirements; WebAssembly
core spec 2.0 › Binary format › Instructions (index of instructions), plus memory64,
multi-memory, bulk memory, reference types, SIMD and relaxed SIMD, sign extension,
saturating truncation, tail calls and typed function references. Used by `wasm_code`
(decoding and encoding) and `instruction_costs`.

An instruction's *opcode key* (impl) is its first byte, or for prefixed instructions
`prefix << 12 | sub-opcode` (e.g. `memory.fill` = `0xFC00B`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

__all__ = ["FC", "FD", "OPCODES", "OPCODES_BY_NAME", "UNSUPPORTED_OPCODES", "Imm", "Opcode"]

FC = 0xFC000  # key base of the 0xFC prefix (saturating truncation, bulk memory, tables)
FD = 0xFD000  # key base of the 0xFD prefix (SIMD)


class Imm(IntEnum):
    """The shape of an instruction's immediates (the tuples are listed in `wasm_code`)."""

    NONE = 0
    BLOCK = 1
    INDEX = 2
    INDEX2 = 3
    BR_TABLE = 4
    MEMARG = 5
    MEMARG_LANE = 6
    I32 = 7
    I64 = 8
    F32 = 9
    F64 = 10
    V128 = 11
    SHUFFLE = 12
    LANE = 13
    SELECT_T = 14
    HEAP_TYPE = 15


@dataclass(frozen=True, slots=True)
class Opcode:
    """One instruction of the table: opcode key, text-format name, immediate kind."""

    key: int
    name: str
    imm: Imm


# --- The opcode table --------------------------------------------------------------------

_N, _B, _X, _X2 = Imm.NONE, Imm.BLOCK, Imm.INDEX, Imm.INDEX2
_M, _ML, _L = Imm.MEMARG, Imm.MEMARG_LANE, Imm.LANE

_CORE: list[tuple[int, str, Imm]] = [
    (0x00, "unreachable", _N),
    (0x01, "nop", _N),
    (0x02, "block", _B),
    (0x03, "loop", _B),
    (0x04, "if", _B),
    (0x05, "else", _N),
    (0x0B, "end", _N),
    (0x0C, "br", _X),
    (0x0D, "br_if", _X),
    (0x0E, "br_table", Imm.BR_TABLE),
    (0x0F, "return", _N),
    (0x10, "call", _X),
    (0x11, "call_indirect", _X2),
    (0x12, "return_call", _X),
    (0x13, "return_call_indirect", _X2),
    (0x14, "call_ref", _X),
    (0x15, "return_call_ref", _X),
    (0x1A, "drop", _N),
    (0x1B, "select", _N),
    (0x1C, "select_t", Imm.SELECT_T),
    (0x20, "local.get", _X),
    (0x21, "local.set", _X),
    (0x22, "local.tee", _X),
    (0x23, "global.get", _X),
    (0x24, "global.set", _X),
    (0x25, "table.get", _X),
    (0x26, "table.set", _X),
    (0x3F, "memory.size", _X),
    (0x40, "memory.grow", _X),
    (0x41, "i32.const", Imm.I32),
    (0x42, "i64.const", Imm.I64),
    (0x43, "f32.const", Imm.F32),
    (0x44, "f64.const", Imm.F64),
    (0xD0, "ref.null", Imm.HEAP_TYPE),
    (0xD1, "ref.is_null", _N),
    (0xD2, "ref.func", _X),
    (0xD4, "ref.as_non_null", _N),
    (0xD5, "br_on_null", _X),
    (0xD6, "br_on_non_null", _X),
]

_LOADS_STORES = (
    "i32.load i64.load f32.load f64.load i32.load8_s i32.load8_u i32.load16_s i32.load16_u "
    "i64.load8_s i64.load8_u i64.load16_s i64.load16_u i64.load32_s i64.load32_u "
    "i32.store i64.store f32.store f64.store i32.store8 i32.store16 i64.store8 i64.store16 "
    "i64.store32"
).split()  # 0x28 ..= 0x3E

_NUMERIC = (
    "i32.eqz i32.eq i32.ne i32.lt_s i32.lt_u i32.gt_s i32.gt_u i32.le_s i32.le_u i32.ge_s "
    "i32.ge_u i64.eqz i64.eq i64.ne i64.lt_s i64.lt_u i64.gt_s i64.gt_u i64.le_s i64.le_u "
    "i64.ge_s i64.ge_u f32.eq f32.ne f32.lt f32.gt f32.le f32.ge f64.eq f64.ne f64.lt f64.gt "
    "f64.le f64.ge i32.clz i32.ctz i32.popcnt i32.add i32.sub i32.mul i32.div_s i32.div_u "
    "i32.rem_s i32.rem_u i32.and i32.or i32.xor i32.shl i32.shr_s i32.shr_u i32.rotl i32.rotr "
    "i64.clz i64.ctz i64.popcnt i64.add i64.sub i64.mul i64.div_s i64.div_u i64.rem_s "
    "i64.rem_u i64.and i64.or i64.xor i64.shl i64.shr_s i64.shr_u i64.rotl i64.rotr f32.abs "
    "f32.neg f32.ceil f32.floor f32.trunc f32.nearest f32.sqrt f32.add f32.sub f32.mul f32.div "
    "f32.min f32.max f32.copysign f64.abs f64.neg f64.ceil f64.floor f64.trunc f64.nearest "
    "f64.sqrt f64.add f64.sub f64.mul f64.div f64.min f64.max f64.copysign i32.wrap_i64 "
    "i32.trunc_f32_s i32.trunc_f32_u i32.trunc_f64_s i32.trunc_f64_u i64.extend_i32_s "
    "i64.extend_i32_u i64.trunc_f32_s i64.trunc_f32_u i64.trunc_f64_s i64.trunc_f64_u "
    "f32.convert_i32_s f32.convert_i32_u f32.convert_i64_s f32.convert_i64_u f32.demote_f64 "
    "f64.convert_i32_s f64.convert_i32_u f64.convert_i64_s f64.convert_i64_u f64.promote_f32 "
    "i32.reinterpret_f32 i64.reinterpret_f64 f32.reinterpret_i32 f64.reinterpret_i64 "
    "i32.extend8_s i32.extend16_s i64.extend8_s i64.extend16_s i64.extend32_s"
).split()  # 0x45 ..= 0xC4

_FC_OPS: list[tuple[int, str, Imm]] = [
    (0, "i32.trunc_sat_f32_s", _N),
    (1, "i32.trunc_sat_f32_u", _N),
    (2, "i32.trunc_sat_f64_s", _N),
    (3, "i32.trunc_sat_f64_u", _N),
    (4, "i64.trunc_sat_f32_s", _N),
    (5, "i64.trunc_sat_f32_u", _N),
    (6, "i64.trunc_sat_f64_s", _N),
    (7, "i64.trunc_sat_f64_u", _N),
    (8, "memory.init", _X2),  # data index, memory index
    (9, "data.drop", _X),
    (10, "memory.copy", _X2),  # destination memory, source memory
    (11, "memory.fill", _X),
    (12, "table.init", _X2),  # element index, table index
    (13, "elem.drop", _X),
    (14, "table.copy", _X2),  # destination table, source table
    (15, "table.grow", _X),
    (16, "table.size", _X),
    (17, "table.fill", _X),
]

# SIMD sub-opcodes 0..=255 and relaxed SIMD 256..=275; "" marks a reserved number.
_SIMD = (
    "v128.load v128.load8x8_s v128.load8x8_u v128.load16x4_s v128.load16x4_u v128.load32x2_s "
    "v128.load32x2_u v128.load8_splat v128.load16_splat v128.load32_splat v128.load64_splat "
    "v128.store v128.const i8x16.shuffle i8x16.swizzle i8x16.splat i16x8.splat i32x4.splat "
    "i64x2.splat f32x4.splat f64x2.splat i8x16.extract_lane_s i8x16.extract_lane_u "
    "i8x16.replace_lane i16x8.extract_lane_s i16x8.extract_lane_u i16x8.replace_lane "
    "i32x4.extract_lane i32x4.replace_lane i64x2.extract_lane i64x2.replace_lane "
    "f32x4.extract_lane f32x4.replace_lane f64x2.extract_lane f64x2.replace_lane "
    "i8x16.eq i8x16.ne i8x16.lt_s i8x16.lt_u i8x16.gt_s i8x16.gt_u i8x16.le_s i8x16.le_u "
    "i8x16.ge_s i8x16.ge_u i16x8.eq i16x8.ne i16x8.lt_s i16x8.lt_u i16x8.gt_s i16x8.gt_u "
    "i16x8.le_s i16x8.le_u i16x8.ge_s i16x8.ge_u i32x4.eq i32x4.ne i32x4.lt_s i32x4.lt_u "
    "i32x4.gt_s i32x4.gt_u i32x4.le_s i32x4.le_u i32x4.ge_s i32x4.ge_u f32x4.eq f32x4.ne "
    "f32x4.lt f32x4.gt f32x4.le f32x4.ge f64x2.eq f64x2.ne f64x2.lt f64x2.gt f64x2.le "
    "f64x2.ge v128.not v128.and v128.andnot v128.or v128.xor v128.bitselect v128.any_true "
    "v128.load8_lane v128.load16_lane v128.load32_lane v128.load64_lane v128.store8_lane "
    "v128.store16_lane v128.store32_lane v128.store64_lane v128.load32_zero v128.load64_zero "
    "f32x4.demote_f64x2_zero f64x2.promote_low_f32x4 i8x16.abs i8x16.neg i8x16.popcnt "
    "i8x16.all_true i8x16.bitmask i8x16.narrow_i16x8_s i8x16.narrow_i16x8_u f32x4.ceil "
    "f32x4.floor f32x4.trunc f32x4.nearest i8x16.shl i8x16.shr_s i8x16.shr_u i8x16.add "
    "i8x16.add_sat_s i8x16.add_sat_u i8x16.sub i8x16.sub_sat_s i8x16.sub_sat_u f64x2.ceil "
    "f64x2.floor i8x16.min_s i8x16.min_u i8x16.max_s i8x16.max_u f64x2.trunc i8x16.avgr_u "
    "i16x8.extadd_pairwise_i8x16_s i16x8.extadd_pairwise_i8x16_u "
    "i32x4.extadd_pairwise_i16x8_s i32x4.extadd_pairwise_i16x8_u "
    "i16x8.abs i16x8.neg i16x8.q15mulr_sat_s i16x8.all_true i16x8.bitmask "
    "i16x8.narrow_i32x4_s i16x8.narrow_i32x4_u i16x8.extend_low_i8x16_s "
    "i16x8.extend_high_i8x16_s i16x8.extend_low_i8x16_u i16x8.extend_high_i8x16_u i16x8.shl "
    "i16x8.shr_s i16x8.shr_u i16x8.add i16x8.add_sat_s i16x8.add_sat_u i16x8.sub "
    "i16x8.sub_sat_s i16x8.sub_sat_u f64x2.nearest i16x8.mul i16x8.min_s i16x8.min_u "
    "i16x8.max_s i16x8.max_u - i16x8.avgr_u i16x8.extmul_low_i8x16_s "
    "i16x8.extmul_high_i8x16_s i16x8.extmul_low_i8x16_u i16x8.extmul_high_i8x16_u "
    "i32x4.abs i32x4.neg - i32x4.all_true i32x4.bitmask - - i32x4.extend_low_i16x8_s "
    "i32x4.extend_high_i16x8_s i32x4.extend_low_i16x8_u i32x4.extend_high_i16x8_u i32x4.shl "
    "i32x4.shr_s i32x4.shr_u i32x4.add - - i32x4.sub - - - i32x4.mul i32x4.min_s i32x4.min_u "
    "i32x4.max_s i32x4.max_u i32x4.dot_i16x8_s - i32x4.extmul_low_i16x8_s "
    "i32x4.extmul_high_i16x8_s i32x4.extmul_low_i16x8_u i32x4.extmul_high_i16x8_u "
    "i64x2.abs i64x2.neg - i64x2.all_true i64x2.bitmask - - i64x2.extend_low_i32x4_s "
    "i64x2.extend_high_i32x4_s i64x2.extend_low_i32x4_u i64x2.extend_high_i32x4_u i64x2.shl "
    "i64x2.shr_s i64x2.shr_u i64x2.add - - i64x2.sub - - - i64x2.mul i64x2.eq i64x2.ne "
    "i64x2.lt_s i64x2.gt_s i64x2.le_s i64x2.ge_s i64x2.extmul_low_i32x4_s "
    "i64x2.extmul_high_i32x4_s i64x2.extmul_low_i32x4_u i64x2.extmul_high_i32x4_u "
    "f32x4.abs f32x4.neg - f32x4.sqrt f32x4.add f32x4.sub f32x4.mul f32x4.div f32x4.min "
    "f32x4.max f32x4.pmin f32x4.pmax f64x2.abs f64x2.neg - f64x2.sqrt f64x2.add f64x2.sub "
    "f64x2.mul f64x2.div f64x2.min f64x2.max f64x2.pmin f64x2.pmax i32x4.trunc_sat_f32x4_s "
    "i32x4.trunc_sat_f32x4_u f32x4.convert_i32x4_s f32x4.convert_i32x4_u "
    "i32x4.trunc_sat_f64x2_s_zero i32x4.trunc_sat_f64x2_u_zero f64x2.convert_low_i32x4_s "
    "f64x2.convert_low_i32x4_u "
    # relaxed SIMD (0x100 ..= 0x113)
    "i8x16.relaxed_swizzle i32x4.relaxed_trunc_f32x4_s i32x4.relaxed_trunc_f32x4_u "
    "i32x4.relaxed_trunc_f64x2_s_zero i32x4.relaxed_trunc_f64x2_u_zero f32x4.relaxed_madd "
    "f32x4.relaxed_nmadd f64x2.relaxed_madd f64x2.relaxed_nmadd i8x16.relaxed_laneselect "
    "i16x8.relaxed_laneselect i32x4.relaxed_laneselect i64x2.relaxed_laneselect "
    "f32x4.relaxed_min f32x4.relaxed_max f64x2.relaxed_min f64x2.relaxed_max "
    "i16x8.relaxed_q15mulr_s i16x8.relaxed_dot_i8x16_i7x16_s "
    "i32x4.relaxed_dot_i8x16_i7x16_add_s"
).split()


def _simd_imm(sub: int) -> Imm:
    if sub <= 11 or sub in (92, 93):
        return _M
    if sub == 12:
        return Imm.V128
    if sub == 13:
        return Imm.SHUFFLE
    if 21 <= sub <= 34:
        return _L
    if 84 <= sub <= 91:
        return _ML
    return _N


def _build_table() -> dict[int, Opcode]:
    rows = list(_CORE)
    rows += [(0x28 + i, name, _M) for i, name in enumerate(_LOADS_STORES)]
    rows += [(0x45 + i, name, _N) for i, name in enumerate(_NUMERIC)]
    rows += [(FC | sub, name, imm) for sub, name, imm in _FC_OPS]
    rows += [(FD | sub, name, _simd_imm(sub)) for sub, name in enumerate(_SIMD) if name != "-"]
    return {key: Opcode(key, name, imm) for key, name, imm in rows}


OPCODES: dict[int, Opcode] = _build_table()
"""Every decodable instruction, by opcode key."""

OPCODES_BY_NAME: dict[str, Opcode] = {op.name: op for op in OPCODES.values()}
"""Every decodable instruction, by text-format name (`select_t` is typed `select`)."""

UNSUPPORTED_OPCODES: dict[int, str] = {
    0x06: "try (legacy exception handling)",
    0x07: "catch (legacy exception handling)",
    0x08: "throw (exception handling)",
    0x09: "rethrow (legacy exception handling)",
    0x0A: "throw_ref (exception handling)",
    0x18: "delegate (legacy exception handling)",
    0x19: "catch_all (legacy exception handling)",
    0x1F: "try_table (exception handling)",
    0xFB: "the GC proposal (0xFB prefix)",
    0xFE: "threads/atomics (0xFE prefix)",
}
