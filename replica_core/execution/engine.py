"""The one wasmtime configuration used to validate, compile and run canister modules.

Spec: IC interface spec 0.66.0, The System API › WebAssembly module requirements (memory64
modules are allowed; execution must be deterministic).

Determinism settings follow the IC replica's embedder (impl): NaN canonicalisation on,
relaxed SIMD and threads off; proposals the IC does not accept (GC, function references,
tail calls, multi-memory, exceptions, custom page sizes, wide arithmetic, stack switching)
are off, so a module wasmtime accepts here is one the IC would also compile.
Compiled modules only load into an engine with the same configuration, so every part of
the replica (validation, sandbox) should use engines built by `make_engine`.
"""

from __future__ import annotations

import wasmtime

__all__ = ["make_engine"]


def make_engine(*, consume_fuel: bool = False) -> wasmtime.Engine:
    """Build a wasmtime engine with the replica's configuration.

    `consume_fuel` is off by default: instructions are counted by instrumentation
    (`metering.py`), not by wasmtime fuel.
    """
    config = wasmtime.Config()
    config.cranelift_nan_canonicalization = True  # determinism (IC: NaN canonicalisation)
    config.wasm_memory64 = True  # wasm64 canisters (Motoko ≥ 0.14 emits them)
    config.wasm_threads = False
    config.shared_memory = False
    config.wasm_relaxed_simd = False  # implementation-defined results: not deterministic
    config.wasm_simd = True
    config.wasm_bulk_memory = True
    config.wasm_reference_types = True
    config.wasm_multi_value = True
    config.wasm_multi_memory = False
    config.wasm_gc = False
    config.wasm_function_references = False
    config.wasm_tail_call = False
    config.wasm_exceptions = False
    config.wasm_custom_page_sizes = False
    config.wasm_wide_arithmetic = False
    config.wasm_stack_switching = False
    config.consume_fuel = consume_fuel
    return wasmtime.Engine(config)
