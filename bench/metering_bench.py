"""Benchmark: instruction metering by instrumentation vs wasmtime fuel vs no metering.

Setup: five WAT workloads, each run in the same process on engines from `make_engine`:

* tight   — `i += 1; br_if (i < n)`: the smallest possible loop (worst case for metering:
            raw Cranelift code is `add; cmp; jb`, one cycle per iteration);
* while   — a `block/loop` while-loop summing `i` (15 operators per iteration including
            `block`, `loop`, `br_if`, `br`: the loop dependencies.md §2 measured fuel on);
* mixing  — a sha-like round on 4 i32 locals (add, xor, rotl, shl) per iteration;
* memory  — a loop that loads, mixes and stores a 64 KiB buffer word by word;
* fib     — recursive fib(27): call-heavy, one block check per call.

Variants: (a) raw wasmtime, (b) wasmtime fuel (`consume_fuel`, 1 fuel per operator),
(c) our instrumentation (`metering.instrument`, counter global). "instructions/s" is the
metered instruction count of the run (from (c), IC cost model) divided by each variant's
time, so ratios (b)/(a) and (c)/(a) are throughput relative to the raw run. Each
measurement is the median of 7 calls on a fresh store/instance.

    .venv/bin/python bench/metering_bench.py
"""

from __future__ import annotations

import statistics
import time

import wasmtime

from replica_core.execution.engine import make_engine
from replica_core.execution.metering import instructions_used, instrument, set_budget

WORKLOADS: dict[str, tuple[str, int]] = {
    "tight": (
        """(module (func (export "run") (param $n i32) (result i32) (local $i i32)
             (loop $l local.get $i i32.const 1 i32.add local.tee $i local.get $n i32.lt_u
                      br_if $l)
             local.get $i))""",
        50_000_000,
    ),
    "while": (
        """(module (func (export "run") (param $n i32) (result i32) (local $i i32)
             (local $acc i32)
             (block $exit (loop $l
               local.get $i local.get $n i32.ge_u br_if $exit
               local.get $acc local.get $i i32.add local.set $acc
               local.get $i i32.const 1 i32.add local.set $i
               br $l))
             local.get $acc))""",
        50_000_000,
    ),
    "mixing": (
        """(module (func (export "run") (param $n i32) (result i32)
             (local $i i32) (local $a i32) (local $b i32) (local $c i32) (local $d i32)
             i32.const 0x6a09e667 local.set $a i32.const 0xbb67ae85 local.set $b
             i32.const 0x3c6ef372 local.set $c i32.const 0xa54ff53a local.set $d
             (loop $l
               local.get $a local.get $b i32.add local.get $i i32.xor local.set $a
               local.get $d local.get $a i32.xor i32.const 16 i32.rotl local.set $d
               local.get $c local.get $d i32.add local.set $c
               local.get $b local.get $c i32.xor i32.const 12 i32.rotl local.set $b
               local.get $a local.get $b i32.const 3 i32.shl i32.add local.set $a
               local.get $i i32.const 1 i32.add local.tee $i local.get $n i32.lt_u br_if $l)
             local.get $a local.get $b i32.xor local.get $c i32.xor local.get $d i32.xor))""",
        10_000_000,
    ),
    "memory": (
        """(module (memory 2)
           (func (export "run") (param $n i32) (result i32) (local $r i32) (local $p i32)
             (local $acc i32)
             (loop $rounds
               i32.const 0 local.set $p
               (loop $words
                 local.get $p
                 local.get $p i32.load local.get $acc i32.add i32.const 0x9e3779b9 i32.mul
                 local.tee $acc
                 i32.store
                 local.get $p i32.const 4 i32.add local.tee $p i32.const 65536 i32.lt_u
                 br_if $words)
               local.get $r i32.const 1 i32.add local.tee $r local.get $n i32.lt_u
               br_if $rounds)
             local.get $acc))""",
        300,
    ),
    "fib": (
        """(module (func $fib (export "run") (param i32) (result i32)
             local.get 0 i32.const 2 i32.lt_u
             if (result i32) local.get 0
             else local.get 0 i32.const 1 i32.sub call $fib
                  local.get 0 i32.const 2 i32.sub call $fib i32.add end))""",
        27,
    ),
}

REPEAT = 7
BUDGET = 10**15


def time_variant(engine: wasmtime.Engine, wasm: bytes, arg: int, mode: str) -> tuple[float, int]:
    """Median seconds of `run(arg)`, and the result (checked equal across variants)."""
    module = wasmtime.Module(engine, wasm)
    times, result = [], None
    for _ in range(REPEAT):
        store = wasmtime.Store(engine)
        if mode == "fuel":
            store.set_fuel(BUDGET)
        instance = wasmtime.Instance(store, module, [])
        if mode == "metered":
            set_budget(store, instance, BUDGET)
        run = instance.exports(store)["run"]
        start = time.perf_counter()
        result = run(store, arg)
        times.append(time.perf_counter() - start)
    assert isinstance(result, int)
    return statistics.median(times), result


def main() -> None:
    raw_engine = make_engine()
    fuel_engine = make_engine(consume_fuel=True)
    print(f"median of {REPEAT} runs each; instructions = IC cost model count of the run")
    header = f"{'workload':8} {'instructions':>13} {'raw Minstr/s':>13} {'fuel':>9} {'ours':>9}"
    print(header + f" {'fuel/raw':>9} {'ours/raw':>9}")
    for name, (wat, arg) in WORKLOADS.items():
        wasm = wasmtime.wat2wasm(wat)
        metered = instrument(wasm).wasm
        raw_time, expected = time_variant(raw_engine, wasm, arg, "raw")
        fuel_time, fuel_result = time_variant(fuel_engine, wasm, arg, "fuel")
        ours_time, ours_result = time_variant(raw_engine, metered, arg, "metered")
        assert fuel_result == ours_result == expected, name
        store = wasmtime.Store(raw_engine)
        instance = wasmtime.Instance(store, wasmtime.Module(raw_engine, metered), [])
        set_budget(store, instance, BUDGET)
        instance.exports(store)["run"](store, arg)
        count = instructions_used(store, instance, BUDGET)
        rate = [count / t / 1e6 for t in (raw_time, fuel_time, ours_time)]
        print(
            f"{name:8} {count:13,} {rate[0]:13,.0f} {rate[1]:9,.0f} {rate[2]:9,.0f}"
            f" {raw_time / fuel_time:9.2f} {raw_time / ours_time:9.2f}"
        )


if __name__ == "__main__":
    main()
