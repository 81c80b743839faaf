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
3. A warm instance growing old. The Motoko counter (`tests/canisters/build/<flavour>/
   counter.wasm`) is installed (start + `canister_init`), then `inc` runs `--warm-messages`
   times (default 20,000) through `execute`, each on the state the previous one produced,
   so every message after the first reuses the warm instance. Done twice in the same
   process: with exact write tracking (`write_tracking.py`: userfaultfd async write
   protection + PAGEMAP_SCAN) and with it off (`ModuleCache(write_tracking=False)`: the
   page-table tracker, which flags every page the instance ever wrote). Reported:
   µs/message over the first and the last 1,000 messages of each run, and the ratio
   tracked / page-table for each window.

    .venv/bin/python bench/execution_bench.py [--warm-messages 20000] [--flavour base]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import wasmtime

from replica_core.candid import decode
from replica_core.execution.engine import make_engine
from replica_core.execution.interface import Context, EntryCall, EntryKind, Environment
from replica_core.execution.sandbox import ModuleCache, execute, initial_state
from replica_core.execution.validation import validate_module
from replica_core.principal import Principal

LOOP_ITERATIONS = 20_000_000
MESSAGES = 2_000
ROUNDS = 5
WINDOW = 1_000  # messages per reported window of the warm-instance run
BUILD = Path(__file__).resolve().parents[1] / "tests" / "canisters" / "build"
EMPTY_ARGS = b"DIDL\x00\x00"

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


def warm_counter(
    engine: wasmtime.Engine, env: Environment, wasm: bytes, messages: int, *, tracking: bool
) -> tuple[float, float, int, bool]:
    """µs/message over the first and the last `WINDOW` `inc` messages on one warm
    instance, the final heap size, and whether exact write tracking was in use."""
    cache = ModuleCache(engine, write_tracking=tracking)
    module = cache.get(wasm)
    installed = initial_state(module, env)
    assert installed.state is not None, installed.trap
    init = execute(
        module, installed.state, EntryCall(EntryKind.INIT, Context.I, arg=EMPTY_ARGS), env
    )
    assert init.state is not None, init.trap
    state = init.state
    call = EntryCall(EntryKind.UPDATE, Context.U, "inc", arg=EMPTY_ARGS)
    windows: list[float] = []
    start = time.perf_counter()
    for done in range(1, messages + 1):
        outcome = execute(module, state, call, env)
        assert outcome.state is not None, outcome.trap
        state = outcome.state
        if done % WINDOW == 0:
            now = time.perf_counter()
            windows.append((now - start) / WINDOW)
            start = now
    assert outcome.response is not None
    assert decode(outcome.response.payload) == [messages], "counter lost an increment"
    return windows[0], windows[-1], len(state.heap), cache.runtime.write_tracker is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-messages", type=int, default=20_000)
    parser.add_argument("--flavour", default="base", choices=("base", "core"))
    args = parser.parse_args()
    if args.warm_messages < WINDOW:
        parser.error(f"--warm-messages must be at least {WINDOW}")
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

    counter = validate_module((BUILD / args.flavour / "counter.wasm").read_bytes()).wasm
    messages = args.warm_messages
    print(
        f"warm instance: moc counter inc ({args.flavour}), {messages:,} messages, "
        f"µs/message over the first and last {WINDOW:,}"
    )
    results = {}
    for tracking in (True, False):
        first, last, heap, used = warm_counter(engine, env, counter, messages, tracking=tracking)
        label = "write tracking" if tracking else "page table    "
        if tracking and not used:
            label = "write tracking (unavailable here: page table)"
        results[tracking] = (first, last)
        print(
            f"  {label}  first {first * 1e6:6.1f}   last {last * 1e6:6.1f}   "
            f"last/first {last / first:4.2f}   heap {heap / 2**20:.1f} MiB"
        )
    (new_first, new_last), (old_first, old_last) = results[True], results[False]
    print(
        f"  tracked / page table: first {new_first / old_first:4.2f}x   "
        f"last {new_last / old_last:4.2f}x"
    )


if __name__ == "__main__":
    main()
