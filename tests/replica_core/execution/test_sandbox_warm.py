"""Warm instances: an execution on exactly the state a successful execution left behind
reuses that instance, and is indistinguishable from one on a fresh instance (impl)."""

from __future__ import annotations

import struct

from replica_core.execution.interface import Context, EntryCall, EntryKind
from replica_core.execution.sandbox import execute

# A heap cell at 100 and a global; `bump` adds one to both, `bump_then_trap` does the same
# and then traps, `peek` replies with cell + 1000 * global.
STATEFUL = """
  (global $g (mut i64) (i64.const 0))
  (func $bump
    (i64.store (i32.const 100) (i64.add (i64.load (i32.const 100)) (i64.const 1)))
    (global.set $g (i64.add (global.get $g) (i64.const 1))))
  (func $value (result i64)
    (i64.add (i64.load (i32.const 100)) (i64.mul (global.get $g) (i64.const 1000))))
  (func (export "canister_update bump") (call $bump) (call $reply_i64 (call $value)))
  (func (export "canister_update bump_then_trap") (call $bump) (unreachable))
  (func (export "canister_update peek") (call $reply_i64 (call $value)))
  (func (export "canister_query qbump") (call $bump) (call $reply_i64 (call $value)))
"""
TABLE_SET = """
  (table 1 funcref)
  (func $f)
  (elem declare func $f)
  (func (export "canister_update set") (table.set (i32.const 0) (ref.func $f)))
"""
DATA_DROP = """
  (data $d "x")
  (func (export "canister_update drop") (data.drop $d))
"""


def value(outcome) -> int:  # type: ignore[no-untyped-def]
    assert outcome.trap is None, outcome.trap
    return struct.unpack("<q", outcome.response.payload)[0]


def test_only_modules_whose_instance_state_is_heap_and_globals_are_reused(wat_canister):
    assert wat_canister(STATEFUL).module.reusable
    assert not wat_canister(TABLE_SET).module.reusable
    assert not wat_canister(DATA_DROP).module.reusable


def test_a_successful_update_leaves_a_warm_instance_taken_once_for_exactly_its_state(
    wat_canister,
):
    canister = wat_canister(STATEFUL)
    before = canister.state
    assert value(canister.update("bump")) == 1001
    assert canister.module.take_warm(before) is None
    assert canister.module.take_warm(canister.state) is not None
    assert canister.module.take_warm(canister.state) is None


def test_warm_and_fresh_executions_on_one_state_give_equal_outcomes(wat_canister):
    canister = wat_canister(STATEFUL)
    value(canister.update("bump"))
    state = canister.state
    call = EntryCall(EntryKind.UPDATE, Context.U, "bump", instruction_limit=10**9)
    warm = execute(canister.module, state, call, canister.env)  # takes the warm instance
    fresh = execute(canister.module, state, call, canister.env)
    assert value(warm) == value(fresh) == 2002
    assert warm.state == fresh.state
    assert warm.instructions == fresh.instructions


def test_a_trapping_update_rolls_back_even_on_a_warm_instance(wat_canister):
    canister = wat_canister(STATEFUL)
    value(canister.update("bump"))
    outcome = canister.update("bump_then_trap", instruction_limit=10**9)
    assert outcome.trap is not None and outcome.state is None
    assert value(canister.update("peek", instruction_limit=10**9)) == 1001


def test_a_query_neither_uses_nor_changes_the_warm_instance(wat_canister):
    canister = wat_canister(STATEFUL)
    value(canister.update("bump"))
    assert value(canister.query("qbump", instruction_limit=10**9)) == 2002
    live = canister.module.take_warm(canister.state)
    assert live is not None
    canister.module.keep_warm(canister.state, live)
    assert value(canister.update("peek", instruction_limit=10**9)) == 1001


# `write` stores its one-byte argument at a page chosen by the global `$next` and moves on,
# so a warm instance has written many pages before each execution; `rewrite` stores the
# same bytes again at the pages already written.
SPREAD = """
  (global $next (mut i32) (i32.const 0))
  (func (export "canister_update write")
    (i32.store8 (i32.mul (global.get $next) (i32.const 4096)) (i32.const 7))
    (global.set $next (i32.add (global.get $next) (i32.const 1)))
    (call $reply_i64 (i64.extend_i32_u (global.get $next))))
  (func (export "canister_update rewrite")
    (local $i i32)
    (block $done (loop $again
      (br_if $done (i32.ge_u (local.get $i) (global.get $next)))
      (i32.store8 (i32.mul (local.get $i) (i32.const 4096)) (i32.const 7))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $again)))
    (call $reply_i64 (i64.extend_i32_u (global.get $next))))
"""


def test_a_warm_instance_reads_back_exactly_the_pages_this_execution_changed(wat_canister):
    canister = wat_canister(SPREAD, memory_pages=2)
    for expected in range(1, 21):  # 20 pages written, across chunk boundaries
        assert value(canister.update("write")) == expected
    before = canister.state
    rewritten = canister.update("rewrite")  # every written page is a candidate, none changes
    assert value(rewritten) == 20 and canister.state.heap is before.heap
    state = canister.state
    call = EntryCall(EntryKind.UPDATE, Context.U, "write")
    warm = execute(canister.module, state, call, canister.env)  # takes the warm instance
    fresh = execute(canister.module, state, call, canister.env)
    assert value(warm) == value(fresh) == 21
    assert warm.state == fresh.state and warm.state.heap[20 * 4096] == 7
    # Only pages whose contents differ are new objects: the written one and the page the
    # reply helper writes its value to; the 20 pages written by earlier executions are not.
    new_objects = sorted(i for i, page in warm.state.heap.items() if page is not state.heap.page(i))
    different = sorted(i for i, page in warm.state.heap.items() if page != state.heap.page(i))
    assert new_objects == different and 20 in different and len(different) <= 2
