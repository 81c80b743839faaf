"""Motoko canisters stopped, started and deleted through `aaaaa-aa` while calls are open.

Spec: IC interface spec 0.66.0, IC method stop_canister (a canister with open call contexts
stays `stopping` until they close; then `stopped`, and the stop call is answered),
start_canister, delete_canister (only stopped canisters), Abstract behavior › Call
message execution (calls to a stopped canister are rejected, `IC0508`).
"""

from __future__ import annotations

import pytest

from replica_core.candid import encode
from replica_core.canister import CanisterStatus
from replica_core.errors import Reject, RejectCode
from replica_core.ingress_history import IngressState
from replica_core.management.candid_types import arg_types
from replica_core.subnet import SandboxExecutor, SubnetConfig
from tests.replica_core.subnet_fixtures import FLAVOURS, MANAGEMENT, make_subnet, shared_executor


@pytest.fixture(scope="module")
def executor() -> SandboxExecutor:
    return shared_executor()


def _stop_msg(client, cid):
    arg = encode(arg_types("stop_canister"), [{"canister_id": cid}])
    return client.submit(MANAGEMENT, "stop_canister", arg, effective=cid)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_stop_waits_for_the_awaited_callee_then_the_canister_is_stopped(executor, flavour):
    # One message per round, so the caller's call context is still open when the stop
    # request runs: the request to the callee and its response take a round each.
    subnet, client = make_subnet(executor, config=SubnetConfig(max_messages_per_round=1))
    caller = client.deploy(flavour, "caller")
    callee = client.deploy(flavour, "callee")
    echo = client.submit_call(flavour, "caller", caller, "call_echo", callee, "hi", 0)
    subnet.tick()  # call_echo runs and sends the request to the callee
    stop = _stop_msg(client, caller)
    subnet.tick()  # the callee replies; the response is queued behind the stop request
    subnet.tick()  # stop_canister runs: one context still open
    assert client.status(stop).state is IngressState.PROCESSING
    assert subnet.canister(caller).status is CanisterStatus.STOPPING
    late = client.submit_call(flavour, "caller", caller, "call_echo", callee, "late", 0)
    subnet.tick()  # `late` is refused at induction; the response closes the context
    reject = client.status(late).reject
    assert reject is not None
    assert (reject.code, reject.error_code) == (RejectCode.CANISTER_ERROR, "IC0509")
    assert reject.message == f"Canister {caller} is stopping"
    assert client.status(echo).state is IngressState.REPLIED
    assert client.status(stop).state is IngressState.REPLIED
    assert client.canister_status(caller)["status"] == {"stopped": None}


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_calls_to_a_stopped_canister_are_rejected_ic0508(executor, flavour):
    _, client = make_subnet(executor)
    caller = client.deploy(flavour, "caller")
    callee = client.deploy(flavour, "callee")
    assert client.management("stop_canister", {"canister_id": callee}) == ()
    reject = client.call(flavour, "callee", callee, "echo", "hi")
    assert isinstance(reject, Reject)
    assert (reject.code, reject.error_code) == (RejectCode.CANISTER_ERROR, "IC0508")
    assert reject.message == f"Canister {callee} is stopped"
    query = client.query(flavour, "callee", callee, "call_count")
    assert isinstance(query, Reject) and query.error_code == "IC0508"
    # A canister calling it gets the reject as an error (code 5, canister_error).
    (text,) = client.call(flavour, "caller", caller, "call_reject", callee)
    assert text == f"#canister_error: Canister {callee} is stopped"


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_start_resumes_with_the_state_kept(executor, flavour):
    _, client = make_subnet(executor)
    cid = client.deploy(flavour, "counter")
    client.call(flavour, "counter", cid, "inc")
    assert client.management("stop_canister", {"canister_id": cid}) == ()
    assert client.management("start_canister", {"canister_id": cid}) == ()
    assert client.canister_status(cid)["status"] == {"running": None}
    assert client.call(flavour, "counter", cid, "inc") == (2,)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_delete_needs_a_stopped_canister_then_it_is_gone(executor, flavour):
    subnet, client = make_subnet(executor)
    cid = client.deploy(flavour, "counter")
    running = client.management("delete_canister", {"canister_id": cid})
    assert isinstance(running, Reject) and running.error_code == "IC0510"
    assert client.management("stop_canister", {"canister_id": cid}) == ()
    assert client.management("delete_canister", {"canister_id": cid}) == ()
    assert subnet.canister(cid) is None
    gone = client.call(flavour, "counter", cid, "inc")
    assert isinstance(gone, Reject)
    assert (gone.code, gone.error_code) == (RejectCode.DESTINATION_INVALID, "IC0301")
    query = client.query(flavour, "counter", cid, "get")
    assert isinstance(query, Reject) and query.error_code == "IC0301"
    status = client.canister_status(cid)
    assert isinstance(status, Reject) and status.error_code == "IC0301"
