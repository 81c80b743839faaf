"""Instrumented modules compute what the originals compute and count instructions
deterministically, per basic block, with bulk-memory and ic0 costs, and stop at the budget.

IC interface spec 0.66.0, The System API › `ic0.performance_counter`; resource limits on
instructions (the mechanism follows the IC replica's instrumentation, see metering.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

from replica_core.execution.engine import make_engine
from replica_core.execution.ic0 import IC0
from replica_core.execution.instruction_costs import (
    DEFAULT_SYSTEM_API_OVERHEAD,
    SYSTEM_API_OVERHEAD,
    instruction_cost,
    instruction_cost_table,
    system_api_overhead,
)
from replica_core.execution.metering import (
    COUNTER_EXPORT,
    MAX_BUDGET,
    START_EXPORT,
    OutOfInstructions,
    charge,
    instructions_left,
    instructions_used,
    instrument,
    is_out_of_instructions,
    set_budget,
)
from replica_core.execution.wasm_binary import START, InvalidWasm, parse_module, read_sections
from replica_core.execution.wasm_code import OPCODES

BUDGET = 10**12
ENGINE = make_engine()
CANISTERS = Path(__file__).resolve().parents[2] / "canisters" / "build"


class Runner:
    """One original and one instrumented instance of the same module."""

    def __init__(self, wat: str, engine: wasmtime.Engine = ENGINE, host=None) -> None:
        self.wasm = wasmtime.wat2wasm(wat)
        self.meta = instrument(self.wasm)
        self.engine = engine
        self.host = host or {}
        self.store, self.instance = self._instantiate(self.wasm)
        self.mstore, self.minstance = self._instantiate(self.meta.wasm)

    def _instantiate(self, wasm: bytes):
        store = wasmtime.Store(self.engine)
        linker = wasmtime.Linker(self.engine)
        for (module, name), (functype, fn) in self.host.items():
            linker.define_func(module, name, functype, fn, access_caller=True)
        return store, linker.instantiate(store, wasmtime.Module(self.engine, wasm))

    def original(self, name: str, *args):
        return self.instance.exports(self.store)[name](self.store, *args)

    def metered(self, name: str, *args, budget: int = BUDGET):
        set_budget(self.mstore, self.minstance, budget)
        result = self.minstance.exports(self.mstore)[name](self.mstore, *args)
        return result, instructions_used(self.mstore, self.minstance, budget)

    def cost(self, name: str, *args) -> int:
        return self.metered(name, *args)[1]

    def same(self, name: str, *args):
        """Call both versions; assert equal results; return the instruction count."""
        expected = self.original(name, *args)
        result, used = self.metered(name, *args)
        assert result == expected
        return used


FIB = """(module
  (func $fib (export "fib") (param i32) (result i32)
    local.get 0 i32.const 2 i32.lt_u
    if (result i32) local.get 0
    else local.get 0 i32.const 1 i32.sub call $fib
         local.get 0 i32.const 2 i32.sub call $fib i32.add end)
  (func (export "count") (param $n i32) (result i32) (local $i i32)
    (loop $l local.get $i i32.const 1 i32.add local.tee $i local.get $n i32.lt_u br_if $l)
    local.get $i))"""


def test_instrumented_module_validates_and_exports_the_counter():
    runner = Runner(FIB)
    wasmtime.Module.validate(ENGINE, runner.meta.wasm)
    exports = {e.name: e for e in parse_module(runner.meta.wasm).exports}
    assert exports[COUNTER_EXPORT].kind == "global"
    assert runner.meta.counter_export == COUNTER_EXPORT
    assert runner.meta.is_64 is False and runner.meta.start_export is None


def test_fib_computes_the_same_result_and_costs_grow_with_the_work():
    runner = Runner(FIB)
    costs = [runner.same("fib", n) for n in (10, 15, 20)]
    assert costs[0] < costs[1] < costs[2]
    # fib's call tree grows by φ^5 ≈ 11.09 per +5; the count is per call, so it follows.
    assert 10.5 < costs[2] / costs[1] < 11.5


def test_loop_is_metered_per_iteration_with_the_static_body_cost():
    runner = Runner(FIB)
    # local.get, i32.const, i32.add, local.tee, local.get, i32.lt_u (1 each) + br_if (2)
    body = 6 * 1 + 2
    assert runner.same("count", 2000) - runner.same("count", 1000) == 1000 * body
    # entry block: 1 + loop (0); exit block: local.get + end (0) = 1
    assert runner.same("count", 1000) == 1 + 1000 * body + 1


def test_counts_are_deterministic():
    runner = Runner(FIB)
    first = [runner.cost("fib", 18), runner.cost("count", 777)]
    again = Runner(FIB)
    assert [again.cost("fib", 18), again.cost("count", 777)] == first
    assert [runner.cost("fib", 18), runner.cost("count", 777)] == first
    assert instrument(runner.wasm).wasm == runner.meta.wasm


def test_exceeding_the_budget_traps_as_out_of_instructions():
    runner = Runner(FIB)
    with pytest.raises(wasmtime.Trap):
        runner.metered("count", 10**9, budget=10_000)
    assert is_out_of_instructions(runner.mstore, runner.minstance)
    # the overshoot is at most one loop iteration (checked at every loop header)
    assert -8 <= instructions_left(runner.mstore, runner.minstance) < 0


def test_recursion_is_checked_at_function_entry():
    runner = Runner(FIB)
    with pytest.raises(wasmtime.Trap):
        runner.metered("fib", 30, budget=50_000)
    assert is_out_of_instructions(runner.mstore, runner.minstance)


def test_a_canister_trap_within_budget_is_not_out_of_instructions():
    runner = Runner(
        """(module (func (export "div") (param i32) (result i32) i32.const 1 local.get 0 i32.div_u)
                   (func (export "boom") unreachable))"""
    )
    for name, args in (("div", (0,)), ("boom", ())):
        with pytest.raises(wasmtime.Trap):
            runner.metered(name, *args)
        assert not is_out_of_instructions(runner.mstore, runner.minstance)


def test_exact_budget_is_enough_and_one_less_is_not():
    runner = Runner(FIB)
    needed = runner.cost("count", 100)
    assert runner.metered("count", 100, budget=needed)[0] == 100
    with pytest.raises(wasmtime.Trap):
        runner.metered("count", 100, budget=needed - 9)  # short of the last iteration
    assert is_out_of_instructions(runner.mstore, runner.minstance)


MEMORY_OPS = """(module
  (memory (export "mem") 1)
  (data $d "0123456789abcdef0123456789abcdef")
  (func (export "fill") (param $n i32) (result i32)
    i32.const 16 i32.const 7 local.get $n memory.fill
    i32.const 16 local.get $n i32.add i32.const -1 i32.add i32.load8_u)
  (func (export "copy") (param $n i32) (result i32)
    i32.const 0 i32.const 0x55 i32.const 4096 memory.fill
    i32.const 8192 i32.const 0 local.get $n memory.copy
    i32.const 8192 i32.load)
  (func (export "init") (param $n i32) (result i32)
    i32.const 100 i32.const 0 local.get $n memory.init $d
    i32.const 100 i32.load)
  (func (export "sum") (param $n i32) (result i64) (local $i i32) (local $s i64)
    (loop $l
      local.get $i local.get $i i32.store8
      local.get $s local.get $i i32.load8_u i64.extend_i32_u i64.add local.set $s
      local.get $i i32.const 1 i32.add local.tee $i local.get $n i32.lt_u br_if $l)
    local.get $s))"""


def test_memory_ops_compute_the_same_results():
    runner = Runner(MEMORY_OPS)
    for name, arg in (("fill", 100), ("copy", 64), ("init", 32), ("sum", 300)):
        runner.same(name, arg)


@pytest.mark.parametrize(
    ("name", "small", "large"), [("fill", 10, 60000), ("copy", 1, 4096), ("init", 4, 32)]
)
def test_bulk_memory_cost_scales_with_the_size(name, small, large):
    runner = Runner(MEMORY_OPS)
    assert runner.same(name, large) - runner.same(name, small) == large - small


def test_bulk_memory_size_beyond_the_budget_is_out_of_instructions():
    runner = Runner(MEMORY_OPS)
    with pytest.raises(wasmtime.Trap):
        runner.metered("fill", 60000, budget=5000)
    assert is_out_of_instructions(runner.mstore, runner.minstance)
    # memory was not touched: the charge happens before the fill
    memory = runner.minstance.exports(runner.mstore)["mem"]
    assert memory.read(runner.mstore, 16, 17) == b"\x00"


TABLES = """(module
  (type $unary (func (param i32) (result i32)))
  (table $t 8 funcref)
  (elem $e func $double $square $negate)
  (elem (table $t) (i32.const 0) func $double $square)
  (func $double (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
  (func $square (param i32) (result i32) local.get 0 local.get 0 i32.mul)
  (func $negate (param i32) (result i32) i32.const 0 local.get 0 i32.sub)
  (func (export "apply") (param $f i32) (param $x i32) (result i32)
    local.get $x local.get $f call_indirect (type $unary))
  (func (export "table_ops") (param $n i32) (result i32)
    i32.const 4 ref.func $negate local.get $n table.fill $t
    i32.const 2 i32.const 0 i32.const 2 table.init $t $e
    i32.const 6 i32.const 0 i32.const 2 table.copy $t $t
    table.size $t)
  (func (export "pick") (param $i i32) (result i32)
    (block $c (block $b (block $a local.get $i br_table $a $b $c)
      i32.const 10 return) i32.const 20 return) i32.const 30))"""


def test_call_indirect_tables_and_br_table_behave_the_same():
    runner = Runner(TABLES)
    for f in (0, 1):
        assert runner.same("apply", f, 7) == runner.cost("apply", f, 7)
    runner.same("table_ops", 2)
    for i in (0, 1, 2, 9):
        runner.same("pick", i)
    # after table_ops, slots 4.. hold $negate (filled via ref.func)
    runner.original("table_ops", 2)
    assert runner.original("apply", 4, 5) == -5
    assert runner.metered("apply", 4, 5)[0] == -5


def test_table_fill_cost_scales_with_the_element_count():
    runner = Runner(TABLES)
    assert runner.cost("table_ops", 4) - runner.cost("table_ops", 1) == 3


MULTI_VALUE = """(module
  (type $pair (func (param i32) (result i32 i32)))
  (func $swap (param i32 i32) (result i32 i32) local.get 1 local.get 0)
  (func (export "mv") (param $x i32) (result i32)
    local.get $x
    block (type $pair) (param i32) (result i32 i32) i32.const 3 end
    call $swap i32.sub
    local.get $x
    loop (param i32) (result i32) i32.const 1 i32.add end
    i32.add))"""


def test_multi_value_blocks_and_loops_with_params():
    runner = Runner(MULTI_VALUE)
    for x in (0, 5, 100):
        runner.same("mv", x)


SIMD = """(module (memory 1)
  (func (export "dot") (param $n i32) (result i32) (local $acc v128) (local $i i32)
    (loop $l
      local.get $acc
      local.get $i i32x4.splat v128.const i32x4 1 2 3 4 i32x4.mul
      i32x4.add local.set $acc
      local.get $i i32.const 1 i32.add local.tee $i local.get $n i32.lt_u br_if $l)
    i32.const 0 local.get $acc v128.store
    i32.const 0 v128.load i32.const 0 v128.load
    i8x16.shuffle 4 5 6 7 16 17 18 19 8 9 10 11 12 13 14 15
    i32x4.extract_lane 0))"""


def test_simd_code_computes_the_same_result():
    runner = Runner(SIMD)
    runner.same("dot", 50)
    per_iteration = runner.cost("dot", 51) - runner.cost("dot", 50)
    assert per_iteration == sum(
        instruction_cost(n, False)
        for n in "local.get local.get i32x4.splat v128.const i32x4.mul i32x4.add local.set "
        "local.get i32.const i32.add local.tee local.get i32.lt_u br_if".split()
    )


MEMORY64 = """(module (memory i64 1)
  (func (export "fill") (param $n i64) (result i64)
    i64.const 8 i32.const 9 local.get $n memory.fill
    i64.const 8 local.get $n i64.add i64.const -1 i64.add i64.load8_u)
  (func (export "loads") (param $n i64) (result i64) (local $i i64) (local $s i64)
    (loop $l
      local.get $i local.get $i i64.store
      local.get $s local.get $i i64.load i64.add local.set $s
      local.get $i i64.const 8 i64.add local.tee $i local.get $n i64.lt_u br_if $l)
    local.get $s))"""


def test_memory64_modules_compute_the_same_and_pay_more_per_access():
    runner = Runner(MEMORY64)
    assert runner.meta.is_64
    runner.same("fill", 1000)
    assert runner.cost("fill", 5000) - runner.cost("fill", 1000) == 4000
    runner.same("loads", 800)
    per_iteration = runner.cost("loads", 808) - runner.cost("loads", 800)
    # 2 memory accesses at 2 each, 12 other ops at 1, br_if at 2
    assert per_iteration == 2 * 2 + 12 + 2


def test_memory64_fill_larger_than_any_budget_is_out_of_instructions():
    runner = Runner(MEMORY64)
    with pytest.raises(wasmtime.Trap):
        runner.metered("fill", 2**63 + 5)  # huge unsigned size: capped, no wrap-around
    assert is_out_of_instructions(runner.mstore, runner.minstance)


def _tail_call_engine() -> wasmtime.Engine:
    config = wasmtime.Config()
    config.wasm_tail_call = True
    return wasmtime.Engine(config)


def test_tail_calls_are_metered_at_each_entry():
    runner = Runner(
        """(module (func $down (export "down") (param i32) (result i32)
             local.get 0 i32.eqz if (result i32) i32.const 42
             else local.get 0 i32.const 1 i32.sub return_call $down end))""",
        engine=_tail_call_engine(),
    )
    runner.same("down", 100)
    assert runner.cost("down", 200) > runner.cost("down", 100)
    with pytest.raises(wasmtime.Trap):
        runner.metered("down", 10**8, budget=5000)
    assert is_out_of_instructions(runner.mstore, runner.minstance)


def _ic0_host(seen: list[int]):
    def performance_counter(caller, kind):
        seen.append(BUDGET - instructions_left(caller, caller))
        return seen[-1]

    def debug_print(caller, src, size):
        charge(caller, caller, size)  # a dynamic, per-byte System API cost

    i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
    return {
        ("ic0", "performance_counter"): (wasmtime.FuncType([i32], [i64]), performance_counter),
        ("ic0", "debug_print"): (wasmtime.FuncType([i32, i32], []), debug_print),
    }


IC0_CALLS = """(module
  (import "ic0" "performance_counter" (func $pc (param i32) (result i64)))
  (import "ic0" "debug_print" (func $print (param i32 i32)))
  (memory 1)
  (func (export "twice") (result i64) i32.const 0 call $pc drop i32.const 0 call $pc)
  (func (export "print") (param $n i32) i32.const 0 local.get $n call $print))"""


def test_ic0_calls_pay_the_system_api_overhead_and_host_charges_are_counted():
    seen: list[int] = []
    runner = Runner(IC0_CALLS, host=_ic0_host(seen))
    runner.metered("twice")
    pc_call = 1 + 5 + system_api_overhead("performance_counter")  # i32.const, call, overhead
    # the whole block is charged on entry: both calls see the same counter
    assert seen[0] == seen[1] == 1 + 2 * pc_call + 1  # + entry 1, drop 1, end 0
    print_cost = runner.cost("print", 0)
    assert print_cost == 1 + 1 + 1 + 5 + system_api_overhead("debug_print")
    assert runner.cost("print", 700) == print_cost + 700


def test_host_charge_beyond_the_budget_traps_as_out_of_instructions():
    runner = Runner(IC0_CALLS, host=_ic0_host([]))
    # wasmtime-py re-raises a host function's exception to the caller of the export
    with pytest.raises(OutOfInstructions):
        runner.metered("print", 10_000, budget=1_000)
    assert is_out_of_instructions(runner.mstore, runner.minstance)


def test_charge_outside_wasm_raises_out_of_instructions():
    runner = Runner(FIB)
    set_budget(runner.mstore, runner.minstance, 100)
    charge(runner.mstore, runner.minstance, 60)
    assert instructions_left(runner.mstore, runner.minstance) == 40
    with pytest.raises(OutOfInstructions):
        charge(runner.mstore, runner.minstance, 41)
    assert is_out_of_instructions(runner.mstore, runner.minstance)


IMPORTS_AND_NAMES = """(module $m
  (import "env" "g" (global $imported i32))
  (import "env" "f" (func $host (param i32) (result i32)))
  (type $t (func (param i64) (result i64)))
  (table 2 funcref)
  (elem (i32.const 0) func $inc $host)
  (global $mine (mut i32) (i32.const 5))
  (func $inc (param $x i32) (result i32) local.get $x global.get $imported i32.add)
  (func $start global.get $mine i32.const 10 i32.mul global.set $mine)
  (func (export "via_table") (param i32 i32) (result i32)
    local.get 1 local.get 0 call_indirect (param i32) (result i32))
  (func (export "mine") (result i32) global.get $mine)
  (func (export "wide") (param i64) (result i64) local.get 0)
  (start $start))"""


def _env_host():
    i32 = wasmtime.ValType.i32()
    return {("env", "f"): (wasmtime.FuncType([i32], [i32]), lambda caller, x: x * 3)}


class ImportsRunner(Runner):
    def _instantiate(self, wasm):
        store = wasmtime.Store(self.engine)
        linker = wasmtime.Linker(self.engine)
        linker.define(
            store,
            "env",
            "g",
            wasmtime.Global(store, wasmtime.GlobalType(wasmtime.ValType.i32(), False), 100),
        )
        for (module, name), (functype, fn) in self.host.items():
            linker.define_func(module, name, functype, fn, access_caller=True)
        return store, linker.instantiate(store, wasmtime.Module(self.engine, wasm))


def test_imports_elements_globals_start_and_names_keep_their_indices():
    runner = ImportsRunner(IMPORTS_AND_NAMES, host=_env_host())
    meta = runner.meta
    assert meta.start_export == START_EXPORT
    assert all(s.id != START for s in read_sections(meta.wasm))
    assert any(s.name == "name" for s in read_sections(meta.wasm))
    info = parse_module(meta.wasm)
    counter = next(e for e in info.exports if e.name == COUNTER_EXPORT)
    assert counter.index == 2  # after the imported global and $mine
    assert info.types.count(info.types[1]) == 1  # the (i64) -> (i64) type was not duplicated
    # the start function did not run at instantiation; it runs when called, metered
    assert runner.original("mine") == 50
    assert runner.metered("mine")[0] == 5
    set_budget(runner.mstore, runner.minstance, BUDGET)
    runner.minstance.exports(runner.mstore)[START_EXPORT](runner.mstore)
    assert runner.metered("mine")[0] == 50
    for slot, x in ((0, 1), (1, 7)):
        runner.same("via_table", slot, x)
    runner.same("wide", 2**40)


def test_out_of_instructions_in_the_start_function():
    runner = ImportsRunner(IMPORTS_AND_NAMES, host=_env_host())
    set_budget(runner.mstore, runner.minstance, 3)
    with pytest.raises(wasmtime.Trap):
        runner.minstance.exports(runner.mstore)[START_EXPORT](runner.mstore)
    assert is_out_of_instructions(runner.mstore, runner.minstance)


def test_modules_without_globals_exports_or_code_get_the_counter():
    for wat in ("(module)", "(module (memory 1))", "(module (func))"):
        meta = instrument(wasmtime.wat2wasm(wat))
        instance = wasmtime.Instance(
            store := wasmtime.Store(ENGINE), wasmtime.Module(ENGINE, meta.wasm), []
        )
        set_budget(store, instance, 7)
        assert instructions_left(store, instance) == 7


def test_reserved_export_names_are_rejected():
    with pytest.raises(InvalidWasm, match="reserved"):
        instrument(wasmtime.wat2wasm('(module (func (export "canister_start")))'))
    with pytest.raises(InvalidWasm, match="reserved"):
        instrument(
            wasmtime.wat2wasm(
                '(module (global (export "canister counter_instructions") i32 (i32.const 0)))'
            )
        )


def test_budget_must_be_between_zero_and_the_maximum():
    runner = Runner(FIB)
    for bad in (-1, MAX_BUDGET + 1):
        with pytest.raises(ValueError, match="budget"):
            set_budget(runner.mstore, runner.minstance, bad)
    with pytest.raises(ValueError, match="not instrumented"):
        set_budget(runner.store, runner.instance, 1)


def test_every_opcode_and_every_ic0_import_has_a_cost():
    for is_64 in (False, True):
        table = instruction_cost_table(is_64)
        assert set(table) == set(OPCODES)
        assert all(cost >= 0 for cost in table.values())
    assert instruction_cost("i32.div_u", False) == 10
    assert instruction_cost("i64.load", False) == 1 and instruction_cost("i64.load", True) == 2
    assert instruction_cost("v128.load8_lane", True) == 2
    assert instruction_cost("memory.grow", False) == 300
    assert instruction_cost("loop", False) == 0
    for name in IC0:
        assert system_api_overhead(name) > 0
    assert set(SYSTEM_API_OVERHEAD) <= set(IC0)
    assert system_api_overhead("call_perform") == 5_000
    assert system_api_overhead("env_var_count") == DEFAULT_SYSTEM_API_OVERHEAD


MOTOKO = sorted(CANISTERS.glob("**/*.wasm")) if CANISTERS.is_dir() else []


@pytest.mark.skipif(not MOTOKO, reason="tests/canisters/build has no compiled canisters")
@pytest.mark.parametrize("path", MOTOKO, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_motoko_canisters_instrument_into_valid_modules(path):
    wasm = path.read_bytes()
    meta = instrument(wasm)
    wasmtime.Module.validate(ENGINE, meta.wasm)
    before = parse_module(wasm)
    after = parse_module(meta.wasm)
    assert after.imports == before.imports
    assert [e for e in after.exports if e.name not in (COUNTER_EXPORT, START_EXPORT)] == list(
        before.exports
    )
    assert meta.is_64 == before.is_64


def _run_start_and_init(meta) -> list[int]:
    """Run a canister's start function and canister_init with do-nothing ic0 stubs."""
    module = wasmtime.Module(ENGINE, meta.wasm)
    store, linker = wasmtime.Store(ENGINE), wasmtime.Linker(ENGINE)
    for imp in module.imports:
        results = imp.type.results

        def stub(*args, _results=results):
            return 0 if len(_results) == 1 else None

        linker.define_func(imp.module, imp.name, imp.type, stub)
    instance = linker.instantiate(store, module)
    counts = []
    for export in (meta.start_export, "canister_init"):
        function = instance.exports(store).get(export) if export else None
        if function is None:
            continue
        set_budget(store, instance, BUDGET)
        try:
            function(store)
        except (wasmtime.Trap, wasmtime.WasmtimeError):
            pass  # the stubs are not a System API; the count up to the trap still counts
        counts.append(instructions_used(store, instance, BUDGET))
    return counts


@pytest.mark.skipif(not MOTOKO, reason="tests/canisters/build has no compiled canisters")
@pytest.mark.parametrize("path", MOTOKO[:4], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_motoko_start_and_init_are_metered_deterministically(path):
    meta = instrument(path.read_bytes())
    first = _run_start_and_init(meta)
    assert first and all(count > 0 for count in first)
    assert _run_start_and_init(meta) == first
