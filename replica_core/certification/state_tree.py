"""The certified state tree of the subnet, built incrementally after each round.

Spec: IC interface spec 0.66.0, Certification › The system state tree (`/time`,
`/subnet/<sid>/...`, `/canister_ranges/<sid>/<first>`, `/request_status/<rid>/...`,
`/canister/<cid>/...`) and Abstract behavior › `state_tree(S)`.

Two builders with the same result (STYLE.md 11): `state_tree(...)` is the reference — a
plain nested dict computed from scratch — and `StateTree` keeps one `LabeledTree` per
canister and per request and recomputes only the ones marked dirty, so a round that touched
k canisters and r requests hashes O(k + r) subtrees plus the forks above them. A test feeds
both the same states and compares root hashes. `/request_status` (the whole ingress history,
hundreds of thousands of entries under load) is a `ShardedLabeledTree` in both: its forks
are grouped so that a changed entry rehashes O(log n) forks, not the whole level.

Encodings: numbers are unsigned LEB128, text is UTF-8, controllers and canister ranges are
self-describing CBOR (`#6.55799([...])`); metadata comes from the module's `icp:public` and
`icp:private` custom sections.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from replica_core import cbor, leb128
from replica_core.canister import CanisterState, InstalledModule
from replica_core.certification.certificate import encode_canister_ranges
from replica_core.certification.hash_tree import LabeledTree
from replica_core.certification.sharded_tree import ShardedLabeledTree
from replica_core.ingress_history import IngressState, IngressStatus
from replica_core.principal import CanisterRange, Principal
from replica_core.types import RequestId

__all__ = [
    "MetadataReader",
    "StateTree",
    "SubnetInfo",
    "canister_subtree",
    "request_status_subtree",
    "state_tree",
    "subnet_metrics",
]

Node = dict[bytes, "Node | LabeledTree"] | bytes
MetadataReader = Callable[[InstalledModule], Mapping[str, bytes]]
"""Returns a module's `icp:public`/`icp:private` custom sections by name (both merged)."""


@dataclass(frozen=True, slots=True)
class SubnetInfo:
    """The subnet's constant part of the tree."""

    subnet_id: Principal
    subnet_type: str
    public_key_der: bytes
    canister_ranges: tuple[CanisterRange, ...]
    node_keys: tuple[tuple[Principal, bytes], ...]  # (node id, DER Ed25519 public key)


def _nat(n: int) -> bytes:
    return leb128.encode_unsigned(n)


def subnet_metrics(num_canisters: int, state_bytes: int, consumed: int, updates: int) -> bytes:
    """CBOR map of `/subnet/<sid>/metrics`; `consumed_cycles_total` split into 64-bit parts."""
    low, high = consumed & (2**64 - 1), consumed >> 64
    total: dict[str, int] = {"low": low}
    if high:
        total["high"] = high
    return cbor.encode(
        {
            "num_canisters": num_canisters,
            "canister_state_bytes": state_bytes,
            "consumed_cycles_total": total,
            "update_transactions_total": updates,
        }
    )


def canister_subtree(state: CanisterState, metadata: MetadataReader) -> dict[bytes, Node]:
    """`/canister/<cid>`: certified data, module hash, controllers, timestamps, metadata."""
    node: dict[bytes, Node] = {
        b"certified_data": state.certified_data,
        b"controllers": cbor.encode([c.raw for c in state.controllers]),
        b"canister_creation_timestamp": _nat(state.creation_time),
    }
    if state.module is not None:
        node[b"module_hash"] = state.module.module_hash
        if state.last_install_time is not None:
            node[b"last_install_timestamp"] = _nat(state.last_install_time)
        sections = metadata(state.module)
        if sections:
            node[b"metadata"] = {name.encode(): blob for name, blob in sections.items()}
    return node


def request_status_subtree(status: IngressStatus) -> dict[bytes, Node]:
    """`/request_status/<rid>` for one status (`request_status_tree(T)` of the spec)."""
    node: dict[bytes, Node] = {b"status": status.state.value.encode()}
    if status.state is IngressState.REPLIED and status.reply is not None:
        node[b"reply"] = status.reply
    elif status.state is IngressState.REJECTED and status.reject is not None:
        node[b"reject_code"] = _nat(int(status.reject.code))
        node[b"reject_message"] = status.reject.message.encode()
        if status.reject.error_code is not None:
            node[b"error_code"] = status.reject.error_code.encode()
    return node


def _subnet_nodes(info: SubnetInfo, metrics: bytes) -> dict[bytes, Node]:
    sid = info.subnet_id.raw
    ranges = encode_canister_ranges(info.canister_ranges)
    subnet: dict[bytes, Node] = {
        b"public_key": info.public_key_der,
        b"type": info.subnet_type.encode(),
        b"canister_ranges": ranges,
        b"metrics": metrics,
        b"node": {nid.raw: {b"public_key": pk} for nid, pk in info.node_keys},
    }
    top: dict[bytes, Node] = {b"subnet": {sid: subnet}}
    if info.canister_ranges:
        top[b"canister_ranges"] = {sid: {info.canister_ranges[0].start.raw: ranges}}
    return top


def state_tree(
    info: SubnetInfo,
    time: int,
    canisters: Iterable[CanisterState],
    requests: Mapping[RequestId, IngressStatus],
    metrics: bytes,
    metadata: MetadataReader,
) -> dict[bytes, Node]:
    """The whole state tree from scratch (the reference for `StateTree`)."""
    tree = _subnet_nodes(info, metrics)
    tree[b"time"] = _nat(time)
    tree[b"canister"] = {c.canister_id.raw: canister_subtree(c, metadata) for c in canisters}
    tree[b"request_status"] = ShardedLabeledTree(
        {bytes(rid): request_status_subtree(st) for rid, st in requests.items()}
    )
    return tree


class StateTree:
    """The state tree with cached per-canister and per-request subtrees."""

    def __init__(self, info: SubnetInfo, metadata: MetadataReader) -> None:
        self.info = info
        self._metadata = metadata
        self._canisters: dict[bytes, LabeledTree] = {}
        self._requests = ShardedLabeledTree()
        self._request_changes: dict[bytes, LabeledTree | None] = {}
        self.tree: LabeledTree | None = None

    def update_canister(self, canister_id: Principal, state: CanisterState | None) -> None:
        """Recompute one canister's subtree (None: the canister was deleted)."""
        if state is None:
            self._canisters.pop(canister_id.raw, None)
        else:
            self._canisters[canister_id.raw] = LabeledTree(canister_subtree(state, self._metadata))

    def update_request(self, request_id: RequestId, status: IngressStatus | None) -> None:
        """Recompute one request's subtree (None: pruned from the ingress history)."""
        self._request_changes[bytes(request_id)] = (
            None if status is None else LabeledTree(request_status_subtree(status))
        )

    def build(self, time: int, metrics: bytes) -> LabeledTree:
        """The tree at `time`: cached subtrees under fresh top-level forks."""
        top = _subnet_nodes(self.info, metrics)
        top[b"time"] = _nat(time)
        top[b"canister"] = LabeledTree(dict(self._canisters)) if self._canisters else {}
        if self._request_changes:
            self._requests = self._requests.updated(self._request_changes)
            self._request_changes = {}
        top[b"request_status"] = self._requests
        self.tree = LabeledTree(top)
        return self.tree
