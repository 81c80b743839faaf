"""Motoko timer and heartbeat canisters through `Subnet`: global timer and heartbeats.

Spec: IC interface spec 0.66.0, Global timer (`ic0.global_timer_set`, `canister_global_timer`
runs once the subnet's time passes the deadline) and Heartbeat (`canister_heartbeat` once
per round).
"""

from __future__ import annotations

import pytest

from replica_core.errors import Reject
from replica_core.subnet import SandboxExecutor
from tests.replica_core.subnet_fixtures import FLAVOURS, SEC, make_subnet, shared_executor


@pytest.fixture(scope="module")
def executor() -> SandboxExecutor:
    return shared_executor()


def _ticks(client, flavour, cid) -> int:
    (n,) = client.query(flavour, "timer", cid, "get")
    return n  # type: ignore[no-any-return]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_one_shot_timer_fires_once_after_its_delay(executor, flavour):
    subnet, client = make_subnet(executor)
    cid = client.deploy(flavour, "timer")
    client.call(flavour, "timer", cid, "once", 2)
    deadline = subnet.canister(cid).global_timer
    assert deadline >= subnet.state.time + 2 * SEC - 10  # armed through ic0.global_timer_set
    subnet.tick(3)
    assert _ticks(client, flavour, cid) == 0  # not yet: the subnet's time has not moved
    subnet.advance_time(3)
    subnet.tick(2)  # the timer job runs through a Motoko self-call
    assert _ticks(client, flavour, cid) == 1
    subnet.advance_time(10)
    subnet.tick(2)
    assert _ticks(client, flavour, cid) == 1


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_recurring_timer_fires_every_period_until_stopped(executor, flavour):
    subnet, client = make_subnet(executor)
    cid = client.deploy(flavour, "timer")
    client.call(flavour, "timer", cid, "start", 5)
    seen = []
    for _ in range(3):
        subnet.advance_time(6)
        subnet.tick(2)
        seen.append(_ticks(client, flavour, cid))
    assert seen == [1, 2, 3]
    assert client.call(flavour, "timer", cid, "stop") == ()
    for _ in range(2):
        subnet.advance_time(6)
        subnet.tick(2)
    assert _ticks(client, flavour, cid) == 3


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_heartbeat_runs_once_per_round(executor, flavour):
    subnet, client = make_subnet(executor)
    cid = client.deploy(flavour, "heartbeat")
    (before,) = client.query(flavour, "heartbeat", cid, "get")
    subnet.tick(5)
    assert client.query(flavour, "heartbeat", cid, "get") == (before + 5,)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_no_heartbeat_or_timer_while_stopped(executor, flavour):
    subnet, client = make_subnet(executor)
    hb = client.deploy(flavour, "heartbeat")
    timer = client.deploy(flavour, "timer")
    client.call(flavour, "timer", timer, "once", 1)
    (beats,) = client.query(flavour, "heartbeat", hb, "get")
    assert client.management("stop_canister", {"canister_id": hb}) == ()  # one round
    assert client.management("stop_canister", {"canister_id": timer}) == ()
    subnet.advance_time(5)
    subnet.tick(3)
    stopped = client.query(flavour, "timer", timer, "get")
    assert isinstance(stopped, Reject) and stopped.error_code == "IC0508"
    for cid in (hb, timer):
        assert client.management("start_canister", {"canister_id": cid}) == ()
    # The stop round ran its heartbeat before `stop_canister`; nothing ran while stopped.
    assert client.query(flavour, "heartbeat", hb, "get") == (beats + 1,)
    assert _ticks(client, flavour, timer) == 0
    subnet.tick(2)
    assert _ticks(client, flavour, timer) == 1  # the deadline passed while stopped
