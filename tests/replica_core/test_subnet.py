"""The subnet state machine driven directly (no HTTP), with the fake executor."""

from __future__ import annotations

import asyncio
import hashlib
import random

import pytest

from replica_core.canister import CanisterStatus
from replica_core.certification import lookup, verify_certificate
from replica_core.certification.hash_tree import Found
from replica_core.errors import AuthenticationError, Reject, RejectCode
from replica_core.execution.interface import (
    Callback,
    ExecutionOutcome,
    OutgoingCall,
    Reply,
    Trap,
    TrapKind,
)
from replica_core.ingress_history import PURGE_DELAY_NS, IngressState
from replica_core.management_context import Deferred
from replica_core.messages import Ingress
from replica_core.principal import Principal
from replica_core.store.memory import MemoryStore
from replica_core.subnet import FakeClock, Subnet
from replica_core.types import RequestId
from tests.replica_core.fake_executor import INSTRUCTIONS, FakeExecutor, bump, counter, install

USER = Principal.self_authenticating(b"\x30\x2a" + b"u" * 42)
SEC = 1_000_000_000


def make_subnet(executor: FakeExecutor, management=None, seed: int = 7) -> tuple[Subnet, FakeClock]:
    clock = FakeClock()
    subnet = Subnet(
        MemoryStore(), clock, random.Random(seed), executor=executor, management=management
    )
    return subnet, clock


_nonce = iter(range(10**9))


def ingress(
    subnet: Subnet,
    cid: Principal,
    method: str,
    arg: bytes = b"",
    *,
    expiry_s: float = 240,
    sender: Principal = USER,
) -> Ingress:
    n = next(_nonce)
    rid = RequestId(hashlib.sha256(f"{cid}/{method}/{n}".encode()).digest())
    msg = Ingress(rid, sender, cid, method, arg, subnet.clock.now() + int(expiry_s * SEC))
    subnet.submit(msg)
    return msg


def reply_with(payload: bytes):
    def handler(call, env, state):
        return ExecutionOutcome(None, bump(state), response=Reply(payload))

    return handler


def test_update_call_is_replied_and_certified_under_request_status():
    ex = FakeExecutor()
    subnet, _ = make_subnet(ex)
    cid = install(subnet, ex.program("c", {"inc": reply_with(b"ok")}))
    msg = ingress(subnet, cid, "inc")
    subnet.tick()
    status = subnet.request_status(msg.request_id)
    assert status is not None and status.state is IngressState.REPLIED and status.reply == b"ok"
    cert = subnet.read_state([[b"request_status", msg.request_id]], USER)
    verify_certificate(cert, subnet.root_key, effective_canister_id=cid)
    assert lookup(cert, [b"request_status", msg.request_id, b"reply"]) == Found(b"ok")
    assert lookup(cert, [b"request_status", msg.request_id, b"status"]) == Found(b"replied")
    assert counter(subnet.canister(cid).execution) == 1


def test_read_state_of_another_senders_request_is_refused():
    ex = FakeExecutor()
    subnet, _ = make_subnet(ex)
    cid = install(subnet, ex.program("c", {"inc": reply_with(b"ok")}))
    msg = ingress(subnet, cid, "inc")
    subnet.tick()
    with pytest.raises(AuthenticationError):
        subnet.read_state([[b"request_status", msg.request_id]], Principal.anonymous())


def test_wait_returns_the_terminal_status():
    ex = FakeExecutor()
    subnet, _ = make_subnet(ex)
    cid = install(subnet, ex.program("c", {"inc": reply_with(b"ok")}))
    msg = ingress(subnet, cid, "inc")
    subnet.tick()
    status = asyncio.run(subnet.wait(msg.request_id, 1.0))
    assert status is not None and status.reply == b"ok"


def test_trap_rejects_with_ic0503_and_rolls_back_state():
    ex = FakeExecutor()
    subnet, _ = make_subnet(ex)

    def trap(call, env, state):
        return ExecutionOutcome(
            Trap(TrapKind.CANISTER_TRAP, "Canister called `ic0.trap` with message: 'boom'"), None
        )

    cid = install(subnet, ex.program("c", {"t": trap}))
    msg = ingress(subnet, cid, "t")
    subnet.tick()
    status = subnet.request_status(msg.request_id)
    assert status.state is IngressState.REJECTED
    assert status.reject.code is RejectCode.CANISTER_ERROR
    assert status.reject.error_code == "IC0503"
    assert status.reject.message == (
        f"Error from Canister {cid}: Canister called `ic0.trap` with message: 'boom'"
    )
    assert counter(subnet.canister(cid).execution) == 0


