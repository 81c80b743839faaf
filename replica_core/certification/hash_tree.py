"""Hash trees: the certified partial views of the state tree, their digest and lookup.

Spec: IC interface spec 0.66.0, Certification › Encoding of certificates (hash trees,
`reconstruct`), › Lookup (`lookup_path`, `find_label`, `lookup*`, well-formedness).

A `HashTree` is one of `Empty`, `Fork`, `Labeled`, `Leaf`, `Pruned`. Each node caches its
digest after the first `reconstruct`, so a tree built once (see `LabeledTree`) can be
pruned many times without hashing again. Lookup results are values: `Found`, `ABSENT`,
`UNKNOWN`, `LOOKUP_ERROR` (the spec's Found/Absent/Unknown/Error).

Pruning and witnesses (`prune`, `LabeledTree`, `build`, `witness`) are in
`labeled_tree.py` and re-exported here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from replica_core import cbor
from replica_core.errors import HashTreeError, MalformedCbor

__all__ = [
    "ABSENT",
    "EMPTY",
    "LOOKUP_ERROR",
    "UNKNOWN",
    "Absent",
    "Empty",
    "Fork",
    "Found",
    "HashTree",
    "Labeled",
    "LabeledTree",
    "Leaf",
    "LookupError",
    "LookupResult",
    "Node",
    "Path",
    "Pruned",
    "Unknown",
    "build",
    "cbor_bytes",
    "decode",
    "encode",
    "flatten_forks",
    "from_cbor_obj",
    "list_paths",
    "lookup_all",
    "lookup_path",
    "lookup_subtree",
    "prune",
    "reconstruct",
    "to_cbor_obj",
    "well_formed",
    "witness",
]

# Domain separators: byte(len(s)) · s (spec: Certification › reconstruct).
DOMAIN_EMPTY = b"\x11ic-hashtree-empty"
DOMAIN_FORK = b"\x10ic-hashtree-fork"
DOMAIN_LABELED = b"\x13ic-hashtree-labeled"
DOMAIN_LEAF = b"\x10ic-hashtree-leaf"

HASH_SIZE = 32
"""Size of a pruned subtree's digest (SHA-256)."""

_sha256 = hashlib.sha256


@dataclass(frozen=True, slots=True)
class Empty:
    """The empty tree (no labels at all)."""

    _digest: bytes | None = field(default=None, init=False, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Fork:
    """Two forests side by side; a forest's labels read left to right."""

    left: HashTree
    right: HashTree
    _digest: bytes | None = field(default=None, init=False, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Labeled:
    """An edge `label` leading to `subtree`."""

    label: bytes
    subtree: HashTree
    _digest: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.label, bytes):
            raise HashTreeError(f"a label is bytes, not {type(self.label).__name__}")


@dataclass(frozen=True, slots=True)
class Leaf:
    """A value (a blob)."""

    value: bytes
    _digest: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.value, bytes):
            raise HashTreeError(f"a leaf value is bytes, not {type(self.value).__name__}")


@dataclass(frozen=True, slots=True)
class Pruned:
    """A subtree replaced by its 32-byte digest."""

    digest: bytes
    _digest: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.digest, bytes) or len(self.digest) != HASH_SIZE:
            raise HashTreeError(f"a pruned digest is {HASH_SIZE} bytes, got {self.digest!r:.80}")


HashTree: TypeAlias = Empty | Fork | Labeled | Leaf | Pruned
Path: TypeAlias = Sequence[bytes | str]

EMPTY = Empty()


# --- reconstruct -------------------------------------------------------------------


def _set_digest(node: HashTree, digest: bytes) -> bytes:
    object.__setattr__(node, "_digest", digest)
    return digest


def reconstruct(tree: HashTree) -> bytes:
    """The root hash of a tree: SHA-256 over domain-separated node contents.

    Iterative (no recursion limit for deep trees) and memoised on the nodes, so a
    subtree shared or re-used in several witnesses is hashed once.
    """
    if tree._digest is not None:
        return tree._digest
    stack: list[HashTree] = [tree]
    while stack:
        node = stack[-1]
        if node._digest is not None:
            stack.pop()
            continue
        if isinstance(node, Fork):
            left, right = node.left._digest, node.right._digest
            if left is None or right is None:
                if right is None:
                    stack.append(node.right)
                if left is None:
                    stack.append(node.left)
                continue
            _set_digest(node, _sha256(DOMAIN_FORK + left + right).digest())
        elif isinstance(node, Labeled):
            sub = node.subtree._digest
            if sub is None:
                stack.append(node.subtree)
                continue
            _set_digest(node, _sha256(DOMAIN_LABELED + node.label + sub).digest())
        elif isinstance(node, Leaf):
            _set_digest(node, _sha256(DOMAIN_LEAF + node.value).digest())
        elif isinstance(node, Pruned):
            _set_digest(node, node.digest)
        elif isinstance(node, Empty):
            _set_digest(node, _sha256(DOMAIN_EMPTY).digest())
        else:
            raise HashTreeError(f"not a hash tree node: {type(node).__name__}")
        stack.pop()
    assert tree._digest is not None
    return tree._digest


