"""Certificates as each endpoint version hands them out: the delegation scoped to the
endpoint, and the legacy canister ranges hidden from the newer endpoints.

Spec: IC interface spec 0.66.0, Certification › Delegation (scoping by canister ranges:
`/subnet/<sid>/canister_ranges` for `/api/v2` and `/api/v3/.../call`, the sharded
`/canister_ranges/<sid>/...` for `/api/v3` read_state/query and `/api/v4` call; the
subnet id alone for subnet endpoints), HTTPS interface › Request: Read state (the
`/subnet/<sid>/canister_ranges` of a non-root subnet appears only at v2 endpoints).

The subnet signs one root→subnet delegation holding both range forms. Each scoped variant
here is a witness of that same tree revealing only what its endpoint version shows, so all
variants keep the root's one signature (a pruned tree has the same root hash).

Requests whose effective canister id is the management canister `aaaaa-aa` itself (what
agents send for `provisional_create_canister_with_cycles` when no canister id is given, and
then poll with) get their certificate from the root: the same tree, signed with the root key,
without a delegation — the form local replicas (dfx, PocketIC), whose only subnet is the root
subnet, always answer with. A delegation could not vouch for `aaaaa-aa`: agents check that
the delegation's canister ranges hold the effective canister id, and no range holds it (impl).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from replica_core.certification.certificate import DOMAIN_STATE_ROOT, Certificate, Delegation
from replica_core.certification.hash_tree import (
    Fork,
    HashTree,
    Labeled,
    Pruned,
    prune,
    reconstruct,
)
from replica_core.principal import Principal

__all__ = ["RangesScope", "ScopedDelegations", "exclude_path"]


class RangesScope(Enum):
    """Which canister-range form an endpoint's delegation reveals."""

    FLAT = "flat"  # /subnet/<sid>/canister_ranges (v2 endpoints, v3 call)
    TREE = "tree"  # /canister_ranges/<sid>/... (v3 read_state/query, v4 call)
    NONE = "none"  # no ranges: subnet-scoped endpoints


class _RootSigner:
    """Signs state roots with the root key, remembering the last root it signed (one
    certified state serves many requests)."""

    __slots__ = ("_key", "_last")

    def __init__(self, key: Any) -> None:
        self._key = key  # replica_core.crypto.bls.KeyPair: `.sign(message)`
        self._last: tuple[bytes, bytes] = (b"", b"")

    def sign(self, tree: HashTree) -> bytes:
        root = reconstruct(tree)
        if self._last[0] != root:
            self._last = (root, self._key.sign(DOMAIN_STATE_ROOT + root))
        return self._last[1]


@dataclass(frozen=True, slots=True)
class ScopedDelegations:
    """The three scoped variants of one delegation, and the root's own signature for
    requests addressed to `aaaaa-aa` (when the root key pair is given)."""

    subnet_id: Principal
    flat: Delegation
    tree: Delegation
    none: Delegation
    root: _RootSigner | None = None

    @classmethod
    def of(cls, delegation: Delegation, root_key: Any = None) -> ScopedDelegations:
        """Witness `delegation`'s tree three ways (it must reveal everything it holds)."""
        full = Certificate.decode(delegation.certificate)
        sid = delegation.subnet_id.raw
        common: list[Sequence[bytes]] = [
            [b"time"],
            [b"subnet", sid, b"public_key"],
            [b"subnet", sid, b"type"],
        ]

        def scoped(extra: list[Sequence[bytes]]) -> Delegation:
            tree = prune(full.tree, [*common, *extra])
            return Delegation(delegation.subnet_id, replace(full, tree=tree).encode())

        return cls(
            delegation.subnet_id,
            flat=scoped([[b"subnet", sid, b"canister_ranges"]]),
            tree=scoped([[b"canister_ranges", sid]]),
            none=scoped([]),
            root=None if root_key is None else _RootSigner(root_key),
        )

    def get(self, scope: RangesScope) -> Delegation:
        return {RangesScope.FLAT: self.flat, RangesScope.TREE: self.tree}.get(scope, self.none)

    def apply(
        self,
        cert: Certificate,
        scope: RangesScope,
        *,
        legacy_ranges: bool,
        effective_id: Principal | None = None,
    ) -> Certificate:
        """`cert` with this endpoint's delegation; without the subnet's
        `/subnet/<sid>/canister_ranges` unless `legacy_ranges` (v2 endpoints). For the
        effective id `aaaaa-aa`, signed by the root instead (see the module docstring)."""
        tree = cert.tree
        if not legacy_ranges:
            tree = exclude_path(tree, [b"subnet", self.subnet_id.raw, b"canister_ranges"])
        if self.root is not None and effective_id is not None:
            if effective_id.is_management_canister:
                return Certificate(tree, self.root.sign(tree), None)
        return Certificate(tree, cert.signature, self.get(scope))


def exclude_path(tree: HashTree, path: Sequence[bytes]) -> HashTree:
    """`tree` with the subtree at `path` replaced by its digest (same root hash)."""
    if not path:
        return tree if isinstance(tree, Pruned) else Pruned(reconstruct(tree))
    if isinstance(tree, Fork):
        left, right = exclude_path(tree.left, path), exclude_path(tree.right, path)
        return tree if (left is tree.left and right is tree.right) else Fork(left, right)
    if isinstance(tree, Labeled) and tree.label == path[0]:
        inner = exclude_path(tree.subtree, path[1:])
        return tree if inner is tree.subtree else Labeled(tree.label, inner)
    return tree
