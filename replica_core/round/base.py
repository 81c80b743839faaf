"""The scheduler's shared ground: the round's input, the subnet constants, running an entry point.

Spec: IC interface spec 0.66.0, Abstract behavior › Call message execution (the environment
an entry point sees: time, balance, certified data, timer, subnet constants).

`SchedulerBase` holds what every part of the round uses: the config and fee table, the
executor, facts about a canister's module (`is_64`, the exported method groups), the
`Environment` built for one execution, and the subnet's consumed-cycles counter. The other
modules of `replica_core.round` each add one spec concept to it as a mixin, and
`replica_core.scheduler.Scheduler` puts them together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from replica_core.canister import CanisterState
from replica_core.cycles import FeeTable, liquid_balance
from replica_core.errors import Reject
from replica_core.execution.interface import EntryCall, Environment, ExecutionOutcome, Reply
from replica_core.management_context import Deferred, Executor
from replica_core.messages import Ingress
from replica_core.principal import CanisterRange, Principal
from replica_core.replicated_state import ReplicatedState

__all__ = ["Batch", "IngressFilter", "ManagementDispatch", "SchedulerBase", "SchedulerConfig"]

ManagementDispatch = Callable[..., Reply | Reject | Deferred]
"""`dispatch(ctx, method, arg, caller, cycles)` of `replica_core.management`."""


IngressFilter = Callable[..., Reject | None]
"""`ingress_allowed(method, arg, sender, canisters, subnet_admins=...)` of
`replica_core.management`: the IC's ingress filter for messages to `aaaaa-aa`."""


@dataclass(frozen=True, slots=True)
class Batch:
    """One round's input: its time, its randomness, and the ingress messages to induct."""

    time: int
    randomness: bytes
    ingress: tuple[Ingress, ...] = ()


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    """Subnet constants the scheduler needs."""

    subnet_id: Principal
    canister_ranges: tuple[CanisterRange, ...]
    fees: FeeTable
    root_key_der: bytes
    subnet_type: str = "application"
    subnet_admins: tuple[Principal, ...] = ()
    max_messages_per_round: int = 10_000
    instruction_limit: int = 40_000_000_000


class SchedulerBase:
    """The config, the executor, the execution environment and the consumed-cycles counter."""

    def __init__(
        self,
        config: SchedulerConfig,
        executor: Executor,
        management: ManagementDispatch | None = None,
        module_info: Callable[[CanisterState], object] | None = None,
        ingress_filter: IngressFilter | None = None,
    ) -> None:
        self.config = config
        self.fees = config.fees
        self.executor = executor
        self.management = management
        self.ingress_filter = ingress_filter
        self._module_info = module_info
        self._randomness = b""
        self._random_counter = 0

    def environment(self, canister: CanisterState, *, replicated: bool = True) -> Environment:
        wasm64 = self._is_64(canister)
        return Environment(
            canister_id=canister.canister_id,
            subnet_id=self.config.subnet_id,
            time=0,  # replaced by callers with the round's time
            controllers=canister.controllers,
            status=canister.status.value,
            version=canister.version,
            balance=canister.balance,
            liquid_balance=liquid_balance(canister, self.fees),
            certified_data=canister.certified_data,
            global_timer=canister.global_timer,
            root_key=self.config.root_key_der,
            environment_variables=canister.settings.environment_variables,
            wasm_memory_limit=canister.settings.wasm_memory_limit,
            replicated=replicated,
            call_cost_base=self.fees.call_cost_base(wasm64=wasm64),
            call_cost_per_byte=self.fees.xnet_call_bytes_fee(1),
            create_canister_fee=self.fees.scale(self.fees.canister_creation_fee),
        )

    def _is_64(self, canister: CanisterState) -> bool:
        if self._module_info is None or canister.module is None:
            return False
        return bool(getattr(self._module_info(canister), "is_64", False))

    def _exports(self, canister: CanisterState, attr: str) -> frozenset[str] | None:
        """Names the module exports in a group (None: unknown, let the sandbox decide)."""
        if self._module_info is None or canister.module is None:
            return None
        return getattr(self._module_info(canister), attr, None)

    def _consumed(self, state: ReplicatedState, cycles: int) -> None:
        state.update_metadata(
            consumed_cycles_total=state.metadata.consumed_cycles_total + max(cycles, 0)
        )

    def run(
        self, state: ReplicatedState, canister: CanisterState, call: EntryCall
    ) -> ExecutionOutcome:
        """Run one entry point of a non-empty canister (no effects applied)."""
        assert canister.module is not None and canister.execution is not None
        module = self.executor.compile(canister.module.wasm)
        env = replace(self.environment(canister), time=state.time)
        return self.executor.execute(module, canister.execution, call, env)
