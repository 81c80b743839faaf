"""A labeled-tree level with very many children, updated in O(log n) per changed child.

Spec: IC interface spec 0.66.0, Certification › Encoding of certificates (a hash tree's
meaning — `lookup_path`, `well_formed`, witnesses — depends only on the labels and their
left-to-right order, not on how forks group them).

(impl) `LabeledTree` balances its children with `mid = (lo + hi) // 2` over the sorted
labels, so adding one label reshapes the whole level: rebuilding `/request_status` with n
entries costs O(n log n) hashing per round, and the ingress history keeps every request
for five minutes (hundreds of thousands of entries under load). `ShardedLabeledTree`
groups the forks differently: children go to one of 2^16 slots by the first two bytes of
their label (zero-padded, which keeps slots in label order), each occupied slot is a small
`LabeledTree`, and the slots sit under a fixed binary trie whose empty halves vanish (a fork
with an empty side is just the other side). A round that changes k children rebuilds k
small buckets and at most 16 forks above each, and shares everything else with the
previous snapshot: snapshots are immutable, so a certified tree stays valid for witnesses
while the next round builds its successor.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping

from replica_core.certification.hash_tree import (
    DOMAIN_FORK,
    EMPTY,
    Fork,
    HashTree,
    Pruned,
    _label,
    _sha256,
    reconstruct,
)
from replica_core.certification.labeled_tree import LabeledTree, Node, _hashed, _Wanted
from replica_core.errors import HashTreeError

__all__ = ["SLOT_BITS", "ShardedLabeledTree", "slot_of"]

SLOT_BITS = 16
"""Children are grouped by the first SLOT_BITS / 8 bytes of their label."""

_SLOT_BYTES = SLOT_BITS // 8
_SLOTS = 1 << SLOT_BITS


def slot_of(label: bytes) -> int:
    """The slot of a label: its first bytes, zero-padded, as a big-endian number.

    Padding with the smallest byte keeps the order: `a <= b` implies `slot(a) <= slot(b)`.
    """
    return int.from_bytes(label[:_SLOT_BYTES].ljust(_SLOT_BYTES, b"\0"), "big")


class _Node:
    """An inner node of the slot trie: at least one side is non-empty."""

    __slots__ = ("left", "right", "tree")

    def __init__(self, left: _Trie, right: _Trie) -> None:
        self.left, self.right = left, right
        if left is None:
            assert right is not None
            self.tree: HashTree = right.tree
        elif right is None:
            self.tree = left.tree
        else:
            lt, rt = left.tree, right.tree
            digest = _sha256(DOMAIN_FORK + reconstruct(lt) + reconstruct(rt)).digest()
            self.tree = _hashed(Fork(lt, rt), digest)


_Trie = _Node | LabeledTree | None  # a bucket (LabeledTree) at depth SLOT_BITS


def _join(left: _Trie, right: _Trie) -> _Trie:
    if left is None and right is None:
        return None
    return _Node(left, right)


def _update(
    node: _Trie, lo: int, hi: int, changed: list[int], buckets: Mapping[int, LabeledTree | None]
) -> _Trie:
    """`node` (covering slots lo..hi) with the `changed` slots replaced by `buckets`."""
    if not changed:
        return node
    if hi - lo == 1:
        return buckets[lo]
    mid = (lo + hi) // 2
    k = bisect.bisect_left(changed, mid)
    left = node.left if isinstance(node, _Node) else None
    right = node.right if isinstance(node, _Node) else None
    return _join(
        _update(left, lo, mid, changed[:k], buckets),
        _update(right, mid, hi, changed[k:], buckets),
    )


class ShardedLabeledTree(LabeledTree):
    """An immutable labeled level of many children; `updated` makes the next snapshot.

    Behaves as a `LabeledTree` child (`tree`, `root_hash`, `witness`); `labels` and
    `children` are not kept (use `get` and `__len__`).
    """

    __slots__ = ("_root", "_size")

    def __init__(self, node: Node | None = None) -> None:
        self.labels, self.children = [], []
        self._root: _Trie = None
        self._size = 0
        self.tree = EMPTY
        if node:
            if not isinstance(node, dict):
                raise HashTreeError("a sharded labeled tree is built from a dict")
            built = self.updated({_label(k): v for k, v in node.items()})
            self._root, self._size, self.tree = built._root, built._size, built.tree
        reconstruct(self.tree)

    def __len__(self) -> int:
        return self._size

    def _bucket(self, slot: int) -> LabeledTree | None:
        node, lo, hi = self._root, 0, _SLOTS
        while isinstance(node, _Node):
            mid = (lo + hi) // 2
            if slot < mid:
                node, hi = node.left, mid
            else:
                node, lo = node.right, mid
        return node

    def get(self, label: bytes) -> LabeledTree | None:
        """The child under `label`, or None."""
        bucket = self._bucket(slot_of(label))
        if bucket is None or bucket.labels is None:
            return None
        i = bisect.bisect_left(bucket.labels, label)
        if i < len(bucket.labels) and bucket.labels[i] == label:
            return bucket.children[i]
        return None

    def updated(self, changes: Mapping[bytes, Node | LabeledTree | None]) -> ShardedLabeledTree:
        """A new snapshot with `changes` applied (None removes a label); self is unchanged."""
        by_slot: dict[int, dict[bytes, Node | LabeledTree | None]] = {}
        for label, child in changes.items():
            by_slot.setdefault(slot_of(label), {})[label] = child
        buckets: dict[int, LabeledTree | None] = {}
        size = self._size
        for slot, slot_changes in by_slot.items():
            old = self._bucket(slot)
            entries: dict[bytes, Node | LabeledTree] = (
                dict(zip(old.labels, old.children, strict=True))
                if old is not None and old.labels is not None
                else {}
            )
            size -= len(entries)
            for label, child in slot_changes.items():
                if child is None:
                    entries.pop(label, None)
                else:
                    entries[label] = child
            size += len(entries)
            buckets[slot] = LabeledTree(entries) if entries else None
        new = ShardedLabeledTree()
        new._root = _update(self._root, 0, _SLOTS, sorted(buckets), buckets)
        new._size = size
        new.tree = new._root.tree if new._root is not None else EMPTY
        reconstruct(new.tree)
        return new

    # --- witnesses ------------------------------------------------------------------

    def _witness(self, wanted: _Wanted) -> HashTree:
        if wanted.full or self._root is None:
            return self.tree
        if not wanted.children:
            return Pruned(reconstruct(self.tree))
        keep: dict[int, dict[int, _Wanted | None]] = {}  # slot → bucket index → sub-request
        for label, sub in wanted.children.items():
            self._keep(label, sub, keep)
        if len(keep) == 1:  # one slot (e.g. one request's status): walk its path
            ((slot, indices),) = keep.items()
            return self._path(slot, indices)
        return self._range(self._root, 0, _SLOTS, sorted(keep), keep)

    def _path(self, slot: int, indices: dict[int, _Wanted | None]) -> HashTree:
        """`_range` for a single occupied slot, without recursion: the slot's bucket
        witnessed, under the forks of its path with every sibling pruned."""
        siblings: list[tuple[bool, _Trie]] = []  # (the path goes left, the other side)
        node, lo, hi = self._root, 0, _SLOTS
        while isinstance(node, _Node):
            mid = (lo + hi) // 2
            if slot < mid:
                if node.right is not None:
                    siblings.append((True, node.right))
                node, hi = node.left, mid
            else:
                if node.left is not None:
                    siblings.append((False, node.left))
                node, lo = node.right, mid
        assert isinstance(node, LabeledTree) and node.labels is not None
        tree = node._range(0, len(node.labels), node.tree, sorted(indices), indices)
        for goes_left, sibling in reversed(siblings):
            assert sibling is not None
            pruned = Pruned(reconstruct(sibling.tree))
            tree = Fork(tree, pruned) if goes_left else Fork(pruned, tree)
        return tree

    def _keep(self, label: bytes, sub: _Wanted, keep: dict[int, dict[int, _Wanted | None]]) -> None:
        """Keep `label` if present; otherwise its neighbours in label order (to prove it
        Absent), which may sit in other slots."""
        slot = slot_of(label)
        bucket = self._bucket(slot)
        labels = bucket.labels if bucket is not None and bucket.labels is not None else []
        i = bisect.bisect_left(labels, label)
        if i < len(labels) and labels[i] == label:
            keep.setdefault(slot, {})[i] = sub
            return
        if i > 0:
            keep.setdefault(slot, {}).setdefault(i - 1, None)
        else:
            before = _max_below(self._root, 0, _SLOTS, slot)
            if before is not None:
                previous = self._bucket(before)
                assert previous is not None and previous.labels
                keep.setdefault(before, {}).setdefault(len(previous.labels) - 1, None)
        if i < len(labels):
            keep.setdefault(slot, {}).setdefault(i, None)
        else:
            after = _min_above(self._root, 0, _SLOTS, slot)
            if after is not None:
                keep.setdefault(after, {}).setdefault(0, None)

    def _range(
        self,
        node: _Trie,
        lo: int,
        hi: int,
        kept: list[int],
        keep: dict[int, dict[int, _Wanted | None]],
    ) -> HashTree:
        assert node is not None
        first = bisect.bisect_left(kept, lo)
        if first == len(kept) or kept[first] >= hi:
            return Pruned(reconstruct(node.tree))
        if isinstance(node, LabeledTree):
            indices = keep[lo]
            assert node.labels is not None
            return node._range(0, len(node.labels), node.tree, sorted(indices), indices)
        mid = (lo + hi) // 2
        if node.left is None:
            return self._range(node.right, mid, hi, kept, keep)
        if node.right is None:
            return self._range(node.left, lo, mid, kept, keep)
        return Fork(
            self._range(node.left, lo, mid, kept, keep),
            self._range(node.right, mid, hi, kept, keep),
        )


def _max_below(node: _Trie, lo: int, hi: int, slot: int) -> int | None:
    """The greatest occupied slot < `slot` under `node`."""
    if node is None or lo >= slot:
        return None
    if isinstance(node, LabeledTree):
        return lo
    mid = (lo + hi) // 2
    found = _max_below(node.right, mid, hi, slot)
    return found if found is not None else _max_below(node.left, lo, mid, slot)


def _min_above(node: _Trie, lo: int, hi: int, slot: int) -> int | None:
    """The smallest occupied slot > `slot` under `node`."""
    if node is None or hi <= slot + 1:
        return None
    if isinstance(node, LabeledTree):
        return lo
    mid = (lo + hi) // 2
    found = _min_above(node.left, lo, mid, slot)
    return found if found is not None else _min_above(node.right, mid, hi, slot)
