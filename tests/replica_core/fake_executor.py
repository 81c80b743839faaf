"""A test double for `execution/sandbox.py`: canisters whose methods are Python functions.

`FakeExecutor` implements the `Executor` contract (`compile`, `execute`). A "module" is the
bytes key of a program registered with `FakeExecutor.program(name, methods)`; each method
is `fn(call, env, state) -> ExecutionOutcome`. Heap bytes carry a counter so tests can
see state changes and rollbacks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from replica_core.canister import CanisterSettings, CanisterState, InstalledModule
from replica_core.execution.interface import (
    EntryCall,
    EntryKind,
    Environment,
    ExecutionOutcome,
    ExecutionState,
    Trap,
    TrapKind,
)
from replica_core.principal import Principal

Handler = Callable[[EntryCall, Environment, ExecutionState], ExecutionOutcome]
INSTRUCTIONS = 1_000  # every fake execution "uses" this many instructions


@dataclass
class FakeInfo:
    update_methods: frozenset[str]
    query_methods: frozenset[str]
    composite_query_methods: frozenset[str] = frozenset()
    system_entry_points: frozenset[str] = frozenset()
    is_64: bool = False
    public_metadata: dict[str, bytes] = field(default_factory=dict)
    private_metadata: dict[str, bytes] = field(default_factory=dict)


class FakeExecutor:
    def __init__(self) -> None:
        self.programs: dict[bytes, dict[str, Handler]] = {}
        self.log: list[tuple[Principal, str]] = []

    def program(self, name: str, methods: dict[str, Handler]) -> bytes:
        key = b"fake:" + name.encode()
        self.programs[key] = methods
        return key

    def validated(self, wasm: bytes) -> FakeInfo:
        methods = self.programs[wasm]
        system = {m for m in methods if m.startswith("canister_")}
        queries = {m[6:] for m in methods if m.startswith("query ")}
        updates = {m for m in methods if " " not in m and m not in system and m[0] != "@"}
        return FakeInfo(
            frozenset(updates),
            frozenset(queries),
            system_entry_points=frozenset(system),
            public_metadata={"candid:service": b"service : {}"} if "@meta" in methods else {},
        )

    def compile(self, wasm: bytes) -> bytes:
        return wasm

    def execute(
        self, module: object, state: ExecutionState, call: EntryCall, env: Environment
    ) -> ExecutionOutcome:
        assert isinstance(module, bytes)
        methods = self.programs[module]
        if call.kind in (EntryKind.UPDATE,):
            key = call.method_name
        elif call.kind is EntryKind.QUERY:
            key = "query " + call.method_name
        elif call.kind in (EntryKind.REPLY_CALLBACK, EntryKind.REJECT_CALLBACK, EntryKind.CLEANUP):
            assert call.callback is not None
            key = f"@{call.kind.value}:{call.callback.fun}"
        else:
            key = call.kind.value
        self.log.append((env.canister_id, key))
        handler = methods.get(key)
        if handler is None:
            return ExecutionOutcome(
                Trap(TrapKind.NO_EXPORT, f"no export {key}"), None, instructions=INSTRUCTIONS
            )
        out = handler(call, env, state)
        return out if out.instructions else _with_instructions(out)


def _with_instructions(out: ExecutionOutcome) -> ExecutionOutcome:
    from dataclasses import replace

    return replace(out, instructions=INSTRUCTIONS)


def install(
    subnet: object,
    wasm: bytes,
    balance: int = 10**14,
    index: int | None = None,
    controllers: tuple[Principal, ...] = (),
) -> Principal:
    """Put a canister running `wasm` straight into a subnet's working state (pre-management)."""
    state = subnet.state  # type: ignore[attr-defined]
    idx = index if index is not None else len(state.canisters)
    cid = Principal.from_canister_index(idx)
    canister = CanisterState(
        cid,
        CanisterSettings(controllers=controllers),
        balance=balance,
        module=InstalledModule(wasm, hashlib.sha256(wasm).digest()),
        execution=ExecutionState(b"\x00", (), b""),
        creation_time=state.time,
        last_install_time=state.time,
    )
    state.add_canister(canister)
    return cid


def counter(state: ExecutionState) -> int:
    return state.heap[0]


def bump(state: ExecutionState) -> ExecutionState:
    return ExecutionState(bytes([state.heap[0] + 1]), state.globals, state.stable_memory)
