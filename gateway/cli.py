"""The `icbox` command line: `icbox start` runs the service.

Spec: none (impl). The defaults follow the local replicas developers know (dfx, PocketIC):
`127.0.0.1:4943`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "build_parser", "main"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4943

ENDPOINTS = (
    "GET  /api/v2/status",
    "POST /api/v2/canister/<ecid>/call      (async)",
    "POST /api/v3|v4/canister/<ecid>/call   (sync)",
    "POST /api/v2|v3/canister/<ecid>/query",
    "POST /api/v2|v3/canister/<ecid>/read_state",
    "POST /api/v2|v3/subnet/<esid>/read_state",
    "GET  http://<canister-id>.localhost:<port>/   (HTTP gateway)",
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
    return parser


def start(host: str, port: int, data_dir: Path) -> int:
    """Print what the service serves.

    (impl) The HTTP interface and the replica core are filled in by later work; until then
    `start` states the address and endpoints it will serve and exits successfully.
    """
    url = f"http://{host}:{port}"
    print(f"icbox will serve the IC HTTP interface at {url}")
    print(f"data directory: {data_dir.resolve()}")
    for endpoint in ENDPOINTS:
        print(f"  {endpoint}")
    print("the replica core and HTTP endpoints are not implemented yet; nothing is listening")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `icbox` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "start":
        return start(args.host, args.port, args.data_dir)
    return 2  # pragma: no cover - argparse rejects unknown commands first


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