def test_unknown_canister_and_unknown_method_are_rejected_with_ic_codes():
    ex = FakeExecutor()
    subnet, _ = make_subnet(ex)
    cid = install(subnet, ex.program("c", {"inc": reply_with(b"ok")}))
    missing = ingress(subnet, Principal.from_canister_index(99), "inc")
    nomethod = ingress(subnet, cid, "nope")
    subnet.tick()
    r1 = subnet.request_status(missing.request_id).reject
    assert (r1.code, r1.error_code) == (RejectCode.DESTINATION_INVALID, "IC0301")
    r2 = subnet.request_status(nomethod.request_id).reject
    assert (r2.code, r2.error_code) == (RejectCode.CANISTER_ERROR, "IC0536")
    assert "has no update method 'nope'" in r2.message


def test_context_ending_without_reply_is_rejected_ic0506():
    ex = FakeExecutor()
    subnet, _ = make_subnet(ex)
    cid = install(
        subnet,
        ex.program("c", {"silent": lambda call, env, state: ExecutionOutcome(None, bump(state))}),
    )
    msg = ingress(subnet, cid, "silent")
    subnet.tick()
    reject = subnet.request_status(msg.request_id).reject
    assert (reject.code, reject.error_code) == (RejectCode.CANISTER_ERROR, "IC0506")
    assert counter(subnet.canister(cid).execution) == 1  # no response does not roll back


def _caller_program(
    ex: FakeExecutor,
    callee: Principal,
    *,
    cycles: int = 0,
    reply_cb=None,
    cleanup: bool = False,
    timeout: int | None = None,
):
    def call(c, env, state):
        out = OutgoingCall(
            callee,
            "pong",
            b"ping",
            cycles,
            Callback(1, 0),
            Callback(2, 0),
            Callback(3, 0) if cleanup else None,
            timeout,
        )
        return ExecutionOutcome(None, state, calls=(out,))

    def on_reply(c, env, state):
        return ExecutionOutcome(None, bump(state), response=Reply(b"got:" + c.arg))

    def on_reject(c, env, state):
        return ExecutionOutcome(
            None, state, response=Reply(b"rejected:%d:" % c.reject.code + c.reject.message.encode())
        )

    def on_cleanup(c, env, state):
        return ExecutionOutcome(None, bump(bump(state)))

    return ex.program(
        "caller",
        {
            "ping": call,
            "@reply:1": reply_cb or on_reply,
            "@reject:2": on_reject,
            "@cleanup:3": on_cleanup,
        },
    )


def test_inter_canister_call_round_trip_and_cycles_match_the_fee_table():
    ex = FakeExecutor()
    subnet, _ = make_subnet(ex)
    fees = subnet.config.fees

    def pong(c, env, state):
        return ExecutionOutcome(None, state, response=Reply(b"pong"), cycles_accepted=600)

    callee = install(subnet, ex.program("callee", {"pong": pong}), index=1, balance=10**13)
    caller = install(subnet, _caller_program(ex, callee, cycles=1000), index=0, balance=10**13)
    msg = ingress(subnet, caller, "ping")
    subnet.tick()
    status = subnet.request_status(msg.request_id)
    assert status.reply == b"got:pong"
    exec_cost = fees.execution_cost(INSTRUCTIONS)
    expected_caller = (
        10**13
        - fees.ingress_induction_cost(msg.size)
        - exec_cost  # ping
        - fees.call_cost_paid_upfront(len("pong"), len(b"ping"))
        - fees.xnet_call_bytes_fee(len(b"pong"))  # the response's bytes
        - exec_cost  # the reply callback
        - 600  # accepted by the callee; 400 refunded
    )
    assert subnet.canister(caller).balance == expected_caller
    assert subnet.canister(callee).balance == 10**13 - exec_cost + 600


def test_call_to_unknown_canister_rejects_destination_invalid():
    ex = FakeExecutor()
    subnet, _ = make_subnet(ex)
    caller = install(subnet, _caller_program(ex, Principal.from_canister_index(42)))
    msg = ingress(subnet, caller, "ping")
    subnet.tick()
    reply = subnet.request_status(msg.request_id).reply
    assert reply.startswith(b"rejected:3:Canister ")


