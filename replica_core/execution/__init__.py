"""Canister execution: reading and validating modules, the ic0 table, and the wasmtime engine.

Spec: IC interface spec 0.66.0, The System API (canister modules, entry points, ic0 imports).

wasmtime is used only inside this package (DESIGN.md › Modules).
"""

from __future__ import annotations

from replica_core.execution.engine import make_engine
from replica_core.execution.ic0 import IC0, Ic0Import, signature
from replica_core.execution.validation import (
    InvalidModule,
    ValidatedModule,
    ValidationLimits,
    validate_module,
)
from replica_core.execution.wasm_binary import InvalidWasm

__all__ = [
    "IC0",
    "Ic0Import",
    "InvalidModule",
    "InvalidWasm",
    "ValidatedModule",
    "ValidationLimits",
    "make_engine",
    "signature",
    "validate_module",
]
