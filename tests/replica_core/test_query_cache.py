"""The replica-side query cache behind `Subnet.query`: hits, misses, invalidation, bounds."""

from __future__ import annotations

import hashlib
import random
from typing import Any

import wasmtime

from replica_core.errors import Reject, RejectCode
from replica_core.execution.interface import (
    EntryCall,
    Environment,
    ExecutionOutcome,
    ExecutionState,
    Reply,
    Trap,
    TrapKind,
)
from replica_core.messages import Ingress
from replica_core.principal import Principal
from replica_core.query_cache import (
    ENTRY_OVERHEAD_BYTES,
    QueryCache,
    QueryKey,
    QueryRecord,
    module_reads_time,
)
from replica_core.store.memory import MemoryStore
from replica_core.subnet import FakeClock, Subnet
from replica_core.types import RequestId
from tests.replica_core.fake_executor import FakeExecutor, bump, counter
from tests.replica_core.fake_executor import install as fake_install
from tests.replica_core.gaps_fixtures import USER, call, fwd_arg, install
from tests.replica_core.gaps_fixtures import make_subnet as wasm_subnet

OTHER = Principal.self_authenticating(b"\x30\x2a" + b"o" * 42)

CLOCK_WAT = """(module
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "time" (func $time (result i64)))
  (import "ic0" "data_certificate_size" (func $cert_size (result i32)))
  (import "ic0" "data_certificate_copy" (func $cert_copy (param i32 i32 i32)))
  (memory 1)
  (func (export "canister_query now")
    (i64.store (i32.const 0) (call $time))
    (call $append (i32.const 0) (i32.const 8))
    (call $reply))
  (func (export "canister_query cert")
    (call $cert_copy (i32.const 0) (i32.const 0) (call $cert_size))
    (call $append (i32.const 0) (call $cert_size))
    (call $reply)))"""


