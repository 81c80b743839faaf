"""Labeled trees and witnesses: pruning a hash tree down to the paths a request needs.

Spec: IC interface spec 0.66.0, Certification › Encoding of certificates (pruned trees:
a witness reveals the requested paths, proves absent labels by their neighbours, and has
the same `reconstruct` as the full tree); HTTPS interface › Request: Read state.

`prune(tree, paths)` (the spec's "pruning", as in ic-hs) keeps what the paths need and
replaces every other subtree by `Pruned(reconstruct(subtree))`; it walks any well-formed
tree and is the reference for the fast `LabeledTree.witness`, which walks a tree built
once with every node digest cached (`build`, `witness`).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import TypeAlias

from replica_core.certification.hash_tree import (
    DOMAIN_FORK,
    DOMAIN_LABELED,
    DOMAIN_LEAF,
    EMPTY,
    Empty,
    Fork,
    HashTree,
    Labeled,
    Leaf,
    Path,
    Pruned,
    _label,
    _sha256,
    flatten_forks,
    reconstruct,
)
from replica_core.errors import HashTreeError

__all__ = ["LabeledTree", "Node", "build", "prune", "witness"]


# --- pruning (reference algorithm) -------------------------------------------------


class _Wanted:
    """The paths still to reveal below one node: `full` means reveal everything."""

    __slots__ = ("children", "full")

    def __init__(self) -> None:
        self.full = False
        self.children: dict[bytes, _Wanted] = {}

    def add(self, path: Sequence[bytes]) -> None:
        node = self
        for label in path:
            if node.full:
                return
            node = node.children.setdefault(label, _Wanted())
        node.full = True
        node.children.clear()


def _wanted_paths(paths: Sequence[Path]) -> _Wanted:
    """Merge the requested paths into one trie of labels (shared prefixes merged)."""
    root = _Wanted()
    for path in paths:
        root.add([_label(label) for label in path])
    return root


def _keep_labels(wanted: _Wanted, labels: Sequence[bytes]) -> dict[int, _Wanted | None]:
    """Which labels of a sorted forest to keep: index → what to reveal below (None: prune).

    A wanted label that exists is kept with its sub-request; one that does not exist keeps
    its two neighbours (content pruned) so that the witness proves it Absent.
    """
    keep: dict[int, _Wanted | None] = {}
    for label, sub in wanted.children.items():
        i = bisect.bisect_left(labels, label)
        if i < len(labels) and labels[i] == label:
            keep[i] = sub
            continue
        for j in (i - 1, i):
            if 0 <= j < len(labels):
                keep.setdefault(j, None)
    return keep


def prune(tree: HashTree, paths: Sequence[Path]) -> HashTree:
    """A tree revealing `paths` (whole subtrees at their ends), everything else pruned.

    Works on any well-formed tree; the result has the same `reconstruct`.
    """
    return _prune(tree, _wanted_paths(paths))


def _prune(tree: HashTree, wanted: _Wanted) -> HashTree:
    if wanted.full or isinstance(tree, Leaf | Empty | Pruned):
        return tree
    if not wanted.children:
        return Pruned(reconstruct(tree))
    forest = flatten_forks(tree)
    labeled = [t for t in forest if isinstance(t, Labeled)]
    if not labeled:
        return tree  # only Empty/Pruned/Leaf nodes: nothing to hide, keep what proofs need
    keep_at = _keep_labels(wanted, [t.label for t in labeled])
    keep = {id(labeled[i]): sub for i, sub in keep_at.items()}
    return _prune_forest(tree, keep)[0]


def _prune_forest(node: HashTree, keep: dict[int, _Wanted | None]) -> tuple[HashTree, bool]:
    """Prune one forest; the flag says whether anything under `node` is kept."""
    if isinstance(node, Fork):
        left, left_kept = _prune_forest(node.left, keep)
        right, right_kept = _prune_forest(node.right, keep)
        if not (left_kept or right_kept):
            return Pruned(reconstruct(node)), False
        return Fork(left, right), True
    if isinstance(node, Labeled) and id(node) in keep:
        sub = keep[id(node)]
        if sub is None:
            return Labeled(node.label, Pruned(reconstruct(node.subtree))), True
        return Labeled(node.label, _prune(node.subtree, sub)), True
    if isinstance(node, Pruned):
        return node, False
    return Pruned(reconstruct(node)), False


# --- building and witnesses (fast path) ----------------------------------------------

Node: TypeAlias = "dict[bytes | str, Node | LabeledTree] | bytes"
"""A labeled tree as plain data: a dict of labeled children, or a leaf value. A child may be
an already built `LabeledTree`, which is reused as is (incremental building)."""


def _hashed(node: HashTree, digest: bytes) -> HashTree:
    object.__setattr__(node, "_digest", digest)
    return node


def _forks(nodes: list[HashTree], lo: int, hi: int) -> HashTree:
    """Balanced forks over nodes[lo:hi] whose digests are set; digests set on the way up."""
    if hi - lo == 1:
        return nodes[lo]
    mid = (lo + hi) // 2
    left, right = _forks(nodes, lo, mid), _forks(nodes, mid, hi)
    return _hashed(Fork(left, right), _sha256(DOMAIN_FORK + left._digest + right._digest).digest())


class LabeledTree:
    """A labeled tree built once into a hash tree whose node digests are cached.

    Children are sorted by label and combined into a balanced binary tree of forks (the
    split is always `mid = (lo + hi) // 2`), so a witness can walk index ranges alongside
    the fork nodes: revealing k paths costs O(k log n) hash-free steps, not a rebuild.
    """

    __slots__ = ("children", "labels", "tree")

    labels: list[bytes] | None
    children: list[LabeledTree]
    tree: HashTree

    def __init__(self, node: Node) -> None:
        if isinstance(node, bytes | bytearray | memoryview):
            value = bytes(node)
            leaf = _hashed(Leaf(value), _sha256(DOMAIN_LEAF + value).digest())
            self.labels, self.children, self.tree = None, [], leaf
        elif isinstance(node, dict):
            items = sorted(((_label(k), v) for k, v in node.items()), key=lambda kv: kv[0])
            self.labels = [k for k, _ in items]
            if any(a == b for a, b in zip(self.labels, self.labels[1:], strict=False)):
                raise HashTreeError("a labeled tree has the same label twice")
            self.children = [v if isinstance(v, LabeledTree) else LabeledTree(v) for _, v in items]
            nodes: list[HashTree] = [
                _hashed(Labeled(k, c.tree), _sha256(DOMAIN_LABELED + k + c.tree._digest).digest())
                for k, c in zip(self.labels, self.children, strict=True)
            ]
            self.tree = _forks(nodes, 0, len(nodes)) if nodes else EMPTY
        else:
            raise HashTreeError(f"a tree node is a dict or bytes, not {type(node).__name__}")
        reconstruct(self.tree)  # only hashes an Empty tree; every other digest is set above

    @property
    def root_hash(self) -> bytes:
        return reconstruct(self.tree)

    def witness(self, paths: Sequence[Path]) -> HashTree:
        """Same result as `prune(self.tree, paths)`, without visiting unrequested nodes."""
        return self._witness(_wanted_paths(paths))

    def _witness(self, wanted: _Wanted) -> HashTree:
        if wanted.full or self.labels is None or not self.labels:
            return self.tree
        if not wanted.children:
            return Pruned(reconstruct(self.tree))
        keep = _keep_labels(wanted, self.labels)
        return self._range(0, len(self.labels), self.tree, sorted(keep), keep)

    def _range(
        self, lo: int, hi: int, node: HashTree, kept: list[int], keep: dict[int, _Wanted | None]
    ) -> HashTree:
        first = bisect.bisect_left(kept, lo)
        if first == len(kept) or kept[first] >= hi:
            return Pruned(reconstruct(node))
        if hi - lo == 1:
            sub, child = keep[lo], self.children[lo]
            content = Pruned(reconstruct(child.tree)) if sub is None else child._witness(sub)
            return Labeled(self.labels[lo], content)  # type: ignore[index]
        assert isinstance(node, Fork)
        mid = (lo + hi) // 2
        return Fork(
            self._range(lo, mid, node.left, kept, keep),
            self._range(mid, hi, node.right, kept, keep),
        )


def build(node: Node) -> HashTree:
    """The hash tree of a labeled tree: sorted labels, balanced forks, values as leaves."""
    return LabeledTree(node).tree


def witness(full: Node | LabeledTree | HashTree, paths: Sequence[Path]) -> HashTree:
    """A pruned tree proving each path: its whole subtree if present, its absence if not.

    Requested subtrees are revealed entirely; a missing label keeps its neighbours (content
    pruned); everything else is pruned. `reconstruct` equals that of the full tree. Build
    a `LabeledTree` once and pass it here to witness many requests cheaply.
    """
    if isinstance(full, LabeledTree):
        return full.witness(paths)
    if isinstance(full, Empty | Fork | Labeled | Leaf | Pruned):
        return prune(full, paths)
    return LabeledTree(full).witness(paths)
