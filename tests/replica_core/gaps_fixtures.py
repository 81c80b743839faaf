"""WAT canisters on a real `Subnet` for the behaviour-gap tests (composite queries,
best-effort calls, stopping, cycles, low-memory hook).

`CALLER_WAT` is one module used for every role: `fwd`/`fwd_upd`/`fwd_be` call
`callee.method` (argument: 1 byte callee length, the callee's raw id, the method name) and
reply `R` + counter + payload on a reply, `J` + reject code + reject message on a reject;
`deep` calls itself on `callee` recursively; `pong` (query) replies `pong`; `upd` (update)
replies ``; `bump` (update) counts and `count` (query) returns the count; `deadline` replies the 8-byte `msg_deadline`; `grow` grows the heap by the
number of pages in its one-byte argument; `canister_on_low_wasm_memory` bumps a counter
that `hooks` (query) returns.
"""

from __future__ import annotations

import random
from typing import Any

import wasmtime

from replica_core.ingress_history import IngressState, IngressStatus
from replica_core.management import effective_canister_id
from replica_core.management.candid_types import decode_result, encode_arg
from replica_core.principal import Principal
from replica_core.store.memory import MemoryStore
from replica_core.subnet import FakeClock, Subnet, SubnetConfig
from replica_core.types import RequestId
from tests.replica_core.subnet_fixtures import SEC as SEC  # re-exported for the gap tests
from tests.replica_core.subnet_fixtures import ingress

USER = Principal.self_authenticating(b"\x30\x2a" + b"g" * 42)
MGMT = Principal.management_canister()

_CALL_BODY = """
    (local $n i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (call $arg_copy (i32.const 1000) (i32.const 0) (call $arg_size))
    (local.set $n (i32.load8_u (i32.const 1000)))
    (call $call_new
      (i32.const 1001) (local.get $n)
      (i32.add (i32.const 1001) (local.get $n))
      (i32.sub (i32.sub (call $arg_size) (i32.const 1)) (local.get $n))
      (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0))
"""

CALLER_WAT = f"""(module
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "msg_reject_code" (func $reject_code (result i32)))
  (import "ic0" "msg_reject_msg_size" (func $reject_msg_size (result i32)))
  (import "ic0" "msg_reject_msg_copy" (func $reject_msg_copy (param i32 i32 i32)))
  (import "ic0" "msg_deadline" (func $deadline (result i64)))
  (import "ic0" "call_new" (func $call_new (param i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "ic0" "call_with_best_effort_response" (func $best_effort (param i32)))
  (import "ic0" "call_perform" (func $perform (result i32)))
  (import "ic0" "call_data_append" (func $data_append (param i32 i32)))
  (memory 1)
  (global $counter (mut i32) (i32.const 0))
  (global $hooks (mut i32) (i32.const 0))
  (table 2 funcref)
  (elem (i32.const 0) $on_reply $on_reject)
  (func $on_reply (param $env i32)
    (i32.store8 (i32.const 2000) (i32.const 82))
    (i32.store8 (i32.const 2001) (global.get $counter))
    (call $append (i32.const 2000) (i32.const 2))
    (call $arg_copy (i32.const 3000) (i32.const 0) (call $arg_size))
    (call $append (i32.const 3000) (call $arg_size))
    (call $reply))
  (func $on_reject (param $env i32)
    (i32.store8 (i32.const 2000) (i32.const 74))
    (i32.store8 (i32.const 2001) (call $reject_code))
    (call $append (i32.const 2000) (i32.const 2))
    (call $reject_msg_copy (i32.const 3000) (i32.const 0) (call $reject_msg_size))
    (call $append (i32.const 3000) (call $reject_msg_size))
    (call $reply))
  (func (export "canister_composite_query fwd") {_CALL_BODY}
    (drop (call $perform)))
  (func (export "canister_update fwd_upd") {_CALL_BODY}
    (drop (call $perform)))
  (func (export "canister_update fwd_be") {_CALL_BODY}
    (call $best_effort (i32.const 1))
    (drop (call $perform)))
  (func (export "canister_composite_query deep")
    (local $n i32)
    (call $arg_copy (i32.const 1000) (i32.const 0) (call $arg_size))
    (local.set $n (call $arg_size))
    (i32.store (i32.const 1100) (i32.const 0x70656564))
    (call $call_new
      (i32.const 1000) (local.get $n) (i32.const 1100) (i32.const 4)
      (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0))
    (call $data_append (i32.const 1000) (local.get $n))
    (drop (call $perform)))
  (func (export "canister_query pong")
    (i32.store (i32.const 0) (i32.const 0x676e6f70))
    (call $append (i32.const 0) (i32.const 4))
    (call $reply))
  (func (export "canister_update upd")
    (call $append (i32.const 0) (i32.const 0))
    (call $reply))
  (func (export "canister_update deadline")
    (i64.store (i32.const 0) (call $deadline))
    (call $append (i32.const 0) (i32.const 8))
    (call $reply))
  (func (export "canister_update grow")
    (call $arg_copy (i32.const 0) (i32.const 0) (i32.const 1))
    (drop (memory.grow (i32.load8_u (i32.const 0))))
    (call $append (i32.const 0) (i32.const 0))
    (call $reply))
  (func (export "canister_update bump")
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (call $append (i32.const 0) (i32.const 0))
    (call $reply))
  (func (export "canister_query count")
    (i32.store8 (i32.const 0) (global.get $counter))
    (call $append (i32.const 0) (i32.const 1))
    (call $reply))
  (func (export "canister_on_low_wasm_memory")
    (global.set $hooks (i32.add (global.get $hooks) (i32.const 1))))
  (func (export "canister_query hooks")
    (i32.store8 (i32.const 0) (global.get $hooks))
    (call $append (i32.const 0) (i32.const 1))
    (call $reply)))
"""
CALLER_WASM = wasmtime.wat2wasm(CALLER_WAT)


