"""The canister as a function: what one execution of an entry point takes and returns.

Spec: IC interface spec 0.66.0, Abstract behavior › Abstract canisters (a canister module is
a set of functions from arguments and a read-only environment to a result that is either a
trap or new state plus effects) and The System API (what each ic0 call may observe/change).

This is the contract between the scheduler (which owns all state and applies effects) and
`execution/sandbox.py` (which runs Wasm under wasmtime and never touches subnet state):

    execute(module, state, call, env) -> ExecutionOutcome

* `ExecutionState` is the canister's Wasm-side state: heap, exported globals, stable memory.
  The sandbox returns a *new* `ExecutionState` when the execution succeeded and leaves the
  old one untouched, so a trap is rolled back by construction.
* `EntryCall` says which entry point runs and with what message (argument, caller, cycles,
  reply or reject of a callback).
* `Environment` is the read-only system state the ic0 calls observe (balance, time,
  controllers, status, ...).
* `ExecutionOutcome` carries the effects, which the scheduler applies only if
  `trap is None`: the response, outgoing calls, cycles accepted/burned/attached, certified
  data, the global timer, logs (kept even on a trap) and the instructions used (charged even
  on a trap).

Execution contexts use the spec's codes (`Context`), which `execution/ic0.py` lists per
import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from replica_core.errors import Reject
from replica_core.execution.page_map import PageMap
from replica_core.principal import Principal

__all__ = [
    "Callback",
    "Context",
    "EntryCall",
    "EntryKind",
    "Environment",
    "ExecutionOutcome",
    "ExecutionState",
    "LogRecord",
    "OutgoingCall",
    "Reply",
    "Trap",
    "TrapKind",
]


class EntryKind(Enum):
    """Which export of the module runs (spec: Entry points)."""

    START = "start"  # the (start) function, exported by instrumentation as `canister_start`
    INIT = "canister_init"
    PRE_UPGRADE = "canister_pre_upgrade"
    POST_UPGRADE = "canister_post_upgrade"
    UPDATE = "canister_update"
    QUERY = "canister_query"
    COMPOSITE_QUERY = "canister_composite_query"
    INSPECT_MESSAGE = "canister_inspect_message"
    HEARTBEAT = "canister_heartbeat"
    GLOBAL_TIMER = "canister_global_timer"
    ON_LOW_WASM_MEMORY = "canister_on_low_wasm_memory"
    REPLY_CALLBACK = "reply"  # table function (env) -> ()
    REJECT_CALLBACK = "reject"
    CLEANUP = "cleanup"


class Context(Enum):
    """The spec's execution-context codes, which decide what ic0 calls are allowed."""

    I = "I"  # noqa: E741 - the spec's name: canister_init or canister_post_upgrade
    G = "G"  # canister_pre_upgrade
    U = "U"  # update method
    RQ = "RQ"  # query, replicated
    NRQ = "NRQ"  # query, non-replicated
    TQ = "TQ"  # query as HTTP-outcall transform
    CQ = "CQ"  # composite query
    Ry = "Ry"  # reply callback
    Rt = "Rt"  # reject callback
    CRy = "CRy"  # reply callback in a composite query
    CRt = "CRt"  # reject callback in a composite query
    C = "C"  # cleanup callback
    CC = "CC"  # cleanup callback in a composite query
    F = "F"  # canister_inspect_message
    T = "T"  # system task: heartbeat, global timer, on-low-wasm-memory
    s = "s"  # the (start) function


@dataclass(frozen=True, slots=True)
class Callback:
    """A table function and the environment value passed to it (spec: call_new)."""

    fun: int
    env: int


@dataclass(frozen=True, slots=True)
class ExecutionState:
    """The Wasm side of a canister: heap, exported globals, stable memory.

    `heap` is the whole linear memory (its length is a multiple of 64 KiB); `globals`
    holds the values of the module's globals in index order (instrumentation exports
    them); `stable_memory` is the stable memory (a multiple of 64 KiB). Both memories
    are `PageMap`s (zero pages elided, pages shared between versions and with the
    module's initial image); `bytes` given to the constructor are converted.
    """

    heap: PageMap
    globals: tuple[int | float, ...]
    stable_memory: PageMap

    def __post_init__(self) -> None:
        if not isinstance(self.heap, PageMap):
            object.__setattr__(self, "heap", PageMap.from_bytes(self.heap))
        if not isinstance(self.stable_memory, PageMap):
            object.__setattr__(self, "stable_memory", PageMap.from_bytes(self.stable_memory))


