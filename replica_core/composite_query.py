"""Query calls in non-replicated mode, including composite queries and their call graphs.

Spec: IC interface spec 0.66.0, Abstract behavior › Query call (composite query calls:
`canister_composite_query` methods may call query and composite query methods of canisters
on the same subnet; callbacks run in the `CRy`/`CRt` contexts, cleanup in `CC`) and The IC
management canister (methods callable from a composite query).

`CompositeQueryEngine(canisters, run, management, module_info, fees).query(...)` evaluates one
query against a fixed set of canister states (the last certified state). Nothing it does is
kept: each call into a canister starts from that canister's certified Wasm state, and a
composite query's state changes are carried only between its own callbacks (impl, as the
IC: they live as long as the call context).

Calls are evaluated depth first and in the order they were made (impl; the IC may run them
concurrently, which a canister cannot observe in non-replicated mode). Limits follow the IC
(dfinity/ic rs/config execution_environment.rs): a call graph at most
`MAX_CALL_DEPTH_COMPOSITE_QUERY` deep (deeper calls are rejected with IC0525), at most
`MAX_QUERY_CALL_GRAPH_INSTRUCTIONS` instructions over the whole graph, each call into a
canister counted with `INSTRUCTION_OVERHEAD_PER_QUERY_CALL` more (beyond: IC0526, the
whole query fails). Calls to update methods are rejected (they cannot run non-replicated);
calls to `aaaaa-aa` are allowed for `COMPOSITE_QUERY_MANAGEMENT_METHODS` only.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from replica_core import error_codes
from replica_core.canister import CanisterState, CanisterStatus
from replica_core.cycles import FeeTable, freezing_limit
from replica_core.error_codes import ErrorCode, trap_reject
from replica_core.errors import Reject
from replica_core.execution.interface import (
    Context,
    EntryCall,
    EntryKind,
    ExecutionOutcome,
    ExecutionState,
    OutgoingCall,
    Reply,
    Trap,
)
from replica_core.principal import Principal

__all__ = [
    "COMPOSITE_QUERY_MANAGEMENT_METHODS",
    "INSTRUCTION_OVERHEAD_PER_QUERY_CALL",
    "MAX_CALL_DEPTH_COMPOSITE_QUERY",
    "MAX_INSTRUCTIONS_PER_QUERY",
    "MAX_QUERY_CALL_GRAPH_INSTRUCTIONS",
    "CompositeQueryEngine",
    "RunFn",
    "composite_query_in_replicated_mode",
]

MAX_CALL_DEPTH_COMPOSITE_QUERY = 6
"""Deepest call graph of a composite query (IC `max_query_call_graph_depth`)."""

MAX_INSTRUCTIONS_PER_QUERY = 5_000_000_000
"""Instruction limit of one query execution (IC `max_instructions_per_query_message`)."""

MAX_QUERY_CALL_GRAPH_INSTRUCTIONS = 5_000_000_000
"""Instruction limit over a whole composite query call graph (IC)."""

INSTRUCTION_OVERHEAD_PER_QUERY_CALL = 50_000_000
"""Instructions each call in a query call graph counts for beyond its execution (IC)."""

COMPOSITE_QUERY_MANAGEMENT_METHODS = frozenset(
    {"canister_status", "canister_metrics", "fetch_canister_logs", "list_canisters"}
)
"""Management methods a composite query may call (spec 0.66.0)."""

RunFn = Callable[[CanisterState, ExecutionState, EntryCall, bool], ExecutionOutcome]
"""`run(canister, wasm_state, call, top_level)`: execute non-replicated; `top_level` says
whether the execution is the query the user sent (only it sees a data certificate)."""

ManagementQuery = Callable[[str, bytes, Principal], Reply | Reject]
"""`management(method, arg, caller)`: a non-replicated call to `aaaaa-aa`."""

ModuleInfo = Callable[[CanisterState], object | None]
"""The canister's `ValidatedModule` (None: unknown, let the sandbox decide)."""


