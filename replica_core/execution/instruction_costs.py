"""What each WebAssembly instruction and each `ic0` call costs, in IC instructions.

Spec: IC interface spec 0.66.0, The System API › `ic0.performance_counter` (the counter
counts "instructions"); resource-limits.md (per-message instruction limits). The spec does
not define an instruction's cost; these numbers follow the IC replica (impl):

* `instruction_cost`: `dfinity/ic` rs/embedders/src/wasm_utils/instrumentation.rs,
  `instruction_to_cost` — block markers 0, most operations 1, integer division 10,
  calls 5/10, `memory.grow` 300, bulk memory 100 (+1 per byte/element, charged at run
  time), loads and stores 2 instead of 1 when the main memory is 64-bit.
* `SYSTEM_API_OVERHEAD`: rs/embedders/src/wasmtime_embedder/system_api_complexity.rs,
  `overhead::new` — a fixed charge per `ic0` call (most 500; stable memory access 20).
  Imports missing from that table (newer than it) cost `DEFAULT_SYSTEM_API_OVERHEAD`.
  Costs that depend on a call's arguments (bytes copied) are charged by the System API
  implementation itself, not by instrumentation.
"""

from __future__ import annotations

from replica_core.execution.wasm_opcodes import OPCODES

__all__ = [
    "DEFAULT_SYSTEM_API_OVERHEAD",
    "MAX_INSTRUCTIONS_INSPECT_MESSAGE",
    "MAX_INSTRUCTIONS_PER_INSTALL_CODE",
    "MAX_INSTRUCTIONS_PER_MESSAGE",
    "MAX_INSTRUCTIONS_PER_QUERY",
    "SYSTEM_API_OVERHEAD",
    "instruction_cost",
    "instruction_cost_table",
    "system_api_overhead",
]

# resource-limits.md (quoted by the spec digest system-api.md › Instruction limits).
MAX_INSTRUCTIONS_PER_MESSAGE = 40_000_000_000  # update, heartbeat, global timer
MAX_INSTRUCTIONS_PER_QUERY = 5_000_000_000
MAX_INSTRUCTIONS_PER_INSTALL_CODE = 300_000_000_000  # install, reinstall, upgrade
MAX_INSTRUCTIONS_INSPECT_MESSAGE = 200_000_000

_DEFAULT_COST = 1

# Costs other than 1, by instruction name (the IC's `instruction_to_cost`).
_COSTS: dict[str, int] = {
    **dict.fromkeys(("block", "loop", "else", "end"), 0),
    **dict.fromkeys(
        "i32.div_s i32.div_u i32.rem_s i32.rem_u i64.div_s i64.div_u i64.rem_s i64.rem_u".split(),
        10,
    ),
    **dict.fromkeys(
        "f32.add f32.sub f32.mul f32.ceil f32.floor f32.trunc f32.nearest "
        "f64.add f64.sub f64.mul f64.ceil f64.floor f64.trunc f64.nearest".split(),
        2,
    ),
    "f32.div": 3,
    "f64.div": 5,
    **dict.fromkeys("f32.min f32.max f64.min f64.max".split(), 18),
    "f32.copysign": 2,
    "f64.copysign": 3,
    "f32.sqrt": 5,
    "f64.sqrt": 8,
    **dict.fromkeys(
        "f32.eq f32.ne f32.lt f32.gt f32.le f32.ge f64.eq f64.ne f64.lt f64.gt f64.le f64.ge".split(),
        3,
    ),
    **dict.fromkeys(
        "f32.convert_i32_s f64.convert_i64_s f32.convert_i64_s f64.convert_i32_s".split(), 3
    ),
    **dict.fromkeys(
        "f64.convert_i32_u f32.convert_i64_u f32.convert_i32_u f64.convert_i64_u".split(), 16
    ),
    **dict.fromkeys(
        "i32.trunc_sat_f32_s i32.trunc_sat_f32_u i32.trunc_sat_f64_s i32.trunc_sat_f64_u "
        "i64.trunc_sat_f32_s i64.trunc_sat_f32_u i64.trunc_sat_f64_s i64.trunc_sat_f64_u "
        "i32.trunc_f32_s i32.trunc_f32_u i32.trunc_f64_s i32.trunc_f64_u "
        "i64.trunc_f32_s i64.trunc_f32_u i64.trunc_f64_s i64.trunc_f64_u".split(),
        20,
    ),
    "global.get": 2,
    "global.set": 2,
    "table.get": 5,
    "table.set": 5,
    "memory.grow": 300,
    "table.grow": 300,
    "memory.size": 20,
    "table.size": 100,
    **dict.fromkeys(
        "memory.fill memory.copy memory.init table.fill table.copy table.init".split(), 100
    ),
    "data.drop": 300,
    "elem.drop": 300,
    "call": 5,
    "call_indirect": 10,
    "return_call": 3,
    "return_call_indirect": 60,
    # (impl) not in the IC's table (function references are off there): priced like
    # their indirect counterparts and `br_if`.
    "call_ref": 10,
    "return_call_ref": 60,
    "br_on_null": 2,
    "br_on_non_null": 2,
    **dict.fromkeys(("if", "br", "br_if", "br_table"), 2),
    "ref.is_null": 5,
    "ref.func": 130,
    # SIMD
    "i8x16.shuffle": 3,
    **dict.fromkeys("i8x16.lt_u i8x16.gt_u i16x8.lt_u i16x8.gt_u i32x4.lt_u i32x4.gt_u".split(), 2),
    "i8x16.popcnt": 3,
    "i8x16.shl": 3,
    "i8x16.shr_s": 3,
    "i8x16.shr_u": 2,
    "i16x8.extadd_pairwise_i8x16_u": 2,
    "i16x8.extmul_high_i8x16_s": 2,
    "i16x8.extmul_high_i8x16_u": 2,
    "i32x4.extadd_pairwise_i16x8_u": 3,
    **dict.fromkeys(
        "i16x8.shl i16x8.shr_s i16x8.shr_u i32x4.shl i32x4.shr_s i32x4.shr_u i32x4.mul "
        "i32x4.extmul_low_i16x8_s i32x4.extmul_high_i16x8_s i32x4.extmul_low_i16x8_u "
        "i32x4.extmul_high_i16x8_u i64x2.shl i64x2.shr_u".split(),
        2,
    ),
    "i64x2.shr_s": 3,
    "i64x2.mul": 4,
    **dict.fromkeys(
        "f32x4.ceil f32x4.floor f32x4.trunc f32x4.nearest f32x4.abs f32x4.neg f32x4.add "
        "f32x4.sub f32x4.mul f64x2.ceil f64x2.floor f64x2.trunc f64x2.nearest f64x2.abs "
        "f64x2.neg f64x2.add f64x2.sub f64x2.mul".split(),
        2,
    ),
    "f32x4.sqrt": 5,
    "f32x4.div": 10,
    "f32x4.min": 4,
    "f32x4.max": 4,
    "f64x2.sqrt": 14,
    "f64x2.div": 12,
    "f64x2.min": 4,
    "f64x2.max": 5,
    "i32x4.trunc_sat_f32x4_s": 2,
    "i32x4.trunc_sat_f32x4_u": 4,
    "f32x4.convert_i32x4_u": 4,
    "i32x4.trunc_sat_f64x2_s_zero": 2,
    "i32x4.trunc_sat_f64x2_u_zero": 3,
}

