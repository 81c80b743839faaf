"""ic0 cycles and call imports: accepting, burning, balances, fees, building calls."""

from __future__ import annotations

import pytest

from replica_core.execution.interface import Callback, Context, EntryKind, Reply, TrapKind
from replica_core.principal import Principal

U128 = 1 << 64


def u128_reply(outcome) -> int:  # type: ignore[no-untyped-def]
    assert outcome.trap is None, outcome.trap
    return int.from_bytes(outcome.response.payload, "little")


def u128_export(method: str, expression: str) -> str:
    """An export writing a 128-bit value to 0 with `expression` and replying with it."""
    return f"""
    (func (export "canister_update {method}")
      {expression}
      (call $reply_blob ({{I}}.const 0) ({{I}}.const 16)))"""


CYCLES = (
    u128_export("available", "(call $ic0.msg_cycles_available128 ({I}.const 0))")
    + u128_export("refunded", "(call $ic0.msg_cycles_refunded128 ({I}.const 0))")
    + u128_export(
        "accept_then_available",
        "(call $ic0.msg_cycles_accept128 (i64.const 0) (i64.const 300) ({I}.const 100))"
        "(call $ic0.msg_cycles_available128 ({I}.const 0))",
    )
    + u128_export(
        "accept_huge",
        "(call $ic0.msg_cycles_accept128 (i64.const 1) (i64.const 0) ({I}.const 0))",
    )
    + u128_export("balance", "(call $ic0.canister_cycle_balance128 ({I}.const 0))")
    + u128_export("liquid", "(call $ic0.canister_liquid_cycle_balance128 ({I}.const 0))")
    + u128_export("burn", "(call $ic0.cycles_burn128 (i64.const 0) (i64.const 5000) ({I}.const 0))")
    + u128_export(
        "burn_all", "(call $ic0.cycles_burn128 (i64.const 1) (i64.const 0) ({I}.const 0))"
    )
    + u128_export("cost_call", "(call $ic0.cost_call (i64.const 3) (i64.const 10) ({I}.const 0))")
    + u128_export("cost_create", "(call $ic0.cost_create_canister ({I}.const 0))")
    + u128_export(
        "cost_http", "(call $ic0.cost_http_request (i64.const 100) (i64.const 1000) ({I}.const 0))"
    )
)

CYCLES_64BIT = """
    (func (export "canister_update available64")
      (call $reply_i64 (call $ic0.msg_cycles_available)))
    (func (export "canister_update accept64")
      (call $reply_i64 (call $ic0.msg_cycles_accept (i64.const 70))))
    (func (export "canister_update refunded64")
      (call $reply_i64 (call $ic0.msg_cycles_refunded)))
    (func (export "canister_update balance64")
      (call $reply_i64 (call $ic0.canister_cycle_balance)))
"""


@pytest.mark.parametrize("is_64", [False, True], ids=["wasm32", "wasm64"])
def test_available_cycles_are_accepted_up_to_the_maximum(wat_canister, is_64):
    canister = wat_canister(CYCLES, is_64=is_64)
    assert u128_reply(canister.update("available", cycles_available=1000)) == 1000
    outcome = canister.update("accept_then_available", cycles_available=1000)
    assert u128_reply(outcome) == 700
    assert outcome.cycles_accepted == 300


def test_accepting_more_than_available_never_traps(wat_canister):
    outcome = wat_canister(CYCLES).update("accept_huge", cycles_available=42)
    assert u128_reply(outcome) == 42 and outcome.cycles_accepted == 42


def test_refunded_cycles_are_visible_in_callbacks(wat_canister):
    canister = wat_canister(CYCLES)
    outcome = canister.run(EntryKind.UPDATE, Context.Ry, "refunded", cycles_refunded=U128 + 5)
    assert u128_reply(outcome) == U128 + 5


def test_balances_are_written_as_16_byte_little_endian(wat_canister, env_factory):
    env = env_factory(balance=3 * U128 + 7, liquid_balance=U128)
    canister = wat_canister(CYCLES, env=env)
    assert u128_reply(canister.update("balance")) == 3 * U128 + 7
    assert u128_reply(canister.update("liquid")) == U128


def test_cycles_burn_is_bounded_by_the_liquid_balance(wat_canister, env_factory):
    canister = wat_canister(CYCLES, env=env_factory(balance=10_000, liquid_balance=6_000))
    burned = canister.update("burn")
    assert u128_reply(burned) == 5000 and burned.cycles_burned == 5000
    all_of_it = canister.update("burn_all")
    assert u128_reply(all_of_it) == 6000 and all_of_it.cycles_burned == 6000


