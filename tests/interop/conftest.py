"""Fixtures for the interop tests: run agent-js scripts under node, share Candid cases.

Every test here is marked `interop`: it runs a real IC client (agent-js 3.4.3 under node,
or icp-py-core) against icbox's foundation layer. The node scripts live next to this file
and read one JSON document, print one; `run_node` calls them (one process per batch).
The `live_icbox` fixture runs `icbox start` once per session for the `test_live_*` modules.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

INTEROP_DIR = Path(__file__).resolve().parent
NODE_TIMEOUT_S = 120

RunNode = Callable[[str, dict[str, Any]], dict[str, Any]]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/interop with `interop`."""
    for item in items:
        if INTEROP_DIR in item.path.resolve().parents:
            item.add_marker(pytest.mark.interop)


def _ensure_node_modules() -> None:
    modules = INTEROP_DIR / "node_modules"
    if all(
        (modules / name / "package.json").exists()
        for name in ("@dfinity/agent", "@icp-sdk/core", "@icp-sdk/icp-cli-linux-x64")
    ):
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: cannot set up agent-js")
    result = subprocess.run(
        [npm, "ci", "--silent", "--no-audit", "--no-fund"],
        cwd=INTEROP_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"npm ci in {INTEROP_DIR} failed:\n{result.stderr[-2000:]}")


@pytest.fixture(scope="session")
def run_node() -> RunNode:
    """A function `run_node(script, payload) -> dict` running one of the node scripts."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    _ensure_node_modules()

    def run(script: str, payload: dict[str, Any]) -> dict[str, Any]:
        result = subprocess.run(
            ["node", str(INTEROP_DIR / script)],
            input=json.dumps(payload),
            cwd=INTEROP_DIR,
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT_S,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"node {script} failed ({result.returncode}):\n{result.stderr}")
        return json.loads(result.stdout)

    return run


# --- Candid -----------------------------------------------------------------------------
# The spread of cases and the JSON↔value converters live in candid_spread.py, loaded by
# path so that it works under any pytest import mode.


def _load_candid_spread() -> Any:
    spec = importlib.util.spec_from_file_location(
        "interop_candid_spread", INTEROP_DIR / "candid_spread.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


candid_spread = _load_candid_spread()
CANDID_CASES: list[dict[str, Any]] = candid_spread.CANDID_CASES


@pytest.fixture(scope="session")
def candid_json() -> Any:
    """Builds icbox Candid types/values from the JSON descriptions and renders values back."""
    return candid_spread.CandidJson()


@pytest.fixture(scope="session")
def candid_cases() -> list[dict[str, Any]]:
    """The whole spread (for batching all cases into one node process)."""
    return CANDID_CASES


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize a `candid_case` argument over CANDID_CASES (ids = case names).

    A test module may declare `CANDID_XFAIL = {test_name: {case_name: reason}}`: those
    cases are marked `xfail(strict=True)`, for known icbox bugs the lead is to fix.
    """
    if "candid_case" not in metafunc.fixturenames:
        return
    xfail = getattr(metafunc.module, "CANDID_XFAIL", {}).get(metafunc.function.__name__, {})
    metafunc.parametrize(
        "candid_case",
        [
            pytest.param(
                case,
                id=case["name"],
                marks=[pytest.mark.xfail(strict=True, reason=xfail[case["name"]])]
                if case["name"] in xfail
                else [],
            )
            for case in CANDID_CASES
        ],
    )


# --- a live `icbox start` -----------------------------------------------------------------
# One server per test session, started lazily by the first live test: `icbox start` as a
# subprocess on a free loopback port with a fresh data directory, ready once
# `/api/v2/status` answers.

REPO_ROOT = INTEROP_DIR.parents[1]
LIVE_START_TIMEOUT_S = 60


@dataclass(frozen=True, slots=True)
class LiveIcbox:
    """A running `icbox start`: where it serves, and what it printed about itself."""

    url: str
    root_key: bytes
    subnet_id: str
    data_dir: Path
    process: subprocess.Popen[str]

    def log(self) -> str:
        """What the server wrote so far (for failure messages)."""
        path = self.data_dir.parent / "icbox.log"
        return path.read_text() if path.exists() else ""


LIVE_WORKERS = 2
"""Gateway worker processes of the live service: every live test goes through a worker and
the link to the replica-core process, as `icbox start` does by default on a multi-core
machine (single-process serving is what the in-process app tests exercise)."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_icbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIcbox]:
    """`icbox start` serving on 127.0.0.1:<free port>, stopped at the end of the session."""
    import httpx

    base = tmp_path_factory.mktemp("live_icbox")
    data_dir = base / "data"
    port = _free_port()
    log = (base / "icbox.log").open("w")
    command = [
        sys.executable,
        "-m",
        "gateway.cli",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--workers",
        str(LIVE_WORKERS),
    ]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    server = LiveIcbox(url, b"", "", data_dir, process)
    deadline = time.monotonic() + LIVE_START_TIMEOUT_S
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"icbox start exited with {process.returncode}:\n{server.log()}")
            try:
                response = httpx.get(f"{url}/api/v2/status", timeout=2)
                if response.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"icbox start did not answer /api/v2/status:\n{server.log()}")
            time.sleep(0.1)
        printed = server.log()
        root_key = re.search(r"root key: ([0-9a-f]+)", printed)
        subnet_id = re.search(r"subnet id: (\S+)", printed)
        assert root_key is not None and subnet_id is not None, printed
        yield LiveIcbox(url, bytes.fromhex(root_key[1]), subnet_id[1], data_dir, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
