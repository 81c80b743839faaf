"""Spec proofs on the real sandbox: cost_call/cost_create_canister match what is charged,
canister_inspect_message, reject codes seen by callbacks, per-kind instruction limits,
and trap rollback.

Spec: IC interface spec 0.66.0, The System API (cost_call, cost_create_canister,
call_perform, inspect_message, reject codes), Abstract behavior (call execution, trap
rollback), resource-limits.md (instruction limits).
"""

from __future__ import annotations

import random

from replica_core import error_codes
from replica_core.candid import decode, encode
from replica_core.cycles import freezing_limit
from replica_core.errors import Reject, RejectCode
from replica_core.execution.instruction_costs import (
    MAX_INSTRUCTIONS_INSPECT_MESSAGE,
    MAX_INSTRUCTIONS_PER_INSTALL_CODE,
    MAX_INSTRUCTIONS_PER_MESSAGE,
    MAX_INSTRUCTIONS_PER_QUERY,
)
from replica_core.execution.interface import EntryKind, Reply
from replica_core.ingress_history import IngressState
from replica_core.management.candid_types import arg_types, result_types
from replica_core.messages import Ingress
from replica_core.principal import Principal
from replica_core.store.memory import MemoryStore
from replica_core.subnet import FakeClock, Subnet, SubnetConfig
from replica_core.types import RequestId
from tests.replica_core.gaps_fixtures import CALLER_WASM, MGMT, USER, call, install, manage, submit
from tests.replica_core.spec_proofs_fixtures import (
    PROBE_WASM,
    TASKS_WASM,
    RecordingExecutor,
    call_arg,
    parse,
)


def make_subnet(**config) -> tuple[Subnet, RecordingExecutor]:
    executor = RecordingExecutor()
    subnet = Subnet(
        MemoryStore(), FakeClock(), random.Random(5), SubnetConfig(**config), executor=executor
    )
    return subnet, executor


def ingress_cost(subnet: Subnet, method: str, arg: bytes) -> int:
    return subnet.config.fees.ingress_induction_cost(len(method.encode()) + len(arg))


# --- 1. cost_call and cost_create_canister answer what is charged --------------------------


def test_cost_call_answers_exactly_what_call_perform_takes_from_the_balance():
    subnet, ex = make_subnet(max_messages_per_round=1)
    a, b = install(subnet, PROBE_WASM), install(subnet, PROBE_WASM)
    fees = subnet.config.fees
    payload, attached = b"x" * 37, 5_000_000
    arg = call_arg(b, "ok", payload, attached)
    before = subnet.canister(a).balance
    rid = submit(subnet, a, "call", arg)
    subnet.tick()  # only a's update runs; the request to b stays queued
    run = ex.last("call")
    assert run.outcome.trap is None and len(run.outcome.calls) == 1
    charged = before - subnet.canister(a).balance
    execution = fees.execution_cost(run.outcome.instructions)
    by_call = charged - ingress_cost(subnet, "call", arg) - execution - attached
    assert by_call == fees.call_cost(len("ok"), len(payload))
    subnet.tick(3)
    reply = parse(subnet.request_status(rid).reply)
    assert (reply.tag, reply.code) == ("R", 0)
    assert reply.cost_call == by_call  # what ic0.cost_call answered before performing
    # once the reply is in: the unused response prepayments and the unaccepted cycles return
    callback = ex.runs[-1]
    assert callback.call.kind is EntryKind.REPLY_CALLBACK
    returned = (
        fees.response_refund(0)
        + fees.response_execution_prepayment()
        - fees.execution_cost(callback.outcome.instructions)
        + attached
    )
    assert before - subnet.canister(a).balance == charged - returned


