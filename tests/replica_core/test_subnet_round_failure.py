"""A round that raises (a bug in icbox, never a canister failure) stops the round loop
loudly: it is logged with its traceback, no later round commits on top of it, and the
status endpoint's health says so."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from replica_core.store.memory import MemoryStore
from replica_core.subnet import FakeClock, Subnet, SubnetConfig
from tests.replica_core.fake_executor import FakeExecutor


def test_failed_round_stops_the_loop_and_reports_stalled(monkeypatch, caplog):
    subnet = Subnet(
        MemoryStore(),
        FakeClock(),
        random.Random(1),
        SubnetConfig(round_interval=0.01),
        executor=FakeExecutor(),
    )
    height = subnet.status().certified_height
    calls = 0

    def broken_round() -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("scheduler bug")

    monkeypatch.setattr(subnet, "execute_round", broken_round)

    async def drive() -> None:
        stop = asyncio.Event()
        await asyncio.wait_for(subnet.run(stop), timeout=5)

    with caplog.at_level(logging.ERROR, logger="icbox.subnet"):
        asyncio.run(drive())

    assert calls == 1
    assert "no further rounds will run" in caplog.text
    assert "scheduler bug" in caplog.text
    status = subnet.status()
    assert status.replica_health_status == "stalled"
    assert status.certified_height == height


def test_healthy_subnet_reports_healthy():
    subnet = Subnet(MemoryStore(), FakeClock(), random.Random(1), executor=FakeExecutor())
    assert subnet.status().replica_health_status == "healthy"


@pytest.mark.parametrize("rounds", [1, 3])
def test_rounds_that_succeed_keep_running(rounds):
    subnet = Subnet(MemoryStore(), FakeClock(), random.Random(1), executor=FakeExecutor())
    start = subnet.status().certified_height
    subnet.tick(rounds)
    assert subnet.status().certified_height == start + rounds
