"""The sandbox's heap as a page map: what is copied in and read back, and what is shared.

Spec: IC interface spec 0.66.0, Abstract behavior › Abstract canisters (a successful
execution yields the new state, a trap leaves the old one) and The System API › Memory.
"""

from __future__ import annotations

import pytest

from replica_core.execution.interface import ExecutionState
from replica_core.execution.page_map import PAGE_SIZE
from replica_core.execution.sandbox import ModuleCache
from replica_core.execution.validation import validate_module
from tests.replica_core.execution.conftest import Harness, make_env, wat_module

IMAGE_OFFSET = PAGE_SIZE + 16
BODY = f"""
  (data (i32.const {IMAGE_OFFSET}) "initial image")
  (data $copy "initial image")
  (func (export "canister_update write")
    (i32.store8 (i32.const 3) (i32.const 1))
    (i32.store (i32.const {5 * PAGE_SIZE + 100}) (i32.const 0x01020304))
    (i32.store8 (i32.const {31 * PAGE_SIZE + 4095}) (i32.const 9))
    (call $reply_i32 (i32.const 0)))
  (func (export "canister_update clear")
    (memory.fill (i32.const 0) (i32.const 0) (i32.const {32 * PAGE_SIZE}))
    (call $reply_i32 (i32.const 0)))
  (func (export "canister_update grow")
    (drop (memory.grow (i32.const 1)))
    (i32.store8 (i32.const {32 * PAGE_SIZE + 7}) (i32.const 7))
    (call $reply_i32 (i32.const 0)))
  (func (export "canister_update restore")
    (memory.init $copy (i32.const {IMAGE_OFFSET}) (i32.const 0) (i32.const 13))
    (call $reply_i32 (i32.const 0)))
  (func (export "canister_update write_then_trap")
    (i32.store8 (i32.const {9 * PAGE_SIZE}) (i32.const 1))
    (unreachable))
"""


def _expected(steps: list[str]) -> bytes:
    """The heap after `steps`, computed on plain bytes."""
    heap = bytearray(2 * 65536)
    heap[IMAGE_OFFSET : IMAGE_OFFSET + 13] = b"initial image"
    for step in steps:
        if step == "write":
            heap[3] = 1
            heap[5 * PAGE_SIZE + 100 : 5 * PAGE_SIZE + 104] = (0x01020304).to_bytes(4, "little")
            heap[31 * PAGE_SIZE + 4095] = 9
        elif step == "clear":
            heap[: 32 * PAGE_SIZE] = bytes(32 * PAGE_SIZE)
        elif step == "grow":
            heap.extend(bytes(65536))
            heap[32 * PAGE_SIZE + 7] = 7
        elif step == "restore":
            heap[IMAGE_OFFSET : IMAGE_OFFSET + 13] = b"initial image"
        # the reply helper writes the reply at 65000
        heap[65000:65004] = bytes(4)
    return bytes(heap)


def _harness(cache: ModuleCache) -> Harness:
    wasm = validate_module(wat_module(BODY, memory_pages=2)).wasm
    return Harness(cache.get(wasm), make_env())


@pytest.fixture(scope="module", params=["tracked", "compare-all"])
def cache(request: pytest.FixtureRequest) -> ModuleCache:
    cache = ModuleCache()
    if request.param == "compare-all":
        cache.runtime.dirty_pages.close()  # every page is read back and compared
    return cache


STEPS = [["write"], ["write", "clear"], ["write", "grow", "clear", "restore"], ["grow", "write"]]


@pytest.mark.parametrize("steps", STEPS)
def test_heap_after_updates_equals_the_same_writes_on_bytes(cache, steps):
    canister = _harness(cache)
    for step in steps:
        outcome = canister.update(step)
        assert outcome.trap is None, outcome.trap
    assert bytes(canister.state.heap) == _expected(steps)
    # Reloading the heap into a fresh instance gives the same memory back.
    again = canister.update("restore")
    assert again.trap is None
    assert bytes(canister.state.heap) == _expected([*steps, "restore"])


def test_unchanged_pages_are_shared_with_the_image_and_the_previous_version(cache):
    canister = _harness(cache)
    image = canister.module.blank_state().heap
    assert image.page(1) is not None
    canister.update("write")
    first = canister.state.heap
    assert first.page(1) is image.page(1)  # the data segment page is shared
    canister.update("grow")
    second = canister.state.heap
    assert second.page(5) is first.page(5) and second.page(31) is first.page(31)
    assert second.stored_pages == first.stored_pages + 1
    canister.update("clear")
    canister.update("restore")
    assert canister.state.heap.page(1) is image.page(1)  # equal to the image again: shared


def test_trap_keeps_the_previous_heap_object(cache):
    canister = _harness(cache)
    canister.update("write")
    before = canister.state
    outcome = canister.update("write_then_trap")
    assert outcome.trap is not None and outcome.state is None
    assert canister.state is before and canister.state.heap.page(9) is None


def test_heap_given_as_bytes_is_loaded_like_a_page_map(cache):
    canister = _harness(cache)
    heap = bytearray(_expected([]))
    heap[20 * PAGE_SIZE] = 0x55
    heap[IMAGE_OFFSET] = 0  # differs from the image
    canister.state = ExecutionState(bytes(heap), canister.state.globals, b"")
    canister.update("write")
    expected = bytearray(_expected(["write"]))
    expected[20 * PAGE_SIZE] = 0x55
    expected[IMAGE_OFFSET] = 0
    assert bytes(canister.state.heap) == bytes(expected)