def composite_query_in_replicated_mode() -> Reject:
    """A composite query method called by ingress or by a canister (replicated)."""
    return error_codes.reject(
        ErrorCode.COMPOSITE_QUERY_CALLED_IN_REPLICATED_MODE,
        "Composite query cannot be called in replicated mode",
    )


def _too_deep() -> Reject:
    return error_codes.reject(
        ErrorCode.QUERY_CALL_GRAPH_TOO_DEEP,
        "Composite query call exceeded the maximum call depth.",
    )


def _management_not_allowed(method: str) -> Reject:
    return error_codes.reject(
        ErrorCode.CANISTER_REJECTED_MESSAGE,
        f"Composite query cannot call ic00 method {method}",
    )


class _GraphInstructionLimit(Exception):
    """The call graph used up its instruction budget; the whole query fails."""


@dataclass(slots=True)
class _Budget:
    used: int = 0
    limit: int = MAX_QUERY_CALL_GRAPH_INSTRUCTIONS

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def charge(self, instructions: int) -> None:
        self.used += instructions
        if self.used > self.limit:
            raise _GraphInstructionLimit


class CompositeQueryEngine:
    """Evaluates query calls (plain or composite) against fixed canister states."""

    def __init__(
        self,
        canisters: Mapping[Principal, CanisterState],
        run: RunFn,
        management: ManagementQuery,
        module_info: ModuleInfo,
        fees: FeeTable,
        *,
        max_depth: int = MAX_CALL_DEPTH_COMPOSITE_QUERY,
        graph_instruction_limit: int = MAX_QUERY_CALL_GRAPH_INSTRUCTIONS,
        instruction_limit: int = MAX_INSTRUCTIONS_PER_QUERY,
    ) -> None:
        self.canisters = canisters
        self._run = run
        self._management = management
        self._module_info = module_info
        self.fees = fees
        self.max_depth = max_depth
        self.graph_instruction_limit = graph_instruction_limit
        self.instruction_limit = instruction_limit

    def query(
        self, canister_id: Principal, method_name: str, arg: bytes, caller: Principal
    ) -> Reply | Reject:
        """The response of the query the user sent (depth 1 of the call graph)."""
        budget = _Budget(limit=self.graph_instruction_limit)
        try:
            return self._call(canister_id, method_name, arg, caller, 1, budget, top_level=True)
        except _GraphInstructionLimit:
            return error_codes.reject(
                ErrorCode.QUERY_CALL_GRAPH_TOTAL_INSTRUCTION_LIMIT_EXCEEDED,
                f"Error from Canister {canister_id}: Query call graph exceeded the instruction "
                f"limit of {self.graph_instruction_limit} instructions.",
            )

    def _entry(self, canister: CanisterState, method_name: str) -> EntryKind | Reject:
        info = self._module_info(canister)
        if info is None:
            return EntryKind.QUERY
        if method_name in getattr(info, "query_methods", frozenset()):
            return EntryKind.QUERY
        if method_name in getattr(info, "composite_query_methods", frozenset()):
            return EntryKind.COMPOSITE_QUERY
        return error_codes.method_not_found(canister.canister_id, "query", method_name)

    def _call(
        self,
        canister_id: Principal,
        method_name: str,
        arg: bytes,
        caller: Principal,
        depth: int,
        budget: _Budget,
        *,
        top_level: bool = False,
    ) -> Reply | Reject:
        """One call in the graph: run the method, then its outgoing calls and callbacks."""
        if canister_id.is_management_canister:
            if method_name not in COMPOSITE_QUERY_MANAGEMENT_METHODS:
                return _management_not_allowed(method_name)
            return self._management(method_name, arg, caller)
        canister = self.canisters.get(canister_id)
        if canister is None:
            return error_codes.canister_not_found(canister_id)
        if canister.status is CanisterStatus.STOPPED:  # the IC's `get_active_canister`
            return error_codes.reject(
                ErrorCode.CANISTER_STOPPED,
                f"Canister {canister_id} is stopped and therefore does not have a "
                "CallContextManager",
            )
        if canister.module is None or canister.execution is None:
            return error_codes.no_wasm_module(canister_id)
        kind = self._entry(canister, method_name)
        if isinstance(kind, Reject):
            return kind
        if canister.balance < freezing_limit(canister, self.fees):
            return error_codes.reject(
                ErrorCode.CANISTER_OUT_OF_CYCLES,
                f"Canister {canister_id} is unable to process query calls because it's frozen. "
                "Please top up the canister with cycles and try again.",
            )
        budget.charge(0 if top_level else INSTRUCTION_OVERHEAD_PER_QUERY_CALL)
        composite = kind is EntryKind.COMPOSITE_QUERY
        call = EntryCall(
            kind=kind,
            context=Context.CQ if composite else Context.NRQ,
            method_name=method_name,
            arg=arg,
            caller=caller,
            instruction_limit=min(self.instruction_limit, budget.remaining),
        )
        outcome = self._run(canister, canister.execution, call, top_level)
        budget.charge(outcome.instructions)
        if outcome.trap is not None:
            return trap_reject(canister_id, outcome.trap)
        if not composite:
            return outcome.response or error_codes.did_not_reply(canister_id)
        return _CallContext(self, canister, caller, depth, budget, top_level).finish(outcome)


