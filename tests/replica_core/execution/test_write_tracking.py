"""Exact per-execution write tracking (userfaultfd async write protection + PAGEMAP_SCAN)
for warm instances, and the page-table fallback when it is off or fails (impl)."""

from __future__ import annotations

import ctypes
import mmap
import os
import random
import struct
from collections.abc import Iterator

import pytest
import wasmtime

from replica_core.execution import module_cache
from replica_core.execution.dirty_pages import DirtyPageTracker
from replica_core.execution.engine import make_engine
from replica_core.execution.interface import Context, EntryCall, EntryKind
from replica_core.execution.sandbox import ModuleCache, execute
from replica_core.execution.validation import validate_module
from replica_core.execution.write_tracking import (
    WASMTIME_RESERVATION,
    MemoryWatch,
    WriteTracker,
    reservation_is_mapped,
)
from tests.replica_core.execution.conftest import Harness, make_env, wat_module

PAGE = 4096


@pytest.fixture(scope="module")
def tracker() -> Iterator[WriteTracker]:
    tracker = WriteTracker()
    if not tracker.available:
        pytest.skip("userfaultfd async write protection is not available here")
    yield tracker
    tracker.close()


# A raw instance: `w` stores a byte at an address, `g` grows the memory; pages 2-3 hold
# a data segment, so they come from wasmtime's copy-on-write memory image.
RAW = """(module (memory (export "m") {pages}) (data (i32.const 8192) "{image}")
  (func (export "w") (param i32) (i32.store8 (local.get 0) (i32.const 9)))
  (func (export "g") (param i32) (result i32) (memory.grow (local.get 0))))"""


class Raw:
    def __init__(self, wasm_pages: int = 4) -> None:
        engine = make_engine()
        wat = RAW.format(pages=wasm_pages, image="i" * 5000)
        self.store = wasmtime.Store(engine)
        instance = wasmtime.Instance(
            self.store, wasmtime.Module(engine, wasmtime.wat2wasm(wat)), []
        )
        exports = instance.exports(self.store)
        self.memory, self.w, self.g = exports["m"], exports["w"], exports["g"]

    @property
    def address(self) -> int:
        assert isinstance(self.memory, wasmtime.Memory)
        return ctypes.cast(self.memory.data_ptr(self.store), ctypes.c_void_p).value or 0

    @property
    def size(self) -> int:
        assert isinstance(self.memory, wasmtime.Memory)
        return self.memory.data_len(self.store)

    def write(self, offset: int) -> None:
        self.w(self.store, offset)  # type: ignore[operator]


def pages_of(runs: list[tuple[int, int]] | None) -> list[int]:
    assert runs is not None
    return [index for first, end in runs for index in range(first, end)]


