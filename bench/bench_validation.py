"""Benchmark: canister module validation vs wasmtime's own validation and compilation.

Setup: every Motoko module in tests/canisters/build (moc 0.13.6 wasm32 + moc 4.10.0 wasm64,
~210-270 KB each), plus each one gzipped. Baselines measured in the same run with the same
engine: `wasmtime.Module.validate` (the last step of validate_module) and
`wasmtime.Module(engine, wasm)` (a full compile, what installing costs anyway).

    .venv/bin/python bench/bench_validation.py
"""

from __future__ import annotations

import gzip
import statistics
import time
from pathlib import Path

import wasmtime

from replica_core.execution import make_engine, validate_module
from replica_core.execution.wasm_binary import parse_module

BUILD = Path(__file__).resolve().parent.parent / "tests" / "canisters" / "build"


def median_ms(fn, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    engine = make_engine()
    modules = [p.read_bytes() for p in sorted(BUILD.rglob("*.wasm"))]
    gzipped = [gzip.compress(m) for m in modules]
    print(f"{len(modules)} modules, {sum(map(len, modules)) / 1024:.0f} KiB total")
    parse = median_ms(lambda: [parse_module(m) for m in modules])
    wt_validate = median_ms(lambda: [wasmtime.Module.validate(engine, m) for m in modules])
    ours = median_ms(lambda: [validate_module(m, engine=engine) for m in modules])
    ours_gz = median_ms(lambda: [validate_module(m, engine=engine) for m in gzipped])
    compile_ms = median_ms(lambda: [wasmtime.Module(engine, m) for m in modules], repeat=3)
    n = len(modules)
    print(f"parse_module            {parse / n:7.2f} ms/module")
    print(f"wasmtime validate       {wt_validate / n:7.2f} ms/module (baseline)")
    print(f"validate_module         {ours / n:7.2f} ms/module  ratio {ours / wt_validate:.2f}x")
    print(
        f"validate_module (gzip)  {ours_gz / n:7.2f} ms/module  ratio {ours_gz / wt_validate:.2f}x"
    )
    print(
        f"wasmtime compile        {compile_ms / n:7.2f} ms/module  (validation is "
        f"{ours / compile_ms:.1%} of a compile)"
    )


if __name__ == "__main__":
    main()
