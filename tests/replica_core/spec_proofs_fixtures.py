"""WAT canisters and a recording executor for the spec-behaviour proofs (issue 4).

`PROBE_WAT` is one module used in every role:

* `call` (update) performs one call described by its argument — flags (bit 0:
  best-effort, 1 s), callee length, callee, method length, method, cycles (u64 LE),
  payload — after asking `ic0.cost_call` and `ic0.cost_create_canister`. Its reply is
  tag + code + the two 16-byte answers + data: `P` + `call_perform`'s result when the
  call was not performed, `R` + 0 + the reply payload, `J` + reject code + reject message.
* `rej` rejects with "nope", `boom` traps with "boom", `ok`/`no` reply empty, `q` (query)
  replies `q`.
* `canister_inspect_message` accepts `ok` only, traps on `trap`, spins on `spin`.
* `setup` and `doall` (updates) and `peek` (query) prove trap rollback: `setup` writes a
  heap word, a global, stable memory, certified data and the timer; `doall` changes all of
  them, calls `callee.bump` with cycles, then traps; `peek` returns heap word, global,
  stable size and stable word.

`TASKS_WAT` exports every system entry point (`init` arms the timer, inspect accepts all)
for the instruction-limit proofs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import wasmtime

from replica_core.execution.interface import EntryCall, EntryKind, ExecutionOutcome
from replica_core.principal import Principal
from replica_core.subnet import SandboxExecutor

PROBE_WAT = """(module
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "msg_reject_code" (func $reject_code (result i32)))
  (import "ic0" "msg_reject_msg_size" (func $reject_msg_size (result i32)))
  (import "ic0" "msg_reject_msg_copy" (func $reject_msg_copy (param i32 i32 i32)))
  (import "ic0" "msg_reject" (func $msg_reject (param i32 i32)))
  (import "ic0" "msg_method_name_size" (func $name_size (result i32)))
  (import "ic0" "msg_method_name_copy" (func $name_copy (param i32 i32 i32)))
  (import "ic0" "accept_message" (func $accept))
  (import "ic0" "call_new" (func $call_new (param i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "ic0" "call_data_append" (func $data_append (param i32 i32)))
  (import "ic0" "call_cycles_add128" (func $cycles_add (param i64 i64)))
  (import "ic0" "call_with_best_effort_response" (func $best_effort (param i32)))
  (import "ic0" "call_perform" (func $perform (result i32)))
  (import "ic0" "cost_call" (func $cost_call (param i64 i64 i32)))
  (import "ic0" "cost_create_canister" (func $cost_create (param i32)))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (import "ic0" "stable_size" (func $stable_size (result i32)))
  (import "ic0" "stable_grow" (func $stable_grow (param i32) (result i32)))
  (import "ic0" "stable_write" (func $stable_write (param i32 i32 i32)))
  (import "ic0" "stable_read" (func $stable_read (param i32 i32 i32)))
  (import "ic0" "certified_data_set" (func $certify (param i32 i32)))
  (import "ic0" "global_timer_set" (func $timer_set (param i64) (result i64)))
  (memory 1)
  (global $g (mut i32) (i32.const 0))
  (data (i32.const 10) "nope")
  (data (i32.const 20) "boom")
  (data (i32.const 30) "bump")
  (data (i32.const 40) "rollback")
  (table 2 funcref)
  (elem (i32.const 0) $on_reply $on_reject)
  (func $out (param $tag i32) (param $code i32)
    (i32.store8 (i32.const 98) (local.get $tag))
    (i32.store8 (i32.const 99) (local.get $code))
    (call $append (i32.const 98) (i32.const 34)))
  (func $on_reply (param $env i32)
    (call $out (i32.const 82) (i32.const 0))
    (call $arg_copy (i32.const 3000) (i32.const 0) (call $arg_size))
    (call $append (i32.const 3000) (call $arg_size))
    (call $reply))
  (func $on_reject (param $env i32)
    (call $out (i32.const 74) (call $reject_code))
    (call $reject_msg_copy (i32.const 3000) (i32.const 0) (call $reject_msg_size))
    (call $append (i32.const 3000) (call $reject_msg_size))
    (call $reply))
  (func (export "canister_update call")
    (local $len i32) (local $n i32) (local $m i32) (local $p i32) (local $size i32) (local $r i32)
    (local.set $len (call $arg_size))
    (call $arg_copy (i32.const 1000) (i32.const 0) (local.get $len))
    (local.set $n (i32.load8_u (i32.const 1001)))
    (local.set $m (i32.load8_u (i32.add (i32.const 1002) (local.get $n))))
    (local.set $p (i32.add (i32.const 1011) (i32.add (local.get $n) (local.get $m))))
    (local.set $size (i32.sub (i32.add (i32.const 1000) (local.get $len)) (local.get $p)))
    (call $cost_call (i64.extend_i32_u (local.get $m)) (i64.extend_i32_u (local.get $size))
      (i32.const 100))
    (call $cost_create (i32.const 116))
    (call $call_new
      (i32.const 1002) (local.get $n)
      (i32.add (i32.const 1003) (local.get $n)) (local.get $m)
      (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0))
    (call $data_append (local.get $p) (local.get $size))
    (call $cycles_add (i64.const 0)
      (i64.load (i32.add (i32.const 1003) (i32.add (local.get $n) (local.get $m)))))
    (if (i32.and (i32.load8_u (i32.const 1000)) (i32.const 1))
      (then (call $best_effort (i32.const 1))))
    (local.set $r (call $perform))
    (if (local.get $r)
      (then (call $out (i32.const 80) (local.get $r)) (call $reply))))
  (func (export "canister_update rej")
    (call $msg_reject (i32.const 10) (i32.const 4)))
  (func (export "canister_update boom")
    (call $trap (i32.const 20) (i32.const 4)))
  (func (export "canister_update ok")
    (call $reply))
  (func (export "canister_update no")
    (call $reply))
  (func (export "canister_query q")
    (i32.store8 (i32.const 0) (i32.const 113))
    (call $append (i32.const 0) (i32.const 1))
    (call $reply))
  (func (export "canister_inspect_message")
    (local $i i32)
    (call $name_copy (i32.const 200) (i32.const 0) (call $name_size))
    (if (i32.eq (call $name_size) (i32.const 2))
      (then (if (i32.eq (i32.load16_u (i32.const 200)) (i32.const 0x6b6f))  ;; "ok"
        (then (call $accept)))))
    (if (i32.eq (call $name_size) (i32.const 4))
      (then
        (if (i32.eq (i32.load (i32.const 200)) (i32.const 0x70617274))  ;; "trap"
          (then (call $trap (i32.const 20) (i32.const 4))))
        (if (i32.eq (i32.load (i32.const 200)) (i32.const 0x6e697073))  ;; "spin"
          (then (loop $l
            (local.set $i (i32.div_u (i32.add (local.get $i) (i32.const 7)) (i32.const 3)))
            (local.set $i (i32.div_u (i32.add (local.get $i) (i32.const 7)) (i32.const 3)))
            (local.set $i (i32.div_u (i32.add (local.get $i) (i32.const 7)) (i32.const 3)))
            (local.set $i (i32.div_u (i32.add (local.get $i) (i32.const 7)) (i32.const 3)))
            (br $l)))))))
  (func (export "canister_update setup")
    (i32.store (i32.const 500) (i32.const 0x11111111))
    (global.set $g (i32.const 1))
    (drop (call $stable_grow (i32.const 1)))
    (call $stable_write (i32.const 0) (i32.const 500) (i32.const 4))
    (call $certify (i32.const 500) (i32.const 4))
    (drop (call $timer_set (i64.const 9000000000000000000)))
    (call $reply))
  (func (export "canister_update doall")
    (local $n i32)
    (i32.store (i32.const 500) (i32.const 0x22222222))
    (global.set $g (i32.const 2))
    (drop (call $stable_grow (i32.const 1)))
    (call $stable_write (i32.const 0) (i32.const 500) (i32.const 4))
    (call $certify (i32.const 500) (i32.const 4))
    (drop (call $timer_set (i64.const 9100000000000000000)))
    (call $arg_copy (i32.const 1000) (i32.const 0) (call $arg_size))
    (call $call_new (i32.const 1000) (call $arg_size) (i32.const 30) (i32.const 4)
      (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0))
    (call $cycles_add (i64.const 0) (i64.const 1000000))
    (drop (call $perform))
    (call $trap (i32.const 40) (i32.const 8)))
  (func (export "canister_query peek")
    (i32.store (i32.const 0) (i32.load (i32.const 500)))
    (i32.store (i32.const 4) (global.get $g))
    (i32.store (i32.const 8) (call $stable_size))
    (i32.store (i32.const 12) (i32.const 0))
    (if (call $stable_size) (then (call $stable_read (i32.const 12) (i32.const 0) (i32.const 4))))
    (call $append (i32.const 0) (i32.const 16))
    (call $reply)))
"""
PROBE_WASM = wasmtime.wat2wasm(PROBE_WAT)

TASKS_WAT = """(module
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "global_timer_set" (func $timer_set (param i64) (result i64)))
  (import "ic0" "accept_message" (func $accept))
  (memory 1)
  (func (export "canister_init") (drop (call $timer_set (i64.const 1))))
  (func (export "canister_pre_upgrade"))
  (func (export "canister_post_upgrade"))
  (func (export "canister_heartbeat"))
  (func (export "canister_global_timer"))
  (func (export "canister_inspect_message") (call $accept))
  (func (export "canister_update u") (call $reply))
  (func (export "canister_query q") (call $reply)))
