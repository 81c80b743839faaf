"""The management canister behind the real subnet: ingress to aaaaa-aa, rounds, queries."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
import wasmtime

from replica_core.candid import NAT, decode, encode
from replica_core.canister import CanisterStatus
from replica_core.ingress_history import IngressState
from replica_core.management import effective_canister_id
from replica_core.management.candid_types import arg_types, decode_result, encode_arg, result_types
from replica_core.messages import Ingress
from replica_core.principal import Principal
from replica_core.store.memory import MemoryStore
from replica_core.subnet import FakeClock, Subnet
from replica_core.types import RequestId
from tests.replica_core.gaps_fixtures import call

USER = Principal.self_authenticating(b"\x30\x2a" + b"m" * 42)
MGMT = Principal.management_canister()
COUNTER = wasmtime.wat2wasm(
    """(module
      (import "ic0" "msg_reply" (func $reply))
      (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
      (memory (export "memory") 1)
      (func (export "canister_update inc")
        (i32.store8 (i32.const 0) (i32.add (i32.load8_u (i32.const 0)) (i32.const 1)))
        (call $append (i32.const 0) (i32.const 1))
        (call $reply)))"""
)


def manage(subnet: Subnet, method: str, value: object):
    """Submit an ingress call to aaaaa-aa, run a round, return (state, decoded reply or reject)."""
    arg = encode_arg(method, value)
    status = call(
        subnet, MGMT, method, arg, sender=USER, effective=effective_canister_id(method, arg)
    )
    if status.state is IngressState.REPLIED:
        return status.state, decode_result(method, status.reply)
    return status.state, status.reject


def test_create_install_call_stop_delete_through_the_subnet():
    subnet = Subnet(MemoryStore(), FakeClock(), random.Random(1))
    state, created = manage(subnet, "provisional_create_canister_with_cycles", {})
    assert state is IngressState.REPLIED
    cid = created["canister_id"]
    state, _ = manage(
        subnet,
        "install_code",
        {
            "mode": {"install": None},
            "canister_id": cid,
            "wasm_module": COUNTER,
            "arg": b"",
            "sender_canister_version": [],
        },
    )
    assert state is IngressState.REPLIED
    assert subnet.canister(cid).module.module_hash == hashlib.sha256(COUNTER).digest()

    rid = RequestId(hashlib.sha256(b"inc").digest())
    subnet.submit(Ingress(rid, USER, cid, "inc", b"", subnet.clock.now() + 240 * 10**9))
    subnet.tick()
    assert subnet.request_status(rid).reply == b"\x01"

    status = subnet.query(
        MGMT, "canister_status", encode(arg_types("canister_status"), [{"canister_id": cid}]), USER
    )
    (decoded,) = decode(status.payload, result_types("canister_status"))
    assert decoded["status"] == {"running": None}
    assert decoded["module_hash"] == [hashlib.sha256(COUNTER).digest()]

    state, _ = manage(subnet, "stop_canister", {"canister_id": cid})
    assert state is IngressState.REPLIED
    assert subnet.canister(cid).status is CanisterStatus.STOPPED
    state, _ = manage(subnet, "delete_canister", {"canister_id": cid})
    assert state is IngressState.REPLIED
    assert subnet.canister(cid) is None


def test_rejected_management_call_changes_nothing():
    subnet = Subnet(MemoryStore(), FakeClock(), random.Random(2))
    _, created = manage(subnet, "provisional_create_canister_with_cycles", {})
    cid = created["canister_id"]
    state, reject = manage(
        subnet,
        "install_code",
        {
            "mode": {"install": None},
            "canister_id": cid,
            "wasm_module": b"not wasm",
            "arg": b"",
            "sender_canister_version": [],
        },
    )
    assert state is IngressState.REJECTED and reject.error_code == "IC0505"
    assert subnet.canister(cid).is_empty and subnet.canister(cid).version == 0


CANISTERS = Path(__file__).parents[2] / "canisters" / "build"


@pytest.mark.parametrize(
    ("build", "upgrade"),
    [
        ("base", {"upgrade": []}),
        (
            "core",
            {"upgrade": [{"skip_pre_upgrade": [], "wasm_memory_persistence": [{"keep": None}]}]},
        ),
    ],
)
def test_motoko_counter_survives_upgrade(build, upgrade):
    wasm_path = CANISTERS / build / "counter.wasm"
    if not wasm_path.exists():
        pytest.skip("moc canisters not built")
    wasm = wasm_path.read_bytes()
    subnet = Subnet(MemoryStore(), FakeClock(), random.Random(3))
    _, created = manage(subnet, "provisional_create_canister_with_cycles", {})
    cid = created["canister_id"]
    install = {
        "mode": {"install": None},
        "canister_id": cid,
        "wasm_module": wasm,
        "arg": encode([], []),
        "sender_canister_version": [],
    }
    state, result = manage(subnet, "install_code", install)
    assert state is IngressState.REPLIED, result
    for n in (1, 2):
        rid = RequestId(hashlib.sha256(f"{build}/inc/{n}".encode()).digest())
        subnet.submit(Ingress(rid, USER, cid, "inc", encode([], []), subnet.clock.now() + 10**11))
        subnet.tick()
        assert decode(subnet.request_status(rid).reply, [NAT]) == [n]
    state, result = manage(subnet, "install_code", {**install, "mode": upgrade})
    assert state is IngressState.REPLIED, result
    got = subnet.query(cid, "get", encode([], []), USER)
    assert decode(got.payload, [NAT]) == [2]
    if build == "core":  # a module with enhanced orthogonal persistence needs the option
        state, result = manage(subnet, "install_code", {**install, "mode": {"upgrade": []}})
        assert state is IngressState.REJECTED
        assert result.message.startswith("Missing upgrade option")
