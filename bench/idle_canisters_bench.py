"""Benchmark: resident memory of many idle installed canisters (issue 4: 10,000 ≤ 2 GiB).

Setup: one `Subnet` on the in-memory store with the real sandbox (`SandboxExecutor`),
driven only through ingress, as the gateway would: `provisional_create_canister_with_cycles`
and `install_code` to `aaaaa-aa`, then one `inc` update call to each canister, in batches
of `--batch` messages per round (rounds run until every message of the batch is terminal).
The canister is the Motoko counter (`tests/canisters/build/<flavour>/counter.wasm`);
`--flavour both` installs half of each (base: motoko 3.9.7, wasm32; core: motoko 4.10.0,
wasm64). Measured: VmRSS (`/proc/self/status`) after `gc.collect()`, once for the empty
subnet (baseline, same run) and once after every canister has been called; reported as
bytes per idle canister. Also printed: the canisters' heap size (as a `bytes` heap would
hold it) against the pages actually stored.

    .venv/bin/python bench/idle_canisters_bench.py [--count 10000] [--flavour both]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import itertools
import random
import time
from pathlib import Path

from replica_core.candid import decode, encode
from replica_core.ingress_history import IngressState
from replica_core.management.candid_types import arg_types, result_types
from replica_core.messages import Ingress
from replica_core.principal import Principal
from replica_core.store.memory import MemoryStore
from replica_core.subnet import FakeClock, SandboxExecutor, Subnet
from replica_core.types import RequestId

BUILD = Path(__file__).resolve().parents[1] / "tests" / "canisters" / "build"
USER = Principal.self_authenticating(b"\x30\x2a" + b"b" * 42)
MANAGEMENT = Principal.management_canister()
EMPTY_ARGS = b"DIDL\x00\x00"
_nonce = itertools.count()


def rss() -> int:
    """The process's resident set size in bytes."""
    gc.collect()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def ingress(clock: FakeClock, receiver: Principal, method: str, arg: bytes, effective: Principal | None) -> Ingress:  # fmt: skip
    rid = RequestId(hashlib.sha256(f"bench/{next(_nonce)}".encode()).digest())
    return Ingress(rid, USER, receiver, method, arg, clock.now() + 240 * 10**9, effective)


def run_batch(subnet: Subnet, messages: list[Ingress]) -> list[bytes]:
    """Submit the messages, run rounds until all are terminal; their replies (in order)."""
    for msg in messages:
        subnet.submit(msg)
    pending = {msg.request_id for msg in messages}
    for _ in range(1000):
        if not pending:
            break
        subnet.tick()
        for rid in list(pending):
            status = subnet.request_status(rid)
            if status is not None and status.state.is_terminal:
                pending.discard(rid)
    replies = []
    for msg in messages:
        status = subnet.request_status(msg.request_id)
        assert status is not None and status.state is IngressState.REPLIED, status
        assert status.reply is not None
        replies.append(status.reply)
    return replies


def management(clock: FakeClock, method: str, arg: dict[str, object]) -> Ingress:
    raw = encode(arg_types(method), [arg])
    effective = arg.get("canister_id")
    assert effective is None or isinstance(effective, Principal)
    return ingress(clock, MANAGEMENT, method, raw, effective)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--flavour", choices=("base", "core", "both"), default="both")
    parser.add_argument("--batch", type=int, default=250)
    args = parser.parse_args()
    flavours = ("base", "core") if args.flavour == "both" else (args.flavour,)
    wasm = {f: (BUILD / f / "counter.wasm").read_bytes() for f in flavours}

    clock = FakeClock()
    subnet = Subnet(MemoryStore(), clock, random.Random(1), executor=SandboxExecutor())
    subnet.tick()
    baseline = rss()
    start = time.perf_counter()
    ids: list[Principal] = []
    for first in range(0, args.count, args.batch):
        size = min(args.batch, args.count - first)
        created = run_batch(
            subnet,
            [
                management(
                    clock,
                    "provisional_create_canister_with_cycles",
                    {
                        "amount": [10**13],
                        "settings": [],
                        "specified_id": [],
                        "sender_canister_version": [],
                    },  # fmt: skip
                )
                for _ in range(size)
            ],
        )
        create_types = result_types("provisional_create_canister_with_cycles")
        batch_ids = [decode(reply, create_types)[0]["canister_id"] for reply in created]
        installs = []
        for i, cid in enumerate(batch_ids):
            flavour = flavours[(first + i) % len(flavours)]
            installs.append(
                management(
                    clock,
                    "install_code",
                    {
                        "mode": {"install": None},
                        "canister_id": cid,
                        "wasm_module": wasm[flavour],
                        "arg": EMPTY_ARGS,
                        "sender_canister_version": [],
                    },  # fmt: skip
                )
            )
        run_batch(subnet, installs)
        run_batch(subnet, [ingress(clock, cid, "inc", EMPTY_ARGS, None) for cid in batch_ids])
        ids.extend(batch_ids)
    elapsed = time.perf_counter() - start
    after = rss()

    heap_bytes = stored_pages = 0
    for cid in ids:
        canister = subnet.canister(cid)
        assert canister is not None and canister.execution is not None, cid
        heap_bytes += len(canister.execution.heap) + len(canister.execution.stable_memory)
        stored_pages += canister.execution.heap.stored_pages
    per = (after - baseline) / len(ids)
    print(f"idle canisters: {len(ids):,} Motoko counters ({'+'.join(flavours)}), installed and called once by ingress")  # fmt: skip
    print(f"  setup {elapsed:.1f} s ({elapsed / len(ids) * 1e3:.2f} ms per canister: create + install + inc)")  # fmt: skip
    print(f"  RSS empty subnet (baseline) {baseline / 2**20:8.1f} MiB")
    print(f"  RSS with canisters          {after / 2**20:8.1f} MiB   (+{(after - baseline) / 2**30:.2f} GiB; target ≤ 2 GiB)")  # fmt: skip
    print(f"  per idle canister           {per / 1024:8.1f} KiB   ({per:,.0f} bytes)")
    print(f"  Wasm memories as bytes would be {heap_bytes / 2**30:.1f} GiB; stored heap pages: {stored_pages / len(ids):.1f} per canister ({stored_pages * 4096 / len(ids) / 1024:.0f} KiB, shared ones counted each time)")  # fmt: skip
    print(f"  ratio RSS growth / bytes heaps: {(after - baseline) / heap_bytes:.4f}")


if __name__ == "__main__":
    main()
