"""Benchmark: per-message overhead of `sandbox.execute`, and metered execution speed.

Setup, all in one process on engines from `make_engine`:

1. Per-message overhead. A WAT canister (one 64 KiB page of memory, one mutable global)
   whose `canister_update ping` and `canister_query peek` reply with a constant 4 bytes
   (`msg_reply_data_append` + `msg_reply`). Measured: µs per message through the full
   `execute` path (fresh store and instance, heap and globals restored, budget set,
   context checks, outcome built; the update also copies the new state out), against a
   baseline of raw wasmtime on the same uninstrumented module: `Store` +
   `InstancePre.instantiate` + calling the same export, with two minimal Python host
   functions. Median of 5 rounds of 2,000 messages each.
2. Metered throughput. `canister_update spin` runs a tight arithmetic loop of 20 M
   iterations through `execute` (instrumented, metered); the baseline is the raw module's
   same export on raw wasmtime. Reported: metered instructions per second (IC cost
   model, from `ExecutionOutcome.instructions`) for both timings, and the ratio
   raw time / metered time (1.0 = no metering cost). Median of 5.

    .venv/bin/python bench/execution_bench.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import wasmtime

from replica_core.execution.engine import make_engine
from replica_core.execution.interface import Context, EntryCall, EntryKind, Environment
from replica_core.execution.sandbox import ModuleCache, execute, initial_state
from replica_core.execution.validation import validate_module
from replica_core.principal import Principal

LOOP_ITERATIONS = 20_000_000
MESSAGES = 2_000
ROUNDS = 5

WAT = f"""(module
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (memory 1)
  (global $calls (mut i32) (i32.const 0))
  (data (i32.const 0) "pong")
  (func $pong (call $append (i32.const 0) (i32.const 4)) (call $reply))
  (func (export "canister_update ping") (call $pong))
  (func (export "canister_query peek") (call $pong))
  (func (export "canister_update spin") (local $i i32) (local $x i32)
    (loop $l
      (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 31)) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const {LOOP_ITERATIONS}))))
    (global.set $calls (local.get $x))
    (call $pong)))
"""


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(repeat):
            run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) / repeat


def raw_runner(
    engine: wasmtime.Engine, wasm_with_exported_memory: bytes
) -> Callable[[str], Callable[[], object]]:
    """Raw wasmtime: instantiate + call an export, host functions doing the minimum."""
    linker = wasmtime.Linker(engine)
    reply: list[bytes] = []

    def append(caller: wasmtime.Caller, src: int, size: int) -> None:
        memory = caller.get("memory")
        assert isinstance(memory, wasmtime.Memory)
        reply.append(bytes(memory.read(caller, src, src + size)))

    def do_reply() -> None:
        reply.clear()

    i32 = wasmtime.ValType.i32()
    linker.define_func("ic0", "msg_reply_data_append", wasmtime.FuncType([i32, i32], []), append, access_caller=True)  # fmt: skip
    linker.define_func("ic0", "msg_reply", wasmtime.FuncType([], []), do_reply)
    # The same module, with its memory exported so the host functions can read it.
    exported = wasmtime.Module(engine, wasm_with_exported_memory)
    pre = linker.instantiate_pre(exported)

    def runner(name: str) -> Callable[[], object]:
        def run() -> object:
            store = wasmtime.Store(engine)
            instance = pre.instantiate(store)
            func = instance.exports(store)[name]
            assert isinstance(func, wasmtime.Func)
            return func(store)

        return run

    return runner


def main() -> None:
    engine = make_engine()
    wasm = validate_module(wasmtime.wat2wasm(WAT)).wasm
    cache = ModuleCache(engine)
    module = cache.get(wasm)
    env = Environment(
        canister_id=Principal.from_canister_index(1),
        subnet_id=Principal(b"\x01"),
        time=1,
        controllers=(),
        status=1,
        version=0,
        balance=10**12,
        liquid_balance=10**12,
        certified_data=b"",
        global_timer=0,
        root_key=b"",
    )
    installed = initial_state(module, env)
    assert installed.state is not None
    state = installed.state
    raw = raw_runner(
        engine, wasmtime.wat2wasm(WAT.replace("(memory 1)", '(memory (export "memory") 1)'))
    )

    print(f"per-message overhead (trivial canister, median of {ROUNDS} x {MESSAGES} messages)")
    for label, kind, context, method in [
        ("update", EntryKind.UPDATE, Context.U, "ping"),
        ("query", EntryKind.QUERY, Context.NRQ, "peek"),
    ]:
        call = EntryCall(kind, context, method)
        outcome = execute(module, state, call, env)
        assert outcome.trap is None and outcome.response is not None
        ours = median_seconds(lambda call=call: execute(module, state, call, env), MESSAGES)
        export = f"canister_{label} {method}"
        baseline = median_seconds(raw(export), MESSAGES)
        print(
            f"  {label:6s}  execute {ours * 1e6:7.1f} µs/message   raw wasmtime "
            f"{baseline * 1e6:6.1f} µs/message   ratio {ours / baseline:4.2f}x"
        )

    spin = EntryCall(EntryKind.UPDATE, Context.U, "spin")
    outcome = execute(module, state, spin, env)
    assert outcome.trap is None, outcome.trap
    instructions = outcome.instructions
    metered = median_seconds(lambda: execute(module, state, spin, env), 1)
    unmetered = median_seconds(raw("canister_update spin"), 1)
    print(f"metered throughput ({LOOP_ITERATIONS:,} loop iterations, median of {ROUNDS})")
    print(
        f"  execute (metered) {metered * 1e3:7.1f} ms  {instructions / metered / 1e9:5.2f} G instr/s"
        f"   raw wasmtime {unmetered * 1e3:7.1f} ms  {instructions / unmetered / 1e9:5.2f} G instr/s"
        f"   metered/raw throughput {unmetered / metered:4.2f}"
    )


if __name__ == "__main__":
    main()
