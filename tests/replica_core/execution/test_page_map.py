"""Page maps: canister memories stored as shared non-zero 4 KiB pages.

Spec: IC interface spec 0.66.0, The System API › Memory (heap and stable memory are byte
arrays); the representation is icbox's (impl), checked here against plain `bytes`.
"""

from __future__ import annotations

import ctypes
import mmap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replica_core.execution.dirty_pages import DirtyPageTracker
from replica_core.execution.interface import ExecutionState
from replica_core.execution.page_map import EMPTY_PAGE_MAP, PAGE_SIZE, PageDelta, PageMap

SIZE = 16 * PAGE_SIZE


def _memory(writes: list[tuple[int, bytes]], size: int = SIZE) -> bytes:
    data = bytearray(size)
    for offset, chunk in writes:
        offset %= size
        chunk = chunk[: size - offset]
        data[offset : offset + len(chunk)] = chunk
    return bytes(data)


writes_strategy = st.lists(
    st.tuples(st.integers(0, SIZE - 1), st.binary(min_size=1, max_size=3 * PAGE_SIZE)),
    max_size=6,
)


@settings(max_examples=40, deadline=None)
@given(writes_strategy, st.integers(0, SIZE), st.integers(0, 3 * PAGE_SIZE))
def test_page_map_reads_like_the_bytes_it_was_built_from(writes, offset, size):
    data = _memory(writes)
    pages = PageMap.from_bytes(data)
    assert len(pages) == len(data) and bytes(pages) == data
    size = min(size, len(data) - offset)
    assert pages.read(offset, size) == data[offset : offset + size]
    assert pages[offset:] == data[offset:]
    if offset < len(data):
        assert pages[offset] == data[offset]


def test_zero_pages_are_not_stored():
    data = bytearray(SIZE)
    data[5 * PAGE_SIZE + 7] = 1
    pages = PageMap.from_bytes(bytes(data))
    assert pages.stored_pages == 1
    assert pages.page(5) is not None and pages.page(4) is None
    assert PageMap.from_bytes(bytes(1 << 20)).stored_pages == 0


def test_a_new_version_shares_the_pages_it_did_not_change():
    image = PageMap.from_bytes(_memory([(0, b"a" * PAGE_SIZE * 3)]))
    data = bytearray(bytes(image))
    data[PAGE_SIZE + 1] = 0x42
    version = PageMap.from_bytes(bytes(data), base=image)
    assert version.page(0) is image.page(0) and version.page(2) is image.page(2)
    assert version.page(1) is not image.page(1)
    updated = version.updated(len(version), {2: None, 3: b"z" * PAGE_SIZE})
    assert updated.page(0) is image.page(0) and updated.page(1) is version.page(1)
    assert updated.page(2) is None and updated[3 * PAGE_SIZE] == ord("z")
    assert bytes(version) == bytes(data)  # the old version is unchanged


def test_equal_contents_are_equal_page_maps():
    data = _memory([(100, b"xyz"), (9000, b"\x01")])
    assert PageMap.from_bytes(data) == PageMap.from_bytes(bytearray(data))
    assert PageMap.from_bytes(data) != PageMap.from_bytes(data + bytes(PAGE_SIZE))
    assert PageMap(8, {}) == PageMap.from_bytes(bytes(8)) and EMPTY_PAGE_MAP == PageMap()


def test_page_map_rejects_pages_outside_its_size_and_shrinking():
    with pytest.raises(ValueError, match="outside"):
        PageMap(PAGE_SIZE, {1: b"x" * PAGE_SIZE})
    with pytest.raises(ValueError, match="bytes"):
        PageMap(PAGE_SIZE, {0: b"x"})
    with pytest.raises(ValueError, match="shrink"):
        PageMap.from_bytes(bytes(SIZE)).updated(PAGE_SIZE, {})
    with pytest.raises(IndexError):
        PageMap.from_bytes(bytes(10)).read(5, 6)


@settings(max_examples=40, deadline=None)
@given(writes_strategy, writes_strategy, st.integers(0, 4))
def test_page_delta_matches_a_bytearray_and_freezes_into_a_sharing_version(base, writes, grow):
    original = _memory(base)
    pages = PageMap.from_bytes(original)
    delta = PageDelta(pages)
    expected = bytearray(original)
    delta.grow(len(original) + grow * PAGE_SIZE)
    expected.extend(bytes(grow * PAGE_SIZE))
    for offset, chunk in writes:
        offset %= len(expected)
        chunk = chunk[: len(expected) - offset]
        delta.write(offset, chunk)
        expected[offset : offset + len(chunk)] = chunk
        assert delta.read(offset, len(chunk)) == chunk
    frozen = delta.freeze()
    assert bytes(frozen) == bytes(expected) and len(frozen) == len(expected)
    for index, page in pages.items():
        if frozen.page(index) == page:
            assert frozen.page(index) is page  # unchanged pages are shared, not copied
    assert bytes(pages) == original  # the base is untouched