@dataclass(frozen=True, slots=True)
class EntryCall:
    """One invocation: the entry point, its message, and the context it runs in."""

    kind: EntryKind
    context: Context
    method_name: str = ""  # for update/query/composite query/inspect_message
    arg: bytes = b""  # argument; for a reply callback, the reply payload
    caller: Principal = Principal(b"")
    callback: Callback | None = None  # for reply/reject/cleanup callbacks
    reject: Reject | None = None  # for a reject callback
    cycles_available: int = 0  # attached and not yet accepted (call context)
    cycles_refunded: int = 0  # for callbacks
    deadline: int = 0  # bounded-wait deadline in ns, 0 if none
    instruction_limit: int = 40_000_000_000
    call_context_instructions: int = 0  # already used by this call context
    caller_info_data: bytes = b""
    caller_info_signer: bytes = b""
    responded: bool = False  # the call context was already replied to or rejected


@dataclass(frozen=True, slots=True)
class Environment:
    """The read-only system state an execution observes through ic0."""

    canister_id: Principal
    subnet_id: Principal
    time: int  # ns; constant within the execution
    controllers: tuple[Principal, ...]
    status: int  # 1 running, 2 stopping, 3 stopped
    version: int
    balance: int  # cycle balance available to this execution
    liquid_balance: int  # balance minus what the freezing threshold keeps
    certified_data: bytes
    global_timer: int
    root_key: bytes  # DER BLS root key
    data_certificate: bytes | None = None  # only for non-replicated queries on the target
    environment_variables: tuple[tuple[str, str], ...] = ()
    wasm_memory_limit: int = 0  # 0 = no limit beyond the architecture's
    replicated: bool = True
    call_cost_base: int = 0  # see cycles.py; what ic0.cost_call answers
    call_cost_per_byte: int = 0
    create_canister_fee: int = 0
    http_request_base_fee: int = 0  # ic0.cost_http_request: base + per byte below
    http_request_per_request_byte_fee: int = 0
    http_request_per_response_byte_fee: int = 0
    # ic0.cost_sign_with_ecdsa/schnorr, cost_vetkd_derive_key: (api, curve or algorithm
    # code, key name, fee) with api "ecdsa", "schnorr" or "vetkd"
    threshold_key_fees: tuple[tuple[str, int, str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply with its payload (spec: msg_reply)."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class OutgoingCall:
    """A call performed with call_new … call_perform."""

    callee: Principal
    method_name: str
    arg: bytes
    cycles: int
    on_reply: Callback
    on_reject: Callback
    on_cleanup: Callback | None = None
    timeout_seconds: int | None = None  # best-effort (bounded-wait) calls


class TrapKind(Enum):
    """Why an execution trapped; the scheduler turns these into reject messages."""

    CANISTER_TRAP = "trap"  # ic0.trap or a Wasm trap (unreachable, out of bounds, ...)
    OUT_OF_INSTRUCTIONS = "out_of_instructions"
    CONTRACT_VIOLATION = "contract_violation"  # an ic0 call not allowed here, bad args
    OUT_OF_MEMORY = "out_of_memory"  # wasm_memory_limit or architecture limit exceeded
    NO_EXPORT = "no_export"  # the entry point is not exported


@dataclass(frozen=True, slots=True)
class Trap:
    """A trap: its kind and the IC's message for it."""

    kind: TrapKind
    message: str


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One canister log line (debug_print or a trap message)."""

    timestamp: int
    content: bytes


@dataclass(frozen=True, slots=True)
class ExecutionOutcome:
    """Everything one execution produced (effects apply only if `trap` is None)."""

    trap: Trap | None
    state: ExecutionState | None  # new Wasm state on success (None: unchanged or trapped)
    response: Reply | Reject | None = None
    calls: tuple[OutgoingCall, ...] = ()
    cycles_accepted: int = 0
    cycles_burned: int = 0
    certified_data: bytes | None = None  # set by certified_data_set
    global_timer: int | None = None  # set by global_timer_set
    message_accepted: bool = False  # canister_inspect_message called accept_message
    logs: tuple[LogRecord, ...] = field(default=())
    instructions: int = 0
