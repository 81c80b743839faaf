"""The scheduler with the real sandbox: a WAT canister replies and pays the fee table."""

from __future__ import annotations

import hashlib
import random

import wasmtime

from replica_core.canister import CanisterSettings, CanisterState, InstalledModule
from replica_core.ingress_history import IngressState
from replica_core.messages import Ingress
from replica_core.principal import Principal
from replica_core.store.memory import MemoryStore
from replica_core.subnet import FakeClock, Subnet
from replica_core.types import RequestId

WAT = """(module
 (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
 (import "ic0" "msg_reply" (func $reply))
 (import "ic0" "trap" (func $trap (param i32 i32)))
 (memory 1) (data (i32.const 0) "okboom")
 (func (export "canister_update inc") (call $append (i32.const 0) (i32.const 2)) (call $reply))
 (func (export "canister_update fail") (call $trap (i32.const 2) (i32.const 4))))"""


def _subnet_with_canister() -> tuple[Subnet, Principal]:
    wasm = wasmtime.wat2wasm(WAT)
    subnet = Subnet(MemoryStore(), FakeClock(), random.Random(1))
    cid = Principal.from_canister_index(0)
    canister = CanisterState(
        cid,
        CanisterSettings(controllers=()),
        balance=10**13,
        module=InstalledModule(wasm, hashlib.sha256(wasm).digest()),
    )
    module = subnet.executor.compile(wasm)
    canister.execution = subnet.executor.initial_state(  # type: ignore[attr-defined]
        module, subnet.scheduler.environment(canister)
    ).state
    subnet.state.add_canister(canister)
    return subnet, cid


def test_wasm_update_reply_and_trap_through_the_sandbox():
    subnet, cid = _subnet_with_canister()
    ok, bad = RequestId(b"\x01" * 32), RequestId(b"\x02" * 32)
    expiry = subnet.clock.now() + 100 * 10**9
    subnet.submit(Ingress(ok, Principal.anonymous(), cid, "inc", b"", expiry))
    subnet.submit(Ingress(bad, Principal.anonymous(), cid, "fail", b"", expiry))
    subnet.tick()
    replied = subnet.request_status(ok)
    assert replied is not None and replied.state is IngressState.REPLIED and replied.reply == b"ok"
    rejected = subnet.request_status(bad)
    assert rejected is not None and rejected.reject is not None
    assert rejected.reject.error_code == "IC0503"
    assert "boom" in rejected.reject.message
    assert subnet.canister(cid).balance < 10**13
