"""BLS12-381 min-sig sign/verify rates against same-run baselines.

Setup: one key from `bls.KeyPair.from_seed`, message = `"\\x0dic-state-root" · 32 bytes`
(what a certificate signs). Baselines measured in the same run: SHA-256 of the message
and Ed25519 verify (cryptography/OpenSSL). Also times a full `verify_certificate` of a
delegated certificate (two BLS verifies) and `LabeledTree.witness` on a 100k-entry
request_status tree.

Run: .venv/bin/python bench/bls_bench.py
"""

from __future__ import annotations

import hashlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from replica_core import leb128
from replica_core.certification.certificate import (
    make_delegation,
    sign_tree,
    verify_certificate,
)
from replica_core.certification.hash_tree import LabeledTree, build
from replica_core.crypto import bls
from replica_core.principal import CanisterRange, Principal


def per_op(fn: Callable[[], object], n: int, repeats: int = 5) -> float:
    """Median seconds per call over `repeats` runs of `n` calls."""
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - start) / n)
    return statistics.median(runs)


def report(name: str, seconds: float, baseline: float | None = None) -> None:
    ratio = f"  {seconds / baseline:8.1f}x baseline" if baseline else ""
    print(f"{name:<40} {seconds * 1e6:10.1f} us/op {1 / seconds:10.0f} ops/s{ratio}")


def main() -> None:
    msg = b"\x0dic-state-root" + os.urandom(32)
    key = bls.KeyPair.from_seed(b"bench" * 8)
    sig = key.sign(msg)

    ed_key = Ed25519PrivateKey.generate()
    ed_sig, ed_pub = ed_key.sign(msg), ed_key.public_key()

    sha = per_op(lambda: hashlib.sha256(msg).digest(), 20_000)
    ed_verify = per_op(lambda: ed_pub.verify(ed_sig, msg), 500)
    report("baseline: sha256(msg)", sha)
    report("baseline: ed25519 verify (cryptography)", ed_verify)
    report("bls sign", per_op(lambda: bls.sign(key.secret_key, msg), 200), ed_verify)
    report("bls verify", per_op(lambda: bls.verify(key.public_key, msg, sig), 100), ed_verify)

    root, subnet = bls.KeyPair.from_seed(b"root" * 8), bls.KeyPair.from_seed(b"subnet" * 6)
    sid = Principal.self_authenticating(b"subnet")
    delegation = make_delegation(
        root.secret_key, sid, subnet.public_key_der, [CanisterRange.of_indices(0, 99)], 0
    )
    tree = build({b"time": leb128.encode_unsigned(1), b"x": b"y"})
    cert = sign_tree(tree, subnet.secret_key, delegation).encode()
    canister = Principal.from_canister_index(5)
    report(
        "verify_certificate (delegated)",
        per_op(
            lambda: verify_certificate(cert, root.public_key_der, effective_canister_id=canister),
            50,
        ),
        ed_verify,
    )

    rids = [os.urandom(32) for _ in range(100_000)]
    data = {
        b"time": b"\x01",
        b"request_status": {r: {b"status": b"replied", b"reply": b"DIDL\x00\x00"} for r in rids},
    }
    start = time.perf_counter()
    state = LabeledTree(data)
    build_s = time.perf_counter() - start
    print(f"{'LabeledTree build, 100k request_status':<40} {build_s * 1e3:10.1f} ms")
    paths = [[b"time"], [b"request_status", rids[12345]]]
    report("witness(/time, one request_status)", per_op(lambda: state.witness(paths), 500), sha)


if __name__ == "__main__":
    main()
