"""A gateway worker process: `python -m gateway.workers.worker --listen-fd F --link-fd L`.

Spec: none (impl). Started by `gateway.workers.supervisor` with the shared listening socket
(fd F) and its end of the link to the replica-core process (fd L); serves
`gateway.workers.frontend.worker_app` with uvicorn on that socket until SIGTERM/SIGINT, or
until the replica core closes the link.
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--listen-fd", type=int, required=True)
    parser.add_argument("--link-fd", type=int, required=True)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)

    import uvicorn

    from gateway.cli import tune_gc
    from gateway.workers.frontend import WorkerLink, worker_app
    from gateway.workers.link import ReplicaClient

    listen = socket.socket(fileno=args.listen_fd)
    link_socket = socket.socket(fileno=args.link_fd)

    async def connect(client: ReplicaClient) -> None:
        await client.connect(link_socket)

    def lost() -> None:  # the replica core stopped: stop serving
        server.should_exit = True

    link = WorkerLink(connect, lost)
    config = uvicorn.Config(
        worker_app(link),
        lifespan="on",
        log_level=args.log_level,
        access_log=args.log_level in ("info", "debug"),
    )
    server = uvicorn.Server(config)
    tune_gc()
    server.run(sockets=[listen])
    return 0 if server.started else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
