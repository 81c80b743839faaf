"""ic0 message imports: arguments, caller, reply/reject, reject details, inspection."""

from __future__ import annotations

import pytest

from replica_core.errors import Reject, RejectCode
from replica_core.execution.interface import Context, EntryKind, Reply, TrapKind
from replica_core.principal import Principal


def blob_echo(method: str, name: str, kind: str = "canister_update") -> str:
    """An export replying with the blob that `ic0.<name>_size/_copy` expose."""
    return f"""
    (func (export "{kind} {method}")
      (call $ic0.{name}_copy ({{I}}.const 1024) ({{I}}.const 0) (call $ic0.{name}_size))
      (call $reply_blob ({{I}}.const 1024) (call $ic0.{name}_size)))"""


ECHO = (
    blob_echo("arg", "msg_arg_data")
    + blob_echo("caller", "msg_caller")
    + blob_echo("info", "msg_caller_info_data")
    + blob_echo("signer", "msg_caller_info_signer")
    + """
    (func (export "canister_update arg_tail")
      (call $ic0.msg_arg_data_copy ({I}.const 1024) ({I}.const 2) ({I}.const 3))
      (call $reply_blob ({I}.const 1024) ({I}.const 3)))
    (func (export "canister_update arg_oob")
      (call $ic0.msg_arg_data_copy ({I}.const 1024) ({I}.const 2) ({I}.const 30)))
    (func (export "canister_update arg_heap_oob")
      (call $ic0.msg_arg_data_copy ({I}.const 65535) ({I}.const 0) ({I}.const 2)))
    (func (export "canister_update deadline")
      (call $reply_i64 (call $ic0.msg_deadline)))
    """
)


@pytest.mark.parametrize("is_64", [False, True], ids=["wasm32", "wasm64"])
def test_msg_arg_data_and_caller_are_copied_into_the_heap(wat_canister, is_64):
    canister = wat_canister(ECHO, is_64=is_64)
    caller = Principal.from_canister_index(99)
    assert canister.update("arg", arg=b"hello world").response == Reply(b"hello world")
    assert canister.update("arg_tail", arg=b"hello").response == Reply(b"llo")
    assert canister.update("caller", caller=caller).response == Reply(caller.raw)


def test_msg_caller_info_is_copied_into_the_heap(wat_canister):
    canister = wat_canister(ECHO)
    outcome = canister.update("info", caller_info_data=b"\x01\x02")
    assert outcome.response == Reply(b"\x01\x02")
    assert canister.update("signer", caller_info_signer=b"\x09").response == Reply(b"\x09")
    assert canister.update("info").response == Reply(b"")


def test_copy_beyond_the_blob_or_the_heap_is_a_contract_violation(wat_canister):
    canister = wat_canister(ECHO)
    outcome = canister.update("arg_oob", arg=b"hello")
    assert outcome.trap is not None
    assert outcome.trap.kind is TrapKind.CONTRACT_VIOLATION
    assert "ic0.msg_arg_data_copy" in outcome.trap.message
    outcome = canister.update("arg_heap_oob", arg=b"hello")
    assert outcome.trap is not None
    assert outcome.trap.message == (
        "Canister violated contract: ic0.msg_arg_data_copy heap: "
        "src=65535 + length=2 exceeds the slice size=65536"
    )


def test_msg_deadline_reports_the_bounded_wait_deadline(wat_canister):
    canister = wat_canister(ECHO)
    assert canister.update("deadline").response == Reply(bytes(8))
    outcome = canister.update("deadline", deadline=123_456)
    assert outcome.response == Reply((123_456).to_bytes(8, "little"))


REPLY = """
    (data (i32.const 0) "abc\\ff")
    (func (export "canister_update reply_twice")
      (call $ic0.msg_reply_data_append ({I}.const 0) ({I}.const 3))
      (call $ic0.msg_reply)
      (call $ic0.msg_reply))
    (func (export "canister_update reject")
      (call $ic0.msg_reject ({I}.const 0) ({I}.const 3)))
    (func (export "canister_update reject_after_reply")
      (call $ic0.msg_reply)
      (call $ic0.msg_reject ({I}.const 0) ({I}.const 3)))
    (func (export "canister_update append_after_reply")
      (call $ic0.msg_reply)
      (call $ic0.msg_reply_data_append ({I}.const 0) ({I}.const 3)))
    (func (export "canister_update reject_bad_utf8")
      (call $ic0.msg_reject ({I}.const 0) ({I}.const 4)))
    (func (export "canister_update too_large")
      (call $ic0.msg_reply_data_append ({I}.const 0) ({I}.const 2097152))
      (call $ic0.msg_reply_data_append ({I}.const 0) ({I}.const 1)))
    (func (export "canister_update no_reply"))
    (table 1 funcref)
    (elem (i32.const 0) $callback)
    (func $callback (param {I})
      (call $ic0.msg_reply))
"""


def test_double_reply_traps(wat_canister):
    outcome = wat_canister(REPLY).update("reply_twice")
    assert outcome.trap is not None
    assert outcome.trap.kind is TrapKind.CONTRACT_VIOLATION
    assert outcome.trap.message == (
        "Canister violated contract: ic0.msg_reply: the call is already replied"
    )
    assert outcome.response is None


