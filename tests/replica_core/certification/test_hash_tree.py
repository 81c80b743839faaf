"""Hash trees: the spec's worked example, lookup, witnesses, CBOR round trips."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replica_core.certification.hash_tree import (
    ABSENT,
    EMPTY,
    LOOKUP_ERROR,
    UNKNOWN,
    Absent,
    Fork,
    Found,
    Labeled,
    LabeledTree,
    Leaf,
    Pruned,
    build,
    decode,
    encode,
    from_cbor_obj,
    list_paths,
    lookup_all,
    lookup_path,
    lookup_subtree,
    prune,
    reconstruct,
    to_cbor_obj,
    well_formed,
    witness,
)
from replica_core.errors import HashTreeError

SPEC_TREE_CBOR = bytes.fromhex(
    "8301830183024161830183018302417882034568656c6c6f810083024179820345776f726c6483024162"
    "820344676f6f648301830241638100830241648203476d6f726e696e67"
)
SPEC_ROOT = "eb5c5b2195e62d996b84c9bcc8259d19a83786a2f59e0878cec84c811f669aa0"
SPEC_PRUNED_CBOR = bytes.fromhex(
    "83018301830241618301820458201b4feff9bef8131788b0c9dc6dbad6e81e524249c879e9f10f71ce3749"
    "f5a63883024179820345776f726c6483024162820458207b32ac0c6ba8ce35ac82c255fc7906f7fc130dab"
    "2a090f80fe12f9c2cae83ba6830182045820ec8324b8a1f1ac16bd2e806edba78006479c9877fed4eb464a"
    "25485465af601d830241648203476d6f726e696e67"
)
SPEC_PATHS = [["a", "y"], ["ax"], ["d"]]


def spec_tree() -> Fork:
    return Fork(
        Fork(
            Labeled(
                b"a",
                Fork(Fork(Labeled(b"x", Leaf(b"hello")), EMPTY), Labeled(b"y", Leaf(b"world"))),
            ),
            Labeled(b"b", Leaf(b"good")),
        ),
        Fork(Labeled(b"c", EMPTY), Labeled(b"d", Leaf(b"morning"))),
    )


def test_spec_example_cbor_decodes_to_the_drawn_tree():
    assert decode(SPEC_TREE_CBOR) == spec_tree()
    assert encode(spec_tree()) == SPEC_TREE_CBOR


def test_reconstruct_matches_spec_example():
    assert reconstruct(spec_tree()).hex() == SPEC_ROOT
    assert reconstruct(decode(SPEC_PRUNED_CBOR)).hex() == SPEC_ROOT


def test_reconstruct_uses_exact_domain_separators():
    h = hashlib.sha256
    leaf = h(b"\x10ic-hashtree-leaf" + b"v").digest()
    assert reconstruct(Leaf(b"v")) == leaf
    assert reconstruct(EMPTY) == h(b"\x11ic-hashtree-empty").digest()
    labeled = h(b"\x13ic-hashtree-labeled" + b"l" + leaf).digest()
    assert reconstruct(Labeled(b"l", Leaf(b"v"))) == labeled
    assert reconstruct(Fork(Leaf(b"v"), Pruned(labeled))) == (
        h(b"\x10ic-hashtree-fork" + leaf + labeled).digest()
    )


def test_prune_spec_example_gives_the_spec_pruned_tree():
    pruned = prune(spec_tree(), SPEC_PATHS)
    assert encode(pruned) == SPEC_PRUNED_CBOR
    assert witness(spec_tree(), SPEC_PATHS) == pruned


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (["a", "a"], UNKNOWN),
        (["a", "y"], Found(b"world")),
        (["aa"], ABSENT),
        (["ax"], ABSENT),
        (["b"], UNKNOWN),
        (["bb"], UNKNOWN),
        (["d"], Found(b"morning")),
        (["e"], ABSENT),
    ],
)
def test_lookup_in_spec_pruned_tree_matches_spec_table(path, expected):
    assert lookup_path(path, decode(SPEC_PRUNED_CBOR)) == expected


def test_lookup_of_inner_node_is_error_and_of_empty_is_absent():
    tree = spec_tree()
    assert lookup_path(["a"], tree) == LOOKUP_ERROR
    assert lookup_path([], tree) == LOOKUP_ERROR
    assert lookup_path(["c"], tree) == ABSENT
    assert lookup_path(["b", "x"], tree) == ABSENT  # below a leaf: find_label([Leaf]) = Absent
    assert lookup_path([], Pruned(bytes(32))) == UNKNOWN
    assert lookup_path([b"a", b"x"], tree) == Found(b"hello")


def test_lookup_subtree_and_lookup_all():
    tree = spec_tree()
    assert lookup_subtree(["b"], tree) == Leaf(b"good")
    assert lookup_subtree(["zz"], tree) == ABSENT
    assert lookup_all(["a"], tree) == [b"hello", b"world"]
    assert lookup_all([], tree) == [b"hello", b"world", b"good", b"morning"]
    assert lookup_all(["q"], tree) == []
    assert list_paths(tree)[0] == ((b"a", b"x"), b"hello")


def test_well_formed_rejects_unsorted_labels_and_forest_leaves():
    assert well_formed(spec_tree())
    assert well_formed(Leaf(b"x"))
    assert not well_formed(Fork(Labeled(b"b", EMPTY), Labeled(b"a", EMPTY)))
    assert not well_formed(Fork(Labeled(b"a", EMPTY), Labeled(b"a", EMPTY)))
    assert not well_formed(Fork(Labeled(b"a", EMPTY), Leaf(b"x")))
    assert not well_formed(Labeled(b"a", Fork(Leaf(b"x"), Leaf(b"y"))))


def test_witness_of_built_tree_reveals_requested_subtrees_whole():
    data = {b"a": {b"x": b"hello", b"y": b"world"}, b"b": b"good", b"c": {}, b"d": b"morning"}
    full = build(data)
    w = witness(data, [["a"], ["ax"], ["d"]])
    assert reconstruct(w) == reconstruct(full)
    assert lookup_subtree(["a"], w) == lookup_subtree(["a"], full)  # no Pruned inside /a
    assert lookup_path(["ax"], w) == ABSENT
    assert lookup_path(["b"], w) == UNKNOWN
    assert lookup_path(["c"], w) == UNKNOWN


def test_witness_with_no_paths_is_the_pruned_root():
    lt = LabeledTree({b"a": b"1"})
    assert lt.witness([]) == Pruned(lt.root_hash)


def test_deep_tree_reconstruct_does_not_recurse():
    tree = Leaf(b"x")
    for _ in range(50_000):
        tree = Labeled(b"l", tree)
    assert len(reconstruct(tree)) == 32


@pytest.mark.parametrize(
    "obj",
    [
        [],
        [5],
        [0, 1],
        [1, [0]],
        [2, "a", [0]],
        [2, b"a"],
        [3, "text"],
        [4, b"short"],
        [True],
        ["x"],
        7,
        b"\x00",
        [1, [0], [9]],
        [3, None],
    ],
)
def test_malformed_cbor_tree_shapes_raise_hash_tree_error(obj):
    with pytest.raises(HashTreeError):
        from_cbor_obj(obj)


def test_malformed_cbor_bytes_raise_hash_tree_error():
    for data in (b"", b"\xff", SPEC_TREE_CBOR[:-1], SPEC_TREE_CBOR + b"\x00", b"\x81" * 200):
        with pytest.raises(HashTreeError):
            decode(data)


def test_from_cbor_obj_accepts_tuples():
    assert from_cbor_obj((1, (0,), (3, b"v"))) == Fork(EMPTY, Leaf(b"v"))


# --- property tests -----------------------------------------------------------------

labels = st.binary(min_size=0, max_size=3)
nodes = st.recursive(
    st.binary(max_size=4),
    lambda children: st.dictionaries(labels, children, max_size=5),
    max_leaves=25,
)


def hash_trees(labels: st.SearchStrategy[bytes], values: st.SearchStrategy[bytes], leaves: int):
    """Arbitrary hash trees (not necessarily well formed) with these labels and values."""
    return st.recursive(
        st.one_of(
            st.just(EMPTY),
            values.map(Leaf),
            st.binary(min_size=32, max_size=32).map(Pruned),
        ),
        lambda t: st.one_of(
            st.tuples(t, t).map(lambda p: Fork(*p)),
            st.tuples(labels, t).map(lambda p: Labeled(*p)),
        ),
        max_leaves=leaves,
    )


trees = hash_trees(labels, st.binary(max_size=4), 20)


@settings(max_examples=150, deadline=None)
@given(trees)
def test_cbor_round_trip(tree):
    assert decode(encode(tree)) == tree
    assert from_cbor_obj(to_cbor_obj(tree)) == tree


# blobs of every CBOR length form: under 24 bytes, one-byte and two-byte lengths
big_trees = hash_trees(st.binary(max_size=70), st.binary(max_size=300), 30)


@settings(max_examples=150, deadline=None)
@given(big_trees)
def test_direct_encoding_is_byte_for_byte_the_cbor_of_the_array_form(tree):
    import cbor2

    assert encode(tree) == cbor2.dumps(to_cbor_obj(tree))


def all_paths(node, prefix=()):
    if isinstance(node, bytes):
        yield prefix, node
        return
    for k, v in node.items():
        yield from all_paths(v, (*prefix, k))


@settings(max_examples=150, deadline=None)
@given(nodes, st.lists(st.lists(labels, min_size=1, max_size=3), max_size=4), st.data())
def test_witness_proves_requested_paths(node, random_paths, data):
    full = LabeledTree(node)
    assert well_formed(full.tree)
    present = list(all_paths(node))
    chosen = data.draw(st.lists(st.sampled_from(present), max_size=3)) if present else []
    paths = [list(p) for p, _ in chosen] + random_paths
    w = full.witness(paths)
    assert reconstruct(w) == full.root_hash
    assert well_formed(w)
    assert w == prune(full.tree, paths)  # the fast path agrees with the reference
    for path, value in chosen:
        assert lookup_path(path, w) == Found(value)
    for path in random_paths:
        assert lookup_path(path, w) == lookup_path(path, full.tree)
        sub = lookup_subtree(path, full.tree)
        if not isinstance(sub, Absent):
            assert lookup_subtree(path, w) == sub  # requested subtrees are revealed whole


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=100))
def test_decode_of_arbitrary_bytes_raises_only_hash_tree_error(data):
    try:
        tree = decode(data)
    except HashTreeError:
        return
    assert decode(encode(tree)) == tree


def test_build_rejects_a_label_given_as_both_str_and_bytes():
    with pytest.raises(HashTreeError, match="same label twice"):
        build({"a": b"1", b"a": {}})


def test_prebuilt_children_are_reused_with_the_same_root():
    statuses = {bytes([i]) * 32: {b"status": b"replied", b"reply": bytes([i])} for i in range(9)}
    prebuilt = {rid: LabeledTree(node) for rid, node in statuses.items()}
    incremental = LabeledTree({b"request_status": prebuilt, b"time": b"\x01"})
    full = LabeledTree({b"request_status": statuses, b"time": b"\x01"})
    assert incremental.root_hash == full.root_hash
    rid = bytes([4]) * 32
    assert incremental.witness([["request_status", rid]]) == full.witness([["request_status", rid]])