class Recording:
    """The subnet's executor, counting the executions queries make."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.executions = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def execute(self, module: Any, state: Any, call: Any, env: Any) -> Any:
        self.executions += 1
        return self.inner.execute(module, state, call, env)


def _reply_counter(call: EntryCall, env: Environment, state: ExecutionState) -> ExecutionOutcome:
    return ExecutionOutcome(None, None, Reply(bytes([counter(state)]) + call.arg))


def _bump(call: EntryCall, env: Environment, state: ExecutionState) -> ExecutionOutcome:
    return ExecutionOutcome(None, bump(state), Reply(b""))


def _fake() -> tuple[Any, FakeExecutor, Principal, Principal]:
    executor = FakeExecutor()
    wasm = executor.program(
        "cached",
        {
            "query get": _reply_counter,
            "query cert": lambda c, env, s: ExecutionOutcome(
                None, None, Reply(env.data_certificate or b"")
            ),
            "query boom": lambda c, e, s: ExecutionOutcome(
                Trap(TrapKind.CANISTER_TRAP, "boom"), None
            ),
            "query no": lambda c, e, s: ExecutionOutcome(
                None, None, Reject(RejectCode.CANISTER_REJECT, "no")
            ),
            "inc": _bump,
        },
    )
    subnet = Subnet(MemoryStore(), FakeClock(), random.Random(7), executor=executor)
    a, b = fake_install(subnet, wasm), fake_install(subnet, wasm)
    subnet.tick()
    return subnet, executor, a, b


def _runs(executor: FakeExecutor, method: str) -> int:
    return sum(1 for _, key in executor.log if key == "query " + method)


def test_a_repeated_query_is_served_from_the_cache_without_running_wasm():
    subnet, executor, a, _ = _fake()
    first = subnet.query(a, "get", b"x", USER)
    assert first == Reply(b"\x00x")
    assert subnet.query(a, "get", b"x", USER) == first
    assert _runs(executor, "get") == 1
    assert (subnet.query_cache.hits, subnet.query_cache.misses) == (1, 1)


def test_a_different_receiver_caller_method_or_argument_misses():
    subnet, executor, a, b = _fake()
    subnet.query(a, "get", b"x", USER)
    subnet.query(a, "get", b"x", OTHER)
    subnet.query(a, "get", b"y", USER)
    subnet.query(b, "get", b"x", USER)
    subnet.query(a, "cert", b"x", USER)
    assert _runs(executor, "get") == 4 and _runs(executor, "cert") == 1
    assert subnet.query_cache.hits == 0


def test_a_round_that_changes_the_canister_invalidates_its_entries():
    subnet, executor, a, b = _fake()
    assert subnet.query(a, "get", b"", USER) == Reply(b"\x00")
    rid = RequestId(hashlib.sha256(b"inc").digest())
    subnet.submit(Ingress(rid, USER, a, "inc", b"", subnet.clock.now() + 60 * 10**9))
    subnet.tick()
    assert subnet.query(a, "get", b"", USER) == Reply(b"\x01")
    assert _runs(executor, "get") == 2


def test_a_wasm_query_that_cannot_read_the_time_survives_rounds_that_leave_its_canister_alone():
    subnet = wasm_subnet()
    a, b = install(subnet), install(subnet)
    recording = Recording(subnet.executor)
    subnet.executor = recording
    assert subnet.query(a, "count", b"", USER) == Reply(b"\x00")
    subnet.tick(2)
    call(subnet, b, "bump")  # another canister changes: a's entry stays valid
    assert subnet.query(a, "count", b"", USER) == Reply(b"\x00")
    assert recording.executions == 1
    call(subnet, a, "bump")  # the canister itself changes: the entry is stale
    assert subnet.query(a, "count", b"", USER) == Reply(b"\x01")
    assert recording.executions == 2


def test_a_composite_query_depends_on_every_canister_it_called():
    subnet = wasm_subnet()
    a, b = install(subnet), install(subnet)
    recording = Recording(subnet.executor)
    subnet.executor = recording
    arg = fwd_arg(b, "count")
    assert subnet.query(a, "fwd", arg, USER) == Reply(b"R\x01\x00")
    assert subnet.query(a, "fwd", arg, USER) == Reply(b"R\x01\x00")
    assert recording.executions == 3  # fwd, count, the reply callback: once
    call(subnet, b, "bump")  # the callee changes
    assert subnet.query(a, "fwd", arg, USER) == Reply(b"R\x01\x01")
    assert recording.executions == 6


def test_a_composite_query_that_called_the_management_canister_is_not_cached():
    subnet = wasm_subnet()
    a = install(subnet)
    recording = Recording(subnet.executor)
    subnet.executor = recording
    arg = fwd_arg(Principal.management_canister(), "canister_status")
    first = subnet.query(a, "fwd", arg, USER)
    assert isinstance(first, Reply) and first.payload.startswith(b"J")
    assert subnet.query(a, "fwd", arg, USER) == first
    assert recording.executions == 4 and len(subnet.query_cache) == 0


def test_a_trap_or_a_reject_is_not_cached():
    subnet, executor, a, _ = _fake()
    for _ in range(2):
        trapped = subnet.query(a, "boom", b"", USER)
        assert isinstance(trapped, Reject) and trapped.code is RejectCode.CANISTER_ERROR
        assert subnet.query(a, "no", b"", USER) == Reject(RejectCode.CANISTER_REJECT, "no")
    assert _runs(executor, "boom") == 2 and _runs(executor, "no") == 2
    assert len(subnet.query_cache) == 0


def test_the_data_certificate_is_never_served_stale_across_certified_states():
    subnet, executor, a, _ = _fake()
    first = subnet.query(a, "cert", b"", USER)
    assert first == Reply(subnet.data_certificate(a))
    assert subnet.query(a, "cert", b"", USER) == first  # same certified state: a hit
    subnet.advance_time(1)  # a new certified state, the canister unchanged
    second = subnet.query(a, "cert", b"", USER)
    assert second == Reply(subnet.data_certificate(a)) and second != first
    assert _runs(executor, "cert") == 2


def test_a_wasm_query_importing_time_or_the_data_certificate_is_redone_each_state():
    subnet = wasm_subnet()
    clock_wasm = wasmtime.wat2wasm(CLOCK_WAT)
    assert module_reads_time(subnet.executor.validated(clock_wasm))  # type: ignore[attr-defined]
    c = install(subnet, clock_wasm)
    recording = Recording(subnet.executor)
    subnet.executor = recording
    t0 = subnet.query(c, "now", b"", USER)
    assert t0 == Reply(subnet.certified_time.to_bytes(8, "little"))
    assert subnet.query(c, "now", b"", USER) == t0
    cert0 = subnet.query(c, "cert", b"", USER)
    assert cert0 == Reply(subnet.data_certificate(c))
    assert recording.executions == 2
    subnet.advance_time(1)
    assert subnet.query(c, "now", b"", USER) == Reply(subnet.certified_time.to_bytes(8, "little"))
    assert subnet.query(c, "cert", b"", USER) == Reply(subnet.data_certificate(c)) != cert0
    assert recording.executions == 4


def _key(n: int, arg: bytes = b"") -> QueryKey:
    return QueryKey(Principal.from_canister_index(0), USER, f"m{n}", arg)


def test_the_least_recently_used_entry_is_evicted_beyond_the_entry_bound():
    cache = QueryCache(max_entries=2)
    record = QueryRecord({Principal.from_canister_index(0)})
    for n in range(2):
        assert cache.put(_key(n), Reply(b"r"), record, 1, 0)
    assert cache.get(_key(0), 1, 0) == Reply(b"r")  # m0 is now the most recently used
    cache.put(_key(2), Reply(b"r"), record, 1, 0)
    assert cache.get(_key(1), 1, 0) is None
    assert cache.get(_key(0), 1, 0) == cache.get(_key(2), 1, 0) == Reply(b"r")
    assert cache.evictions == 1 and len(cache) == 2


def test_the_byte_bound_counts_arguments_and_replies_and_evicts_to_fit():
    entry = ENTRY_OVERHEAD_BYTES + 2 + 100 + 100  # method name, argument, reply
    cache = QueryCache(max_bytes=2 * entry + 10)
    record = QueryRecord({Principal.from_canister_index(0)})
    for n in range(3):
        assert cache.put(_key(n, b"a" * 100), Reply(b"r" * 100), record, 1, 0)
    assert cache.size == 2 * entry and len(cache) == 2
    assert cache.get(_key(0, b"a" * 100), 1, 0) is None
    # a reply larger than the whole cache is not kept at all
    assert not cache.put(_key(9), Reply(b"r" * 3 * entry), record, 1, 0)


def test_an_entry_expires_after_the_maximum_age_in_certified_time():
    cache = QueryCache(max_age_ns=10)
    record = QueryRecord({Principal.from_canister_index(0)})
    cache.put(_key(0), Reply(b"r"), record, 1, 100)
    assert cache.get(_key(0), 5, 110) == Reply(b"r")
    assert cache.get(_key(0), 6, 111) is None and cache.invalidations == 1


def test_a_result_computed_on_a_state_older_than_a_change_is_not_kept():
    cache = QueryCache()
    cid = Principal.from_canister_index(0)
    cache.canisters_changed(5, [cid])  # a round published state 5 while the query ran on 4
    assert not cache.put(_key(0), Reply(b"r"), QueryRecord({cid}), 4, 0)
    assert cache.put(_key(0), Reply(b"r"), QueryRecord({cid}), 5, 0)
