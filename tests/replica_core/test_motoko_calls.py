"""Motoko caller/callee canisters through `Subnet`: replies, rejects, and exact cycles.

Spec: IC interface spec 0.66.0, Abstract behavior › Call message execution, Response
delivery (refund of unaccepted cycles), Cycles; the amounts are `cycles.py`'s fee table.
"""

from __future__ import annotations

import pytest

from replica_core.cycles import APPLICATION_SUBNET_FEES as FEES
from replica_core.cycles import MAX_INSTRUCTIONS_PER_MESSAGE
from replica_core.errors import RejectCode
from tests.replica_core.subnet_fixtures import (
    FLAVOURS,
    RecordingExecutor,
    make_subnet,
    wasm,
)

ATTACHED = 1_000_000


@pytest.fixture(scope="module")
def executor() -> RecordingExecutor:
    return RecordingExecutor()


def _pair(executor, flavour):
    subnet, client = make_subnet(executor)
    caller = client.deploy(flavour, "caller")
    callee = client.deploy(flavour, "callee")
    executor.take()
    return subnet, client, caller, callee


def _execution_cost(instructions: int, wasm64: bool) -> int:
    """What an execution costs: the prepayment at the limit minus the refund of the rest."""
    prepaid = FEES.execution_prepayment(MAX_INSTRUCTIONS_PER_MESSAGE, wasm64=wasm64)
    refund = FEES.execution_refund(MAX_INSTRUCTIONS_PER_MESSAGE, instructions, wasm64=wasm64)
    assert prepaid - refund == FEES.execution_cost(instructions, wasm64=wasm64)
    return prepaid - refund


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_call_echo_replies_and_balances_match_the_fee_table_exactly(executor, flavour):
    subnet, client, caller, callee = _pair(executor, flavour)
    wasm64 = executor.validated(wasm(flavour, "caller")).is_64
    assert wasm64 is (flavour == "core")
    before = subnet.canister(caller).balance, subnet.canister(callee).balance

    msg = client.submit_call(flavour, "caller", caller, "call_echo", callee, "hi", ATTACHED)
    out = client.settle(msg)
    assert out.replied
    runs = executor.take()
    assert client.query(flavour, "caller", caller, "last_refund") == (ATTACHED // 2,)
    assert [(e.canister_id, e.kind) for e in runs] == [
        (caller, "canister_update"),
        (callee, "canister_update"),
        (caller, "reply"),
    ]
    update, echo, on_reply = runs
    ((method, arg_size, attached),) = update.calls
    assert (method, attached) == ("echo", ATTACHED)
    assert echo.reply_size is not None
    accepted = ATTACHED // 2
    caller_cost = (
        FEES.ingress_induction_cost(msg.size)
        + _execution_cost(update.instructions, wasm64)
        + FEES.call_cost(len(method), arg_size, wasm64=wasm64)
        + ATTACHED
        - (ATTACHED - accepted)  # refund of the unaccepted cycles
        - FEES.response_refund(echo.reply_size)  # unused response transmission prepayment
        # The reply callback runs on the execution prepaid with the call; the rest comes back.
        - FEES.response_execution_prepayment(wasm64=wasm64)
        + _execution_cost(on_reply.instructions, wasm64)
    )
    callee_cost = _execution_cost(echo.instructions, wasm64) - accepted
    after = subnet.canister(caller).balance, subnet.canister(callee).balance
    assert before[0] - after[0] == caller_cost
    assert before[1] - after[1] == callee_cost
    # The canister sees the same balance through ic0.canister_cycle_balance128.
    assert client.query(flavour, "caller", caller, "balance") == (after[0],)
    assert client.query(flavour, "callee", callee, "cycles_received") == (accepted,)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_call_echo_reply_carries_the_text_and_the_refund(executor, flavour):
    _, client, caller, callee = _pair(executor, flavour)
    assert client.call(flavour, "caller", caller, "call_echo", callee, "hi", ATTACHED) == (
        "hi",
        ATTACHED - ATTACHED // 2,
    )
    assert client.call(flavour, "caller", caller, "call_echo", callee, "yo", 0) == ("yo", 0)
    assert client.query(flavour, "callee", callee, "call_count") == (2,)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_callee_trap_reaches_the_caller_as_a_canister_error_reject(executor, flavour):
    _, client, caller, callee = _pair(executor, flavour)
    (text,) = client.call(flavour, "caller", caller, "call_fail", callee)
    assert text == (
        f"#canister_error: Error from Canister {callee}: Canister called `ic0.trap` with "
        "message: 'callee: fail() traps'"
    )
    assert RejectCode.CANISTER_ERROR == 5
    # The trap rolled the callee's `calls += 1` back.
    assert client.query(flavour, "callee", callee, "call_count") == (0,)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_callee_explicit_reject_reaches_the_caller_as_canister_reject(executor, flavour):
    _, client, caller, callee = _pair(executor, flavour)
    (text,) = client.call(flavour, "caller", caller, "call_reject", callee)
    assert text == "#canister_reject: callee: reject() rejects"
    # An explicit reject is a reply of sorts: the callee's state change is kept.
    assert client.query(flavour, "callee", callee, "call_count") == (1,)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_provisional_creation_is_free_and_install_pays_ingress_and_instructions(executor, flavour):
    subnet, client = make_subnet(executor)
    cid = client.create(10**13)
    assert subnet.canister(cid).balance == 10**13
    executor.take()
    assert client.install(cid, wasm(flavour, "callee")) == ()
    install_msg = client.sent[-1]
    runs = executor.take(cid)
    assert [e.kind for e in runs] == ["start", "canister_init"]
    wasm64 = flavour == "core"
    used = sum(e.instructions for e in runs)
    expected = (
        10**13
        - FEES.ingress_induction_cost(install_msg.size)  # paid by the managed canister
        - FEES.execution_cost(used, wasm64=wasm64)
    )
    assert subnet.canister(cid).balance == expected
    status = client.canister_status(cid)
    assert status["cycles"] == expected - FEES.ingress_induction_cost(client.sent[-1].size)
