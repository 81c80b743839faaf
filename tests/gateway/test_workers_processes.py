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
    try:
        _wait_until(lambda: _answers(served), 30, "icbox answers /api/v2/status")
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


def test_a_port_in_use_is_a_clear_error_not_a_traceback(served, tmp_path):
    port = served.url.rsplit(":", 1)[1]
    second = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "start", "--port", port]
        + ["--data-dir", str(tmp_path / "other"), "--workers", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in second.stderr
    assert "Traceback" not in second.stderr
    served.status()  # the first one is undisturbed


def test_ctrl_c_to_the_process_group_stops_everything_without_restarts(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "start", "--port", str(port)]
        + ["--data-dir", str(tmp_path), "--workers", "2"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    try:
        _wait_until(lambda: len(_children(proc.pid)) == 2, 30, "two workers run")
        served = _Served(proc, f"http://127.0.0.1:{port}")
        _wait_until(lambda: _answers(served), 30, "icbox answers")
        workers = _children(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0
        assert "started it again" not in err
        _wait_until(lambda: not any(_alive(pid) for pid in workers), 10, "the workers exit")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _answers(served: _Served) -> bool:
    try:
        served.status()
    except httpx.TransportError:
        return False
    return True
