"""ic0 identity, status, time, timer, certification, controllers, counters, environment
variables, debug_print and trap."""

from __future__ import annotations

import pytest

from replica_core.execution.interface import Context, EntryKind, Reply, TrapKind
from replica_core.principal import Principal


def blob_echo(method: str, name: str) -> str:
    return f"""
    (func (export "canister_update {method}")
      (call $ic0.{name}_copy ({{I}}.const 1024) ({{I}}.const 0) (call $ic0.{name}_size))
      (call $reply_blob ({{I}}.const 1024) (call $ic0.{name}_size)))"""


def number(method: str, expression: str, reply: str = "$reply_i64") -> str:
    return f"""
    (func (export "canister_update {method}") (call {reply} {expression}))"""


MISC = (
    blob_echo("self", "canister_self")
    + blob_echo("subnet", "subnet_self")
    + blob_echo("root_key", "root_key")
    + blob_echo("certificate", "data_certificate")
    + number("status", "(call $ic0.canister_status)", "$reply_i32")
    + number("version", "(call $ic0.canister_version)")
    + number("time", "(call $ic0.time)")
    + number("timer", "(call $ic0.global_timer_set (i64.const 777))")
    + number("counter0", "(call $ic0.performance_counter (i32.const 0))")
    + number("counter1", "(call $ic0.performance_counter (i32.const 1))")
    + number("counter9", "(call $ic0.performance_counter (i32.const 9))")
    + number("replicated", "(call $ic0.in_replicated_execution)", "$reply_i32")
    + number("certificate_present", "(call $ic0.data_certificate_present)", "$reply_i32")
    + """
    (data ({I}.const 0) "{controller}")
    (data ({I}.const 100) "0123456789abcdef0123456789abcdef!")
    (func (export "canister_update is_controller")
      (call $reply_i32 (call $ic0.is_controller ({I}.const 0) ({I}.const {controller_len}))))
    (func (export "canister_update is_not_controller")
      (call $reply_i32 (call $ic0.is_controller ({I}.const 1) ({I}.const 2))))
    (func (export "canister_update is_controller_invalid")
      (call $reply_i32 (call $ic0.is_controller ({I}.const 0) ({I}.const 30))))
    (func (export "canister_update certify")
      (call $ic0.certified_data_set ({I}.const 100) ({I}.const 32)))
    (func (export "canister_update certify_too_much")
      (call $ic0.certified_data_set ({I}.const 100) ({I}.const 33)))
    """
)

CONTROLLER = Principal(b"\x0a\x0b\x0c\x01")


@pytest.fixture(params=[False, True], ids=["wasm32", "wasm64"])
def misc(request, wat_canister):  # type: ignore[no-untyped-def]
    escaped = "".join(f"\\{b:02x}" for b in CONTROLLER.raw)
    body = MISC.replace("{controller}", escaped).replace(
        "{controller_len}", str(len(CONTROLLER.raw))
    )
    return wat_canister(body, is_64=request.param)


def n(outcome) -> int:  # type: ignore[no-untyped-def]
    assert outcome.trap is None, outcome.trap
    return int.from_bytes(outcome.response.payload, "little", signed=True)


def test_identity_status_version_and_time_come_from_the_environment(misc):
    env = misc.env
    assert misc.update("self").response == Reply(env.canister_id.raw)
    assert misc.update("subnet").response == Reply(env.subnet_id.raw)
    assert n(misc.update("status")) == 1
    assert n(misc.update("version")) == 3
    assert n(misc.update("time")) == env.time


def test_global_timer_set_returns_the_previous_value_and_is_an_effect(misc, env_factory):
    outcome = misc.update("timer", env=env_factory(global_timer=555))
    assert n(outcome) == 555 and outcome.global_timer == 777


def test_performance_counters(misc):
    in_message = n(misc.update("counter0"))
    assert in_message > 0
    in_context = n(misc.update("counter1", call_context_instructions=1_000_000))
    assert 1_000_000 < in_context < 1_000_000 + 10 * in_message
    bad = misc.update("counter9")
    assert bad.trap is not None and bad.trap.kind is TrapKind.CONTRACT_VIOLATION


def test_in_replicated_execution_depends_on_the_context(misc):
    assert n(misc.update("replicated")) == 1
    assert n(misc.run(EntryKind.UPDATE, Context.NRQ, "replicated")) == 0
    assert n(misc.run(EntryKind.UPDATE, Context.RQ, "replicated")) == 1


def test_is_controller(misc):
    assert n(misc.update("is_controller")) == 1
    assert n(misc.update("is_not_controller")) == 0
    invalid = misc.update("is_controller_invalid")
    assert invalid.trap is not None
    assert invalid.trap.kind is TrapKind.CONTRACT_VIOLATION
    assert "invalid principal" in invalid.trap.message


def test_root_key_in_replicated_contexts_only(misc):
    assert misc.update("root_key").response == Reply(misc.env.root_key)
    outcome = misc.run(EntryKind.UPDATE, Context.NRQ, "root_key")
    assert outcome.trap is not None
    assert "cannot be executed in non replicated query mode" in outcome.trap.message


