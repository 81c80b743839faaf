"""The subnet: the replicated state machine behind the gateway (DESIGN.md › The one seam).

Spec: IC interface spec 0.66.0, Abstract behavior (the IC as a state machine: request
submission, `runStep`, query calls, read_state with certification) and Certification
(state tree, BLS signature, subnet delegation).

`Subnet(store, clock, rng, config)` owns the working state, the scheduler and the keys:

* `submit(ingress)` queues an authenticated call for the next round (duplicates ignored);
  `inspect(ingress)` is the pre-consensus check the gateway runs first.
* `execute_round()` is the step function: one `Batch` (the clock's time, randomness drawn
  from `rng`, the pending ingress), then the state tree of the changed records is rehashed,
  certified with the subnet key (with a root→subnet delegation), and the round's delta is
  committed to the store. Replies become visible to `wait`/`read_state` only then.
* `query` and `read_state` read the last certified state only.
* `run()` is the background runner: rounds while there is work, or as time passes.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from replica_core import error_codes
from replica_core.canister import CanisterState, InstalledModule
from replica_core.certification.certificate import Certificate, make_delegation, sign_tree
from replica_core.certification.hash_tree import LabeledTree, Path
from replica_core.certification.state_tree import StateTree, SubnetInfo, subnet_metrics
from replica_core.clock import Clock, FakeClock, SystemClock
from replica_core.composite_query import CompositeQueryEngine
from replica_core.cycles import APPLICATION_SUBNET_FEES, FeeTable, memory_usage
from replica_core.errors import AuthenticationError, Reject
from replica_core.execution.instruction_costs import MAX_INSTRUCTIONS_INSPECT_MESSAGE
from replica_core.execution.interface import Context, EntryCall, EntryKind, Reply
from replica_core.executor import SandboxExecutor
from replica_core.ingress_history import IngressStatus
from replica_core.keys import SubnetKeys
from replica_core.management_context import Executor, RoundManagementContext
from replica_core.messages import Ingress
from replica_core.principal import CanisterRange, Principal
from replica_core.query_cache import QueryCache, QueryKey, QueryRecord, module_reads_time
from replica_core.replicated_state import ReplicatedState
from replica_core.scheduler import (
    Batch,
    IngressFilter,
    ManagementDispatch,
    Scheduler,
    SchedulerConfig,
    trap_reject,
)
from replica_core.store.interface import CertifiedState, Store
from replica_core.store.memory import copy_canister
from replica_core.types import RequestId

_log = logging.getLogger("icbox.subnet")

__all__ = [
    "Clock",
    "FakeClock",
    "SandboxExecutor",
    "Status",
    "Subnet",
    "SubnetConfig",
    "SystemClock",
]

ICBOX_VERSION = "0.1.0"


@dataclass(frozen=True, slots=True)
class SubnetConfig:
    """Constants of the subnet."""

    key_seed: bytes = b"icbox-dev-subnet"
    subnet_type: str = "application"
    canister_ranges: tuple[CanisterRange, ...] = (CanisterRange.of_indices(0, 0xFFFFF),)
    fees: FeeTable = APPLICATION_SUBNET_FEES
    subnet_admins: tuple[Principal, ...] = ()
    num_nodes: int = 1
    max_messages_per_round: int = 10_000
    round_interval: float = 0.05  # seconds between rounds when idle (background runner)


@dataclass(frozen=True, slots=True)
class Status:
    """What `/api/v2/status` reports."""

    root_key: bytes
    impl_version: str = ICBOX_VERSION
    replica_health_status: str = "healthy"
    certified_height: int = 0


def _default_management() -> ManagementDispatch | None:
    try:
        from replica_core.management import dispatch  # type: ignore[attr-defined]
    except ImportError:
        return None
    return dispatch  # type: ignore[no-any-return]


def _default_ingress_filter() -> IngressFilter:
    from replica_core.management import ingress_allowed

    return ingress_allowed


@dataclass(slots=True)
class _Certified:
    """The last certified state: what queries and read_state see."""

    height: int
    time: int
    tree: LabeledTree
    signature: bytes
    canisters: dict[Principal, CanisterState] = field(default_factory=dict)
    # (impl) each canister's data certificate, made on first use: one per round, not per query
    data_certificates: dict[Principal, bytes] = field(default_factory=dict)


class Subnet:
    """One subnet: state, scheduler, certification, and the seam the gateway calls."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        rng: random.Random,
        config: SubnetConfig | None = None,
        *,
        executor: Executor | None = None,
        management: ManagementDispatch | None = None,
    ) -> None:
        self.config = config or SubnetConfig()
        self.store, self.clock, self.rng = store, clock, rng
        self.keys = SubnetKeys.from_seed(self.config.key_seed, num_nodes=self.config.num_nodes)
        self.subnet_id = self.keys.subnet_id
        self.executor: Executor = executor if executor is not None else SandboxExecutor()
        info = getattr(self.executor, "validated", None)
        self.scheduler = Scheduler(
            SchedulerConfig(
                subnet_id=self.subnet_id,
                canister_ranges=self.config.canister_ranges,
                fees=self.config.fees,
                root_key_der=self.keys.root.public_key_der,
                subnet_type=self.config.subnet_type,
                subnet_admins=self.config.subnet_admins,
                max_messages_per_round=self.config.max_messages_per_round,
            ),
            self.executor,
            management if management is not None else _default_management(),
            (lambda c: info(c.module.wasm)) if info is not None else None,
            _default_ingress_filter() if management is None else None,
        )
        self.state = ReplicatedState.load(store)
        self.tree = StateTree(
            SubnetInfo(
                self.subnet_id,
                self.config.subnet_type,
                self.keys.subnet.public_key_der,
                self.config.canister_ranges,
                tuple((n.node_id, n.public_key_der) for n in self.keys.nodes),
            ),
            self._metadata_sections,
        )
        self.delegation = make_delegation(
            self.keys.root.secret_key,
            self.subnet_id,
            self.keys.subnet.public_key_der,
            self.config.canister_ranges,
            self.clock.now(),
            subnet_type=self.config.subnet_type,
        )
        self._pending: list[Ingress] = []
        # guards _pending, and makes a committed round and its certified state visible
        # together (a reply is seen only once its round is certified and committed)
        self._lock = threading.Lock()
        self._round_lock = threading.Lock()
        self._failed = False  # a round raised: no more rounds run (see `run`)
        # (impl) `wait` futures by request id, resolved (on their event loops) by the round
        # that certifies a terminal status; and the runner's wake-up, set by `submit`
        self._waiters: dict[RequestId, list[asyncio.Future[None]]] = {}
        self._wake: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None
        # (impl) replies of repeated queries, valid while their canisters are unchanged
        self.query_cache = QueryCache()
        # (impl) queries running now, by (key, certified height): identical ones wait for them
        self._flights: dict[tuple[QueryKey, int], Future[Reply | Reject]] = {}
        self._flights_lock = threading.Lock()
        for cid, canister in self.state.canisters.items():
            self.tree.update_canister(cid, canister)
        for rid, status in self.state.ingress.entries.items():
            self.tree.update_request(rid, status)
        self.state.ingress.take_dirty()
        self._certified = self._certify(set(self.state.canisters), set())

    # --- certification ---------------------------------------------------------------

    def _metadata_sections(self, module: InstalledModule) -> Mapping[str, bytes]:
        validated = getattr(self.executor, "validated", None)
        if validated is None:
            return {}
        info = validated(module.wasm)
        return {**info.public_metadata, **info.private_metadata}

    def _certify(self, dirty: set[Principal], deleted: set[Principal]) -> _Certified:
        st = self.state
        sizes = sum(memory_usage(c) for c in st.canisters.values())
        metrics = subnet_metrics(
            len(st.canisters),
            sizes,
            st.metadata.consumed_cycles_total,
            st.metadata.update_transactions_total,
        )
        tree = self.tree.build(st.time, metrics)
        cert = sign_tree(tree.tree, self.keys.subnet.secret_key)
        previous = getattr(self, "_certified", None)
        canisters = dict(previous.canisters) if previous is not None else {}
        for cid in deleted:
            canisters.pop(cid, None)
        for cid in dirty:
            if cid in st.canisters:
                canisters[cid] = copy_canister(st.canisters[cid])
        return _Certified(st.metadata.height, st.time, tree, cert.signature, canisters)

    # --- the seam ---------------------------------------------------------------------

    def submit(self, ingress: Ingress) -> RequestId:
        """Queue an authenticated call for the next round; returns its request id."""
        with self._lock:
            self._pending.append(ingress)
        self._wake_runner()
        return ingress.request_id

    def _wake_runner(self) -> None:
        wake = self._wake
        if wake is None or wake[1].is_set():
            return
        loop, event = wake
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if current is loop:
            event.set()
        else:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the runner's loop has just closed
                pass

    def inspect(self, ingress: Ingress) -> Reject | None:
        """The checks before consensus: canister state, cycles, `canister_inspect_message`."""
        reject = self.scheduler.ingress_check(self.state, ingress)
        if reject is not None or ingress.receiver.is_management_canister:
            return reject
        canister = self._certified.canisters.get(ingress.receiver)
        if canister is None or canister.module is None:
            return None
        if not self.inspect_runs_code(ingress):
            return None  # no `canister_inspect_message`: every message is accepted
        call = EntryCall(
            kind=EntryKind.INSPECT_MESSAGE,
            context=Context.F,
            method_name=ingress.method_name,
            arg=ingress.arg,
            caller=ingress.sender,
            instruction_limit=MAX_INSTRUCTIONS_INSPECT_MESSAGE,
        )
        outcome = self._run_readonly(canister, call)
        if outcome.trap is not None:
            return trap_reject(ingress.receiver, outcome.trap)
        if not outcome.message_accepted:
            return error_codes.reject(
                error_codes.ErrorCode.CANISTER_REJECTED_MESSAGE,
                f"Canister {ingress.receiver} rejected the message",
            )
        return None

    def inspect_runs_code(self, ingress: Ingress) -> bool:
        """(impl) Whether `inspect` may run canister code (`canister_inspect_message`), so
        that a caller on an event loop knows when to move it to a thread."""
        if ingress.receiver.is_management_canister:
            return False
        canister = self._certified.canisters.get(ingress.receiver)
        if canister is None or canister.module is None:
            return False
        validated = getattr(self.executor, "validated", None)
        return validated is None or (
            EntryKind.INSPECT_MESSAGE.value in validated(canister.module.wasm).system_entry_points
        )

    def _run_readonly(
        self, canister: CanisterState, call: EntryCall, cert: bytes | None = None
    ) -> Any:
        assert canister.module is not None and canister.execution is not None
        module = self.executor.compile(canister.module.wasm)
        env = replace(
            self.scheduler.environment(canister, replicated=False),
            time=self._certified.time,
            data_certificate=cert,
        )
        return self.executor.execute(module, canister.execution, call, env)

    def execute_round(self) -> None:
        """Run one round on a batch of everything pending, then certify and commit."""
        with self._round_lock:
            with self._lock:
                pending, self._pending = self._pending, []
            batch = Batch(self.clock.now(), self.rng.randbytes(32), tuple(pending))
            self.scheduler.execute_round(self.state, batch)
            delta, dirty, deleted = self.state.take_delta()
            for cid in deleted:
                self.tree.update_canister(cid, None)
            for cid in dirty:
                self.tree.update_canister(cid, self.state.canisters.get(cid))
            for rid, status in delta.ingress.items():
                self.tree.update_request(rid, status)
            certified = self._certify(dirty, deleted)
            delta.certified = CertifiedState(
                certified.height, certified.time, certified.tree.root_hash, certified.signature
            )
            # before the state is published: no query on it may hit an entry it made stale
            self.query_cache.canisters_changed(certified.height, dirty | deleted)
            with self._lock:
                self.store.commit(delta)
                self._certified = certified
                woken = [
                    future
                    for rid, status in delta.ingress.items()
                    if status is not None and status.state.is_terminal
                    for future in self._waiters.pop(rid, ())
                ]
        _resolve_threadsafe(woken)

    def tick(self, rounds: int = 1) -> None:
        """Run `rounds` rounds (tests)."""
        for _ in range(rounds):
            self.execute_round()

    def advance_time(self, seconds: float) -> None:
        """Move a `FakeClock` forward and run a round (tests)."""
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            raise TypeError("advance_time needs a clock with advance()")
        advance(seconds)
        self.execute_round()

    def has_work(self) -> bool:
        return bool(self._pending) or self.scheduler.has_work(self.state)

    def request_status(self, rid: RequestId) -> IngressStatus | None:
        """The certified status of a request (None if unknown)."""
        with self._lock:
            return self.store.get_ingress(rid)

    async def wait(self, rid: RequestId, timeout: float) -> IngressStatus | None:
        """Wait until the request reaches a terminal certified status, or time out.

        (impl) No polling: the round that commits the terminal status resolves the future
        registered here (checked and registered under the commit lock, so none is missed).
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._lock:
            status = self.store.get_ingress(rid)
            if status is not None and status.state.is_terminal:
                return status
            self._waiters.setdefault(rid, []).append(future)
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                waiting = self._waiters.get(rid)
                if waiting is not None and future in waiting:
                    waiting.remove(future)
                    if not waiting:
                        del self._waiters[rid]
        return self.request_status(rid)

    async def run(self, stop: asyncio.Event) -> None:
        """Background runner: a round whenever there is work, and every `round_interval`.

        (impl) Idle, it sleeps until `submit` wakes it (or the interval passes); under load
        each round takes everything submitted while the previous one ran, so rounds grow
        with the load and the per-round costs (certification, commit) are shared. Rounds
        run on a thread of their own, never queued behind queries in the loop's pool.
        """
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        stopping = asyncio.ensure_future(stop.wait())
        stopping.add_done_callback(lambda _: wake.set())
        self._wake = (loop, wake)
        rounds = ThreadPoolExecutor(max_workers=1, thread_name_prefix="icbox-rounds")
        try:
            while not stop.is_set():
                wake.clear()
                try:
                    await loop.run_in_executor(rounds, self.execute_round)
                except Exception:
                    # A round that raises is a bug in icbox, not in a canister (canister
                    # failures are values). Its changes were never committed; running more
                    # rounds on top of a half-applied one could commit corrupted state, so
                    # stop executing, say why, and report it in the status (impl).
                    _log.exception("round %d failed; no further rounds will run", self._height())
                    self._failed = True
                    return
                if not self._pending and not stop.is_set():
                    try:
                        await asyncio.wait_for(wake.wait(), self.config.round_interval)
                    except TimeoutError:
                        pass
        finally:
            self._wake = None
            stopping.cancel()
            rounds.shutdown(wait=False)

    def cached_query(
        self, canister_id: Principal, method_name: str, arg: bytes, sender: Principal
    ) -> tuple[Reply, int] | None:
        """(impl) The reply `query` would give from `query_cache` on the last certified state,
        with that state's time; None if `query` has to run (a miss counts when it does).

        No Wasm and no waiting, so the gateway tries it inline before handing a query to a
        worker thread.
        """
        if canister_id.is_management_canister:
            return None
        certified = self._certified
        key = QueryKey(canister_id, sender, method_name, arg)
        cached = self.query_cache.get(key, certified.height, certified.time, count_miss=False)
        return None if cached is None else (cached, certified.time)

    def query(
        self, canister_id: Principal, method_name: str, arg: bytes, sender: Principal
    ) -> Reply | Reject:
        """Run a query method on the last certified state (nothing it changes is kept).

        (impl) A reply is kept in `query_cache` and answers the same query again, without
        running Wasm, while the canisters it depended on are unchanged (see query_cache.py).
        """
        if canister_id.is_management_canister:
            return self._management_query(method_name, arg, sender)
        certified = self._certified
        key = QueryKey(canister_id, sender, method_name, arg)
        cached = self.query_cache.get(key, certified.height, certified.time)
        if cached is not None:
            return cached
        # (impl) the same query on the same certified state, already running in another
        # thread (a burst of identical queries right after a round), has the same answer:
        # wait for that one instead of running the Wasm again
        flight_key = (key, certified.height)
        with self._flights_lock:
            flight = self._flights.get(flight_key)
            leader = flight is None
            if flight is None:
                flight = self._flights[flight_key] = Future()
        if not leader:
            return flight.result()
        try:
            result = self._run_query_graph(key, certified)
        except BaseException as e:
            flight.set_exception(e)
            raise
        else:
            flight.set_result(result)
            return result
        finally:
            with self._flights_lock:
                del self._flights[flight_key]

    def _run_query_graph(self, key: QueryKey, certified: _Certified) -> Reply | Reject:
        """Run a (composite) query that missed the cache; keep its reply if cacheable."""
        canister_id, sender, method_name, arg = key.receiver, key.caller, key.method_name, key.arg
        info = getattr(self.executor, "validated", None)
        record = QueryRecord()

        def run(canister: CanisterState, wasm_state: Any, call: EntryCall, top_level: bool) -> Any:
            outcome = self._run_query(canister, wasm_state, call, top_level, certified)
            assert canister.module is not None
            reads_time = module_reads_time(info(canister.module.wasm) if info else None)
            record.executed(canister.canister_id, outcome, reads_time)
            return outcome

        def management(method: str, arg: bytes, caller: Principal) -> Reply | Reject:
            record.called_management()
            return self._management_query(method, arg, caller)

        engine = CompositeQueryEngine(
            certified.canisters,
            run,
            management,
            (lambda c: info(c.module.wasm)) if info is not None else (lambda c: None),
            self.config.fees,
        )
        result = engine.query(canister_id, method_name, arg, sender)
        self.query_cache.put(key, result, record, certified.height, certified.time)
        return result

    def _run_query(
        self,
        canister: CanisterState,
        wasm_state: Any,
        call: EntryCall,
        top_level: bool,
        certified: _Certified | None = None,
    ) -> Any:
        """One execution of a query call graph on the certified state (nothing is kept)."""
        assert canister.module is not None
        certified = certified if certified is not None else self._certified
        module = self.executor.compile(canister.module.wasm)
        cert = self.data_certificate(canister.canister_id, certified) if top_level else None
        env = replace(
            self.scheduler.environment(canister, replicated=False),
            time=certified.time,
            data_certificate=cert,
        )
        return self.executor.execute(module, wasm_state, call, env)

    def _management_query(self, method: str, arg: bytes, sender: Principal) -> Reply | Reject:
        dispatch = self.scheduler.management
        if dispatch is None:
            return error_codes.reject(
                error_codes.ErrorCode.UNKNOWN_MANAGEMENT_MESSAGE,
                f"Management canister has no method '{method}'",
            )
        state = ReplicatedState(metadata=self.state.metadata)
        state.canisters = {k: copy_canister(v) for k, v in self._certified.canisters.items()}
        ctx = RoundManagementContext(self.scheduler, state, is_ingress=True, replicated=False)
        result = dispatch(ctx, method, arg, sender, 0)
        return (
            result
            if isinstance(result, Reply | Reject)
            else error_codes.did_not_reply(Principal.management_canister())
        )

    def data_certificate(
        self, canister_id: Principal, certified: _Certified | None = None
    ) -> bytes:
        """A certificate revealing `/canister/<id>/certified_data` and `/time` (of the last
        certified state, or of `certified`)."""
        certified = certified if certified is not None else self._certified
        encoded = certified.data_certificates.get(canister_id)
        if encoded is None:
            paths = [[b"time"], [b"canister", canister_id.raw, b"certified_data"]]
            cert = Certificate(certified.tree.witness(paths), certified.signature, self.delegation)
            encoded = certified.data_certificates[canister_id] = cert.encode()
        return encoded

    def _certificate(self, paths: Sequence[Path]) -> Certificate:
        cert = self._certified
        tree = cert.tree.witness([[b"time"], *paths])
        return Certificate(tree, cert.signature, self.delegation)

    def read_state(self, paths: Sequence[Path], sender: Principal) -> Certificate:
        """A certificate of the requested paths in the last certified state.

        A path under `/request_status/<rid>` of a request sent by someone else is refused
        (spec: read_state access rules); other access checks are the gateway's.
        """
        for path in paths:
            if len(path) >= 2 and bytes(_label(path[0])) == b"request_status":
                status = self.store.get_ingress(RequestId(_label(path[1])))
                if status is not None and status.sender != sender:
                    raise AuthenticationError("the request status belongs to a different sender")
        return self._certificate(paths)

    def status(self) -> Status:
        return Status(
            self.keys.root.public_key_der,
            certified_height=self._certified.height,
            replica_health_status="stalled" if self._failed else "healthy",
        )

    def _height(self) -> int:
        return self.state.metadata.height

    @property
    def root_key(self) -> bytes:
        return self.keys.root.public_key_der

    @property
    def certified_time(self) -> int:
        """The time (ns) of the last certified state: what queries and read_state see, and
        the timestamp a node signs into a query response."""
        return self._certified.time

    def canister(self, canister_id: Principal) -> CanisterState | None:
        """The certified state of a canister (tests, metrics)."""
        return self._certified.canisters.get(canister_id)


def _resolve_threadsafe(futures: list[asyncio.Future[None]]) -> None:
    """Resolve `wait` futures from the round's thread: one wake-up per event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for future in futures:
        by_loop.setdefault(future.get_loop(), []).append(future)
    for loop, group in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve, group)
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            pass


def _resolve(futures: list[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():
            future.set_result(None)


def _label(label: bytes | str) -> bytes:
    return label.encode() if isinstance(label, str) else bytes(label)
