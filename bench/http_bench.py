"""Benchmark: throughput and latency of signed update calls and queries over HTTP.

Spec: IC interface spec 0.66.0, HTTPS interface › Request: Call (v3 synchronous calls),
› Request: Query call (node-signed responses). Targets: issue 5.

What runs, in one invocation, against real servers on 127.0.0.1 (uvicorn, the same settings
`icbox start` uses):

1. `icbox start` (`python -m gateway.cli start`) on a free port with a fresh data dir. A
   small client (Ed25519 identity, `crypto/signers.py`) creates a canister and installs the
   moc counter (`tests/canisters/build/base/counter.wasm`) through `aaaaa-aa` with v3 calls,
   verifying the returned certificates.
2. Baseline: `bench/echo_app.py` (a bare FastAPI POST echo) under `wrk` with the same query
   bodies, then stopped.
3. Queries: N distinct signed `get` queries, replayed by `wrk -s bench/wrk_replay.lua`
   against `/api/v3/canister/<id>/query`; ratio against the echo baseline.
4. Updates: N distinct signed `inc` calls (distinct nonces) replayed by `wrk` against
   `/api/v3/canister/<id>/call`; a request counts as ok when it answers 200 with a
   certificate.
5. Latency at half the measured update rate: `wrk2` is not in Debian, so an open-loop paced
   generator here (asyncio, raw HTTP/1.1 keep-alive, `--connections` connections) sends
   request i at t0 + i/rate and measures from that scheduled time (no coordinated omission).
6. A final `get` query checks the counter is at least the number of calls answered with a
   certificate (calls still in flight when wrk stops execute but are not counted).

    .venv/bin/python bench/http_bench.py                  # defaults: -t2 -c64 -d20s
    .venv/bin/python bench/http_bench.py --duration 10 --updates 30000 --queries 30000
    .venv/bin/python bench/http_bench.py --py-spy PATH/py-spy --profile-dir /tmp/prof
        # also record the server under each icbox wrk run (collapsed stacks, all threads)

The load generators share the 2-core machine with the server (as they would on a developer's
laptop), so absolute numbers move with whatever else runs; compare ratios within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from replica_core import cbor  # noqa: E402
from replica_core.candid import decode, encode  # noqa: E402
from replica_core.candid.types import NAT  # noqa: E402
from replica_core.certification.certificate import lookup, verify_certificate  # noqa: E402
from replica_core.certification.hash_tree import Found  # noqa: E402
from replica_core.crypto.signers import Ed25519Signer, build_envelope  # noqa: E402
from replica_core.management.candid_types import arg_types, result_types  # noqa: E402
from replica_core.principal import Principal  # noqa: E402
from replica_core.request_id import request_id  # noqa: E402

PYTHON = sys.executable
WRK_SCRIPT = ROOT / "bench" / "wrk_replay.lua"
COUNTER_WASM = ROOT / "tests" / "canisters" / "build" / "base" / "counter.wasm"
MGMT = Principal.management_canister()
SEC = 1_000_000_000
EMPTY_ARG = b"DIDL\x00\x00"
CBOR = {"content-type": "application/cbor"}


# --- servers --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(args: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("server did not start listening within 60 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- a minimal agent ----------------------------------------------------------------------


@dataclass
class Agent:
    base: str
    root_key: bytes
    signer: Ed25519Signer
    nonce: int = 0

    def content(self, request_type: str, cid: Principal, method: str, arg: bytes) -> dict:
        self.nonce += 1
        return {
            "request_type": request_type,
            "sender": self.signer.principal.raw,
            "ingress_expiry": time.time_ns() + 240 * SEC,
            "nonce": self.nonce.to_bytes(8, "big"),
            "canister_id": cid.raw,
            "method_name": method,
            "arg": arg,
        }

    def body(self, request_type: str, cid: Principal, method: str, arg: bytes) -> bytes:
        return build_envelope(self.content(request_type, cid, method, arg), self.signer)

    def update(self, cid: Principal, method: str, arg: bytes, ecid: Principal) -> bytes:
        content = self.content("call", cid, method, arg)
        response = httpx.post(
            f"{self.base}/api/v3/canister/{ecid.to_text()}/call",
            content=build_envelope(content, self.signer),
            headers=CBOR,
            timeout=60,
        )
        assert response.status_code == 200, (response.status_code, response.text)
        body = cbor.decode(response.content)
        assert "certificate" in body, body
        cert = verify_certificate(
            body["certificate"], self.root_key, effective_canister_id=ecid, ranges="flat"
        )
        rid = request_id(content)
        status = lookup(cert, [b"request_status", rid, b"status"])
        assert status == Found(b"replied"), (
            status,
            lookup(cert, [b"request_status", rid, b"reject_message"]),
        )
        reply = lookup(cert, [b"request_status", rid, b"reply"])
        assert isinstance(reply, Found)
        return reply.value

    def query(self, cid: Principal, method: str) -> bytes:
        response = httpx.post(
            f"{self.base}/api/v3/canister/{cid.to_text()}/query",
            content=self.body("query", cid, method, EMPTY_ARG),
            headers=CBOR,
            timeout=60,
        )
        body = cbor.decode(response.content)
        assert body["status"] == "replied", body
        return body["reply"]["arg"]  # type: ignore[no-any-return]


def mgmt(agent: Agent, method: str, value: Any, ecid: Principal) -> Any:
    types = arg_types(method)
    payload = agent.update(MGMT, method, encode(types, [value] if types else []), ecid)
    values = decode(payload, result_types(method))
    return values[0] if values else None


def install_counter(agent: Agent) -> Principal:
    created = mgmt(
        agent,
        "provisional_create_canister_with_cycles",
        {"amount": [10**15]},
        Principal.from_canister_index(0),
    )
    cid: Principal = created["canister_id"]
    mgmt(
        agent,
        "install_code",
        {
            "mode": {"install": None},
            "canister_id": cid,
            "wasm_module": COUNTER_WASM.read_bytes(),
            "arg": b"",
        },
        cid,
    )
    return cid


def counter_value(agent: Agent, cid: Principal) -> int:
    return int(decode(agent.query(cid, "get"), [NAT])[0])


def write_frames(path: Path, bodies: list[bytes]) -> None:
    with path.open("wb") as f:
        for body in bodies:
            f.write(struct.pack(">I", len(body)))
            f.write(body)


# --- load generators --------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    ok: int
    other: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int = 0
    wrapped: int = 0
    server_cores: float = 0.0  # CPU the server used (all its processes), in cores
    client_cores: float = 0.0  # CPU the load generator used, in cores

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def line(self) -> str:
        extra = f" wrapped={self.wrapped}" if self.wrapped else ""
        if self.server_cores:
            extra += f" cpu server {self.server_cores:.2f} wrk {self.client_cores:.2f}"
        return (
            f"{self.name:<44} {self.rate:>9,.0f} req/s  p50 {self.p50_ms:7.1f} ms  "
            f"p90 {self.p90_ms:7.1f} ms  p99 {self.p99_ms:7.1f} ms  ok {self.ok}/{self.requests}"
            f" errors {self.errors}{extra}"
        )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` and all its descendants (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += stats.get(current, (0, 0.0))[1]
        todo.extend(child for child, (parent, _) in stats.items() if parent == current)
    return total


def run_wrk(
    name: str,
    url: str,
    frames: Path,
    marker: str,
    opts: argparse.Namespace,
    server_pid: int,
    profile: bool = False,
) -> Result:
    cmd = [
        "wrk",
        f"-t{opts.threads}",
        f"-c{opts.connections}",
        f"-d{opts.duration}s",
        "--timeout",
        "30s",
        "-s",
        str(WRK_SCRIPT),
        url,
        "--",
        str(frames),
        str(opts.threads),
        marker,
    ]
    spy = None
    profile_pid = server_pid if profile else None
    if opts.py_spy and profile_pid is not None:
        out_file = Path(opts.profile_dir) / f"{name.split()[0]}.txt"
        spy = subprocess.Popen(
            [opts.py_spy, "record", "-p", str(profile_pid), "-r", "200", "--format", "raw"]
            + ["-o", str(out_file), "-d", str(opts.duration), "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    server_cpu = tree_cpu_seconds(server_pid) if server_pid else 0.0
    wrk_cpu = _children_cpu()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    wrk_cpu = _children_cpu() - wrk_cpu
    server_cpu = (tree_cpu_seconds(server_pid) - server_cpu) if server_pid else 0.0
    if spy is not None:
        spy.wait()
    line = next(x for x in out.splitlines() if x.startswith("WRK_RESULT"))
    kv = dict(item.split("=") for item in line.split()[1:])
    return Result(
        name,
        int(kv["requests"]),
        int(kv["duration_us"]) / 1e6,
        int(kv["ok"]),
        int(kv["other"]),
        int(kv["p50_us"]) / 1000,
        int(kv["p90_us"]) / 1000,
        int(kv["p99_us"]) / 1000,
        int(kv["errors"]),
        int(kv["wrapped"]),
        server_cpu / (int(kv["duration_us"]) / 1e6),
        wrk_cpu / (int(kv["duration_us"]) / 1e6),
    )


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


async def paced(
    name: str, port: int, path: str, bodies: list[bytes], rate: float, conns: int, marker: bytes
) -> Result:
    """Send body i at t0 + i/rate over `conns` keep-alive connections; latency is measured
    from the scheduled time (a late send counts against the server, as in wrk2)."""
    loop = asyncio.get_running_loop()
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/cbor\r\n"
    requests = [(head + f"Content-Length: {len(b)}\r\n\r\n").encode() + b for b in bodies]
    latencies: list[float] = []
    slow: list[tuple[float, float]] = []  # (latency, scheduled second) to locate spikes
    counts = {"ok": 0, "other": 0, "errors": 0}
    next_index = 0
    t0 = loop.time() + 0.5

    async def worker() -> None:
        nonlocal next_index
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while next_index < len(requests):
                i = next_index
                next_index += 1
                scheduled = t0 + i / rate
                delay = scheduled - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                writer.write(requests[i])
                try:
                    status, body = await _read_response(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    counts["errors"] += 1
                    return
                latencies.append(loop.time() - scheduled)
                slow.append((latencies[-1], scheduled - t0))
                counts["ok" if status == 200 and marker in body else "other"] += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(conns)))
    elapsed = loop.time() - t0
    latencies.sort()
    slow.sort(reverse=True)
    worst = slow[: max(1, len(slow) // 100)]
    seconds = sorted({int(at) for _, at in worst})
    print(f"  slowest 1% (>= {worst[-1][0] * 1000:.0f} ms) were scheduled in seconds {seconds}")

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return Result(
        name,
        len(latencies),
        elapsed,
        counts["ok"],
        counts["other"],
        pct(0.50),
        pct(0.90),
        pct(0.99),
        counts["errors"],
    )


# --- the run -----------------------------------------------------------------------------------


def run_echo(work: Path, path: str, opts: argparse.Namespace, workers: int) -> Result:
    """The baseline: `bench/echo_app.py` under uvicorn with `workers` processes, under wrk
    with the query bodies."""
    echo_port = free_port()
    echo = start_server(
        [PYTHON, "-m", "uvicorn", "bench.echo_app:app", "--port", str(echo_port)]
        + ["--no-access-log", "--log-level", "warning"]
        + (["--workers", str(workers)] if workers > 1 else []),
        echo_port,
        work / "echo.log",
    )
    try:
        time.sleep(1.0 if workers > 1 else 0.0)  # let every worker start accepting
        name = "echo baseline (bare FastAPI, query bodies)"
        if workers > 1:
            name = f"echo, {workers} uvicorn workers"
        return run_wrk(
            name,
            f"http://127.0.0.1:{echo_port}{path}/query",
            work / "queries.bin",
            "content",
            opts,
            echo.pid,
        )
    finally:
        stop_server(echo)


def signed_bodies(agent: Agent, kind: str, cid: Principal, method: str, n: int) -> list[bytes]:
    return [agent.body(kind, cid, method, EMPTY_ARG) for _ in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--workers", type=int, default=None, help="icbox gateway workers (default: icbox's)"
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--updates", type=int, default=60_000)
    parser.add_argument("--queries", type=int, default=60_000)
    parser.add_argument("--paced-rate", type=float, default=0, help="default: half measured")
    parser.add_argument("--py-spy", help="py-spy binary: profile the server under wrk")
    parser.add_argument("--profile-dir", default=".", help="where py-spy writes collapsed stacks")
    parser.add_argument(
        "--skip", action="append", default=[], choices=("echo", "query", "update", "paced")
    )
    opts = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install -y wrk)")

    work = Path(tempfile.mkdtemp(prefix="icbox-http-bench-"))
    port = free_port()
    if opts.workers is None:
        from gateway.cli import default_workers

        opts.workers = default_workers()
    icbox = start_server(
        [PYTHON, "-m", "gateway.cli", "start", "--port", str(port), "--data-dir", str(work)]
        + ["--workers", str(opts.workers)],
        port,
        work / "icbox.log",
    )
    results: dict[str, Result] = {}
    try:
        base = f"http://127.0.0.1:{port}"
        status = cbor.decode(httpx.get(f"{base}/api/v2/status").content)
        agent = Agent(base, status["root_key"], Ed25519Signer())
        cid = install_counter(agent)
        start_value = counter_value(agent, cid)
        print(f"counter {cid.to_text()} installed; value {start_value}", flush=True)

        t = time.perf_counter()
        queries = signed_bodies(agent, "query", cid, "get", opts.queries)
        write_frames(work / "queries.bin", queries)
        print(f"{len(queries)} signed queries in {time.perf_counter() - t:.1f} s", flush=True)
        path = f"/api/v3/canister/{cid.to_text()}"

        if "echo" not in opts.skip:
            echo_counts = [1] if opts.workers in (0, 1) else [1, opts.workers]
            for echo_workers in echo_counts:
                key = "echo" if echo_workers == 1 else "echo_n"
                results[key] = run_echo(work, path, opts, echo_workers)
                print(results[key].line(), flush=True)

        if "query" not in opts.skip:
            results["query"] = run_wrk(
                "query v3 (signed, node-signed response)",
                f"{base}{path}/query",
                work / "queries.bin",
                "replied",
                opts,
                icbox.pid,
                profile=True,
            )
            print(results["query"].line(), flush=True)

        executed = 0
        if "update" not in opts.skip:
            t = time.perf_counter()
            updates = signed_bodies(agent, "call", cid, "inc", opts.updates)
            write_frames(work / "updates.bin", updates)
            print(f"{len(updates)} signed calls in {time.perf_counter() - t:.1f} s", flush=True)
            results["update"] = run_wrk(
                "update v3 sync call inc (wrk, saturated)",
                f"{base}{path}/call",
                work / "updates.bin",
                "certificate",
                opts,
                icbox.pid,
                profile=True,
            )
            executed += min(results["update"].ok, opts.updates)
            print(results["update"].line(), flush=True)

        if "paced" not in opts.skip:
            rate = opts.paced_rate or (
                results["update"].rate / 2 if "update" in results else 1000.0
            )
            bodies = signed_bodies(agent, "call", cid, "inc", int(rate * opts.duration))
            results["paced"] = asyncio.run(
                paced(
                    f"update paced at {rate:,.0f}/s (open loop)",
                    port,
                    f"{path}/call",
                    bodies,
                    rate,
                    opts.connections,
                    b"certificate",
                )
            )
            executed += results["paced"].ok
            print(results["paced"].line(), flush=True)

        end_value = counter_value(agent, cid)
        print(
            f"counter: {end_value - start_value} increments, {executed} calls answered with a "
            f"certificate ({'consistent' if end_value - start_value >= executed else 'MISMATCH'})"
        )
    finally:
        stop_server(icbox)

    print()
    print(
        f"machine: {os.cpu_count()} cores; wrk -t{opts.threads} -c{opts.connections} "
        f"-d{opts.duration}s; icbox --workers {opts.workers}"
    )
    for r in results.values():
        print(r.line())
    if "echo" in results and "query" in results:
        print(
            f"query / echo throughput ratio: {results['query'].rate / results['echo'].rate:.2f}"
            "  (target >= 0.5)"
        )
    if "echo_n" in results and "query" in results:
        print(
            f"query / echo with {opts.workers} uvicorn workers (icbox's process count): "
            f"{results['query'].rate / results['echo_n'].rate:.2f}"
        )
    if "update" in results:
        print(f"update throughput: {results['update'].rate:,.0f}/s  (target >= 2,000/s)")
    if "paced" in results:
        p = results["paced"]
        print(
            f"paced latency: p50 {p.p50_ms:.1f} ms (target <= 30), "
            f"p99 {p.p99_ms:.1f} ms (target <= 150)"
        )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