def test_64_bit_cycle_variants(wat_canister, env_factory):
    canister = wat_canister(CYCLES_64BIT, env=env_factory(balance=900))
    assert canister.update("available64", cycles_available=50).response == Reply(
        (50).to_bytes(8, "little")
    )
    accepted = canister.update("accept64", cycles_available=50)
    assert accepted.response == Reply((50).to_bytes(8, "little"))
    assert accepted.cycles_accepted == 50
    assert canister.update("balance64").response == Reply((900).to_bytes(8, "little"))
    too_large = canister.run(EntryKind.UPDATE, Context.Rt, "refunded64", cycles_refunded=U128)
    assert too_large.trap is not None
    assert too_large.trap.message == (
        "Canister trapped: cycles amount exceeds 64-bit representation"
    )


def test_cost_imports_answer_from_the_environment(wat_canister, env_factory):
    env = env_factory(
        call_cost_base=260_000,
        call_cost_per_byte=1_000,
        create_canister_fee=500_000_000_000,
        http_request_base_fee=49_140_000,
        http_request_per_request_byte_fee=5_200,
        http_request_per_response_byte_fee=10_400,
    )
    canister = wat_canister(CYCLES, env=env)
    assert u128_reply(canister.update("cost_call")) == 260_000 + 13 * 1_000
    assert u128_reply(canister.update("cost_create")) == 500_000_000_000
    assert u128_reply(canister.update("cost_http")) == 49_140_000 + 520_000 + 10_400_000


THRESHOLD = """
    (data (i32.const 200) "key_1")
    (func (export "canister_update ecdsa")
      (i32.store (i32.const 300)
        (call $ic0.cost_sign_with_ecdsa (i32.const 200) (i32.const 5) (i32.const 0) (i32.const 0)))
      (call $reply_blob (i32.const 0) (i32.const 16)))
    (func (export "canister_update ecdsa_bad_curve")
      (call $reply_i32
        (call $ic0.cost_sign_with_ecdsa (i32.const 200) (i32.const 5) (i32.const 9) (i32.const 0))))
    (func (export "canister_update ecdsa_bad_key")
      (call $reply_i32
        (call $ic0.cost_sign_with_ecdsa (i32.const 200) (i32.const 4) (i32.const 0) (i32.const 0))))
    (func (export "canister_update schnorr")
      (call $reply_i32
        (call $ic0.cost_sign_with_schnorr (i32.const 200) (i32.const 5) (i32.const 1) (i32.const 0))))
    (func (export "canister_update vetkd")
      (call $reply_i32
        (call $ic0.cost_vetkd_derive_key (i32.const 200) (i32.const 5) (i32.const 0) (i32.const 0))))
"""


def test_threshold_signature_fees_and_return_codes(wat_canister, env_factory):
    env = env_factory(
        threshold_key_fees=(("ecdsa", 0, "key_1", 26_153_846_153), ("schnorr", 1, "key_1", 7))
    )
    canister = wat_canister(THRESHOLD, env=env)
    assert u128_reply(canister.update("ecdsa")) == 26_153_846_153
    assert canister.update("ecdsa_bad_curve").response == Reply((1).to_bytes(4, "little"))
    assert canister.update("ecdsa_bad_key").response == Reply((2).to_bytes(4, "little"))
    assert canister.update("schnorr").response == Reply(bytes(4))
    assert canister.update("vetkd").response == Reply((2).to_bytes(4, "little"))


# --- calls ---------------------------------------------------------------------------------

CALLEE = Principal.from_canister_index(42)

