"""The seam between the scheduler and the management canister (`aaaaa-aa`).

Spec: IC interface spec 0.66.0, The IC management canister; Abstract behavior › IC
Management Canister (each method is a transition on the replicated state).

The management canister has no Wasm and no state of its own: each method reads and changes
the replicated state of the subnet. The scheduler calls

    management.dispatch(ctx: ManagementContext, method: str, arg: bytes,
                        caller: Principal, cycles: int) -> Reply | Reject | Deferred

once per management call, inside a round, with a `ManagementContext` that gives access to
the round's working copy of the state. Everything done through the context is committed
with the round if `dispatch` returns a `Reply` or `Deferred`, and is *discarded* if it
returns a `Reject` or raises (the scheduler snapshots the touched canisters first), so a
method can mutate step by step and bail out with a `Reject` at any point (impl).

Cycles: `cycles` is what the caller attached (0 for ingress). Cycles not consumed by the
method are refunded by the scheduler: `dispatch` reports what it kept through
`ctx.accept_cycles(n)` (e.g. `create_canister` accepts everything it puts on the new
canister plus the creation fee; `deposit_cycles` accepts all).

`Deferred` is for methods that answer later: `stop_canister` returns `Deferred(canister_id)`
after setting the status to stopping; the scheduler replies `()` to the caller when the
canister becomes stopped, and `start_canister` rejects the pending stop calls with
`ctx.reject_stop_calls(canister_id)`.

Names of the state accessors (impl): they follow the abstract behaviour (`S.canisters`,
`S.balances`, `S.call_contexts`), one method per state change the spec describes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from replica_core.principal import Principal

if TYPE_CHECKING:
    from replica_core.canister import CanisterSettings, CanisterState
    from replica_core.cycles import FeeTable
    from replica_core.errors import Reject
    from replica_core.execution.interface import (
        EntryCall,
        Environment,
        ExecutionOutcome,
        ExecutionState,
    )
    from replica_core.principal import CanisterRange

__all__ = ["Deferred", "Executor", "ManagementContext", "RoundManagementContext"]


@dataclass(frozen=True, slots=True)
class Deferred:
    """The call gets its response later: `stop_canister` waits until the canister is stopped."""

    canister_id: Principal


@runtime_checkable
class Executor(Protocol):
    """What the scheduler needs from `execution/sandbox.py` (compile, instantiate, run).

    `compile` raises `replica_core.execution.InvalidModule` for a module the IC would
    refuse; compiled modules are cached by the executor (keyed by module hash).
    """

    def compile(self, wasm: bytes) -> object:
        """Validate and compile a (possibly gzipped) module; cached by hash."""
        ...

    def initial_state(self, module: object, env: Environment, **kwargs: Any) -> ExecutionOutcome:
        """Instantiate afresh and run the start function (`sandbox.initial_state`).

        Keyword arguments pass through: `stable_memory`, `heap`, `instruction_limit`.
        """
        ...

    def execute(
        self, module: object, state: ExecutionState, call: EntryCall, env: Environment
    ) -> ExecutionOutcome:
        """Run one entry point (the contract of `execution/interface.py`)."""
        ...


class ManagementContext(Protocol):
    """The replicated state as the management canister sees it during one call.

    Read-only attributes: `time` (ns, the round's time), `subnet_id`, `subnet_type`
    ("application", "system", ...), `canister_ranges` (of this subnet), `fees` (the fee
    table of `cycles.py`), `root_key` (DER), `executor`, `replicated` (False when the call
    is a query, e.g. `canister_status` through `/query`: then nothing may be changed),
    `subnet_admins`, `is_ingress` (the call came from a user, not a canister).
    """

    time: int
    subnet_id: Principal
    subnet_type: str
    canister_ranges: tuple[CanisterRange, ...]
    fees: FeeTable
    root_key: bytes
    executor: Executor
    replicated: bool
    subnet_admins: tuple[Principal, ...]
    is_ingress: bool

    # --- S.canisters ------------------------------------------------------------------

    def get_canister(self, canister_id: Principal) -> CanisterState | None:
        """The canister's working-copy state (mutate it in place), or None if unknown.

        Fetching marks the canister dirty for this round (its state-tree entries are
        recomputed), so fetch only what the method changes or reads.
        """
        ...

    def canister_ids(self) -> list[Principal]:
        """Every canister on the subnet, in principal order."""
        ...

    def create_canister(
        self,
        settings: CanisterSettings,
        balance: int,
        specified_id: Principal | None = None,
    ) -> CanisterState | Reject:
        """Create an empty running canister with `balance` cycles.

        The id is the next one from the subnet's canister range, or `specified_id` if
        given (provisional creation); a `Reject` says the id is taken or outside the
        ranges. Sets `creation_time` and the first history entry is the caller's job.
        """
        ...

    def delete_canister(self, canister_id: Principal) -> None:
        """Remove a (stopped) canister; its id is never reused; its cycles are dropped."""
        ...

    # --- S.balances -----------------------------------------------------------------

    def accept_cycles(self, amount: int) -> None:
        """Keep `amount` of the attached cycles (the rest is refunded to the caller)."""
        ...

    def freezing_limit(self, canister: CanisterState) -> int:
        """Cycles the canister must keep to stay unfrozen (`cycles.freezing_limit`)."""
        ...

    def charge(self, canister: CanisterState, amount: int) -> Reject | None:
        """Take `amount` cycles from the canister's balance, down to the freezing limit.

        Returns the IC's out-of-cycles `Reject` (IC0207-style wording) and changes
        nothing if the balance minus the freezing limit is below `amount`.
        """
        ...

    def random_bytes(self, n: int) -> bytes:
        """Fresh deterministic randomness from the round's seed (`raw_rand`)."""
        ...

    # --- Wasm execution (install_code, upgrades) ---------------------------------------

    def environment(self, canister: CanisterState) -> Environment:
        """The `Environment` an execution on `canister` observes at this round's time."""
        ...

    def charge_instructions(
        self, canister: CanisterState, instructions: int, *, wasm64: bool = False
    ) -> None:
        """Burn the execution fee for `instructions` (install/upgrade steps), never below 0.

        `wasm64`: the module runs in Wasm64 mode, whose instructions cost more (IC).
        """
        ...

    # --- S.call_contexts ----------------------------------------------------------------

    def open_call_contexts(self, canister_id: Principal) -> int:
        """How many call contexts of the canister are still open (not responded)."""
        ...

    def reject_call_contexts(self, canister_id: Principal, reject: Reject) -> None:
        """Respond `reject` to every open call context of the canister (uninstall_code).

        Outstanding callbacks of these contexts are dropped: their responses, when they
        arrive, only refund cycles.
        """
        ...

    def reject_stop_calls(self, canister_id: Principal, reject: Reject) -> None:
        """Reject every pending `stop_canister` call on the canister (start_canister)."""
        ...


class RoundManagementContext:
    """`ManagementContext` over a round's working state (built by the scheduler per call).

    Canisters fetched through it are snapshotted first, so `rollback` (on a `Reject`)
    restores them; created canisters are removed and deleted ones restored.
    """

    def __init__(self, scheduler: Any, state: Any, *, is_ingress: bool, replicated: bool = True):
        from replica_core.canister import CanisterState  # noqa: F401 - typing only

        config = scheduler.config
        self._scheduler = scheduler
        self._state = state
        self.time: int = state.time
        self.subnet_id = config.subnet_id
        self.subnet_type: str = config.subnet_type
        self.canister_ranges = config.canister_ranges
        self.fees = config.fees
        self.root_key: bytes = config.root_key_der
        self.executor = scheduler.executor
        self.replicated = replicated
        self.subnet_admins = config.subnet_admins
        self.is_ingress = is_ingress
        self.accepted = 0
        self._snapshots: dict[Any, Any] = {}
        self._contexts: dict[Any, Any] = {}
        self._created: list[Any] = []
        self._metadata = state.metadata
        self._stop_waiters = {k: list(v) for k, v in state.stop_waiters.items()}
        self._queue_len = len(state.queue)

    def _snapshot(self, canister_id: Principal) -> None:
        import copy

        from replica_core.store.memory import copy_canister

        if canister_id in self._snapshots or canister_id in self._created:
            return
        canister = self._state.canisters.get(canister_id)
        self._snapshots[canister_id] = None if canister is None else copy_canister(canister)
        manager = self._state.call_contexts.get(canister_id)
        self._contexts[canister_id] = None if manager is None else copy.deepcopy(manager)

    def rollback(self) -> None:
        """Undo everything done through this context."""
        for cid in self._created:
            self._state.remove_canister(cid)
            self._state.deleted.discard(cid)
        for cid, snapshot in self._snapshots.items():
            if snapshot is None:
                continue
            self._state.canisters[cid] = snapshot
            self._state.call_contexts[cid] = self._contexts[cid]
            self._state.deleted.discard(cid)
            self._state.touch(cid)
        self._state.metadata = self._metadata
        self._state.stop_waiters = self._stop_waiters
        self.accepted = 0

    def get_canister(self, canister_id: Principal) -> CanisterState | None:
        self._snapshot(canister_id)
        canister = self._state.canisters.get(canister_id)
        if canister is not None and self.replicated:
            self._state.touch(canister_id)
        return canister

    def canister_ids(self) -> list[Principal]:
        return sorted(self._state.canisters)

    def create_canister(
        self,
        settings: CanisterSettings,
        balance: int,
        specified_id: Principal | None = None,
    ) -> CanisterState | Reject:
        from replica_core import error_codes
        from replica_core.canister import CanisterState
        from replica_core.principal import Principal as P

        if specified_id is not None:
            canister_id = specified_id
            if canister_id in self._state.canisters:
                return error_codes.reject(
                    error_codes.ErrorCode.CANISTER_ID_ALREADY_EXISTS,
                    f"Canister {canister_id} is already installed.",
                )
        else:
            index = self._state.metadata.next_canister_index
            first = self.canister_ranges[0].start.canister_index or 0
            canister_id = P.from_canister_index(first + index)
            while canister_id in self._state.canisters:
                index += 1
                canister_id = P.from_canister_index(first + index)
            if not any(canister_id in r for r in self.canister_ranges):
                return error_codes.reject(
                    error_codes.ErrorCode.MAX_NUMBER_OF_CANISTERS_REACHED,
                    "Canister id range of the subnet is exhausted.",
                )
            self._state.update_metadata(next_canister_index=index + 1)
        canister = CanisterState(canister_id, settings, balance=balance, creation_time=self.time)
        self._state.add_canister(canister)
        self._created.append(canister_id)
        return canister

    def delete_canister(self, canister_id: Principal) -> None:
        self._snapshot(canister_id)
        self._state.remove_canister(canister_id)
        self._state.stop_waiters.pop(canister_id, None)

    def accept_cycles(self, amount: int) -> None:
        self.accepted += amount

    def freezing_limit(self, canister: CanisterState) -> int:
        from replica_core.cycles import freezing_limit

        return freezing_limit(canister, self.fees)

    def charge(self, canister: CanisterState, amount: int) -> Reject | None:
        from replica_core import error_codes

        threshold = self.freezing_limit(canister)
        if canister.balance < amount + threshold:
            return error_codes.out_of_cycles(
                canister.canister_id, canister.balance, amount, threshold
            )
        canister.balance -= amount
        self._scheduler._consumed(self._state, amount)
        return None

    def random_bytes(self, n: int) -> bytes:
        return bytes(self._scheduler.random_bytes(n))

    def environment(self, canister: CanisterState) -> Environment:
        from dataclasses import replace

        env = self._scheduler.environment(canister, replicated=self.replicated)
        return replace(env, time=self.time)

    def charge_instructions(
        self, canister: CanisterState, instructions: int, *, wasm64: bool = False
    ) -> None:
        cost = self.fees.execution_cost(instructions, wasm64=wasm64)
        charged = min(cost, canister.balance)
        canister.balance -= charged
        self._scheduler._consumed(self._state, charged)

    def open_call_contexts(self, canister_id: Principal) -> int:
        manager = self._state.call_contexts.get(canister_id)
        return 0 if manager is None else manager.open_contexts()

    def reject_call_contexts(self, canister_id: Principal, reject: Reject) -> None:
        self._snapshot(canister_id)
        manager = self._state.contexts(canister_id)
        for ctx_id in sorted(manager.contexts):
            ctx = manager.contexts[ctx_id]
            if ctx.needs_to_respond:
                self._scheduler._respond(self._state, canister_id, ctx, reject)
        manager.contexts.clear()
        manager.callbacks.clear()
        self._state.touch(canister_id)

    def reject_stop_calls(self, canister_id: Principal, reject: Reject) -> None:
        for waiter in self._state.stop_waiters.pop(canister_id, []):
            self._scheduler.deliver(
                self._state, waiter.origin, Principal.management_canister(), reject, waiter.refund
            )
