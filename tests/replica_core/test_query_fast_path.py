"""Per-query shortcuts of `Subnet`: cache hits taken inline (`cached_query`), and identical
queries on the same certified state running the Wasm once (the gateway's hot path)."""

from __future__ import annotations

import random
import threading
import time

from replica_core.errors import Reject, RejectCode
from replica_core.execution.interface import (
    EntryCall,
    Environment,
    ExecutionOutcome,
    ExecutionState,
    Reply,
)
from replica_core.ingress_history import IngressState
from replica_core.principal import Principal
from replica_core.store.memory import MemoryStore
from replica_core.subnet import FakeClock, Subnet
from tests.replica_core.fake_executor import FakeExecutor, bump, counter
from tests.replica_core.fake_executor import install as fake_install
from tests.replica_core.gaps_fixtures import USER, call

MGMT = Principal.management_canister()


class _Gate:
    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()


def _subnet(gate: _Gate | None = None) -> tuple[Subnet, FakeExecutor, Principal]:
    executor = FakeExecutor()

    def get(call: EntryCall, env: Environment, state: ExecutionState) -> ExecutionOutcome:
        return ExecutionOutcome(None, None, Reply(bytes([counter(state)]) + call.arg))

    def slow(call: EntryCall, env: Environment, state: ExecutionState) -> ExecutionOutcome:
        assert gate is not None
        gate.started.set()
        assert gate.release.wait(5)
        # a reject is never cached: only the shared flight can spare the other runs
        return ExecutionOutcome(None, None, Reject(RejectCode.CANISTER_REJECT, "slow no"))

    def inc(call: EntryCall, env: Environment, state: ExecutionState) -> ExecutionOutcome:
        return ExecutionOutcome(None, bump(state), Reply(b""))

    wasm = executor.program("fast", {"query get": get, "query slow": slow, "inc": inc})
    subnet = Subnet(MemoryStore(), FakeClock(), random.Random(3), executor=executor)
    cid = fake_install(subnet, wasm)
    subnet.tick()
    return subnet, executor, cid


def _runs(executor: FakeExecutor, method: str) -> int:
    return sum(1 for _, key in executor.log if key == "query " + method)


def test_cached_query_answers_only_what_query_would_answer_from_the_cache():
    subnet, executor, cid = _subnet()
    assert subnet.cached_query(cid, "get", b"x", USER) is None
    assert subnet.query_cache.misses == 0  # the run that follows counts the miss
    reply = subnet.query(cid, "get", b"x", USER)
    assert subnet.query_cache.misses == 1
    assert subnet.cached_query(cid, "get", b"x", USER) == (reply, subnet.certified_time)
    assert subnet.cached_query(cid, "get", b"y", USER) is None
    assert _runs(executor, "get") == 1


def test_cached_query_misses_once_the_canister_changed_in_a_certified_round():
    subnet, _, cid = _subnet()
    subnet.query(cid, "get", b"x", USER)
    assert call(subnet, cid, "inc").state is IngressState.REPLIED
    assert subnet.cached_query(cid, "get", b"x", USER) is None
    assert subnet.query(cid, "get", b"x", USER) == Reply(b"\x01x")


def test_management_queries_never_take_the_inline_path():
    subnet, _, _ = _subnet()
    assert subnet.cached_query(MGMT, "list_canisters", b"DIDL\x00\x00", USER) is None


def test_identical_queries_on_the_same_certified_state_run_the_wasm_once():
    gate = _Gate()
    subnet, executor, cid = _subnet(gate)
    results: list[Reply | Reject] = []

    def ask() -> None:
        results.append(subnet.query(cid, "slow", b"", USER))

    leader = threading.Thread(target=ask)
    leader.start()
    assert gate.started.wait(5)
    followers = [threading.Thread(target=ask) for _ in range(3)]
    for t in followers:
        t.start()
    time.sleep(0.1)  # the followers reach the running flight and wait on it
    gate.release.set()
    for t in [leader, *followers]:
        t.join(5)
    assert len(results) == 4 and all(r == results[0] for r in results)
    assert isinstance(results[0], Reject)
    assert _runs(executor, "slow") == 1
    # the flight is over: the next identical query runs again (rejects are not cached)
    assert subnet.query(cid, "slow", b"", USER) == results[0]
    assert _runs(executor, "slow") == 2
