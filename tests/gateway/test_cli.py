"""The `icbox` console script: `icbox start` serves the IC HTTP interface."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from gateway.cli import DEFAULT_PORT, KEY_SEED_FILE, build_parser, load_key_seed
from replica_core import cbor

ROOT = Path(__file__).resolve().parents[2]


def test_start_defaults_to_the_local_replica_address():
    args = build_parser().parse_args(["start"])
    assert (args.host, args.port) == ("127.0.0.1", DEFAULT_PORT)


def test_start_accepts_host_port_and_data_dir(tmp_path):
    args = build_parser().parse_args(
        ["start", "--host", "0.0.0.0", "--port", "5000", "--data-dir", str(tmp_path)]
    )
    assert (args.host, args.port, args.data_dir) == ("0.0.0.0", 5000, tmp_path)


def test_key_seed_is_created_once_and_kept(tmp_path):
    seed = load_key_seed(tmp_path / "data")
    assert len(seed) == 32 and (tmp_path / "data" / KEY_SEED_FILE).exists()
    assert load_key_seed(tmp_path / "data") == seed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_and_fetch_status(data_dir: Path, workers: int = 0) -> tuple[dict, str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "start",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/v2/status", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "icbox did not start within 30 s"
                time.sleep(0.1)
        assert response.status_code == 200
        return cbor.decode(response.content), f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
        assert f"http://127.0.0.1:{port}" in out


def test_icbox_start_serves_status_with_the_der_root_key(tmp_path):
    status, _ = serve_and_fetch_status(tmp_path)
    assert len(status["root_key"]) == 133
    assert status["root_key"].startswith(bytes.fromhex("308182301d060d2b0601040182dc7c0503010201"))
    again, _ = serve_and_fetch_status(tmp_path, workers=2)  # one process or several: same keys
    assert again["root_key"] == status["root_key"]  # same data dir, same root key


def test_workers_default_to_one_per_core_and_none_on_one_core(monkeypatch):
    from gateway import cli

    monkeypatch.setattr(cli.os, "sched_getaffinity", lambda pid: {0})
    assert cli.default_workers() == 0
    monkeypatch.setattr(cli.os, "sched_getaffinity", lambda pid: {0, 1})
    assert cli.default_workers() == 2
    monkeypatch.setattr(cli.os, "sched_getaffinity", lambda pid: set(range(32)))
    assert cli.default_workers() == cli.MAX_DEFAULT_WORKERS
    assert build_parser().parse_args(["start", "--workers", "3"]).workers == 3


def test_workers_out_of_range_are_refused(capsys):
    import pytest

    with pytest.raises(SystemExit):
        build_parser().parse_args(["start", "--workers", "-1"])
    assert "--workers must be between 0 and 64" in capsys.readouterr().err