def test_trapping_callback_runs_cleanup_and_the_caller_gets_a_reject():
    ex = FakeExecutor()
    subnet, _ = make_subnet(ex)
    callee = install(subnet, ex.program("callee", {"pong": reply_with(b"pong")}), index=1)

    def bad_reply(c, env, state):
        return ExecutionOutcome(Trap(TrapKind.CANISTER_TRAP, "Canister trapped: unreachable"), None)

    caller = install(subnet, _caller_program(ex, callee, reply_cb=bad_reply, cleanup=True), index=0)
    msg = ingress(subnet, caller, "ping")
    subnet.tick()
    reject = subnet.request_status(msg.request_id).reject
    assert (reject.code, reject.error_code) == (RejectCode.CANISTER_ERROR, "IC0502")
    assert counter(subnet.canister(caller).execution) == 2  # the cleanup's changes are kept
    assert (caller, "@cleanup:3") in ex.log
    assert subnet.state.contexts(caller).open_contexts() == 0


def test_best_effort_call_times_out_with_sys_unknown():
    ex = FakeExecutor()
    subnet, _ = make_subnet(ex)

    def never(c, env, state):  # the callee keeps its context open by calling out forever
        out = OutgoingCall(
            env.canister_id, "never", b"", 0, Callback(9, 0), Callback(9, 0), None, None
        )
        return ExecutionOutcome(None, state, calls=(out,))

    callee = install(subnet, ex.program("callee", {"pong": never, "never": never}), index=1)
    caller = install(subnet, _caller_program(ex, callee, timeout=1), index=0)
    subnet.config = subnet.config  # unchanged; the callee loops once per round
    subnet.scheduler.config = type(subnet.scheduler.config)(
        **{
            **{f: getattr(subnet.scheduler.config, f) for f in subnet.scheduler.config.__slots__},
            "max_messages_per_round": 4,
        }
    )
    msg = ingress(subnet, caller, "ping")
    subnet.tick()
    subnet.advance_time(2)
    subnet.tick()
    reply = subnet.request_status(msg.request_id).reply
    assert reply == b"rejected:6:Call deadline has expired."


def test_heartbeat_runs_every_round_and_timer_fires_once_when_due():
    ex = FakeExecutor()
    subnet, clock = make_subnet(ex)

    def set_timer(c, env, state):
        return ExecutionOutcome(None, state, response=Reply(b""), global_timer=env.time + 5 * SEC)

    cid = install(
        subnet,
        ex.program(
            "t",
            {
                "set": set_timer,
                "canister_heartbeat": lambda c, env, state: ExecutionOutcome(None, state),
                "canister_global_timer": lambda c, env, state: ExecutionOutcome(None, bump(state)),
            },
        ),
    )
    ingress(subnet, cid, "set")
    subnet.tick(3)
    assert counter(subnet.canister(cid).execution) == 0
    assert sum(1 for e in ex.log if e[1] == "canister_heartbeat") == 3
    subnet.advance_time(6)
    subnet.tick()
    assert counter(subnet.canister(cid).execution) == 1
    assert subnet.canister(cid).global_timer == 0


def test_ingress_status_becomes_done_after_expiry_and_is_pruned_later():
    ex = FakeExecutor()
    subnet, _ = make_subnet(ex)
    cid = install(subnet, ex.program("c", {"inc": reply_with(b"ok")}))
    msg = ingress(subnet, cid, "inc", expiry_s=10)
    subnet.tick()
    subnet.advance_time(11)
    assert subnet.request_status(msg.request_id).state is IngressState.DONE
    assert subnet.request_status(msg.request_id).reply is None
    subnet.advance_time(PURGE_DELAY_NS / SEC + 1)
    assert subnet.request_status(msg.request_id) is None


def test_duplicate_submission_is_executed_once():
    ex = FakeExecutor()
    subnet, _ = make_subnet(ex)
    cid = install(subnet, ex.program("c", {"inc": reply_with(b"ok")}))
    msg = ingress(subnet, cid, "inc")
    subnet.submit(msg)
    subnet.tick()
    subnet.submit(msg)
    subnet.tick()
    assert counter(subnet.canister(cid).execution) == 1


