"""ShardedLabeledTree: same meaning as a LabeledTree, incremental, immutable snapshots."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from replica_core.certification.hash_tree import (
    ABSENT,
    UNKNOWN,
    Found,
    LabeledTree,
    list_paths,
    lookup_path,
    reconstruct,
    well_formed,
)
from replica_core.certification.sharded_tree import ShardedLabeledTree, slot_of

# short labels over a tiny alphabet: many share a slot, some are shorter than a slot key
labels = st.binary(min_size=0, max_size=3).map(lambda b: bytes(x % 3 for x in b))
entries = st.dictionaries(labels, st.binary(min_size=0, max_size=4), max_size=12)


def _node(d: dict[bytes, bytes]) -> dict[bytes, dict[bytes, bytes]]:
    return {k: {b"v": v} for k, v in d.items()}


def test_slots_preserve_label_order():
    ordered = sorted([b"", b"\x00", b"\x00\x00\x01", b"\x01", b"\x01\x00", b"\xff\xff\xff"])
    assert [slot_of(x) for x in ordered] == sorted(slot_of(x) for x in ordered)


@settings(max_examples=60, deadline=None)
@given(entries)
def test_paths_and_well_formedness_equal_those_of_a_labeled_tree(d):
    sharded = ShardedLabeledTree(_node(d))
    assert len(sharded) == len(d)
    assert well_formed(sharded.tree)
    assert list_paths(sharded.tree) == list_paths(LabeledTree(_node(d)).tree)


@settings(max_examples=60, deadline=None)
@given(entries, entries, st.sets(labels, max_size=6))
def test_updates_give_the_tree_built_from_scratch_and_leave_old_snapshots_intact(a, b, gone):
    first = ShardedLabeledTree(_node(a))
    root_before = first.root_hash
    changes = {**{k: {b"v": v} for k, v in b.items()}, **dict.fromkeys(gone)}
    second = first.updated(changes)
    final = {k: v for k, v in {**a, **b}.items() if k not in gone}
    assert second.root_hash == ShardedLabeledTree(_node(final)).root_hash
    assert len(second) == len(final)
    assert first.root_hash == reconstruct(first.tree) == root_before
    assert list_paths(first.tree) == list_paths(LabeledTree(_node(a)).tree)


@settings(max_examples=80, deadline=None)
@given(entries, st.lists(labels, min_size=1, max_size=4))
def test_witness_proves_present_labels_found_and_missing_labels_absent(d, asked):
    sharded = ShardedLabeledTree(_node(d))
    w = sharded.witness([[label, b"v"] for label in asked])
    assert reconstruct(w) == sharded.root_hash
    assert well_formed(w)
    for label in asked:
        expected = Found(d[label]) if label in d else ABSENT
        assert lookup_path([label, b"v"], w) == expected


def test_absence_between_distant_slots_reveals_the_neighbours_in_other_slots():
    d = {b"\x00\x01" + os.urandom(4): b"a", b"\xf0\x00" + os.urandom(4): b"b"}
    sharded = ShardedLabeledTree(_node(d))
    for missing in (b"\x00", b"\x7f\x7f", b"\xff\xff\xff", b""):
        w = sharded.witness([[missing]])
        assert lookup_path([missing], w) == ABSENT
        assert reconstruct(w) == sharded.root_hash


def test_a_sharded_level_nested_in_a_labeled_tree_witnesses_one_request():
    rids = [os.urandom(32) for _ in range(300)]
    status = ShardedLabeledTree({r: {b"status": b"replied"} for r in rids})
    top = LabeledTree({b"time": b"\x01", b"request_status": status})
    unknown = os.urandom(32)
    w = top.witness([[b"time"], [b"request_status", rids[7]], [b"request_status", unknown]])
    assert reconstruct(w) == top.root_hash
    assert lookup_path([b"request_status", rids[7], b"status"], w) == Found(b"replied")
    assert lookup_path([b"request_status", unknown, b"status"], w) == ABSENT
    assert lookup_path([b"request_status", rids[8], b"status"], w) == UNKNOWN
    assert status.get(rids[3]) is not None and status.get(b"nope") is None


def test_a_round_changing_few_entries_shares_the_rest():
    big = ShardedLabeledTree({os.urandom(32): {b"s": b"x"} for _ in range(2000)})
    rid = os.urandom(32)
    after = big.updated({rid: {b"s": b"y"}})
    assert len(after) == 2001 and after.get(rid) is not None and big.get(rid) is None
    assert after.root_hash != big.root_hash


@settings(max_examples=80, deadline=None)
@given(
    st.dictionaries(st.binary(min_size=0, max_size=4), st.binary(max_size=3), max_size=40),
    st.binary(max_size=4),
)
def test_a_one_slot_witness_walk_equals_the_recursive_witness(d, asked):
    """The single-slot walk gives exactly the general recursive witness."""
    from replica_core.certification.labeled_tree import _wanted_paths
    from replica_core.certification.sharded_tree import _SLOTS

    sharded = ShardedLabeledTree(dict(d))
    for label in [asked, *list(d)[:3]]:
        keep: dict = {}
        for child, sub in _wanted_paths([[label]]).children.items():
            sharded._keep(child, sub, keep)
        if len(keep) != 1 or sharded._root is None:
            continue
        expected = sharded._range(sharded._root, 0, _SLOTS, sorted(keep), keep)
        witnessed = sharded.witness([[label]])
        assert witnessed == expected
        assert reconstruct(witnessed) == reconstruct(sharded.tree)
