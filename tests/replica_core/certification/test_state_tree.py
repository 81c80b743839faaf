"""The incremental state tree equals the reference built from scratch."""

from __future__ import annotations

from replica_core.canister import CanisterSettings, CanisterState, InstalledModule
from replica_core.certification.hash_tree import Found, LabeledTree, lookup_path
from replica_core.certification.state_tree import (
    StateTree,
    SubnetInfo,
    request_status_subtree,
    state_tree,
)
from replica_core.errors import Reject, RejectCode
from replica_core.execution.interface import ExecutionState
from replica_core.ingress_history import IngressState, IngressStatus
from replica_core.principal import CanisterRange, Principal
from replica_core.types import RequestId

INFO = SubnetInfo(
    Principal(b"\x01" * 29),
    "application",
    b"pk",
    (CanisterRange.of_indices(0, 99),),
    ((Principal(b"\x02" * 29), b"nodepk"),),
)


def _meta(module: InstalledModule) -> dict[str, bytes]:
    return {"candid:service": b"service : {}"}


def _canister(i: int, data: bytes) -> CanisterState:
    return CanisterState(
        Principal.from_canister_index(i),
        CanisterSettings(controllers=()),
        certified_data=data,
        module=InstalledModule(b"w", b"h" * 32),
        execution=ExecutionState(b"", (), b""),
        last_install_time=5,
    )


def test_incremental_tree_matches_reference_after_updates():
    canisters = {i: _canister(i, b"d%d" % i) for i in range(5)}
    user = Principal.anonymous()
    requests = {
        RequestId(bytes([i]) * 32): IngressStatus(IngressState.REPLIED, user, user, 0, 0, b"r")
        for i in range(3)
    }
    inc = StateTree(INFO, _meta)
    for c in canisters.values():
        inc.update_canister(c.canister_id, c)
    for rid, st in requests.items():
        inc.update_request(rid, st)
    inc.build(1, b"m")
    canisters[2] = _canister(2, b"changed")
    inc.update_canister(canisters[2].canister_id, canisters[2])
    del canisters[4]
    inc.update_canister(Principal.from_canister_index(4), None)
    rid = RequestId(b"\x00" * 32)
    requests[rid] = IngressStatus(
        IngressState.REJECTED,
        user,
        user,
        0,
        0,
        None,
        Reject(RejectCode.CANISTER_ERROR, "no", "IC0506"),
    )
    inc.update_request(rid, requests[rid])
    fast = inc.build(2, b"m")
    reference = LabeledTree(state_tree(INFO, 2, canisters.values(), requests, b"m", _meta))
    assert fast.root_hash == reference.root_hash


def test_rejected_status_carries_code_message_and_error_code():
    user = Principal.anonymous()
    status = IngressStatus(
        IngressState.REJECTED,
        user,
        user,
        0,
        0,
        None,
        Reject(RejectCode.CANISTER_ERROR, "msg", "IC0503"),
    )
    tree = LabeledTree(request_status_subtree(status)).tree
    assert lookup_path([b"status"], tree) == Found(b"rejected")
    assert lookup_path([b"reject_code"], tree) == Found(b"\x05")
    assert lookup_path([b"error_code"], tree) == Found(b"IC0503")
