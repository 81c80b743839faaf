"""System tasks: the low-wasm-memory hook, the global timer and the heartbeat.

Spec: IC interface spec 0.66.0, Abstract behavior › Timers and heartbeats, and the
`on_low_wasm_memory` hook. They run at the start of a round for running canisters in id
order, each in a call context whose origin is `FromSystemTask`; a frozen canister runs none.
"""

from __future__ import annotations

from replica_core.call_context import FromSystemTask
from replica_core.canister import CanisterState, CanisterStatus
from replica_core.errors import Reject
from replica_core.execution.interface import Context, EntryCall, EntryKind
from replica_core.replicated_state import ReplicatedState
from replica_core.round.message_execution import MessageExecution

__all__ = ["SystemTasks"]


class SystemTasks(MessageExecution):
    """Runs the due system tasks of every running canister."""

    def _run_system_tasks(self, state: ReplicatedState) -> None:
        for cid in sorted(state.canisters):
            canister = state.canisters[cid]
            if canister.module is None or canister.status is not CanisterStatus.RUNNING:
                continue
            entry_points = self._exports(canister, "system_entry_points")
            hook = canister.low_wasm_memory_hook
            if self._low_wasm_memory_hook_ready(canister):
                canister.low_wasm_memory_hook = "executed"
            if canister.low_wasm_memory_hook != hook:
                state.touch(cid)
            if canister.low_wasm_memory_hook == "executed" and hook != "executed":
                if entry_points is None or EntryKind.ON_LOW_WASM_MEMORY.value in entry_points:
                    self._run_task(
                        state, canister, EntryKind.ON_LOW_WASM_MEMORY, "on_low_wasm_memory"
                    )
            if canister.global_timer and state.time >= canister.global_timer:
                canister.global_timer = 0
                state.touch(cid)
                if entry_points is None or EntryKind.GLOBAL_TIMER.value in entry_points:
                    self._run_task(state, canister, EntryKind.GLOBAL_TIMER, "global_timer")
            if entry_points is not None and EntryKind.HEARTBEAT.value in entry_points:
                self._run_task(state, canister, EntryKind.HEARTBEAT, "heartbeat")

    def _low_wasm_memory_hook_ready(self, canister: CanisterState) -> bool:
        """Whether the low-memory hook is due: `wasm_memory_limit - |heap|` dropped below
        `wasm_memory_threshold` since it last ran (it runs once per crossing; rising above
        the threshold again re-arms it). Without a `wasm_memory_limit` it never fires."""
        settings = canister.settings
        if canister.execution is None or not settings.wasm_memory_limit:
            canister.low_wasm_memory_hook = "condition_not_satisfied"
            return False
        remaining = settings.wasm_memory_limit - len(canister.execution.heap)
        if remaining >= settings.wasm_memory_threshold:
            canister.low_wasm_memory_hook = "condition_not_satisfied"
            return False
        if canister.low_wasm_memory_hook == "condition_not_satisfied":
            canister.low_wasm_memory_hook = "ready"
        return canister.low_wasm_memory_hook == "ready"

    def _run_task(
        self, state: ReplicatedState, canister: CanisterState, kind: EntryKind, task: str
    ) -> None:
        prepaid = self._prepay(canister)
        if isinstance(prepaid, Reject):
            return  # frozen canisters run no tasks
        ctx = state.contexts(canister.canister_id).new_context(FromSystemTask(task), 0, state.time)
        call = EntryCall(
            kind=kind,
            context=Context.T,
            caller=canister.canister_id,
            instruction_limit=self.config.instruction_limit,
        )
        outcome = self.run(state, canister, call)
        self._settle(state, canister, prepaid, outcome.instructions)
        self._apply(state, canister, ctx, outcome)