def test_cost_create_canister_is_the_fee_taken_from_the_cycles_sent_with_create_canister():
    subnet, _ = make_subnet()
    a = install(subnet, PROBE_WASM)
    attached = 2 * subnet.config.fees.canister_creation_fee
    payload = encode(
        arg_types("create_canister"), [{"settings": [], "sender_canister_version": []}]
    )
    rid = submit(subnet, a, "call", call_arg(MGMT, "create_canister", payload, attached))
    subnet.tick(3)
    status = subnet.request_status(rid)
    assert status.state is IngressState.REPLIED, status
    reply = parse(status.reply)
    assert (reply.tag, reply.code) == ("R", 0), reply
    created = decode(reply.data, result_types("create_canister"))[0]["canister_id"]
    assert subnet.canister(created).balance == attached - reply.cost_create_canister
    assert reply.cost_create_canister == subnet.config.fees.canister_creation_fee


# --- 2. canister_inspect_message on the real sandbox -----------------------------------------


def _ingress(subnet: Subnet, receiver: Principal, method: str, arg: bytes = b"") -> Ingress:
    """An ingress message for `Subnet.inspect` (never submitted)."""
    rid = RequestId(bytes([len(method)]) * 32)
    return Ingress(rid, USER, receiver, method, arg, subnet.clock.now() + 60 * 10**9)


def test_inspect_message_refuses_a_method_it_does_not_accept_with_ic0406():
    subnet, _ = make_subnet()
    a = install(subnet, PROBE_WASM)
    assert subnet.inspect(_ingress(subnet, a, "ok")) is None
    refused = subnet.inspect(_ingress(subnet, a, "no"))
    assert refused == Reject(
        RejectCode.CANISTER_REJECT, f"Canister {a} rejected the message", "IC0406"
    )


def test_a_trap_in_inspect_message_refuses_the_message_with_the_trap_reject():
    subnet, _ = make_subnet()
    a = install(subnet, PROBE_WASM)
    refused = subnet.inspect(_ingress(subnet, a, "trap"))
    assert refused == Reject(
        RejectCode.CANISTER_ERROR,
        f"Error from Canister {a}: Canister called `ic0.trap` with message: 'boom'",
        "IC0503",
    )


def test_inspect_message_is_not_run_for_queries_or_inter_canister_calls():
    subnet, ex = make_subnet()
    a, b = install(subnet, PROBE_WASM), install(subnet, PROBE_WASM)
    assert subnet.query(b, "q", b"", USER) == Reply(b"q")  # inspect would refuse "q"
    rid = submit(subnet, a, "call", call_arg(b, "no"))  # inspect would refuse "no"
    subnet.tick(3)
    assert parse(subnet.request_status(rid).reply).tag == "R"
    assert not [r for r in ex.runs if r.call.kind is EntryKind.INSPECT_MESSAGE]


def test_inspect_message_runs_with_the_200m_limit_and_refuses_beyond_it():
    subnet, ex = make_subnet()
    a = install(subnet, PROBE_WASM)
    refused = subnet.inspect(_ingress(subnet, a, "spin"))
    run = ex.runs[-1]
    assert run.call.kind is EntryKind.INSPECT_MESSAGE
    assert run.call.instruction_limit == MAX_INSTRUCTIONS_INSPECT_MESSAGE == 200_000_000
    assert run.outcome.instructions == 200_000_000
    assert refused == Reject(
        RejectCode.CANISTER_ERROR,
        f"Error from Canister {a}: Canister exceeded the limit of 200000000 instructions "
        "for single message execution.",
        "IC0522",
    )


# --- 3. reject codes seen by a calling canister's reject callback ---------------------------


def _rejected(subnet: Subnet, a, callee, method: str, *, flags: int = 0, rounds: int = 3):
    rid = submit(subnet, a, "call", call_arg(callee, method, flags=flags))
    subnet.tick(rounds)
    status = subnet.request_status(rid)
    assert status.state is IngressState.REPLIED, status
    reply = parse(status.reply)
    assert reply.tag == "J", reply
    return reply.code, reply.data.decode()


