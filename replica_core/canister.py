"""Canister state: what the subnet knows about each canister.

Spec: IC interface spec 0.66.0, Abstract behavior › Canister state (`S.canisters`,
`S.controllers`, `S.canister_status`, `S.balances`, `S.certified_data`, `S.global_timer`,
`S.canister_version`, `S.canister_history`, ...) and Management canister › Canister settings.

`CanisterState` gathers per canister what the abstract behaviour keeps in separate maps.
Its Wasm side (`ExecutionState`) is immutable and replaced whole after each successful
execution; the system side is mutable and changed only by the scheduler and the management
canister, inside a round, which commits or discards it as a unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from replica_core.execution.interface import ExecutionState, LogRecord
from replica_core.principal import Principal

__all__ = [
    "DEFAULT_FREEZING_THRESHOLD",
    "DEFAULT_RESERVED_CYCLES_LIMIT",
    "MAX_CONTROLLERS",
    "CanisterChange",
    "CanisterSettings",
    "CanisterState",
    "CanisterStatus",
    "InstalledModule",
    "Visibility",
]

MAX_CONTROLLERS = 10
"""At most 10 controllers (spec: Canister settings)."""

DEFAULT_FREEZING_THRESHOLD = 2_592_000
"""Default freezing threshold in seconds, about 30 days (spec: Canister settings)."""

DEFAULT_RESERVED_CYCLES_LIMIT = 5_000_000_000_000
"""Default cap on the reserved cycles balance (spec: Canister settings)."""


class CanisterStatus(Enum):
    """Running, stopping or stopped; the numbers are what `ic0.canister_status` returns."""

    RUNNING = 1
    STOPPING = 2
    STOPPED = 3

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Visibility:
    """Who may see logs, snapshots or status: `controllers`, `public` or `allowed_viewers`."""

    kind: str = "controllers"
    allowed_viewers: tuple[Principal, ...] = ()

    def allows(self, caller: Principal, controllers: tuple[Principal, ...]) -> bool:
        if self.kind == "public":
            return True
        if caller in controllers:
            return True
        return self.kind == "allowed_viewers" and caller in self.allowed_viewers


@dataclass(frozen=True, slots=True)
class CanisterSettings:
    """The definite settings of a canister (spec: `definite_canister_settings`)."""

    controllers: tuple[Principal, ...]
    compute_allocation: int = 0
    memory_allocation: int = 0
    freezing_threshold: int = DEFAULT_FREEZING_THRESHOLD
    reserved_cycles_limit: int = DEFAULT_RESERVED_CYCLES_LIMIT
    minimum_incoming_canister_call_cycles: int = 0
    log_visibility: Visibility = Visibility()
    snapshot_visibility: Visibility = Visibility()
    status_visibility: Visibility = Visibility()
    wasm_memory_limit: int = 0
    wasm_memory_threshold: int = 0
    environment_variables: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class InstalledModule:
    """The code of a non-empty canister: the module as installed, and its hash.

    `wasm` is the module as given to `install_code` (possibly gzipped); `module_hash` is
    its SHA-256, which `/canister/<id>/module_hash` certifies.
    """

    wasm: bytes
    module_hash: bytes


@dataclass(frozen=True, slots=True)
class CanisterChange:
    """One entry of the canister history (spec: `change`), as Candid-ready values."""

    timestamp_nanos: int
    canister_version: int
    origin: dict[str, object]
    details: dict[str, object]


@dataclass(slots=True)
class CanisterState:
    """Everything the subnet keeps about one canister."""

    canister_id: Principal
    settings: CanisterSettings
    status: CanisterStatus = CanisterStatus.RUNNING
    module: InstalledModule | None = None  # None: the canister is empty
    execution: ExecutionState | None = None  # None exactly when `module` is None
    balance: int = 0
    reserved_balance: int = 0
    version: int = 0
    certified_data: bytes = b""
    global_timer: int = 0  # 0: no timer set
    creation_time: int = 0
    last_install_time: int | None = None
    history: list[CanisterChange] = field(default_factory=list)
    total_num_changes: int = 0
    logs: list[LogRecord] = field(default_factory=list)
    next_log_idx: int = 0
    chunk_store: dict[bytes, bytes] = field(default_factory=dict)
    snapshots: dict[bytes, object] = field(default_factory=dict)
    next_snapshot_id: int = 0  # local part of the next snapshot id (management/snapshots.py)
    # `canister_on_low_wasm_memory` hook: "condition_not_satisfied", "ready" or "executed"
    # (the IC's `OnLowWasmMemoryHookStatus`; it fires once per crossing of the threshold)
    low_wasm_memory_hook: str = "condition_not_satisfied"

    @property
    def controllers(self) -> tuple[Principal, ...]:
        return self.settings.controllers

    @property
    def is_empty(self) -> bool:
        return self.module is None

    def is_controller(self, principal: Principal) -> bool:
        return principal in self.settings.controllers
