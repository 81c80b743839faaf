"""ic0 stable memory imports, 64-bit and the deprecated 32-bit variants."""

from __future__ import annotations

import pytest

from replica_core.execution.interface import Context, EntryKind, Reply, TrapKind
from replica_core.execution.system_api import MAX_STABLE_MEMORY

STABLE64 = """
    (data ({I}.const 0) "persisted")
    (func (export "canister_update grow")
      (call $reply_i64 (call $ic0.stable64_grow (i64.const 2))))
    (func (export "canister_update size")
      (call $reply_i64 (call $ic0.stable64_size)))
    (func (export "canister_update write")
      (call $ic0.stable64_write (i64.const 65530) (call $to_i64 ({I}.const 0)) (i64.const 9))
      (call $reply_i64 (i64.const 0)))
    (func (export "canister_update read")
      (call $ic0.stable64_read (call $to_i64 ({I}.const 500)) (i64.const 65530) (i64.const 9))
      (call $reply_blob ({I}.const 500) ({I}.const 9)))
    (func (export "canister_update read_oob")
      (call $ic0.stable64_read (call $to_i64 ({I}.const 500)) (i64.const 131070) (i64.const 9)))
    (func (export "canister_update write_oob")
      (call $ic0.stable64_write (i64.const 131070) (call $to_i64 ({I}.const 0)) (i64.const 9)))
    (func (export "canister_update grow_too_much")
      (call $reply_i64 (call $ic0.stable64_grow (i64.const {too_many}))))
"""


def i64(outcome) -> int:  # type: ignore[no-untyped-def]
    assert outcome.trap is None, outcome.trap
    return int.from_bytes(outcome.response.payload, "little", signed=True)


@pytest.fixture(params=[False, True], ids=["wasm32", "wasm64"])
def stable(request, wat_canister):  # type: ignore[no-untyped-def]
    too_many = MAX_STABLE_MEMORY // 65536 - 1
    return wat_canister(STABLE64.replace("{too_many}", str(too_many)), is_64=request.param)


def test_stable_memory_grows_and_keeps_its_contents_across_executions(stable):
    assert i64(stable.update("size")) == 0
    assert i64(stable.update("grow")) == 0
    assert i64(stable.update("size")) == 2
    stable.update("write")
    assert stable.state.stable_memory[65530:65539] == b"persisted"
    assert stable.update("read").response == Reply(b"persisted")


def test_stable_memory_out_of_bounds_traps(stable):
    stable.update("grow")
    for method in ("read_oob", "write_oob"):
        outcome = stable.update(method)
        assert outcome.trap is not None
        assert outcome.trap.kind is TrapKind.CANISTER_TRAP
        assert outcome.trap.message == "Canister trapped: stable memory out of bounds"


def test_stable64_grow_returns_minus_one_past_the_limit(stable):
    stable.update("grow")
    assert i64(stable.update("grow_too_much")) == -1
    assert i64(stable.update("size")) == 2


def test_stable_memory_changes_are_rolled_back_on_trap(wat_canister):
    canister = wat_canister(
        """
        (func (export "canister_update grow_then_trap")
          (drop (call $ic0.stable64_grow (i64.const 1)))
          (unreachable))
        """
    )
    outcome = canister.update("grow_then_trap")
    assert outcome.trap is not None
    assert bytes(canister.state.stable_memory) == b""


def test_stable_memory_is_available_in_the_start_function(wat_canister):
    canister = wat_canister(
        """
        (func $start (drop (call $ic0.stable64_grow (i64.const 1))))
        (start $start)
        """
    )
    assert len(canister.state.stable_memory) == 65536


STABLE32 = """
    (data (i32.const 0) "old api")
    (func (export "canister_update grow")
      (call $reply_i32 (call $ic0.stable_grow (i32.const 1))))
    (func (export "canister_update grow_past_4gib")
      (call $reply_i32 (call $ic0.stable_grow (i32.const 65536))))
    (func (export "canister_update size")
      (call $reply_i32 (call $ic0.stable_size)))
    (func (export "canister_update write")
      (call $ic0.stable_write (i32.const 10) (i32.const 0) (i32.const 7))
      (call $reply_i32 (i32.const 0)))
    (func (export "canister_update read")
      (call $ic0.stable_read (i32.const 500) (i32.const 10) (i32.const 7))
      (call $reply_blob (i32.const 500) (i32.const 7)))
"""


def test_deprecated_32_bit_stable_api(wat_canister):
    canister = wat_canister(STABLE32)
    assert i64(canister.update("grow")) == 0
    assert i64(canister.update("size")) == 1
    canister.update("write")
    assert canister.update("read").response == Reply(b"old api")


def test_deprecated_stable_grow_returns_minus_one_past_4_gib(wat_canister):
    canister = wat_canister(STABLE32)
    canister.update("grow")
    assert i64(canister.update("grow_past_4gib")) == -1
    assert i64(canister.update("size")) == 1


def test_stable_memory_calls_are_allowed_in_queries_but_not_persisted(wat_canister):
    canister = wat_canister(STABLE32)
    outcome = canister.run(EntryKind.UPDATE, Context.NRQ, "grow")
    assert i64(outcome) == 0 and outcome.state is None
    assert bytes(canister.state.stable_memory) == b""