# --- CBOR form ---------------------------------------------------------------------


def to_cbor_obj(tree: HashTree) -> list[Any]:
    """The CBOR array form: `[0]`, `[1, l, r]`, `[2, label, t]`, `[3, v]`, `[4, h]`."""
    if isinstance(tree, Fork):
        return [1, to_cbor_obj(tree.left), to_cbor_obj(tree.right)]
    if isinstance(tree, Labeled):
        return [2, tree.label, to_cbor_obj(tree.subtree)]
    if isinstance(tree, Leaf):
        return [3, tree.value]
    if isinstance(tree, Pruned):
        return [4, tree.digest]
    if isinstance(tree, Empty):
        return [0]
    raise HashTreeError(f"not a hash tree node: {type(tree).__name__}")


def _cbor_head(major: int, n: int) -> bytes:
    """A CBOR item head: major type and argument, in the shortest form (RFC 8949 §3)."""
    if n < 24:
        return bytes((major << 5 | n,))
    if n < 0x100:
        return bytes((major << 5 | 24, n))
    if n < 0x10000:
        return bytes((major << 5 | 25,)) + n.to_bytes(2, "big")
    if n < 0x1_0000_0000:
        return bytes((major << 5 | 26,)) + n.to_bytes(4, "big")
    return bytes((major << 5 | 27,)) + n.to_bytes(8, "big")


def cbor_bytes(blob: bytes) -> bytes:
    """The CBOR byte string holding `blob` (major type 2)."""
    return _cbor_head(2, len(blob)) + blob


_PRUNED_HEAD = b"\x82\x04\x58\x20"  # [4, h] with a 32-byte h
_FORK_HEAD = b"\x83\x01"  # [1, l, r]
_LABELED_HEAD = b"\x83\x02"  # [2, label, t]
_LEAF_HEAD = b"\x82\x03"  # [3, v]
_EMPTY = b"\x81\x00"  # [0]


def encode(tree: HashTree) -> bytes:
    """CBOR bytes of a tree (untagged, as in the spec's worked example): the encoding of
    `to_cbor_obj(tree)`, byte for byte, written directly without the intermediate lists
    (certificates are encoded once per answered request)."""
    out: list[bytes] = []
    append = out.append
    stack: list[HashTree] = [tree]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        kind = type(node)
        if kind is Fork:
            append(_FORK_HEAD)
            push(node.right)  # type: ignore[union-attr]
            push(node.left)  # type: ignore[union-attr]
        elif kind is Pruned:
            append(_PRUNED_HEAD)
            append(node.digest)  # type: ignore[union-attr]
        elif kind is Labeled:
            append(_LABELED_HEAD)
            append(cbor_bytes(node.label))  # type: ignore[union-attr]
            push(node.subtree)  # type: ignore[union-attr]
        elif kind is Leaf:
            append(_LEAF_HEAD)
            append(cbor_bytes(node.value))  # type: ignore[union-attr]
        elif kind is Empty:
            append(_EMPTY)
        else:
            raise HashTreeError(f"not a hash tree node: {type(node).__name__}")
    return b"".join(out)


def _blob(obj: object, what: str) -> bytes:
    if isinstance(obj, bytes):
        return obj
    raise HashTreeError(f"{what} must be a byte string, got {type(obj).__name__}")


def from_cbor_obj(obj: object) -> HashTree:
    """Parse the CBOR array form (lists or tuples); any bad shape raises `HashTreeError`."""
    try:
        return _from_cbor_obj(obj)
    except RecursionError:
        raise HashTreeError("hash tree is nested too deeply") from None


def _from_cbor_obj(obj: object) -> HashTree:
    if not isinstance(obj, list | tuple) or not obj:
        raise HashTreeError(f"a hash tree node is a non-empty array, got {obj!r:.80}")
    tag = obj[0]
    if type(tag) is not int:
        raise HashTreeError(f"a hash tree node tag is an integer, got {tag!r:.40}")
    arity = {0: 1, 1: 3, 2: 3, 3: 2, 4: 2}.get(tag)
    if arity is None:
        raise HashTreeError(f"unknown hash tree node tag {tag}")
    if len(obj) != arity:
        raise HashTreeError(f"hash tree node with tag {tag} has {len(obj)} items, expected {arity}")
    if tag == 0:
        return EMPTY
    if tag == 1:
        return Fork(_from_cbor_obj(obj[1]), _from_cbor_obj(obj[2]))
    if tag == 2:
        return Labeled(_blob(obj[1], "a label"), _from_cbor_obj(obj[2]))
    if tag == 3:
        return Leaf(_blob(obj[1], "a leaf value"))
    return Pruned(_blob(obj[1], "a pruned digest"))


def decode(data: bytes) -> HashTree:
    """Parse CBOR bytes (tag 55799 optional) into a tree; errors raise `HashTreeError`."""
    try:
        obj = cbor.decode(data)
    except MalformedCbor as e:
        raise HashTreeError(f"hash tree is not valid CBOR: {e}") from None
    return from_cbor_obj(obj)


