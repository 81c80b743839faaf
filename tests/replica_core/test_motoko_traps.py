"""Motoko trap canister through `Subnet`: rollback on trap, commit points at `await`, logs.

Spec: IC interface spec 0.66.0, Abstract behavior › Call message execution (a trap discards
the state changes of the message execution), Response delivery (each callback is its own
execution, so an `await` is a commit point), IC method fetch_canister_logs (debug_print
output and trap messages, for controllers, as a query).
"""

from __future__ import annotations

import pytest

from replica_core.errors import Reject, RejectCode
from replica_core.subnet import SandboxExecutor
from tests.replica_core.subnet_fixtures import FLAVOURS, USER, make_subnet, shared_executor, wasm

OTHER = type(USER).self_authenticating(b"\x30\x2a" + b"o" * 42)


@pytest.fixture(scope="module")
def executor() -> SandboxExecutor:
    return shared_executor()


def _trap_canister(executor, flavour):
    subnet, client = make_subnet(executor)
    cid = client.deploy(flavour, "trap")
    assert client.call(flavour, "trap", cid, "set", 5) == ()
    return subnet, client, cid


def _logs(client, cid) -> list[bytes]:
    result = client.management_query("fetch_canister_logs", {"canister_id": cid})
    assert not isinstance(result, Reject), result
    return [r["content"] for r in result["canister_log_records"]]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_explicit_trap_rejects_ic0503_with_its_message_and_rolls_back(executor, flavour):
    _, client, cid = _trap_canister(executor, flavour)
    reject = client.call(flavour, "trap", cid, "set_then_trap", 7)
    assert isinstance(reject, Reject)
    assert (reject.code, reject.error_code) == (RejectCode.CANISTER_ERROR, "IC0503")
    assert reject.message == (
        f"Error from Canister {cid}: Canister called `ic0.trap` with message: "
        "'set_then_trap: explicit trap'"
    )
    assert client.query(flavour, "trap", cid, "get") == (5,)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_failed_assertion_traps_and_rolls_back(executor, flavour):
    _, client, cid = _trap_canister(executor, flavour)
    reject = client.call(flavour, "trap", cid, "set_then_assert", 8)
    assert isinstance(reject, Reject) and reject.error_code == "IC0503"
    assert "assertion failed at trap.mo:" in reject.message
    assert client.query(flavour, "trap", cid, "get") == (5,)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_write_before_await_survives_a_trap_after_it(executor, flavour):
    _, client, cid = _trap_canister(executor, flavour)
    reject = client.call(flavour, "trap", cid, "set_await_trap", 10)
    assert isinstance(reject, Reject) and reject.error_code == "IC0503"
    assert "set_await_trap: trap after await" in reject.message
    # `value := 10` was committed at the await; `value := 11` died with the callback.
    assert client.query(flavour, "trap", cid, "get") == (10,)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_debug_prints_and_trap_messages_are_in_the_canister_logs(executor, flavour):
    _, client, cid = _trap_canister(executor, flavour)
    client.call(flavour, "trap", cid, "set_then_trap", 7)
    client.call(flavour, "trap", cid, "set_await_trap", 10)
    assert _logs(client, cid) == [
        b"trap: set 5",
        b"trap: set_then_trap 7",  # kept although the execution trapped
        b"[TRAP]: set_then_trap: explicit trap",  # the IC's trap record
        b"trap: set_await_trap 10",
        b"[TRAP]: set_await_trap: trap after await",
    ]
    result = client.management_query("fetch_canister_logs", {"canister_id": cid})
    records = result["canister_log_records"]
    assert [r["idx"] for r in records] == list(range(len(records)))
    times = [r["timestamp_nanos"] for r in records]
    assert times == sorted(times)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_logs_are_for_controllers_only_and_reinstall_purges_them(executor, flavour):
    _, client, cid = _trap_canister(executor, flavour)
    stranger = client.subnet.query(
        type(cid).management_canister(),
        "fetch_canister_logs",
        _fetch_arg(cid),
        OTHER,
    )
    assert isinstance(stranger, Reject)
    assert stranger.code is RejectCode.CANISTER_REJECT
    assert _logs(client, cid) == [b"trap: set 5"]
    assert client.install(cid, wasm(flavour, "trap"), {"reinstall": None}) == ()
    assert _logs(client, cid) == []


def _fetch_arg(cid) -> bytes:
    from replica_core.candid import encode
    from replica_core.management.candid_types import arg_types

    return encode(arg_types("fetch_canister_logs"), [{"canister_id": cid}])