"""
TASKS_WASM = wasmtime.wat2wasm(TASKS_WAT)


@dataclass(slots=True)
class Recorded:
    call: EntryCall
    outcome: ExecutionOutcome


@dataclass
class RecordingExecutor:
    """The real sandbox executor, remembering every `EntryCall` and its outcome."""

    inner: SandboxExecutor = field(default_factory=SandboxExecutor)
    runs: list[Recorded] = field(default_factory=list)
    starts: list[tuple[int, int]] = field(default_factory=list)  # (limit, used) of (start)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def compile(self, wasm: bytes) -> Any:
        return self.inner.compile(wasm)

    def validated(self, wasm: bytes) -> Any:
        return self.inner.validated(wasm)

    def initial_state(self, module: Any, env: Any, **kwargs: Any) -> Any:
        outcome = self.inner.initial_state(module, env, **kwargs)
        self.starts.append((kwargs.get("instruction_limit", -1), outcome.instructions))
        return outcome

    def execute(self, module: Any, state: Any, call: EntryCall, env: Any) -> ExecutionOutcome:
        outcome = self.inner.execute(module, state, call, env)
        self.runs.append(Recorded(call, outcome))
        return outcome

    def last_of(self, kind: EntryKind) -> Recorded:
        """The last execution of an entry-point kind."""
        return next(r for r in reversed(self.runs) if r.call.kind is kind)

    def last(self, method_name: str) -> Recorded:
        """The last execution of a method (by name)."""
        return next(r for r in reversed(self.runs) if r.call.method_name == method_name)


def call_arg(
    callee: Principal, method: str, payload: bytes = b"", cycles: int = 0, *, flags: int = 0
) -> bytes:
    """The argument of `PROBE_WAT`'s `call`."""
    name = method.encode()
    return (
        bytes([flags, len(callee.raw)])
        + callee.raw
        + bytes([len(name)])
        + name
        + cycles.to_bytes(8, "little")
        + payload
    )


@dataclass(frozen=True, slots=True)
class ProbeReply:
    """`call`'s reply, parsed."""

    tag: str
    code: int
    cost_call: int
    cost_create_canister: int
    data: bytes


def parse(reply: bytes) -> ProbeReply:
    return ProbeReply(
        chr(reply[0]),
        reply[1],
        int.from_bytes(reply[2:18], "little"),
        int.from_bytes(reply[18:34], "little"),
        reply[34:],
    )