def test_an_unwritten_page_delta_freezes_to_its_base():
    pages = PageMap.from_bytes(b"\x01" * PAGE_SIZE)
    delta = PageDelta(pages)
    assert delta.read(0, 3) == b"\x01\x01\x01" and not delta.changed
    assert delta.freeze() is pages


def test_execution_state_converts_bytes_to_page_maps():
    state = ExecutionState(b"\x00\x05", (), b"")
    assert isinstance(state.heap, PageMap) and isinstance(state.stable_memory, PageMap)
    assert state.heap[1] == 5 and len(state.stable_memory) == 0
    assert state == ExecutionState(PageMap.from_bytes(b"\x00\x05"), (), EMPTY_PAGE_MAP)


def test_dirty_page_tracker_reports_every_written_page_of_a_fresh_mapping():
    tracker = DirtyPageTracker()
    if not tracker.available:
        pytest.skip("no /proc/self/pagemap on this host")
    size = 64 * PAGE_SIZE
    private = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS  # as wasmtime maps linear memory
    with mmap.mmap(-1, size, flags=private) as region:
        anchor = ctypes.c_char.from_buffer(region)
        address = ctypes.addressof(anchor)
        del anchor  # the address stays valid while the mapping is open
        assert tracker.candidates(address, size) == []
        written = {3, 17, 40}
        for index in written:
            region[index * PAGE_SIZE + 5] = 1
        found = tracker.candidates(address, size)
        assert found is not None and written <= set(found)
        assert set(found) <= set(range(64))
    tracker.close()


def test_dirty_page_tracker_without_pagemap_says_unknown(tmp_path):
    tracker = DirtyPageTracker(str(tmp_path / "missing"))
    assert not tracker.available
    assert tracker.candidates(0, PAGE_SIZE) is None


def test_dirty_page_tracker_runs_are_the_candidates_grouped():
    tracker = DirtyPageTracker()
    if not tracker.available:
        pytest.skip("no /proc/self/pagemap on this host")
    size = 64 * PAGE_SIZE
    private = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
    with mmap.mmap(-1, size, flags=private) as region:
        anchor = ctypes.c_char.from_buffer(region)
        address = ctypes.addressof(anchor)
        del anchor
        for index in (0, 1, 2, 17, 40, 41, 63):
            region[index * PAGE_SIZE] = 1
        runs = tracker.candidate_runs(address, size)
        candidates = tracker.candidates(address, size)
        assert runs is not None and candidates is not None
        assert [i for first, end in runs for i in range(first, end)] == candidates
        assert all(end > first for first, end in runs)
        assert all(a[1] < b[0] for a, b in zip(runs, runs[1:], strict=False))
    tracker.close()


def test_page_run_is_the_bytes_of_those_pages():
    memory = PageMap.from_bytes(_memory([(PAGE_SIZE * 2 + 3, b"abc"), (PAGE_SIZE * 5, b"z")]))
    assert memory.page_run(1, 7) == memory.to_bytes()[PAGE_SIZE : 7 * PAGE_SIZE]
    assert memory.page_run(4, 4) == b""


_PAGES = 300  # more than four chunks of 64 pages
_ZERO = bytes(PAGE_SIZE)
_page_contents = st.sampled_from([None, _ZERO, b"\x01" * PAGE_SIZE, b"\x02" * PAGE_SIZE])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.dictionaries(st.integers(0, _PAGES - 1), _page_contents, max_size=12),
        min_size=1,
        max_size=8,
    )
)
def test_successive_versions_match_a_plain_page_dictionary(rounds):
    """Versions made by `updated` (chunked storage) hold exactly the pages a plain dict
    model holds, count them right, compare and hash by content, and leave older versions
    untouched."""
    size = _PAGES * PAGE_SIZE
    version, model = PageMap(size), {}
    history = [(version, dict(model))]
    for changes in rounds:
        version = version.updated(size, changes)
        for index, page in changes.items():
            if page is None or page == _ZERO:
                model.pop(index, None)
            else:
                model[index] = page
        history.append((version, dict(model)))
    for old, expected in history:
        assert dict(old.items()) == expected
        assert old.stored_pages == len(expected)
        assert all(old.page(i) == expected.get(i) for i in range(_PAGES))
        rebuilt = PageMap(size, expected)
        assert old == rebuilt and hash(old) == hash(rebuilt)
        assert old.to_bytes() == rebuilt.to_bytes()
