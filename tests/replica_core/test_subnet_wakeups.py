"""Subnet hot paths (issue 5): `wait` woken by the certifying round (no polling), `run`
woken by `submit`, `inspect` skipping absent `canister_inspect_message`, and one data
certificate per canister per round."""

from __future__ import annotations

import asyncio
import hashlib
import random
import threading
import time

from replica_core.certification import lookup, verify_certificate
from replica_core.certification.certificate import Certificate
from replica_core.certification.hash_tree import Found
from replica_core.execution.interface import ExecutionOutcome, Reply
from replica_core.ingress_history import IngressState
from replica_core.messages import Ingress
from replica_core.principal import Principal
from replica_core.store.memory import MemoryStore
from replica_core.subnet import FakeClock, Subnet, SubnetConfig
from replica_core.types import RequestId
from tests.replica_core.fake_executor import FakeExecutor, bump, install

USER = Principal.self_authenticating(b"\x30\x2a" + b"w" * 42)
SEC = 1_000_000_000


def _subnet(round_interval: float = 0.05) -> tuple[Subnet, Principal, FakeExecutor]:
    ex = FakeExecutor()
    subnet = Subnet(
        MemoryStore(),
        FakeClock(),
        random.Random(3),
        SubnetConfig(round_interval=round_interval),
        executor=ex,
    )

    def inc(call, env, state):
        return ExecutionOutcome(None, bump(state), response=Reply(b"ok"))

    cid = install(subnet, ex.program("c", {"inc": inc}))
    subnet.tick()
    return subnet, cid, ex


def _ingress(subnet: Subnet, cid: Principal, n: int, method: str = "inc") -> Ingress:
    rid = RequestId(hashlib.sha256(b"wake%d" % n).digest())
    return Ingress(rid, USER, cid, method, b"", subnet.clock.now() + 60 * SEC)


async def test_wait_returns_when_a_round_in_another_thread_certifies_the_reply():
    subnet, cid, _ = _subnet()
    msg = _ingress(subnet, cid, 1)
    subnet.submit(msg)
    waiter = asyncio.create_task(subnet.wait(msg.request_id, 5.0))
    await asyncio.sleep(0.01)
    assert not waiter.done()  # nothing ran yet: it is waiting, not answered
    started = time.monotonic()
    threading.Thread(target=subnet.execute_round).start()
    status = await waiter
    assert time.monotonic() - started < 1.0
    assert status is not None and status.state is IngressState.REPLIED
    cert = subnet.read_state([[b"request_status", msg.request_id]], USER)
    assert lookup(cert, [b"request_status", msg.request_id, b"reply"]) == Found(b"ok")
    assert not subnet._waiters  # the resolved waiter was removed


async def test_wait_times_out_with_the_current_status_and_forgets_its_waiter():
    subnet, cid, _ = _subnet()
    msg = _ingress(subnet, cid, 2)
    assert await subnet.wait(msg.request_id, 0.02) is None  # never submitted
    assert not subnet._waiters


async def test_wait_on_an_already_terminal_request_returns_at_once():
    subnet, cid, _ = _subnet()
    msg = _ingress(subnet, cid, 3)
    subnet.submit(msg)
    subnet.tick()
    status = await asyncio.wait_for(subnet.wait(msg.request_id, 5.0), 0.5)
    assert status is not None and status.state is IngressState.REPLIED


async def test_runner_is_woken_by_submit_not_by_its_idle_interval():
    subnet, cid, _ = _subnet(round_interval=30.0)
    stop = asyncio.Event()
    runner = asyncio.create_task(subnet.run(stop))
    await asyncio.sleep(0.05)  # the runner has done its first round and is now idle
    msgs = [_ingress(subnet, cid, 10 + i) for i in range(20)]
    started = time.monotonic()
    for msg in msgs:
        subnet.submit(msg)
    statuses = await asyncio.gather(*(subnet.wait(m.request_id, 10.0) for m in msgs))
    assert time.monotonic() - started < 2.0  # far less than the 30 s idle interval
    assert all(s is not None and s.state is IngressState.REPLIED for s in statuses)
    stop.set()
    await asyncio.wait_for(runner, 5.0)


def test_inspect_without_an_inspect_export_accepts_without_running_code():
    subnet, cid, ex = _subnet()
    msg = _ingress(subnet, cid, 4)
    assert subnet.inspect_runs_code(msg) is False
    ex.log.clear()
    assert subnet.inspect(msg) is None
    assert ex.log == []


def test_inspect_with_an_inspect_export_runs_it_and_its_refusal_rejects():
    subnet, _, ex = _subnet()

    def refuse(call, env, state):
        return ExecutionOutcome(None, None, message_accepted=False)

    cid = install(subnet, ex.program("picky", {"inc": refuse, "canister_inspect_message": refuse}))
    subnet.tick()
    msg = _ingress(subnet, cid, 5)
    assert subnet.inspect_runs_code(msg) is True
    reject = subnet.inspect(msg)
    assert reject is not None and "rejected the message" in reject.message
    assert (cid, "canister_inspect_message") in ex.log


def test_data_certificate_is_made_once_per_round_and_proves_the_round():
    subnet, cid, _ = _subnet()
    first = subnet.data_certificate(cid)
    assert subnet.data_certificate(cid) is first
    cert = verify_certificate(Certificate.decode(first), subnet.root_key)
    assert isinstance(lookup(cert, [b"canister", cid.raw, b"certified_data"]), Found)
    subnet.clock.advance(1)
    subnet.tick()
    second = subnet.data_certificate(cid)
    assert second != first
    assert lookup(Certificate.decode(second), [b"time"]) != lookup(cert, [b"time"])
