"""The parts of a round, one spec concept each; `replica_core.scheduler` puts them together.

Spec: IC interface spec 0.66.0, Abstract behavior › Request submission, Call message
execution, Response delivery, Canister stopping, Timers and heartbeats, Best-effort calls.

Each module adds one concept to `SchedulerBase` (config, environment, running an entry
point) as a mixin class, in the order a message meets them:

* `induction.py` — `Induction`: the ingress filter, the induction fee, queueing.
* `cycles_charging.py` — `CyclesCharging`: execution prepay/refund, allocation charges.
* `call_routing.py` — `CallRouting`: outgoing calls, responses to call origins, call
  context closing, best-effort deadlines.
* `management_calls.py` — `ManagementCalls`: calls to `aaaaa-aa`, the round's randomness.
* `message_execution.py` — `MessageExecution`: calls, callbacks, cleanup, applying effects.
* `system_tasks.py` — `SystemTasks`: the low-wasm-memory hook, global timer, heartbeat.
* `stopping.py` — `CanisterStopping`: stopping canisters and timing out `stop_canister`.
"""

from __future__ import annotations

from replica_core.round.base import (
    Batch,
    IngressFilter,
    ManagementDispatch,
    SchedulerBase,
    SchedulerConfig,
)
from replica_core.round.call_routing import CallRouting
from replica_core.round.cycles_charging import CyclesCharging
from replica_core.round.induction import Induction
from replica_core.round.management_calls import ManagementCalls
from replica_core.round.message_execution import MessageExecution
from replica_core.round.stopping import (
    EMPTY_CANDID_REPLY,
    STOP_CANISTER_TIMEOUT_NS,
    CanisterStopping,
)
from replica_core.round.system_tasks import SystemTasks

__all__ = [
    "EMPTY_CANDID_REPLY",
    "STOP_CANISTER_TIMEOUT_NS",
    "Batch",
    "CallRouting",
    "CanisterStopping",
    "CyclesCharging",
    "Induction",
    "IngressFilter",
    "ManagementCalls",
    "ManagementDispatch",
    "MessageExecution",
    "SchedulerBase",
    "SchedulerConfig",
    "SystemTasks",
]