def test_certified_data_set_is_an_effect_of_at_most_32_bytes(misc):
    outcome = misc.update("certify")
    assert outcome.certified_data == b"0123456789abcdef0123456789abcdef"
    too_much = misc.update("certify_too_much")
    assert too_much.trap is not None
    assert too_much.trap.message == (
        "Canister violated contract: ic0_certified_data_set failed because the passed data "
        "must be no larger than 32 bytes. Found 33 bytes."
    )


def test_data_certificate_only_in_non_replicated_queries(misc, env_factory):
    env = env_factory(data_certificate=b"\xd9\xd9\xf7certificate")
    query = misc.run(EntryKind.UPDATE, Context.NRQ, "certificate", env=env)
    assert query.response == Reply(b"\xd9\xd9\xf7certificate")
    assert n(misc.run(EntryKind.UPDATE, Context.NRQ, "certificate_present", env=env)) == 1
    assert n(misc.run(EntryKind.UPDATE, Context.U, "certificate_present", env=env)) == 0
    assert n(misc.run(EntryKind.UPDATE, Context.NRQ, "certificate_present")) == 0
    missing = misc.run(EntryKind.UPDATE, Context.NRQ, "certificate")
    assert missing.trap is not None and "no data certificate" in missing.trap.message


ENV_VARS = """
    (data (i32.const 0) "NAME")
    (data (i32.const 10) "\\ff")
    (func (export "canister_update count")
      (call $reply_i32 (call $ic0.env_var_count)))
    (func (export "canister_update name1")
      (call $ic0.env_var_name_copy (i32.const 1) (i32.const 100) (i32.const 0)
        (call $ic0.env_var_name_size (i32.const 1)))
      (call $reply_blob (i32.const 100) (call $ic0.env_var_name_size (i32.const 1))))
    (func (export "canister_update name5")
      (drop (call $ic0.env_var_name_size (i32.const 5))))
    (func (export "canister_update exists")
      (call $reply_i32 (call $ic0.env_var_name_exists (i32.const 0) (i32.const 4))))
    (func (export "canister_update exists_bad_utf8")
      (call $reply_i32 (call $ic0.env_var_name_exists (i32.const 10) (i32.const 1))))
    (func (export "canister_update value")
      (call $ic0.env_var_value_copy (i32.const 0) (i32.const 4) (i32.const 100) (i32.const 0)
        (call $ic0.env_var_value_size (i32.const 0) (i32.const 4)))
      (call $reply_blob (i32.const 100) (call $ic0.env_var_value_size (i32.const 0) (i32.const 4))))
"""


def test_environment_variables_in_name_order(wat_canister, env_factory):
    env = env_factory(environment_variables=(("NAME", "icbox"), ("A", "1")))
    canister = wat_canister(ENV_VARS, env=env)
    assert n(canister.update("count")) == 2
    assert canister.update("name1").response == Reply(b"NAME")
    assert n(canister.update("exists")) == 1
    assert canister.update("value").response == Reply(b"icbox")
    out_of_range = canister.update("name5")
    assert out_of_range.trap is not None and "out of bounds" in out_of_range.trap.message
    bad_utf8 = canister.update("exists_bad_utf8")
    assert bad_utf8.trap is not None and "UTF-8" in bad_utf8.trap.message
    unknown = wat_canister(ENV_VARS).update("value")
    assert unknown.trap is not None and "not found" in unknown.trap.message


DEBUG = """
    (data (i32.const 0) "message\\ffbytes")
    (func (export "canister_update print")
      (call $ic0.debug_print (i32.const 0) (i32.const 13))
      (call $ic0.debug_print (i32.const 65530) (i32.const 100))
      (call $ic0.debug_print (i32.const 0) (i32.const 5000))
      (call $reply_i32 (i32.const 0)))
    (func (export "canister_update trap")
      (call $ic0.trap (i32.const 0) (i32.const 7)))
    (func (export "canister_update trap_oob")
      (call $ic0.trap (i32.const 65530) (i32.const 100)))
    (func $start (call $ic0.debug_print (i32.const 0) (i32.const 3)))
    (start $start)
"""


def test_debug_print_logs_and_never_traps(wat_canister):
    canister = wat_canister(DEBUG)
    outcome = canister.update("print")
    assert outcome.trap is None
    contents = [record.content for record in outcome.logs]
    assert contents[0] == b"message\xffbytes"
    assert contents[1] == b"(debug_print message out of memory bounds)"
    assert len(contents[2]) == 4096  # cut to the log record limit
    assert {record.timestamp for record in outcome.logs} == {canister.env.time}


def test_trap_logs_the_message_and_traps_with_it(wat_canister):
    outcome = wat_canister(DEBUG).update("trap")
    assert outcome.trap is not None
    assert outcome.trap.kind is TrapKind.CANISTER_TRAP
    assert outcome.trap.message == "Canister called `ic0.trap` with message: 'message'"
    assert [r.content for r in outcome.logs] == [b"[TRAP]: message"]
    out_of_bounds = wat_canister(DEBUG).update("trap_oob")
    assert out_of_bounds.trap is not None
    assert "(trap message out of memory bounds)" in out_of_bounds.trap.message


def test_no_data_certificate_in_transforms_or_composite_callbacks(misc, env_factory):
    env = env_factory(data_certificate=b"\xd9\xd9\xf7certificate")
    for context in (Context.TQ, Context.CRy):
        outcome = misc.run(EntryKind.UPDATE, context, "certificate_present", env=env)
        assert n(outcome) == 0
