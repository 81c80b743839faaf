"""Motoko canisters short of cycles through `Subnet`: the IC's IC0207 rejections.

Spec: IC interface spec 0.66.0, Abstract behavior › Cycles (a canister must afford the
execution it is about to run, above its freezing threshold), IC method install_code
(prepaid at the install instruction limit), Canister settings › freezing_threshold (a
frozen canister takes no ingress, no calls and no queries), provisional_top_up_canister.
The wording is the IC's `CanisterOutOfCyclesError` and its query-handler message.
"""

from __future__ import annotations

import pytest

from replica_core.cycles import APPLICATION_SUBNET_FEES as FEES
from replica_core.cycles import (
    MAX_INSTRUCTIONS_PER_INSTALL_CODE,
    MAX_INSTRUCTIONS_PER_MESSAGE,
    freezing_limit,
)
from replica_core.errors import Reject, RejectCode
from replica_core.subnet import SandboxExecutor
from tests.replica_core.subnet_fixtures import FLAVOURS, make_subnet, shared_executor, wasm

FROZEN_SECONDS = 10**12  # a freezing threshold no balance here can cover


@pytest.fixture(scope="module")
def executor() -> SandboxExecutor:
    return shared_executor()


def _freeze(client, cid) -> None:
    settings = {"freezing_threshold": [FROZEN_SECONDS]}
    result = client.management(
        "update_settings",
        {"canister_id": cid, "settings": settings, "sender_canister_version": []},
    )
    assert result == ()


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_install_without_enough_cycles_is_rejected_ic0207(executor, flavour):
    subnet, client = make_subnet(executor)
    cid = client.create(10**11)
    reject = client.install(cid, wasm(flavour, "counter"))
    assert isinstance(reject, Reject)
    assert (reject.code, reject.error_code) == (RejectCode.SYS_TRANSIENT, "IC0207")
    balance = subnet.canister(cid).balance  # after paying for the install message
    needed = FEES.execution_prepayment(MAX_INSTRUCTIONS_PER_INSTALL_CODE, wasm64=flavour == "core")
    assert reject.message.startswith(
        f"Canister installation failed with `Canister {cid} is out of cycles: please top up "
        f"the canister with at least {needed - balance} additional cycles`."
    )
    assert subnet.canister(cid).module is None


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_frozen_canister_refuses_ingress_with_the_missing_amount(executor, flavour):
    subnet, client = make_subnet(executor)
    cid = client.deploy(flavour, "counter")
    _freeze(client, cid)
    canister = subnet.canister(cid)
    msg = client.submit_call(flavour, "counter", cid, "inc")
    out = client.settle(msg)
    missing = (
        FEES.ingress_induction_cost(msg.size) + freezing_limit(canister, FEES) - canister.balance
    )
    assert (out.reject.code, out.reject.error_code) == (RejectCode.SYS_TRANSIENT, "IC0207")
    assert out.reject.message == (
        f"Canister {cid} is out of cycles: please top up the canister with at least "
        f"{missing} additional cycles"
    )
    assert subnet.canister(cid).balance == canister.balance  # a refused message is free


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_frozen_canister_refuses_queries(executor, flavour):
    _, client = make_subnet(executor)
    cid = client.deploy(flavour, "counter")
    _freeze(client, cid)
    reject = client.query(flavour, "counter", cid, "get")
    assert isinstance(reject, Reject)
    assert (reject.code, reject.error_code) == (RejectCode.SYS_TRANSIENT, "IC0207")
    assert reject.message == (
        f"Canister {cid} is unable to process query calls because it's frozen. "
        "Please top up the canister with cycles and try again."
    )


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_frozen_callee_rejects_a_canister_call_and_top_up_thaws_it(executor, flavour):
    subnet, client = make_subnet(executor)
    caller = client.deploy(flavour, "caller")
    callee = client.deploy(flavour, "callee")
    _freeze(client, callee)
    canister = subnet.canister(callee)
    prepay = FEES.execution_prepayment(MAX_INSTRUCTIONS_PER_MESSAGE, wasm64=flavour == "core")
    missing = prepay + freezing_limit(canister, FEES) - canister.balance
    (text,) = client.call(flavour, "caller", caller, "call_reject", callee)
    assert text == (
        f"#system_transient: Canister {callee} is out of cycles: please top up the canister "
        f"with at least {missing} additional cycles"
    )
    assert subnet.canister(callee).balance == canister.balance  # it never ran
    top_up = client.management(
        "provisional_top_up_canister", {"canister_id": callee, "amount": 2 * missing}
    )
    assert top_up == ()
    assert client.call(flavour, "caller", caller, "call_echo", callee, "hi", 0) == ("hi", 0)
    assert client.query(flavour, "callee", callee, "call_count") == (1,)
