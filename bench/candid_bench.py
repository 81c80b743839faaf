"""Benchmark: icbox's Candid codec against icp-py-core's (`icp_candid`), same data, same run.

Setup: one argument `vec record { id : nat64; name : text; owner : principal; balance : nat }`
with 10,000 elements; encode and decode (at the expected type) are each timed as the best of
several runs, in alternating blocks of consecutive runs per codec. Prints seconds per round and the speed-up ratio (icp_candid time / ours).

Run: .venv/bin/python bench/candid_bench.py
"""

from __future__ import annotations

import time

from icp_candid.candid import Types
from icp_candid.candid import decode as icp_decode
from icp_candid.candid import encode as icp_encode
from icp_principal.principal import Principal as IcpPrincipal

from replica_core.candid import NAT, NAT64, PRINCIPAL, TEXT, Record, Vec, decode, encode
from replica_core.principal import Principal

N = 10_000
ROUNDS = 5
BLOCKS = 3


def _block(fn) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def best_pair(ours, theirs) -> tuple[float, float]:
    """Best times of two functions: blocks of ROUNDS consecutive runs (steady state),
    alternating between the codecs BLOCKS times so both see the same machine load."""
    a, b = [], []
    for _ in range(BLOCKS):
        a.append(_block(ours))
        b.append(_block(theirs))
    return min(a), min(b)


def main() -> None:
    ours_t = Vec(Record.of({"id": NAT64, "name": TEXT, "owner": PRINCIPAL, "balance": NAT}))
    icp_t = Types.Vec(
        Types.Record(
            {"id": Types.Nat64, "name": Types.Text, "owner": Types.Principal, "balance": Types.Nat}
        )
    )
    owners = [Principal.from_canister_index(i % 97) for i in range(N)]
    ours_v = [
        {"id": i, "name": f"user-{i}", "owner": owners[i], "balance": i * 1_000_003}
        for i in range(N)
    ]
    icp_v = [{**r, "owner": IcpPrincipal.from_str(r["owner"].to_text())} for r in ours_v]

    ours_bytes = encode([ours_t], [ours_v])
    icp_bytes = icp_encode([{"type": icp_t, "value": icp_v}])
    assert ours_bytes == icp_bytes, "the two codecs must produce the same bytes"
    assert decode(icp_bytes, [ours_t])[0] == ours_v

    enc_ours, enc_icp = best_pair(
        lambda: encode([ours_t], [ours_v]), lambda: icp_encode([{"type": icp_t, "value": icp_v}])
    )
    dec_ours, dec_icp = best_pair(
        lambda: decode(ours_bytes, [ours_t]), lambda: icp_decode(icp_bytes, icp_t)
    )
    dec_ours_untyped, dec_icp_untyped = best_pair(
        lambda: decode(ours_bytes), lambda: icp_decode(icp_bytes)
    )

    print(f"vec of {N} records, {len(ours_bytes)} bytes, best of {BLOCKS}x{ROUNDS}")
    print(
        f"encode         icbox {enc_ours * 1e3:7.2f} ms   icp_candid {enc_icp * 1e3:7.2f} ms   "
        f"ratio {enc_icp / enc_ours:5.1f}x"
    )
    print(
        f"decode (typed) icbox {dec_ours * 1e3:7.2f} ms   icp_candid {dec_icp * 1e3:7.2f} ms   "
        f"ratio {dec_icp / dec_ours:5.1f}x"
    )
    print(
        f"decode (wire)  icbox {dec_ours_untyped * 1e3:7.2f} ms   icp_candid "
        f"{dec_icp_untyped * 1e3:7.2f} ms   ratio {dec_icp_untyped / dec_ours_untyped:5.1f}x"
    )


if __name__ == "__main__":
    main()
