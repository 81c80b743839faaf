"""`icbox start --workers N`: the replica-core process and its N gateway worker processes.

Spec: none (impl). DESIGN.md › Concurrency: "several stateless gateway workers in front of one
replica-core process". This process binds the listening socket, builds the subnet and runs
the round loop (the only writer of replicated state) and the worker links
(`gateway.workers.backend`); each worker (`python -m gateway.workers.worker`) inherits the
listening socket and one end of its own Unix socket pair, and serves HTTP with uvicorn. The
kernel spreads connections over the workers. A worker that dies is started again; SIGINT or
SIGTERM stops the workers (they finish the requests in flight), then the round loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

from gateway.app import create_app
from gateway.workers.backend import ReplicaBackend
from replica_core.subnet import Subnet

__all__ = ["bind", "serve_with_workers"]

log = logging.getLogger("icbox.workers")

_RESTART_PAUSE_S = 1.0
"""(impl) Pause before starting a worker again after it died, so a crash loop stays cheap."""

_STOP_GRACE_S = 10.0
"""(impl) How long stopping workers may take to finish their requests before they are killed."""


def bind(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """The listening TCP socket the workers share (inheritable, as uvicorn would bind it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    link_closed: asyncio.Future[None]


async def _spawn(backend: ReplicaBackend, listen: socket.socket, log_level: str) -> _Worker:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway.workers.worker"]
            + ["--listen-fd", str(listen.fileno()), "--link-fd", str(theirs.fileno())]
            + ["--log-level", log_level],
            pass_fds=(listen.fileno(), theirs.fileno()),
        )
    finally:
        theirs.close()
    return _Worker(process, await backend.serve(ours))


async def _serve(
    subnet: Subnet, listen: socket.socket, workers: int, log_level: str, key_seed: bytes
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    backend = ReplicaBackend(
        subnet,
        create_app(subnet, run_rounds=False, cors=False),  # the workers add CORS
        key_seed=key_seed,
        num_nodes=subnet.config.num_nodes,
    )
    rounds = asyncio.create_task(subnet.run(stop), name="icbox-round-loop")
    running = [await _spawn(backend, listen, log_level) for _ in range(workers)]
    stopping = asyncio.create_task(stop.wait())
    try:
        while not stop.is_set():
            closed = [w.link_closed for w in running]
            await asyncio.wait([stopping, *closed], return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                break
            for i, worker in enumerate(running):
                if not worker.link_closed.done():
                    continue
                # a worker also stops on Ctrl+C (the terminal signals the process group)
                # before this process has handled its own SIGINT: wait a moment for that
                await asyncio.wait([stopping], timeout=_RESTART_PAUSE_S)
                if stop.is_set():
                    break
                code = await asyncio.to_thread(worker.process.wait)
                log.error("gateway worker %d exited with %s; started it again", i, code)
                running[i] = await _spawn(backend, listen, log_level)
    finally:
        await asyncio.to_thread(_stop_all, [w.process for w in running])
        stop.set()
        await rounds
        stopping.cancel()


def _stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + _STOP_GRACE_S
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(max(0.0, deadline - time.monotonic()))
        if process.poll() is None:
            process.kill()
            process.wait()


def serve_with_workers(
    subnet: Subnet, listen: socket.socket, workers: int, log_level: str, key_seed: bytes
) -> None:
    """Serve until SIGINT/SIGTERM with `workers` (>= 1) gateway worker processes."""
    import uvicorn
    from uvicorn._compat import asyncio_run

    loop_factory = uvicorn.Config(app=None).get_loop_factory()  # uvloop where installed
    asyncio_run(_serve(subnet, listen, workers, log_level, key_seed), loop_factory=loop_factory)
