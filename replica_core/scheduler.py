"""The round: induct ingress, run system tasks, execute messages, route calls, charge cycles.

Spec: IC interface spec 0.66.0, Abstract behavior › Request submission (induction), Call
message execution, Response delivery, Call context starvation (a context with no reply and
no outstanding callbacks is rejected), Canister stopping, Timers and heartbeats,
Best-effort calls (deadline expiry → `SYS_UNKNOWN`).

One `execute_round(state, batch)` is the step function: given the same state and batch it
produces the same state (time and randomness come only from the batch). Order within a
round (impl, as the IC): expire best-effort deadlines, induct the batch's ingress, run
low-wasm-memory hooks, global timers and heartbeats (canisters in id order), then execute the message queue in
FIFO order — messages produced in the round are executed in the same round, up to
`max_messages_per_round` — then stop canisters that have no open call contexts, charge
storage, and prune the ingress history.

Each step lives in the module of `replica_core.round` named after its spec concept
(`induction`, `system_tasks`, `message_execution`, `call_routing`, `management_calls`,
`stopping`, `cycles_charging`); `Scheduler` puts them together. Effects of an execution
(`ExecutionOutcome`) are applied in `MessageExecution._apply` and only there; cycles follow
`cycles.py` (prepay the instruction limit, refund the unused part; calls prepay the largest
response). Rejects carry the IC's wording and `IC0xxx` codes (`error_codes.py`).
"""

from __future__ import annotations

from replica_core.error_codes import trap_reject
from replica_core.management.logs import MAX_LOG_BYTES, append_logs
from replica_core.messages import Response
from replica_core.replicated_state import ReplicatedState
from replica_core.round.base import Batch, IngressFilter, ManagementDispatch, SchedulerConfig
from replica_core.round.induction import Induction
from replica_core.round.stopping import (
    EMPTY_CANDID_REPLY,
    STOP_CANISTER_TIMEOUT_NS,
    CanisterStopping,
)
from replica_core.round.system_tasks import SystemTasks

__all__ = [
    "EMPTY_CANDID_REPLY",
    "MAX_LOG_BYTES",
    "STOP_CANISTER_TIMEOUT_NS",
    "Batch",
    "IngressFilter",
    "ManagementDispatch",
    "Scheduler",
    "SchedulerConfig",
    "append_logs",
    "trap_reject",
]


class Scheduler(Induction, SystemTasks, CanisterStopping):
    """Executes rounds on a `ReplicatedState` with an `Executor` and the management canister."""

    def execute_round(self, state: ReplicatedState, batch: Batch) -> None:
        """Advance the state by one round (see the module docstring for the order)."""
        time = max(batch.time, state.time + 1)
        state.update_metadata(time=time, height=state.metadata.height + 1)
        self._randomness, self._random_counter = batch.randomness, 0
        self._expire_deadlines(state)
        for ingress in batch.ingress:
            self.induct(state, ingress)
        self._run_system_tasks(state)
        for _ in range(self.config.max_messages_per_round):
            message = state.queue.pop()
            if message is None:
                break
            if isinstance(message, Response):
                self._execute_response(state, message)
            else:
                self._execute_call(state, message)
        self._finish_stopping(state)
        self._charge_allocations(state)
        state.ingress.prune(time)

    def has_work(self, state: ReplicatedState) -> bool:
        """Messages queued, or canisters that may run heartbeats or timers."""
        return len(state.queue) > 0 or any(
            c.global_timer or c.module is not None for c in state.canisters.values()
        )
