"""Test doubles for the management canister: a `ManagementContext` over a dict of canisters
(with the subnet's real sandbox executor) and helpers to call methods with Candid values."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pytest

from replica_core.canister import CanisterSettings, CanisterState
from replica_core.cycles import APPLICATION_SUBNET_FEES, FeeTable, freezing_limit
from replica_core.errors import Reject
from replica_core.execution.interface import (
    Environment,
    Reply,
)
from replica_core.management import dispatch
from replica_core.management.candid_types import decode_result, encode_arg
from replica_core.principal import CanisterRange, Principal
from replica_core.subnet import SandboxExecutor

USER = Principal.self_authenticating(b"\x30\x2a" + bytes(42))
OTHER = Principal.self_authenticating(b"\x30\x2a" + bytes([1]) * 42)
SUBNET_ID = Principal(bytes(28) + b"\x02")


@dataclass
class FakeContext:
    """A `ManagementContext` over a plain dict; records what the scheduler would do."""

    executor: Any
    time: int = 1_700_000_000_000_000_000
    subnet_id: Principal = SUBNET_ID
    subnet_type: str = "application"
    canister_ranges: tuple[CanisterRange, ...] = (CanisterRange.of_indices(0, 0xFFFF),)
    fees: FeeTable = APPLICATION_SUBNET_FEES
    root_key: bytes = b""
    replicated: bool = True
    subnet_admins: tuple[Principal, ...] = ()
    is_ingress: bool = True
    canisters: dict[Principal, CanisterState] = field(default_factory=dict)
    accepted: int = 0
    open_contexts: dict[Principal, int] = field(default_factory=dict)
    rejected_contexts: list[tuple[Principal, Reject]] = field(default_factory=list)
    rejected_stops: list[tuple[Principal, Reject]] = field(default_factory=list)
    instructions_charged: int = 0
    next_index: int = 0
    random_counter: int = 0

    def get_canister(self, canister_id: Principal) -> CanisterState | None:
        return self.canisters.get(canister_id)

    def canister_ids(self) -> list[Principal]:
        return sorted(self.canisters)

    def create_canister(
        self, settings: CanisterSettings, balance: int, specified_id: Principal | None = None
    ) -> CanisterState | Reject:
        if specified_id is not None:
            if specified_id in self.canisters:
                return Reject(2, f"Canister {specified_id} is already installed.", "IC0205")
            canister_id = specified_id
        else:
            canister_id = Principal.from_canister_index(self.next_index)
            self.next_index += 1
        canister = CanisterState(canister_id, settings, balance=balance, creation_time=self.time)
        self.canisters[canister_id] = canister
        return canister

    def delete_canister(self, canister_id: Principal) -> None:
        del self.canisters[canister_id]

    def accept_cycles(self, amount: int) -> None:
        self.accepted += amount

    def freezing_limit(self, canister: CanisterState) -> int:
        return freezing_limit(canister, self.fees)

    def charge(self, canister: CanisterState, amount: int) -> Reject | None:
        canister.balance -= amount
        return None

    def random_bytes(self, n: int) -> bytes:
        self.random_counter += 1
        return hashlib.sha256(self.random_counter.to_bytes(8, "big")).digest()[:n]

    def environment(self, canister: CanisterState) -> Environment:
        return Environment(
            canister_id=canister.canister_id,
            subnet_id=self.subnet_id,
            time=self.time,
            controllers=canister.controllers,
            status=canister.status.value,
            version=canister.version,
            balance=canister.balance,
            liquid_balance=canister.balance,
            certified_data=canister.certified_data,
            global_timer=canister.global_timer,
            root_key=self.root_key,
            wasm_memory_limit=canister.settings.wasm_memory_limit,
        )

    def charge_instructions(
        self, canister: CanisterState, instructions: int, *, wasm64: bool = False
    ) -> None:
        self.instructions_charged += instructions
        cost = self.fees.execution_cost(instructions, wasm64=wasm64)
        canister.balance -= min(cost, canister.balance)

    def open_call_contexts(self, canister_id: Principal) -> int:
        return self.open_contexts.get(canister_id, 0)

    def reject_call_contexts(self, canister_id: Principal, reject: Reject) -> None:
        self.rejected_contexts.append((canister_id, reject))

    def reject_stop_calls(self, canister_id: Principal, reject: Reject) -> None:
        self.rejected_stops.append((canister_id, reject))


@pytest.fixture(scope="session")
def executor() -> SandboxExecutor:
    """The subnet's executor over the real sandbox (shared: it only caches modules)."""
    return SandboxExecutor()


@pytest.fixture
def ctx(executor: SandboxExecutor) -> FakeContext:
    return FakeContext(executor=executor)


def _call(
    self: FakeContext,
    method: str,
    arg: Any = None,
    caller: Principal = USER,
    cycles: int = 0,
    *,
    ingress: bool | None = None,
) -> Any:
    """Call `method` with a Candid-encoded `arg`; the decoded reply value, or the reject."""
    if ingress is not None:
        self.is_ingress = ingress
    result = dispatch(self, method, encode_arg(method, arg), caller, cycles)
    if isinstance(result, Reply):
        return decode_result(method, result.payload)
    return result


def _create(
    self: FakeContext, caller: Principal = USER, balance: int = 10**15, **settings: Any
) -> CanisterState:
    """A fresh canister (provisional creation) controlled by `caller`."""
    raw_settings = {k: [v] for k, v in settings.items()}
    result = self.call(
        "provisional_create_canister_with_cycles",
        {"amount": [balance], "settings": [raw_settings] if raw_settings else []},
        caller,
    )
    assert not isinstance(result, Reject), result
    return self.canisters[result["canister_id"]]


FakeContext.call = _call  # type: ignore[attr-defined]
FakeContext.create = _create  # type: ignore[attr-defined]
FakeContext.USER = USER  # type: ignore[attr-defined]
FakeContext.OTHER = OTHER  # type: ignore[attr-defined]
