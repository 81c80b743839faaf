"""`icbox start --workers N`: the replica-core process keeps N gateway workers serving,
starts a dead one again, and stops them all (none left behind) however it ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from replica_core import cbor
from tests.gateway.test_cli import ROOT, free_port


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def _wait_until(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.05)


class _Served:
    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc = proc
        self.url = url

    def status(self) -> dict:
        response = httpx.get(f"{self.url}/api/v2/status", timeout=5)
        assert response.status_code == 200, response.text
        return cbor.decode(response.content)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[_Served]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "start", "--port", str(port)]
        + ["--data-dir", str(tmp_path), "--workers", "2"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    served = _Served(proc, f"http://127.0.0.1:{port}")

    def answers() -> bool:
        try:
            served.status()
        except httpx.TransportError:
            return False
        return True

    try:
        _wait_until(answers, 30, "icbox answers /api/v2/status")
        _wait_until(lambda: len(_children(proc.pid)) == 2, 30, "two workers run")
        yield served
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for pid in _children(proc.pid):
            os.kill(pid, signal.SIGKILL)


def test_a_dead_worker_is_started_again_while_the_other_serves(served):
    first = _children(served.proc.pid)
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    served.status()  # the other worker answers meanwhile
    _wait_until(
        lambda: len(_children(served.proc.pid) - {victim}) == 2, 15, "a new worker replaces it"
    )
    for _ in range(10):  # whichever worker a connection lands on answers
        assert served.status()["replica_health_status"] == "healthy"


def test_sigterm_stops_the_workers_and_the_replica_core(served):
    workers = _children(served.proc.pid)
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(timeout=20) == 0
    _wait_until(lambda: not any(_alive(pid) for pid in workers), 10, "the workers exit")


def test_workers_exit_when_the_replica_core_dies(served):
    workers = _children(served.proc.pid)
    served.proc.kill()
    served.proc.wait()
    _wait_until(lambda: not any(_alive(pid) for pid in workers), 15, "orphaned workers exit")