# --- lookup ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Found:
    """The path leads to a leaf holding `value`."""

    value: bytes


@dataclass(frozen=True, slots=True)
class Absent:
    """The tree proves that the path does not exist."""


@dataclass(frozen=True, slots=True)
class Unknown:
    """The path runs into pruned content: the tree cannot tell."""


@dataclass(frozen=True, slots=True)
class LookupError:  # the spec's name; shadows the builtin only in this module
    """The path ends at an inner node (a fork or a labeled subtree), not a value."""


ABSENT = Absent()
UNKNOWN = Unknown()
LOOKUP_ERROR = LookupError()

LookupResult: TypeAlias = Found | Absent | Unknown | LookupError


def _label(label: bytes | str) -> bytes:
    if type(label) is bytes:
        return label
    if isinstance(label, str):
        return label.encode()
    if isinstance(label, bytes | bytearray | memoryview):
        return bytes(label)
    raise TypeError(f"a path label is bytes or str, not {type(label).__name__}")


def flatten_forks(tree: HashTree) -> list[HashTree]:
    """The forest under a node, left to right: forks dissolved, `Empty` dropped."""
    out: list[HashTree] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Fork):
            stack.append(node.right)
            stack.append(node.left)
        elif not isinstance(node, Empty):
            out.append(node)
    return out


def _find_label(label: bytes, trees: list[HashTree]) -> HashTree | Absent | Unknown:
    """The spec's `find_label`, rules tried in the spec's order."""
    for t in trees:
        if isinstance(t, Labeled) and t.label == label:
            return t.subtree
    for a, b in zip(trees, trees[1:], strict=False):
        if isinstance(a, Labeled) and isinstance(b, Labeled) and a.label < label < b.label:
            return ABSENT
    if trees and isinstance(trees[0], Labeled) and label < trees[0].label:
        return ABSENT
    if trees and isinstance(trees[-1], Labeled) and trees[-1].label < label:
        return ABSENT
    if len(trees) == 1 and isinstance(trees[0], Leaf):
        return ABSENT
    if not trees:
        return ABSENT
    return UNKNOWN


def lookup_subtree(path: Path, tree: HashTree) -> HashTree | Absent | Unknown:
    """The subtree at `path` (the tree itself for the empty path), or Absent/Unknown."""
    node = tree
    for label in path:
        found = _find_label(_label(label), flatten_forks(node))
        if isinstance(found, Absent | Unknown):
            return found
        node = found
    return node


def lookup_path(path: Path, tree: HashTree) -> LookupResult:
    """The spec's `lookup_path`: Found(value), Absent, Unknown, or LookupError."""
    node = lookup_subtree(path, tree)
    if isinstance(node, Absent | Unknown):
        return node
    if isinstance(node, Leaf):
        return Found(node.value)
    if isinstance(node, Empty):
        return ABSENT
    if isinstance(node, Pruned):
        return UNKNOWN
    return LOOKUP_ERROR


def list_paths(tree: HashTree) -> list[tuple[tuple[bytes, ...], bytes]]:
    """Every (path, value) whose lookup is Found, left to right."""
    out: list[tuple[tuple[bytes, ...], bytes]] = []
    stack: list[tuple[tuple[bytes, ...], HashTree]] = [((), tree)]
    while stack:
        prefix, node = stack.pop()
        if isinstance(node, Leaf):
            out.append((prefix, node.value))
            continue
        # Leaves directly in a forest of labels are not reachable by any path.
        for t in reversed(flatten_forks(node)):
            if isinstance(t, Labeled):
                stack.append(((*prefix, t.label), t.subtree))
    return out


def lookup_all(prefix: Path, tree: HashTree) -> list[bytes]:
    """The spec's `lookup*`: the values of all Found paths extending `prefix`, in order."""
    node = lookup_subtree(prefix, tree)
    if isinstance(node, Absent | Unknown):
        return []
    return [value for _, value in list_paths(node)]


# --- well-formedness -----------------------------------------------------------------


def well_formed(tree: HashTree) -> bool:
    """The spec's `well_formed`: labels strictly increasing per forest, no leaf in a forest."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Leaf):
            continue
        forest = flatten_forks(node)
        previous: bytes | None = None
        for t in forest:
            if isinstance(t, Leaf):
                return False
            if isinstance(t, Labeled):
                if previous is not None and not previous < t.label:
                    return False
                previous = t.label
                stack.append(t.subtree)
    return True


# Labeled trees, pruning and witnesses live in `labeled_tree.py`, which builds on the node
# types above; they are re-exported here for the callers that import them from this module.
# The import comes last because `labeled_tree` imports this module (`replica_core.
# certification` imports `hash_tree` first, so this module is always complete by then).
from replica_core.certification.labeled_tree import (  # noqa: E402
    LabeledTree,
    Node,
    build,
    prune,
    witness,
)
