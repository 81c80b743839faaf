"""Fixtures for sandbox and System API tests: WAT canisters run through `execute`.

`wat_canister(body, is_64=...)` builds a module from a WAT snippet: every
`call $ic0.<name>` in the snippet gets its `ic0` import declared with the signature for
the pointer width, `{I}` stands for the pointer type (i32 or i64), and a few helpers are
always present (`$reply_blob (ptr, len)`, `$reply_i64 (value)`, `$reply_i32 (value)`,
`$to_i64 (pointer-sized value)`).
The module is validated, compiled through a shared `ModuleCache`, and installed by
`initial_state`; `Harness.run(...)` then executes entry points and keeps the new state.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
import wasmtime

from replica_core.execution.ic0 import signature
from replica_core.execution.interface import (
    Callback,
    Context,
    EntryCall,
    EntryKind,
    Environment,
    ExecutionOutcome,
    ExecutionState,
)
from replica_core.execution.sandbox import CompiledModule, ModuleCache, execute, initial_state
from replica_core.execution.validation import validate_module
from replica_core.principal import Principal

CANISTER_ID = Principal.from_canister_index(7)
SUBNET_ID = Principal(bytes(28) + b"\x02")
CONTROLLER = Principal(b"\x0a\x0b\x0c\x01")
ROOT_KEY = b"\x30\x81\x82" + bytes(130)

_IC0_CALL = re.compile(r"\$ic0\.([a-z0-9_]+)")

_HELPERS = """
  (func $reply_blob (param $ptr {I}) (param $len {I})
    (call $ic0.msg_reply_data_append (local.get $ptr) (local.get $len))
    (call $ic0.msg_reply))
  (func $reply_i64 (param $v i64)
    ({I}.const 65000) (local.get $v) (i64.store)
    (call $reply_blob ({I}.const 65000) ({I}.const 8)))
  (func $to_i64 (param $v {I}) (result i64)
    {TO_I64})
  (func $reply_i32 (param $v i32)
    ({I}.const 65000) (local.get $v) (i32.store)
    (call $reply_blob ({I}.const 65000) ({I}.const 4)))
"""


def make_env(**overrides: Any) -> Environment:
    """An environment for a canister with cycles, a controller and a root key."""
    env = Environment(
        canister_id=CANISTER_ID,
        subnet_id=SUBNET_ID,
        time=1_700_000_000_000_000_000,
        controllers=(CONTROLLER,),
        status=1,
        version=3,
        balance=10**13,
        liquid_balance=10**12,
        certified_data=b"",
        global_timer=0,
        root_key=ROOT_KEY,
    )
    return replace(env, **overrides)


def wat_module(body: str, *, is_64: bool = False, memory_pages: int | None = 1) -> bytes:
    """A Wasm module from a WAT snippet (see the module docstring)."""
    pointer = "i64" if is_64 else "i32"
    to_i64 = "(local.get $v)" if is_64 else "(i64.extend_i32_u (local.get $v))"
    text = (body + _HELPERS).replace("{I}", pointer).replace("{TO_I64}", to_i64)
    imports = []
    for name in sorted(set(_IC0_CALL.findall(text))):
        params, results = signature(name, is_64)
        param_text = f" (param {' '.join(params)})" if params else ""
        result_text = f" (result {' '.join(results)})" if results else ""
        imports.append(f'  (import "ic0" "{name}" (func $ic0.{name}{param_text}{result_text}))')
    memory = ""
    if memory_pages is not None:
        memory = f"  (memory {pointer} {memory_pages})" if is_64 else f"  (memory {memory_pages})"
    return wasmtime.wat2wasm("(module\n" + "\n".join(imports) + "\n" + memory + text + ")")


class Harness:
    """A WAT canister installed in the sandbox; `run` executes and keeps new state."""

    def __init__(self, module: CompiledModule, env: Environment) -> None:
        self.module = module
        self.env = env
        outcome = initial_state(module, env)
        assert outcome.trap is None, outcome.trap
        assert outcome.state is not None
        self.state: ExecutionState = outcome.state

    def run(
        self,
        kind: EntryKind,
        context: Context,
        method: str = "",
        *,
        env: Environment | None = None,
        keep: bool = True,
        **call_fields: Any,
    ) -> ExecutionOutcome:
        call = EntryCall(kind=kind, context=context, method_name=method, **call_fields)
        outcome = execute(self.module, self.state, call, env or self.env)
        if keep and outcome.state is not None:
            self.state = outcome.state
        return outcome

    def update(self, method: str, **fields: Any) -> ExecutionOutcome:
        return self.run(EntryKind.UPDATE, Context.U, method, **fields)

    def query(self, method: str, context: Context = Context.NRQ, **fields: Any) -> ExecutionOutcome:
        return self.run(EntryKind.QUERY, context, method, **fields)

    def callback(
        self, kind: EntryKind, context: Context, fun: int, env_value: int = 0, **fields: Any
    ) -> ExecutionOutcome:
        return self.run(kind, context, callback=Callback(fun, env_value), **fields)


@pytest.fixture(scope="session")
def module_cache() -> ModuleCache:
    return ModuleCache()


@pytest.fixture
def wat_canister(module_cache: ModuleCache) -> Callable[..., Harness]:
    def build(
        body: str,
        *,
        is_64: bool = False,
        memory_pages: int | None = 1,
        env: Environment | None = None,
    ) -> Harness:
        wasm = validate_module(wat_module(body, is_64=is_64, memory_pages=memory_pages)).wasm
        return Harness(module_cache.get(wasm), env or make_env())

    return build


@pytest.fixture
def env_factory() -> Callable[..., Environment]:
    """`make_env`: the default test environment with fields overridden."""
    return make_env