def test_exactly_the_pages_wasm_wrote_since_the_last_scan_are_reported(tracker):
    raw = Raw()
    watch = MemoryWatch(tracker)
    watch.arm(raw.address, raw.size)
    rng = random.Random(5)
    for _ in range(5):
        written = rng.sample(range(raw.size // PAGE), 12) + [2]  # one image page
        for index in written:
            raw.write(index * PAGE + rng.randrange(PAGE))
        assert pages_of(watch.written_runs(raw.address, raw.size)) == sorted(set(written))
        assert watch.written_runs(raw.address, raw.size) == []  # protected again


def test_writes_spread_over_more_runs_than_one_scan_returns_are_all_reported(tracker):
    raw = Raw(wasm_pages=40)  # 640 pages: every other one written, 320 separate runs
    watch = MemoryWatch(tracker)
    watch.arm(raw.address, raw.size)
    for index in range(0, raw.size // PAGE, 2):
        raw.write(index * PAGE)
    runs = watch.written_runs(raw.address, raw.size)
    assert pages_of(runs) == list(range(0, raw.size // PAGE, 2))


def test_pages_written_after_memory_grow_are_reported_and_then_tracked(tracker):
    raw = Raw()
    watch = MemoryWatch(tracker)
    watch.arm(raw.address, raw.size)
    old_pages = raw.size // PAGE
    assert raw.g(raw.store, 2) == 4  # type: ignore[operator]
    new_pages = raw.size // PAGE
    raw.write(5 * PAGE)
    raw.write((old_pages + 3) * PAGE)
    raw.write((old_pages + 20) * PAGE + 7)
    grown = set(pages_of(watch.written_runs(raw.address, raw.size)))
    # The grown pages written, maybe with untouched ones of the same page table (once).
    assert {5, old_pages + 3, old_pages + 20} <= grown <= {5, *range(old_pages, new_pages)}
    raw.write((old_pages + 30) * PAGE)
    raw.write(6 * PAGE)
    assert pages_of(watch.written_runs(raw.address, raw.size)) == [6, old_pages + 30]
    assert watch.written_runs(raw.address, raw.size) == []


def test_memory_growth_keeps_the_registered_memory_one_mapping(tracker):
    raw = Raw()
    watch = MemoryWatch(tracker)
    watch.arm(raw.address, raw.size)

    def mappings() -> int:
        end = raw.address + tracker.reservation
        with open("/proc/self/maps") as maps:
            bounds = [[int(b, 16) for b in line.split()[0].split("-")] for line in maps]
        return sum(1 for low, high in bounds if high > raw.address and low < end)

    before = mappings()
    for _ in range(10):
        raw.g(raw.store, 1)  # type: ignore[operator]
        raw.write(raw.size - 100)
        assert watch.written_runs(raw.address, raw.size) is not None
    assert mappings() == before


def test_a_range_that_is_not_registered_gives_no_answer(tracker):
    raw = Raw()
    assert tracker.written_runs(raw.address, raw.size) is None  # PM_SCAN_CHECK_WPASYNC
    watch = MemoryWatch(tracker)
    assert watch.written_runs(raw.address, raw.size) is None  # never armed
    watch.arm(raw.address, raw.size)
    assert watch.written_runs(raw.address + PAGE * 16, raw.size) is None  # moved
    assert watch.size == 0  # disarmed: the next execution protects everything again


def test_a_memory_larger_than_the_reservation_is_not_tracked():
    tracker = WriteTracker(reservation=64 * 1024)
    raw = Raw()  # 256 KiB
    watch = MemoryWatch(tracker)
    watch.arm(raw.address, raw.size)
    assert watch.size == 0 and watch.written_runs(raw.address, raw.size) is None
    tracker.close()


def test_a_closed_tracker_tracks_nothing():
    tracker = WriteTracker()
    tracker.close()
    raw = Raw()
    assert not tracker.available
    assert not tracker.protect(raw.address, raw.size)
    assert tracker.written_runs(raw.address, raw.size) is None


def test_the_assumed_memory_layout_is_checked_against_the_process_mappings(tmp_path):
    raw = Raw()
    assert reservation_is_mapped(raw.address, raw.size, WASMTIME_RESERVATION)
    assert not reservation_is_mapped(raw.address, raw.size - 65536, WASMTIME_RESERVATION)
    shared = mmap.mmap(-1, 4 * PAGE)  # MAP_SHARED
    address = ctypes.addressof(ctypes.c_char.from_buffer(shared))
    assert not reservation_is_mapped(address, 4 * PAGE, 4 * PAGE)
    path = tmp_path / "file"
    path.write_bytes(bytes(4 * PAGE))
    with path.open("r+b") as f:
        private = mmap.mmap(f.fileno(), 4 * PAGE, flags=mmap.MAP_PRIVATE)
    address = ctypes.addressof(ctypes.c_char.from_buffer(private))
    assert not reservation_is_mapped(address, 4 * PAGE, 4 * PAGE)


# `scatter`'s argument is a list of little-endian u32 page indices (copied to page 15);
# it stores a per-call counter byte at offset 100 of each of those pages. `grow_write`
# grows the memory by one Wasm page and stores the counter in two of its 4 KiB pages.
# `scatter_then_trap` stores and then traps.
SANDBOX = """
  (global $n (mut i32) (i32.const 0))
  (func $scatter (local $i i32) (local $len i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1)))
    (local.set $len (call $ic0.msg_arg_data_size))
    (call $ic0.msg_arg_data_copy (i32.const 61440) (i32.const 0) (local.get $len))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (i32.store8
        (i32.add (i32.mul (i32.load (i32.add (i32.const 61440) (local.get $i))) (i32.const 4096))
                 (i32.const 100))
        (global.get $n))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $next))))
  (func (export "canister_update scatter") (call $scatter) (call $reply_i32 (global.get $n)))
  (func (export "canister_update scatter_then_trap") (call $scatter) (unreachable))
  (func (export "canister_update grow_write") (local $base i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1)))
    (local.set $base (i32.mul (memory.grow (i32.const 1)) (i32.const 65536)))
    (i32.store8 (i32.add (local.get $base) (i32.const 8)) (global.get $n))
    (i32.store8 (i32.add (local.get $base) (i32.const 40000)) (global.get $n))
    (call $reply_i32 (global.get $n)))
"""
SCRATCH_PAGE = 15  # the argument copy and the reply value (offset 65000)


def scatter(canister: Harness, written: list[int], method: str = "scatter"):  # type: ignore[no-untyped-def]
    arg = b"".join(struct.pack("<I", index) for index in written)
    return canister.update(method, arg=arg, instruction_limit=10**9)


def fresh_twin(canister: Harness, written: list[int]):  # type: ignore[no-untyped-def]
    """The same message on a fresh instance (the warm one stays untouched)."""
    arg = b"".join(struct.pack("<I", index) for index in written)
    call = EntryCall(EntryKind.UPDATE, Context.U, "scatter", arg=arg, instruction_limit=10**9)
    live = canister.module.take_warm(canister.state)
    outcome = execute(canister.module, canister.state, call, canister.env)
    if live is not None:
        canister.module.keep_warm(canister.state, live)
    return outcome


@pytest.fixture
def reported(monkeypatch) -> list[list[int] | None]:  # type: ignore[no-untyped-def]
    """The pages each warm execution's watch reported (None: the fallback was used)."""
    seen: list[list[int] | None] = []
    original = MemoryWatch.written_runs

    def recording(self, address, size):  # type: ignore[no-untyped-def]
        runs = original(self, address, size)
        seen.append(None if runs is None else pages_of(runs))
        return runs

    monkeypatch.setattr(MemoryWatch, "written_runs", recording)
    return seen


def test_a_warm_instance_reads_back_exactly_the_pages_each_execution_wrote(wat_canister, reported):
    if wat_canister(SANDBOX).module.runtime.write_tracker is None:
        pytest.skip("userfaultfd async write protection is not available here")
    canister = wat_canister(SANDBOX, memory_pages=16)  # 256 pages of 4 KiB
    rng = random.Random(11)
    scatter(canister, [1])  # the instance becomes warm
    for _ in range(12):
        written = rng.sample([i for i in range(256) if i != SCRATCH_PAGE], rng.randrange(1, 40))
        twin = fresh_twin(canister, written)
        outcome = scatter(canister, written)
        assert outcome.trap is None and outcome.state == twin.state
        assert reported[-1] == sorted({*written, SCRATCH_PAGE})
        assert all(canister.state.heap[index * PAGE + 100] for index in written)


def test_writes_to_memory_grown_on_a_warm_instance_are_read_back(wat_canister, reported):
    canister = wat_canister(SANDBOX, memory_pages=2)
    scatter(canister, [3])
    for _ in range(4):  # each call grows by 64 KiB and writes two of the new pages
        outcome = canister.update("grow_write", instruction_limit=10**9)
        assert outcome.trap is None
        count = struct.unpack("<i", outcome.response.payload)[0]
        size = len(canister.state.heap)
        assert canister.state.heap[size - 65536 + 8] == count
        assert canister.state.heap[size - 65536 + 40000] == count
        written = scatter(canister, [1, size // PAGE - 1])  # a new page, tracked by now
        assert written.trap is None and canister.state.heap[size - PAGE + 100] == count + 1
        if canister.module.runtime.write_tracker is not None:
            grown = range(size // PAGE - 16, size // PAGE)  # the new Wasm page
            assert {SCRATCH_PAGE, grown[0], grown[40000 // PAGE]} <= set(reported[-2])
            assert set(reported[-2]) <= {SCRATCH_PAGE, *grown}
            assert reported[-1] == [1, SCRATCH_PAGE, size // PAGE - 1]


def test_a_trap_on_a_tracked_warm_instance_leaves_the_committed_state_untouched(
    wat_canister,
):
    canister = wat_canister(SANDBOX, memory_pages=4)
    scatter(canister, [2])
    scatter(canister, [3])  # warm and armed
    committed = canister.state
    trapped = scatter(canister, [2, 3, 40], method="scatter_then_trap")
    assert trapped.trap is not None and trapped.state is None
    assert canister.state is committed and committed.heap[40 * PAGE + 100] == 0
    after = scatter(canister, [40])  # a fresh instance, then warm again
    assert after.trap is None
    assert canister.state.heap[40 * PAGE + 100] == 3 and canister.state.heap[2 * PAGE + 100] == 1
    again = scatter(canister, [41])
    assert again.trap is None and canister.state.heap[41 * PAGE + 100] == 4


def test_a_failed_scan_falls_back_to_the_page_table_and_rearms(wat_canister, monkeypatch):
    canister = wat_canister(SANDBOX, memory_pages=4)
    scatter(canister, [1])
    tracker = canister.module.runtime.write_tracker
    if tracker is None:
        pytest.skip("userfaultfd async write protection is not available here")
    scatter(canister, [2])  # armed, scanned
    failures = iter([True])
    original = WriteTracker.written_runs

    def failing_once(self, address, size):  # type: ignore[no-untyped-def]
        if next(failures, False):
            return None
        return original(self, address, size)

    monkeypatch.setattr(WriteTracker, "written_runs", failing_once)
    assert scatter(canister, [7, 9]).trap is None  # read back through `DirtyPageTracker`
    assert scatter(canister, [8]).trap is None  # protected again, then scanned
    heap = canister.state.heap
    assert [heap[i * PAGE + 100] for i in (1, 2, 7, 8, 9)] == [1, 2, 3, 4, 3]


def test_with_write_tracking_off_warm_instances_use_the_page_table():
    cache = ModuleCache(write_tracking=False)
    assert cache.runtime.write_tracker is None
    module = cache.get(validate_module(wat_module(SANDBOX, memory_pages=4)).wasm)
    canister = Harness(module, make_env())
    for step, index in enumerate([5, 6, 5, 60, 6], start=1):
        twin = fresh_twin(canister, [index])
        outcome = scatter(canister, [index])
        assert outcome.trap is None and outcome.state == twin.state
        assert canister.state.heap[index * PAGE + 100] == step


def test_warm_instances_open_no_descriptor_each(wat_canister):
    def descriptors() -> int:
        return len(os.listdir("/proc/self/fd"))

    canisters = [wat_canister(SANDBOX, memory_pages=2) for _ in range(3)]
    for canister in canisters:
        scatter(canister, [1])
    before = descriptors()
    for round_ in range(20):
        for canister in canisters:
            assert scatter(canister, [round_ % 30]).trap is None
    assert descriptors() == before


def test_a_tracker_failing_the_startup_self_test_is_not_used(monkeypatch):
    monkeypatch.setattr(
        module_cache, "WriteTracker", lambda: WriteTracker(reservation=64 * 1024)
    )  # every probe memory is larger: nothing gets protected
    cache = ModuleCache()
    assert cache.runtime.write_tracker is None
    module = cache.get(validate_module(wat_module(SANDBOX, memory_pages=4)).wasm)
    canister = Harness(module, make_env())
    for index in (5, 6, 5):
        assert scatter(canister, [index]).trap is None
    assert [canister.state.heap[i * PAGE + 100] for i in (5, 6)] == [3, 2]


def test_trackers_inherited_by_a_forked_child_answer_nothing(tracker, monkeypatch):
    raw = Raw()
    watch = MemoryWatch(tracker)
    watch.arm(raw.address, raw.size)
    pages = DirtyPageTracker()
    assert pages.candidates(raw.address, raw.size) is not None
    parent = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: parent + 1)  # as seen in a child
    assert watch.written_runs(raw.address, raw.size) is None
    assert not tracker.protect(raw.address, raw.size)
    assert pages.candidates(raw.address, raw.size) is None  # the sandbox compares all
    pages.close()
