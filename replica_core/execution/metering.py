"""Deterministic instruction metering: instrumenting canister modules with a counter.

Spec: IC interface spec 0.66.0, The System API › `ic0.performance_counter`; resource
limits on instructions per message (see `instruction_costs`). The spec leaves the mechanism
to the implementation; this follows the IC replica's (impl, `dfinity/ic`
rs/embedders/src/wasm_utils/instrumentation.rs), without its memory/stable-memory parts.

`instrument(wasm)` rewrites a module so that it counts its own work:

* It adds a mutable i64 global, exported as `canister counter_instructions` (the IC's
  name). Before running a message the sandbox sets it to the message's budget
  (`set_budget`); the counter only goes down.
* At the start of every basic block it subtracts the block's static cost (the sum of
  `instruction_cost` over the block's instructions, plus the `ic0` overhead of each
  `ic0` import the block calls). Blocks start at function entry, after `loop` and `if`,
  and after `else`, `end`, branches, `return`, `unreachable` and tail calls.
* At *re-entrant* block starts (function entry, loop bodies) it also checks the counter:
  if it went negative the code executes `unreachable`. Every loop iteration and every
  call pass such a check, so overshooting the budget is bounded by the longest stretch
  of straight-line code; non-re-entrant blocks skip the check, as on the IC.
* Before `memory.fill/copy/init` and `table.fill/copy/init` it charges the size operand
  (bytes or elements) through an added helper function, which checks the counter too.
* A `start` function is removed from the start section and exported as `canister_start`,
  so that it runs after the budget is set (as the IC does).

Out of instructions vs. a canister trap: both end in a wasmtime trap; the execution ran
out of instructions exactly when the counter is negative afterwards
(`is_out_of_instructions`). The counter is deterministic — same module, same inputs, same
count — because it is a pure function of the executed code path.

Nothing is imported and only entries *appended* to index spaces (a global, a type, a
function), so no existing function, global or type index moves: calls, `ref.func`,
element segments, exports and the name section stay valid byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import wasmtime

from replica_core.errors import IcboxError
from replica_core.execution.ic0 import IC0_MODULE
from replica_core.execution.instruction_costs import instruction_cost_table, system_api_overhead
from replica_core.execution.wasm_binary import (
    CODE,
    EXPORT,
    FUNCTION,
    GLOBAL,
    START,
    TYPE,
    FuncType,
    InvalidWasm,
    ModuleInfo,
    Section,
    join_code_section,
    parse_module,
    split_code_section,
    write_module,
)
from replica_core.execution.wasm_code import FC, Instruction, decode_function_body
from replica_core.leb128 import decode_unsigned, encode_signed, encode_unsigned

__all__ = [
    "COUNTER_EXPORT",
    "MAX_BUDGET",
    "START_EXPORT",
    "InstrumentedModule",
    "OutOfInstructions",
    "charge",
    "instructions_left",
    "instructions_used",
    "instrument",
    "is_out_of_instructions",
    "set_budget",
]

COUNTER_EXPORT = "canister counter_instructions"  # the IC's reserved export name
START_EXPORT = "canister_start"  # where the module's start function is exported
MAX_BUDGET = 1 << 62  # (impl) keeps every subtraction far from i64 overflow

# Opcode keys used by the pass.
_BLOCK, _LOOP, _IF, _ELSE, _END = 0x02, 0x03, 0x04, 0x05, 0x0B
_CALL = 0x10
_ENDS_BLOCK = frozenset(
    (
        _ELSE, _END, 0x0C, 0x0D, 0x0E,  # br, br_if, br_table
        0x00, 0x0F,  # unreachable, return
        0x12, 0x13, 0x15,  # return_call, return_call_indirect, return_call_ref
        0xD5, 0xD6,  # br_on_null, br_on_non_null
    )
)  # fmt: skip
_MEMORY_FILL, _MEMORY_COPY, _MEMORY_INIT = FC | 11, FC | 10, FC | 8
_TABLE_FILL, _TABLE_COPY, _TABLE_INIT = FC | 17, FC | 14, FC | 12
_BULK = frozenset((_MEMORY_FILL, _MEMORY_COPY, _MEMORY_INIT, _TABLE_FILL, _TABLE_COPY, _TABLE_INIT))

_I64, _MUT, _EMPTY_BLOCK = b"\x7e", b"\x01", b"\x40"
_KIND_FUNC, _KIND_GLOBAL = b"\x00", b"\x03"
_ORDER = (TYPE, 2, FUNCTION, 4, 5, 13, GLOBAL, EXPORT, START, 9, 12, CODE, 11)  # section order


class OutOfInstructions(IcboxError):
    """The message exceeded its instruction budget (raised by `charge`)."""


@dataclass(frozen=True, slots=True)
class InstrumentedModule:
    """An instrumented module and what the sandbox needs to drive it.

    `start_export` names the export of the former start function (call it after
    `set_budget`), `instruction_count` is the number of instructions in the original
    function bodies (the IC charges compilation per instruction).
    """

    wasm: bytes
    is_64: bool
    start_export: str | None
    instruction_count: int
    counter_export: str = COUNTER_EXPORT


@dataclass(frozen=True, slots=True)
class _Indices:
    """What the rewrite of a function body needs to know about the module."""

    counter: int  # global index of the counter
    charge: int  # function index of the dynamic-cost helper
    costs: dict[int, int]  # opcode key -> static cost
    call_overhead: dict[int, int]  # function index of an ic0 import -> overhead
    memory_is_64: tuple[bool, ...]
    table_is_64: tuple[bool, ...]


def instrument(wasm: bytes) -> InstrumentedModule:
    """Rewrite a (decompressed, validated) module so that it meters its own instructions.

    Raises `InvalidWasm` if the module cannot be read or uses a reserved export name.
    """
    info = parse_module(wasm)
    for export in info.exports:
        if export.name in (COUNTER_EXPORT, START_EXPORT):
            raise InvalidWasm(f"export name '{export.name}' is reserved for instrumentation")
    imported_funcs = info.imported_functions
    imported_globals = sum(1 for i in info.imports if i.kind == "global")
    helper_type, new_types = _type_index(info, FuncType(("i64",), ("i64",)))
    indices = _Indices(
        counter=imported_globals + len(info.globals),
        charge=len(imported_funcs) + len(info.functions),
        costs=instruction_cost_table(info.is_64),
        call_overhead={
            index: system_api_overhead(imp.name)
            for index, imp in enumerate(imported_funcs)
            if imp.module == IC0_MODULE
        },
        memory_is_64=tuple(m.is_64 for m in info.all_memories),
        table_is_64=tuple(t.is_64 for t in info.all_tables),
    )
    bodies: list[bytes] = []
    needs_helper = False
    instruction_count = 0
    code = next((s for s in info.sections if s.id == CODE), None)
    for body in split_code_section(code.payload) if code else []:
        new_body, uses_helper, count = _instrument_body(body, indices)
        bodies.append(new_body)
        needs_helper |= uses_helper
        instruction_count += count
    if needs_helper:
        bodies.append(_charge_helper(indices.counter))

    exports = [_export_entry(COUNTER_EXPORT, _KIND_GLOBAL, indices.counter)]
    if info.start is not None:
        exports.append(_export_entry(START_EXPORT, _KIND_FUNC, info.start))
    counter_global = _I64 + _MUT + b"\x42\x00\x0b"  # (mut i64) (i64.const 0)
    appended: dict[int, list[bytes]] = {GLOBAL: [counter_global], EXPORT: exports}
    if needs_helper:
        appended[TYPE] = new_types
        appended[FUNCTION] = [encode_unsigned(helper_type)]
    sections = _rebuild(list(info.sections), appended, join_code_section(bodies) if code else None)
    return InstrumentedModule(
        wasm=write_module(sections),
        is_64=info.is_64,
        start_export=START_EXPORT if info.start is not None else None,
        instruction_count=instruction_count,
    )


def _type_index(info: ModuleInfo, wanted: FuncType) -> tuple[int, list[bytes]]:
    """The index of `wanted` in the type section, and the entries to append for it."""
    for index, existing in enumerate(info.types):
        if existing == wanted:
            return index, []
    return len(info.types), [b"\x60\x01" + _I64 + b"\x01" + _I64]


def _export_entry(name: str, kind: bytes, index: int) -> bytes:
    raw = name.encode("utf-8")
    return encode_unsigned(len(raw)) + raw + kind + encode_unsigned(index)


def _rebuild(
    sections: list[Section], appended: dict[int, list[bytes]], code: bytes | None
) -> list[Section]:
    """Append entries to vector sections (creating them in order), drop `start`, swap code."""
    out: list[Section] = []
    for section in sections:
        if section.id == START:
            continue
        if section.id == CODE and code is not None:
            section = Section(CODE, code)
        elif section.id in appended:
            section = Section(
                section.id, _append_entries(section.payload, appended.pop(section.id))
            )
        out.append(section)
    for section_id, entries in appended.items():  # sections the module did not have
        rank = _ORDER.index(section_id)
        position = next(
            (i for i, s in enumerate(out) if s.id != 0 and _ORDER.index(s.id) > rank), len(out)
        )
        out.insert(position, Section(section_id, _append_entries(b"\x00", entries)))
    return out


def _append_entries(payload: bytes, entries: Sequence[bytes]) -> bytes:
    """Append entries to a section that is a vector (count, then the entries)."""
    count, pos = decode_unsigned(payload, 0)
    return encode_unsigned(count + len(entries)) + payload[pos:] + b"".join(entries)


# --- Function bodies ---------------------------------------------------------------------


def _instrument_body(body: bytes, ix: _Indices) -> tuple[bytes, bool, int]:
    """Instrument one function body: (new body, whether it uses the helper, #instructions)."""
    decoded = decode_function_body(body)
    instructions = decoded.instructions
    points, uses_helper = _injection_points(instructions, ix)
    out = bytearray(body[: decoded.code_offset])
    last = decoded.code_offset
    for position, snippet in points:
        offset = instructions[position].offset
        out += body[last:offset]
        out += snippet
        last = offset
    out += body[last:]
    return bytes(out), uses_helper, len(instructions)


def _injection_points(
    instructions: Sequence[Instruction], ix: _Indices
) -> tuple[list[tuple[int, bytes]], bool]:
    """Where to insert which metering code: (instruction position, bytes) in order, and
    whether any of it calls the dynamic-cost helper."""
    costs = ix.costs
    overhead = ix.call_overhead
    points: list[tuple[int, bytes]] = []
    start, reentrant, cost = 0, True, 1  # even an empty function costs 1
    dynamic: list[tuple[int, bytes]] = []
    for position, ins in enumerate(instructions):
        key = ins.op.key
        cost += costs[key]
        if key == _CALL:
            cost += overhead.get(ins.imm[0], 0)  # type: ignore[arg-type]
        elif key in _BULK:
            dynamic.append((position, _dynamic_snippet(key, ins.imm, ix)))
            continue
        if key == _LOOP or key == _IF or key in _ENDS_BLOCK:
            points.append((start, _static_snippet(cost, reentrant, ix.counter)))
            start, reentrant, cost = position + 1, key == _LOOP, 0
    # The block after the function's final `end` is empty: nothing is inserted there.
    points = [(p, s) for p, s in points if s]
    if dynamic:
        points = sorted(points + dynamic, key=lambda point: point[0])
    return points, bool(dynamic)


def _static_snippet(cost: int, reentrant: bool, counter: int) -> bytes:
    """Subtract `cost` from the counter; at re-entrant blocks also trap when it is negative."""
    if cost == 0 and not reentrant:
        return b""
    g = encode_unsigned(counter)
    code = b"\x23" + g + b"\x42" + encode_signed(cost) + b"\x7d\x24" + g  # counter -= cost
    if reentrant:  # if (counter < 0) unreachable
        code += b"\x23" + g + b"\x42\x00\x53\x04" + _EMPTY_BLOCK + b"\x00\x0b"
    return code


def _dynamic_snippet(key: int, imm: tuple[int | bytes, ...], ix: _Indices) -> bytes:
    """Charge the size operand (top of stack) of a bulk operation through the helper."""
    if key == _MEMORY_FILL:
        wide = ix.memory_is_64[int(imm[0])]
    elif key == _MEMORY_COPY:
        wide = ix.memory_is_64[int(imm[0])] and ix.memory_is_64[int(imm[1])]
    elif key == _TABLE_FILL:
        wide = ix.table_is_64[int(imm[0])]
    elif key == _TABLE_COPY:
        wide = ix.table_is_64[int(imm[0])] and ix.table_is_64[int(imm[1])]
    else:  # memory.init, table.init: the size is always an i32
        wide = False
    call = b"\x10" + encode_unsigned(ix.charge)
    if wide:
        return call
    return b"\xad" + call + b"\xa7"  # i64.extend_i32_u; call; i32.wrap_i64


def _charge_helper(counter: int) -> bytes:
    """The body of `(func (param $n i64) (result i64))`: counter -= min_u($n, 2^62).

    Traps with `unreachable` when the counter goes negative; returns `$n` unchanged so
    the bulk instruction still finds its operand.
    """
    g = encode_unsigned(counter)
    cap = b"\x42" + encode_signed(MAX_BUDGET)
    code = (
        b"\x23" + g  # global.get counter
        + b"\x20\x00" + cap + b"\x20\x00" + cap + b"\x54\x1b"  # select(n, cap, n <u cap)
        + b"\x7d\x24" + g  # i64.sub; global.set counter
        + b"\x23" + g + b"\x42\x00\x53\x04" + _EMPTY_BLOCK + b"\x00\x0b"  # trap if < 0
        + b"\x20\x00\x0b"  # local.get n; end
    )  # fmt: skip
    return b"\x00" + code  # no locals besides the parameter


# --- Running instrumented code -----------------------------------------------------------


def _counter(store: wasmtime.Store | wasmtime.Caller, source: object) -> wasmtime.Global:
    """The counter global of an instance (or of the instance a host function runs in)."""
    if isinstance(source, wasmtime.Instance):
        extern = source.exports(store).get(COUNTER_EXPORT)
    elif isinstance(source, wasmtime.Caller):
        extern = source.get(COUNTER_EXPORT)
    else:
        raise TypeError(f"expected a wasmtime Instance or Caller, not {type(source).__name__}")
    if not isinstance(extern, wasmtime.Global):
        raise ValueError("the instance was not instrumented (no instruction counter export)")
    return extern


def set_budget(store: wasmtime.Store | wasmtime.Caller, source: object, budget: int) -> None:
    """Set the instructions the next execution may use (`source`: Instance or Caller)."""
    if not 0 <= budget <= MAX_BUDGET:
        raise ValueError(f"instruction budget {budget} is outside [0, 2^62]")
    _counter(store, source).set_value(store, wasmtime.Val.i64(budget))


def instructions_left(store: wasmtime.Store | wasmtime.Caller, source: object) -> int:
    """The counter: instructions still available (negative once the budget is exceeded)."""
    value = _counter(store, source).value(store)
    assert isinstance(value, int)
    return value


def instructions_used(store: wasmtime.Store | wasmtime.Caller, source: object, budget: int) -> int:
    """Instructions used since the counter was set to `budget` (`performance_counter`).

    Larger than `budget` after running out of instructions (the sandbox charges the limit).
    """
    return budget - instructions_left(store, source)


def is_out_of_instructions(store: wasmtime.Store | wasmtime.Caller, source: object) -> bool:
    """True when the execution exceeded its budget (tells this trap from a canister trap)."""
    return instructions_left(store, source) < 0


def charge(store: wasmtime.Store | wasmtime.Caller, source: object, amount: int) -> None:
    """Charge `amount` instructions from a host function (System API dynamic costs).

    Raises `OutOfInstructions` (which traps the wasm caller) if the budget is exceeded;
    the counter stays negative, so the trap is classified as out of instructions.
    """
    if amount < 0:
        raise ValueError(f"cannot charge a negative amount ({amount})")
    counter = _counter(store, source)
    value = counter.value(store)
    assert isinstance(value, int)
    left = value - min(amount, MAX_BUDGET)
    counter.set_value(store, wasmtime.Val.i64(left))
    if left < 0:
        raise OutOfInstructions(f"instruction limit exceeded while charging {amount}")
