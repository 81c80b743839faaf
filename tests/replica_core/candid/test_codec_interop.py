"""Cross-check against icp-py-core's codec (`icp_candid`): same bytes, same values."""

from __future__ import annotations

import pytest

icp_candid = pytest.importorskip("icp_candid.candid")
icp_principal = pytest.importorskip("icp_principal.principal")

from replica_core.candid import (  # noqa: E402
    BOOL,
    FLOAT64,
    INT,
    INT32,
    NAT,
    NAT8,
    NAT64,
    PRINCIPAL,
    TEXT,
    Opt,
    Record,
    Variant,
    Vec,
    decode,
    encode,
)
from replica_core.principal import Principal  # noqa: E402

T = icp_candid.Types
OWNER = Principal.from_text("ryjl3-tyaaa-aaaaa-aaaba-cai")
ICP_OWNER = icp_principal.Principal.from_str(OWNER.to_text())

CASES = [
    (NAT, T.Nat, 10**30, 10**30),
    (INT, T.Int, -(10**20), -(10**20)),
    (TEXT, T.Text, "héllo ☃", "héllo ☃"),
    (BOOL, T.Bool, True, True),
    (FLOAT64, T.Float64, 2.5, 2.5),
    (INT32, T.Int32, -7, -7),
    (Vec(NAT8), T.Vec(T.Nat8), b"\x00\x01\xff", b"\x00\x01\xff"),
    (Vec(INT), T.Vec(T.Int), [1, -2, 3], [1, -2, 3]),
    (Opt(NAT), T.Opt(T.Nat), [5], [5]),
    (Opt(NAT), T.Opt(T.Nat), [], []),
    (PRINCIPAL, T.Principal, OWNER, ICP_OWNER),
    (
        Record.of({"id": NAT64, "name": TEXT, "owner": PRINCIPAL, "balance": NAT}),
        T.Record({"id": T.Nat64, "name": T.Text, "owner": T.Principal, "balance": T.Nat}),
        {"id": 1, "name": "a", "owner": OWNER, "balance": 10**12},
        {"id": 1, "name": "a", "owner": ICP_OWNER, "balance": 10**12},
    ),
    (
        Variant.of({"ok": NAT, "err": TEXT}),
        T.Variant({"ok": T.Nat, "err": T.Text}),
        {"err": "no"},
        {"err": "no"},
    ),
]


@pytest.mark.parametrize(("ours", "theirs", "value", "their_value"), CASES)
def test_icp_candid_and_icbox_produce_identical_bytes(ours, theirs, value, their_value):
    their_bytes = icp_candid.encode([{"type": theirs, "value": their_value}])
    assert encode([ours], [value]) == their_bytes
    assert decode(their_bytes, [ours]) == [value]


@pytest.mark.parametrize(("ours", "theirs", "value", "their_value"), CASES)
def test_icp_candid_decodes_icbox_bytes(ours, theirs, value, their_value):
    ours_bytes = encode([ours], [value])
    reference = icp_candid.decode(icp_candid.encode([{"type": theirs, "value": their_value}]))
    assert icp_candid.decode(ours_bytes) == reference


def test_vec_of_records_matches_icp_candid_byte_for_byte():
    ours_t = Vec(Record.of({"id": NAT64, "name": TEXT, "owner": PRINCIPAL, "balance": NAT}))
    their_t = T.Vec(
        T.Record({"id": T.Nat64, "name": T.Text, "owner": T.Principal, "balance": T.Nat})
    )
    ours_v = [{"id": i, "name": f"u{i}", "owner": OWNER, "balance": i * 10**9} for i in range(300)]
    their_v = [{**v, "owner": ICP_OWNER} for v in ours_v]
    data = icp_candid.encode([{"type": their_t, "value": their_v}])
    assert encode([ours_t], [ours_v]) == data
    assert decode(data, [ours_t]) == [ours_v]