def test_reject_and_append_after_reply_trap(wat_canister):
    canister = wat_canister(REPLY)
    assert "ic0.msg_reject: the call is already replied" in (
        canister.update("reject_after_reply").trap.message
    )
    assert "ic0.msg_reply_data_append: the call is already replied" in (
        canister.update("append_after_reply").trap.message
    )


def test_msg_reject_rejects_with_canister_reject(wat_canister):
    outcome = wat_canister(REPLY).update("reject")
    assert outcome.trap is None
    assert outcome.response == Reject(RejectCode.CANISTER_REJECT, "abc")


def test_msg_reject_with_invalid_utf8_traps(wat_canister):
    outcome = wat_canister(REPLY).update("reject_bad_utf8")
    assert outcome.trap is not None and "UTF-8" in outcome.trap.message


def test_reply_larger_than_the_response_limit_traps(wat_canister):
    outcome = wat_canister(REPLY, memory_pages=33).update("too_large")
    assert outcome.trap is not None
    assert "payload size (2097153) cannot be larger than 2097152" in outcome.trap.message


def test_returning_without_a_response_is_not_a_trap(wat_canister):
    outcome = wat_canister(REPLY).update("no_reply")
    assert outcome.trap is None and outcome.response is None


def test_reply_in_a_callback_of_an_already_answered_call_traps(wat_canister):
    canister = wat_canister(REPLY)
    first = canister.callback(EntryKind.REPLY_CALLBACK, Context.Ry, 0)
    assert first.trap is None and first.response == Reply(b"")
    answered = canister.callback(EntryKind.REPLY_CALLBACK, Context.Ry, 0, responded=True)
    assert answered.trap is not None
    assert "already replied" in answered.trap.message


def test_reply_in_a_system_task_traps(wat_canister):
    canister = wat_canister("""(func (export "canister_heartbeat") (call $ic0.msg_reply))""")
    outcome = canister.run(EntryKind.HEARTBEAT, Context.T)
    assert outcome.trap is not None
    assert outcome.trap.message == (
        'Canister violated contract: "ic0_msg_reply" cannot be executed in heartbeat mode'
    )


REJECT_CALLBACK = """
    (table 2 funcref)
    (elem (i32.const 0) $on_reject $on_reply)
    (func $on_reject (param {I})
      (i32.store ({I}.const 0) (call $ic0.msg_reject_code))
      (call $ic0.msg_reject_msg_copy ({I}.const 4) ({I}.const 0) (call $ic0.msg_reject_msg_size))
      (call $reply_blob ({I}.const 0) (i{I}_add_4 (call $ic0.msg_reject_msg_size))))
    (func $on_reply (param {I})
      (call $reply_i32 (call $ic0.msg_reject_code)))
"""


@pytest.mark.parametrize("is_64", [False, True], ids=["wasm32", "wasm64"])
def test_reject_callback_sees_reject_code_and_message(wat_canister, is_64):
    pointer = "i64" if is_64 else "i32"
    body = REJECT_CALLBACK.replace("(i{I}_add_4 ", f"({pointer}.add ({pointer}.const 4) ")
    canister = wat_canister(body, is_64=is_64)
    reject = Reject(RejectCode.DESTINATION_INVALID, "no such canister")
    outcome = canister.callback(EntryKind.REJECT_CALLBACK, Context.Rt, 0, reject=reject)
    assert outcome.response == Reply((3).to_bytes(4, "little") + b"no such canister")
    replied = canister.callback(EntryKind.REPLY_CALLBACK, Context.Ry, 1, arg=b"x")
    assert replied.response == Reply(bytes(4))


INSPECT = """
    (data (i32.const 0) "allowed")
    (func (export "canister_inspect_message")
      (call $ic0.msg_method_name_copy ({I}.const 100) ({I}.const 0) (call $ic0.msg_method_name_size))
      (if (i32.eq (call $ic0.msg_method_name_size) (i32.const 7))
        (then (call $ic0.accept_message)))
      (if (i32.eq (call $ic0.msg_method_name_size) (i32.const 5))
        (then (call $ic0.accept_message) (call $ic0.accept_message))))
"""


def test_inspect_message_sees_the_method_name_and_accepts(wat_canister):
    canister = wat_canister(INSPECT)
    accepted = canister.run(EntryKind.INSPECT_MESSAGE, Context.F, "allowed")
    assert accepted.trap is None and accepted.message_accepted
    refused = canister.run(EntryKind.INSPECT_MESSAGE, Context.F, "nope")
    assert refused.trap is None and not refused.message_accepted
    twice = canister.run(EntryKind.INSPECT_MESSAGE, Context.F, "twice")
    assert twice.trap is not None
    assert "accept_message" in twice.trap.message


def test_dynamic_instruction_charges_end_the_execution_when_over_budget(wat_canister):
    canister = wat_canister(REPLY, memory_pages=33)
    outcome = canister.update("too_large", instruction_limit=500_000)
    assert outcome.trap is not None
    assert outcome.trap.kind is TrapKind.OUT_OF_INSTRUCTIONS
    assert outcome.instructions == 500_000