# Memory accesses: 1 with a 32-bit main memory, 2 with a 64-bit one.
_MEMORY_ACCESSES = frozenset(
    op.name
    for op in OPCODES.values()
    if ".load" in op.name or ".store" in op.name  # scalar and SIMD loads/stores, lanes
)


def instruction_cost(name: str, is_64: bool) -> int:
    """The static cost of one instruction; `is_64` when the main memory is 64-bit."""
    if name in _MEMORY_ACCESSES:
        return 2 if is_64 else 1
    return _COSTS.get(name, _DEFAULT_COST)


def instruction_cost_table(is_64: bool) -> dict[int, int]:
    """`instruction_cost` for every opcode, keyed by opcode key (for the metering pass)."""
    return {key: instruction_cost(op.name, is_64) for key, op in OPCODES.items()}


DEFAULT_SYSTEM_API_OVERHEAD = 500  # (impl) the IC's most common fixed overhead

SYSTEM_API_OVERHEAD: dict[str, int] = {
    **dict.fromkeys(
        "accept_message call_cycles_add call_cycles_add128 call_data_append call_on_cleanup "
        "canister_cycle_balance canister_cycle_balance128 canister_self_copy "
        "canister_self_size canister_status canister_version certified_data_set "
        "data_certificate_copy data_certificate_present "
        "data_certificate_size global_timer_set msg_arg_data_copy msg_arg_data_size "
        "msg_caller_copy msg_caller_size msg_cycles_accept msg_cycles_accept128 "
        "msg_cycles_available msg_cycles_available128 msg_cycles_refunded "
        "msg_cycles_refunded128 msg_method_name_copy msg_method_name_size msg_reject_code "
        "msg_reject_msg_copy msg_reject_msg_size msg_reject msg_reply_data_append msg_reply "
        "stable_grow stable64_grow time trap".split(),
        500,
    ),
    "call_new": 1_500,
    "call_perform": 5_000,
    "debug_print": 100,
    "is_controller": 1_000,
    "performance_counter": 200,
    **dict.fromkeys(
        "stable_read stable_size stable_write stable64_read stable64_size stable64_write".split(),
        20,
    ),
}
"""Fixed overhead of each `ic0` import, charged at every call site (IC `overhead::new`)."""


def system_api_overhead(name: str) -> int:
    """The fixed instruction overhead of a call to `ic0.<name>`."""
    return SYSTEM_API_OVERHEAD.get(name, DEFAULT_SYSTEM_API_OVERHEAD)