def make_subnet(seed: int = 3, **config: Any) -> Subnet:
    return Subnet(MemoryStore(), FakeClock(), random.Random(seed), SubnetConfig(**config))


def submit(
    subnet: Subnet,
    receiver: Principal,
    method: str,
    arg: bytes,
    *,
    sender: Principal = USER,
    effective: Principal | None = None,
    expiry_s: int = 240,
) -> RequestId:
    msg = ingress(
        subnet.clock.now(),
        receiver,
        method,
        arg,
        sender=sender,
        effective=effective,
        expiry_s=expiry_s,
    )
    subnet.submit(msg)
    return msg.request_id


def call(
    subnet: Subnet, receiver: Principal, method: str, arg: bytes = b"", **kw: Any
) -> IngressStatus:
    """An ingress call and one round; its status."""
    rid = submit(subnet, receiver, method, arg, **kw)
    subnet.tick()
    status = subnet.request_status(rid)
    assert status is not None
    return status


def manage(subnet: Subnet, method: str, value: object, *, sender: Principal = USER) -> Any:
    """An ingress call to aaaaa-aa: the decoded reply, or the `Reject`."""
    arg = encode_arg(method, value)
    status = call(
        subnet, MGMT, method, arg, sender=sender, effective=effective_canister_id(method, arg)
    )
    if status.state is IngressState.REPLIED:
        return decode_result(method, status.reply)
    assert status.reject is not None, status
    return status.reject


def install(subnet: Subnet, wasm: bytes = CALLER_WASM, cycles: int | None = None) -> Principal:
    created = manage(
        subnet,
        "provisional_create_canister_with_cycles",
        {"amount": [] if cycles is None else [cycles]},
    )
    cid = created["canister_id"]
    done = manage(
        subnet,
        "install_code",
        {
            "mode": {"install": None},
            "canister_id": cid,
            "wasm_module": wasm,
            "arg": b"",
            "sender_canister_version": [],
        },
    )
    assert done == (), done
    return cid


def fwd_arg(callee: Principal, method: str) -> bytes:
    return bytes([len(callee.raw)]) + callee.raw + method.encode()
