"""The `icbox` command line: `icbox start` runs the service.

Spec: none (impl). The defaults follow the local replicas developers know (dfx, PocketIC):
`127.0.0.1:4943`.

`start` builds one `Subnet` whose keys derive from a seed kept in `--data-dir` (created on
first start), so the root key — which agents fetch from `/api/v2/status` and pin — is the
same after a restart. The replicated state is held in memory (the in-memory store) until the
durable store lands. With `--workers 0`, uvicorn serves `gateway.app.create_app(subnet)` in
this process, whose lifespan runs the round loop; otherwise (the default on a multi-core
machine) this process runs the round loop and `--workers` gateway worker processes serve
HTTP in front of it (`gateway.workers`). Access logs are on only at log level info or debug,
and the garbage collector is tuned for a heap of long-lived state (`tune_gc`).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "GC_THRESHOLDS",
    "KEY_SEED_FILE",
    "MAX_DEFAULT_WORKERS",
    "build_parser",
    "build_subnet",
    "default_workers",
    "load_key_seed",
    "main",
    "tune_gc",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4943
KEY_SEED_FILE = "subnet_key_seed"

ENDPOINTS = (
    "GET  /api/v2/status",
    "POST /api/v2/canister/<ecid>/call      (async)",
    "POST /api/v3|v4/canister/<ecid>/call   (sync)",
    "POST /api/v4/subnet/<esid>/call        (sync, canister creation)",
    "POST /api/v2|v3/canister/<ecid>/query",
    "POST /api/v3/subnet/<esid>/query",
    "POST /api/v2|v3/canister/<ecid>/read_state",
    "POST /api/v2|v3/subnet/<esid>/read_state",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `icbox` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="icbox", description="The Internet Computer in one Python service."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start the service")
    start.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})"
    )
    start.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})"
    )
    start.add_argument(
        "--data-dir",
        type=Path,
        default=Path(".icbox"),
        help="directory for the embedded database and keys (default ./.icbox)",
    )
    start.add_argument(
        "--workers",
        type=_workers,
        default=default_workers(),
        help=(
            "gateway worker processes in front of the replica-core process; 0 serves "
            f"everything in one process (default {default_workers()}: one per core, at most "
            f"{MAX_DEFAULT_WORKERS})"
        ),
    )
    start.add_argument(
        "--log-level",
        default="warning",
        choices=("critical", "error", "warning", "info", "debug"),
        help="uvicorn log level (default warning)",
    )
    return parser


MAX_DEFAULT_WORKERS = 4


def default_workers() -> int:
    """One gateway worker per core (at most `MAX_DEFAULT_WORKERS`); none on one core, where
    a second process only adds the hop between them, nor where Unix socket pairs cannot be
    handed to child processes (not POSIX)."""
    if os.name != "posix":
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    return 0 if cores < 2 else min(cores, MAX_DEFAULT_WORKERS)


def _workers(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 64:
        raise argparse.ArgumentTypeError(f"--workers must be between 0 and 64, not {value}")
    return value


def load_key_seed(data_dir: Path) -> bytes:
    """The subnet key seed in `data_dir`, created (32 random bytes) if absent."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_SEED_FILE
    if path.exists():
        seed = bytes.fromhex(path.read_text().strip())
        if len(seed) < 16:
            raise ValueError(f"{path} holds a seed of {len(seed)} bytes; expected at least 16")
        return seed
    seed = os.urandom(32)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(seed.hex() + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)
    return seed


def build_subnet(data_dir: Path, key_seed: bytes | None = None):  # noqa: ANN201 - a Subnet
    """The subnet served by `icbox start` (keys from `data_dir`, wall clock, fresh rng)."""
    from replica_core.store.memory import MemoryStore
    from replica_core.subnet import Subnet, SubnetConfig, SystemClock

    config = SubnetConfig(key_seed=key_seed or load_key_seed(data_dir))
    return Subnet(MemoryStore(), SystemClock(), random.Random(os.urandom(32)), config)


GC_THRESHOLDS = (20_000, 1_000_000_000, 1_000_000_000)
"""(impl) `gc.set_threshold` for the server: young collections only. The ingress history
and the certified trees are hundreds of thousands of long-lived objects; an older-generation
collection walks all of them (measured under load: 0.7 s for generation 1, 1.2 s for a full
collection after 50,000 requests) — a latency spike for every request in flight. Young
collections (every 20,000 allocations, a few ms each) still free the short-lived cycles;
objects that survive one are kept out of collection for good. The cyclic garbage that
outlives a young collection is tiny (a full collection after 60,000 requests found 270
objects), so it is left to the process exit rather than paid for with pauses."""


def tune_gc() -> None:
    """Young collections only; what startup built is left out of them for good."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def start(
    host: str, port: int, data_dir: Path, log_level: str = "warning", workers: int = 0
) -> int:
    """Serve the IC HTTP interface until interrupted: in this process (`workers == 0`), or
    with `workers` gateway worker processes in front of this one (`gateway.workers`)."""
    import uvicorn

    from gateway.app import create_app
    from gateway.workers.supervisor import bind, serve_with_workers

    key_seed = load_key_seed(data_dir)
    subnet = build_subnet(data_dir, key_seed)
    try:
        listen = bind(host, port) if workers else None
    except OSError as e:
        print(f"icbox: cannot listen on {host}:{port}: {e.strerror or e}", file=sys.stderr)
        return 1
    url = f"http://{host}:{port}"
    print(f"icbox is serving the IC HTTP interface at {url}")
    print(f"root key: {subnet.root_key.hex()}")
    print(f"subnet id: {subnet.subnet_id.to_text()}")
    print(f"data directory: {data_dir.resolve()}")
    if workers:
        print(f"gateway workers: {workers}")
    for endpoint in ENDPOINTS:
        print(f"  {endpoint}")
    sys.stdout.flush()
    tune_gc()
    if listen is not None:
        serve_with_workers(subnet, listen, workers, log_level, key_seed)
        return 0
    config = uvicorn.Config(
        create_app(subnet),
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        access_log=log_level in ("info", "debug"),
    )
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `icbox` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "start":
        return start(args.host, args.port, args.data_dir, args.log_level, args.workers)
    return 2  # pragma: no cover - argparse rejects unknown commands first


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