class _CallContext:
    """A composite query's call context: its Wasm state, response, and pending calls."""

    def __init__(
        self,
        engine: CompositeQueryEngine,
        canister: CanisterState,
        caller: Principal,
        depth: int,
        budget: _Budget,
        top_level: bool,
    ) -> None:
        assert canister.execution is not None
        self.engine, self.canister, self.caller = engine, canister, caller
        self.depth, self.budget, self.top_level = depth, budget, top_level
        self.state: ExecutionState = canister.execution
        self.response: Reply | Reject | None = None
        self.instructions = 0
        self.last_trap: Trap | None = None
        self.pending: deque[OutgoingCall] = deque()

    def _absorb(self, outcome: ExecutionOutcome) -> None:
        if outcome.state is not None:
            self.state = outcome.state
        if self.response is None and outcome.response is not None:
            self.response = outcome.response
        self.pending.extend(outcome.calls)

    def finish(self, first: ExecutionOutcome) -> Reply | Reject:
        self.instructions += first.instructions
        self._absorb(first)
        cid = self.canister.canister_id
        while self.pending:
            call = self.pending.popleft()
            if self.depth + 1 > self.engine.max_depth:
                result: Reply | Reject = _too_deep()
            else:
                result = self.engine._call(
                    call.callee, call.method_name, call.arg, cid, self.depth + 1, self.budget
                )
            self._callback(call, result)
        if self.response is not None:
            return self.response
        if self.last_trap is not None:
            return trap_reject(cid, self.last_trap)
        return error_codes.did_not_reply(cid)

    def _callback(self, call: OutgoingCall, result: Reply | Reject) -> None:
        replied = isinstance(result, Reply)
        entry = EntryCall(
            kind=EntryKind.REPLY_CALLBACK if replied else EntryKind.REJECT_CALLBACK,
            context=Context.CRy if replied else Context.CRt,
            arg=result.payload if isinstance(result, Reply) else b"",
            caller=self.caller,
            callback=call.on_reply if replied else call.on_reject,
            reject=None if isinstance(result, Reply) else result,
            instruction_limit=min(self.engine.instruction_limit, self.budget.remaining),
            call_context_instructions=self.instructions,
            responded=self.response is not None,
        )
        outcome = self.engine._run(self.canister, self.state, entry, self.top_level)
        self.budget.charge(outcome.instructions)
        self.instructions += outcome.instructions
        if outcome.trap is None:
            self._absorb(outcome)
            return
        self.last_trap = outcome.trap
        if call.on_cleanup is None:
            return
        cleanup = EntryCall(
            kind=EntryKind.CLEANUP,
            context=Context.CC,
            caller=self.caller,
            callback=call.on_cleanup,
            instruction_limit=min(self.engine.instruction_limit, self.budget.remaining),
        )
        done = self.engine._run(self.canister, self.state, cleanup, self.top_level)
        self.budget.charge(done.instructions)
        if done.trap is None and done.state is not None:
            self.state = done.state