def test_reject_callback_sees_sys_transient_when_the_callee_is_frozen():
    subnet, _ = make_subnet()
    a, b = install(subnet, PROBE_WASM), install(subnet, PROBE_WASM)
    frozen = subnet.state.canisters[b]
    fees = subnet.config.fees
    threshold = freezing_limit(frozen, fees)
    frozen.balance = threshold // 2
    subnet.tick()
    prepay = fees.execution_prepayment(fees.max_instructions_per_message)
    expected = error_codes.out_of_cycles(b, threshold // 2, prepay, freezing_limit(frozen, fees))
    assert _rejected(subnet, a, b, "ok") == (int(RejectCode.SYS_TRANSIENT), expected.message)
    assert expected.message.startswith(f"Canister {b} is out of cycles: please top up")


def test_reject_callback_sees_destination_invalid_for_a_canister_that_does_not_exist():
    subnet, _ = make_subnet()
    a = install(subnet, PROBE_WASM)
    missing = Principal.from_canister_index(4242)
    assert _rejected(subnet, a, missing, "ok") == (
        int(RejectCode.DESTINATION_INVALID),
        f"Canister {missing} not found",
    )


def test_reject_callback_sees_canister_reject_and_the_message_of_msg_reject():
    subnet, _ = make_subnet()
    a, b = install(subnet, PROBE_WASM), install(subnet, PROBE_WASM)
    assert _rejected(subnet, a, b, "rej") == (int(RejectCode.CANISTER_REJECT), "nope")


def test_reject_callback_sees_canister_error_when_the_callee_traps():
    subnet, _ = make_subnet()
    a, b = install(subnet, PROBE_WASM), install(subnet, PROBE_WASM)
    assert _rejected(subnet, a, b, "boom") == (
        int(RejectCode.CANISTER_ERROR),
        f"Error from Canister {b}: Canister called `ic0.trap` with message: 'boom'",
    )


def test_reject_callback_sees_canister_error_when_the_callee_is_stopped():
    subnet, _ = make_subnet()
    a, b = install(subnet, PROBE_WASM), install(subnet, PROBE_WASM)
    assert manage(subnet, "stop_canister", {"canister_id": b}) == ()
    assert _rejected(subnet, a, b, "ok") == (
        int(RejectCode.CANISTER_ERROR),
        f"Canister {b} is stopped",
    )


def test_reject_callback_sees_sys_unknown_when_a_best_effort_deadline_expires():
    subnet, _ = make_subnet(max_messages_per_round=1)
    a, b = install(subnet, PROBE_WASM), install(subnet, PROBE_WASM)
    rid = submit(subnet, a, "call", call_arg(b, "ok", flags=1))
    subnet.tick()  # a performs the best-effort call (timeout 1 s); the request waits
    subnet.clock.advance(2)
    subnet.tick(3)
    reply = parse(subnet.request_status(rid).reply)
    assert (reply.tag, reply.code, reply.data) == (
        "J",
        int(RejectCode.SYS_UNKNOWN),
        b"Call deadline has expired.",
    )


def test_call_perform_returns_2_when_the_caller_cannot_afford_the_call():
    subnet, ex = make_subnet()
    a, b = install(subnet, PROBE_WASM), install(subnet, PROBE_WASM)
    fees = subnet.config.fees
    arg = call_arg(b, "ok")
    caller = subnet.state.canisters[a]
    prepay = fees.execution_prepayment(fees.max_instructions_per_message)
    spare = fees.call_cost(2, 0) // 2  # liquid after the prepayment: half the call's cost
    caller.balance = ingress_cost(subnet, "call", arg) + prepay + freezing_limit(caller, fees)
    caller.balance += spare
    subnet.tick()
    rid = submit(subnet, a, "call", arg)
    subnet.tick(2)
    reply = parse(subnet.request_status(rid).reply)
    assert (reply.tag, reply.code) == ("P", 2)
    assert reply.cost_call == fees.call_cost(2, 0) > spare
    assert ex.last("call").outcome.calls == ()
    assert not [r for r in ex.runs if r.call.method_name == "ok"]  # b never ran


# --- 4. instruction limits per message kind ----------------------------------------------------


def _limits(ex: RecordingExecutor, kind: EntryKind) -> set[int]:
    return {r.call.instruction_limit for r in ex.runs if r.call.kind is kind}


def test_each_message_kind_runs_with_the_ics_instruction_limit():
    subnet, ex = make_subnet()
    a = install(subnet, TASKS_WASM)  # canister_init arms the global timer
    subnet.tick(2)  # the timer fires; heartbeats run every round
    assert call(subnet, a, "u").state is IngressState.REPLIED
    assert subnet.query(a, "q", b"", USER) == Reply(b"")
    assert subnet.inspect(_ingress(subnet, a, "u")) is None
    upgrade = {
        "mode": {"upgrade": []},
        "canister_id": a,
        "wasm_module": TASKS_WASM,
        "arg": b"",
        "sender_canister_version": [],
    }
    assert manage(subnet, "install_code", upgrade) == ()
    assert _limits(ex, EntryKind.UPDATE) == {MAX_INSTRUCTIONS_PER_MESSAGE}
    assert _limits(ex, EntryKind.HEARTBEAT) == {MAX_INSTRUCTIONS_PER_MESSAGE}
    assert _limits(ex, EntryKind.GLOBAL_TIMER) == {MAX_INSTRUCTIONS_PER_MESSAGE}
    assert _limits(ex, EntryKind.QUERY) == {MAX_INSTRUCTIONS_PER_QUERY}
    assert _limits(ex, EntryKind.INSPECT_MESSAGE) == {MAX_INSTRUCTIONS_INSPECT_MESSAGE}
    # install_code is one message: its phases share the 300 B limit, each running with
    # what the earlier ones left ((start), then init; pre_upgrade, (start), post_upgrade)
    install_code = MAX_INSTRUCTIONS_PER_INSTALL_CODE
    (init_start_limit, init_start_used), (start_limit, start_used) = ex.starts
    assert init_start_limit == install_code
    assert _limits(ex, EntryKind.INIT) == {install_code - init_start_used}
    pre = ex.last_of(EntryKind.PRE_UPGRADE)
    assert pre.call.instruction_limit == install_code
    assert start_limit == install_code - pre.outcome.instructions
    post = ex.last_of(EntryKind.POST_UPGRADE)
    assert post.call.instruction_limit == install_code - pre.outcome.instructions - start_used
    assert (MAX_INSTRUCTIONS_PER_MESSAGE, MAX_INSTRUCTIONS_PER_QUERY) == (40 * 10**9, 5 * 10**9)
    assert MAX_INSTRUCTIONS_PER_INSTALL_CODE == 300 * 10**9


# --- 5. a trap rolls back every effect of the message ------------------------------------------


def test_a_trapping_update_leaves_no_effect_but_the_execution_fee():
    subnet, ex = make_subnet()
    a, b = install(subnet, PROBE_WASM), install(subnet, CALLER_WASM)
    assert call(subnet, a, "setup").state is IngressState.REPLIED
    peek = subnet.query(a, "peek", b"", USER)
    assert peek == Reply(bytes.fromhex("11111111010000000100000011111111"))
    before = subnet.canister(a)
    arg = b.raw
    status = call(subnet, a, "doall", arg)
    subnet.tick(2)
    assert status.state is IngressState.REJECTED
    assert status.reject == Reject(
        RejectCode.CANISTER_ERROR,
        f"Error from Canister {a}: Canister called `ic0.trap` with message: 'rollback'",
        "IC0503",
    )
    run = ex.last("doall")
    assert run.outcome.trap is not None and run.outcome.instructions > 0
    after = subnet.canister(a)
    assert subnet.query(a, "peek", b"", USER) == peek  # heap, global, stable memory
    assert after.certified_data == before.certified_data == bytes.fromhex("11111111")
    assert after.global_timer == before.global_timer == 9_000_000_000_000_000_000
    assert subnet.query(b, "count", b"", USER) == Reply(b"\x00")  # no call delivered
    assert not [r for r in ex.runs if r.call.method_name == "bump"]
    assert not subnet.state.contexts(a).callbacks and len(subnet.state.queue) == 0
    charged = before.balance - after.balance
    fees = subnet.config.fees
    assert charged == ingress_cost(subnet, "doall", arg) + fees.execution_cost(
        run.outcome.instructions
    )