def test_stopping_waits_for_open_call_contexts():
    ex = FakeExecutor()

    def management(ctx, method, arg, caller, cycles):
        canister = ctx.get_canister(Principal(arg))
        if method == "stop_canister":
            canister.status = CanisterStatus.STOPPING
            return Deferred(canister.canister_id)
        return Reject(RejectCode.CANISTER_REJECT, "unsupported")

    subnet, _ = make_subnet(ex, management)

    other = Principal.from_canister_index(1)

    def hold(c, env, state):  # keeps a call context open until the other canister answers
        out = OutgoingCall(other, "noop", b"", 0, Callback(1, 0), Callback(1, 0))
        return ExecutionOutcome(None, state, calls=(out,))

    install(subnet, ex.program("other", {"noop": reply_with(b"")}), index=1)
    cid = install(
        subnet,
        ex.program(
            "c",
            {
                "hold": hold,
                "noop": reply_with(b""),
                "@reply:1": lambda c, env, state: ExecutionOutcome(
                    None, state, response=Reply(b"done")
                ),
            },
        ),
        index=0,
    )
    subnet.scheduler.config = type(subnet.scheduler.config)(
        **{
            **{f: getattr(subnet.scheduler.config, f) for f in subnet.scheduler.config.__slots__},
            "max_messages_per_round": 2,
        }
    )
    held = ingress(subnet, cid, "hold")
    stop = ingress(subnet, Principal.management_canister(), "stop_canister", cid.raw)
    subnet.tick()
    assert subnet.canister(cid).status is CanisterStatus.STOPPING
    assert subnet.request_status(stop.request_id).state is IngressState.PROCESSING
    subnet.tick(2)
    assert subnet.request_status(held.request_id).reply == b"done"
    assert subnet.canister(cid).status is CanisterStatus.STOPPED
    assert subnet.request_status(stop.request_id).reply == b"DIDL\x00\x00"
    late = ingress(subnet, cid, "noop")
    subnet.tick()
    assert subnet.request_status(late.request_id).reject.error_code == "IC0508"


def test_out_of_cycles_canister_rejects_ingress_ic0207():
    ex = FakeExecutor()
    subnet, _ = make_subnet(ex)
    cid = install(subnet, ex.program("c", {"inc": reply_with(b"ok")}), balance=1000)
    msg = ingress(subnet, cid, "inc")
    assert subnet.inspect(msg) is not None
    subnet.tick()
    reject = subnet.request_status(msg.request_id).reject
    assert (reject.code, reject.error_code) == (RejectCode.SYS_TRANSIENT, "IC0207")
    assert "is out of cycles" in reject.message


def test_query_reads_the_certified_state_and_changes_nothing():
    ex = FakeExecutor()
    subnet, _ = make_subnet(ex)

    def read(c, env, state):
        assert env.data_certificate is not None and not env.replicated
        return ExecutionOutcome(None, bump(state), response=Reply(bytes([counter(state)])))

    cid = install(subnet, ex.program("c", {"inc": reply_with(b"ok"), "query get": read}))
    subnet.tick()
    ingress(subnet, cid, "inc")
    assert subnet.query(cid, "get", b"", USER) == Reply(b"\x00")  # not yet certified
    subnet.tick()
    assert subnet.query(cid, "get", b"", USER) == Reply(b"\x01")
    assert subnet.query(cid, "get", b"", USER) == Reply(b"\x01")
    assert subnet.query(cid, "inc", b"", USER).error_code == "IC0536"


def test_same_batches_give_the_same_state_hash():
    roots = []
    for _ in range(2):
        ex = FakeExecutor()
        subnet, _ = make_subnet(ex, seed=3)
        callee = install(subnet, ex.program("callee", {"pong": reply_with(b"pong")}), index=1)
        caller = install(subnet, _caller_program(ex, callee), index=0)
        global _nonce
        _nonce = iter(range(10**9))
        for _ in range(3):
            ingress(subnet, caller, "ping")
        subnet.tick(2)
        roots.append(subnet._certified.tree.root_hash)
    assert roots[0] == roots[1]


def test_state_tree_paths_for_canister_subnet_and_time():
    ex = FakeExecutor()
    subnet, clock = make_subnet(ex)
    cid = install(
        subnet,
        ex.program("c", {"inc": reply_with(b"ok"), "@meta": reply_with(b"")}),
        controllers=(USER,),
    )
    subnet.tick()
    sid = subnet.subnet_id.raw
    cert = subnet.read_state([[b"canister", cid.raw], [b"subnet", sid]], USER)
    verify_certificate(cert, subnet.root_key, effective_canister_id=cid)
    from replica_core import cbor, leb128

    assert lookup(cert, [b"canister", cid.raw, b"module_hash"]) == Found(
        subnet.canister(cid).module.module_hash
    )
    assert lookup(cert, [b"canister", cid.raw, b"controllers"]) == Found(cbor.encode([USER.raw]))
    assert lookup(cert, [b"canister", cid.raw, b"metadata", b"candid:service"]) == Found(
        b"service : {}"
    )
    assert lookup(cert, [b"subnet", sid, b"public_key"]) == Found(subnet.keys.subnet.public_key_der)
    assert lookup(cert, [b"subnet", sid, b"type"]) == Found(b"application")
    node = subnet.keys.nodes[0]
    assert lookup(cert, [b"subnet", sid, b"node", node.node_id.raw, b"public_key"]) == Found(
        node.public_key_der
    )
    assert lookup(cert, [b"time"]) == Found(leb128.encode_unsigned(subnet.state.time))