CALLS = """
    (data (i32.const 0) "{callee}")
    (data (i32.const 100) "greet")
    (data (i32.const 200) "payload")
    (func $new
      (call $ic0.call_new (i32.const 0) (i32.const {callee_len}) (i32.const 100) (i32.const 5)
        (i32.const 1) (i32.const 11) (i32.const 2) (i32.const 22)))
    (func (export "canister_update full")
      (call $new)
      (call $ic0.call_data_append (i32.const 200) (i32.const 3))
      (call $ic0.call_data_append (i32.const 203) (i32.const 4))
      (call $ic0.call_cycles_add128 (i64.const 0) (i64.const 1000))
      (call $ic0.call_cycles_add (i64.const 1))
      (call $ic0.call_on_cleanup (i32.const 3) (i32.const 33))
      (call $ic0.call_with_best_effort_response (i32.const 1000))
      (call $reply_i32 (call $ic0.call_perform)))
    (func (export "canister_update abandon")
      (call $new)
      (call $ic0.call_cycles_add128 (i64.const 0) (i64.const 900))
      (call $new)
      (call $ic0.call_cycles_add128 (i64.const 0) (i64.const 900))
      (call $reply_i32 (call $ic0.call_perform)))
    (func (export "canister_update too_many_cycles")
      (call $new)
      (call $ic0.call_cycles_add128 (i64.const 0) (i64.const 1002)))
    (func (export "canister_update without_new")
      (call $ic0.call_data_append (i32.const 200) (i32.const 3)))
    (func (export "canister_update perform_twice")
      (call $new)
      (drop (call $ic0.call_perform))
      (drop (call $ic0.call_perform)))
    (func (export "canister_update cleanup_twice")
      (call $new)
      (call $ic0.call_on_cleanup (i32.const 3) (i32.const 33))
      (call $ic0.call_on_cleanup (i32.const 3) (i32.const 33)))
    (func (export "canister_update timeout_twice")
      (call $new)
      (call $ic0.call_with_best_effort_response (i32.const 1))
      (call $ic0.call_with_best_effort_response (i32.const 1)))
    (func (export "canister_update bad_callee")
      (call $ic0.call_new (i32.const 0) (i32.const 30) (i32.const 100) (i32.const 5)
        (i32.const 1) (i32.const 11) (i32.const 2) (i32.const 22)))
    (func (export "canister_update perform_then_trap")
      (call $new)
      (drop (call $ic0.call_perform))
      (unreachable))
"""


@pytest.fixture
def caller(wat_canister, env_factory):  # type: ignore[no-untyped-def]
    escaped = "".join(f"\\{b:02x}" for b in CALLEE.raw)
    body = CALLS.replace("{callee}", escaped).replace("{callee_len}", str(len(CALLEE.raw)))
    env = env_factory(balance=5_000, liquid_balance=1_001, call_cost_base=0)
    return wat_canister(body, env=env)


def test_call_perform_queues_the_call_with_everything_added(caller):
    outcome = caller.update("full")
    assert outcome.response == Reply(bytes(4))  # call_perform returned 0
    (call,) = outcome.calls
    assert call.callee == CALLEE
    assert call.method_name == "greet"
    assert call.arg == b"payload"
    assert call.cycles == 1001
    assert call.on_reply == Callback(1, 11)
    assert call.on_reject == Callback(2, 22)
    assert call.on_cleanup == Callback(3, 33)
    assert call.timeout_seconds == 300  # capped at MAX_CALL_TIMEOUT


def test_call_new_abandons_the_unperformed_call_and_returns_its_cycles(caller):
    outcome = caller.update("abandon")
    assert outcome.trap is None, outcome.trap
    assert [c.cycles for c in outcome.calls] == [900]


def test_adding_more_cycles_than_the_liquid_balance_traps(caller):
    outcome = caller.update("too_many_cycles")
    assert outcome.trap is not None
    assert outcome.trap.kind is TrapKind.CONTRACT_VIOLATION
    assert "is out of cycles" in outcome.trap.message


@pytest.mark.parametrize(
    ("method", "fragment"),
    [
        ("without_new", "ic0.call_data_append"),
        ("perform_twice", "ic0.call_perform"),
        ("cleanup_twice", "cleanup closure has been already set"),
        ("timeout_twice", "timeout has already been set"),
        ("bad_callee", "invalid callee"),
    ],
)
def test_call_preconditions_trap(caller, method, fragment):
    outcome = caller.update(method)
    assert outcome.trap is not None
    assert outcome.trap.kind is TrapKind.CONTRACT_VIOLATION
    assert fragment in outcome.trap.message


def test_calls_of_a_trapping_execution_are_discarded(caller):
    outcome = caller.update("perform_then_trap")
    assert outcome.trap is not None and outcome.calls == ()


def test_call_perform_returns_2_when_the_fee_would_freeze_the_canister(wat_canister, env_factory):
    escaped = "".join(f"\\{b:02x}" for b in CALLEE.raw)
    body = CALLS.replace("{callee}", escaped).replace("{callee_len}", str(len(CALLEE.raw)))
    canister = wat_canister(body, env=env_factory(liquid_balance=2_000, call_cost_base=1_500))
    outcome = canister.update("full")
    assert outcome.response == Reply((2).to_bytes(4, "little"))
    assert outcome.calls == ()
