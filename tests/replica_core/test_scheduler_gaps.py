"""Best-effort calls, stop timeouts, cycles (management ingress, storage, uninstall, frozen),
ingress admission to aaaaa-aa, the low-memory hook, and the single trap/log helpers."""

from __future__ import annotations

from replica_core import error_codes, scheduler
from replica_core.call_context import FromSystemTask
from replica_core.candid import encode
from replica_core.canister import CanisterStatus
from replica_core.cycles import freezing_limit
from replica_core.errors import Reject, RejectCode
from replica_core.execution.interface import Reply, Trap, TrapKind
from replica_core.ingress_history import IngressState
from replica_core.management import install as install_mod
from replica_core.management import logs
from replica_core.management.candid_types import arg_types
from replica_core.management.rejects import CANISTER_WASM_MEMORY_LIMIT_EXCEEDED
from replica_core.principal import Principal
from replica_core.scheduler import STOP_CANISTER_TIMEOUT_NS
from tests.replica_core.gaps_fixtures import (
    MGMT,
    SEC,
    USER,
    call,
    fwd_arg,
    install,
    make_subnet,
    manage,
    submit,
)

STRANGER = Principal.self_authenticating(b"\x30\x2a" + b"s" * 42)

# --- best-effort calls -------------------------------------------------------------------


def test_callee_sees_the_best_effort_deadline_and_guaranteed_calls_have_none():
    subnet = make_subnet()
    a, b = install(subnet), install(subnet)
    best_effort = call(subnet, a, "fwd_be", fwd_arg(b, "deadline"))
    assert best_effort.reply[:2] == b"R\x01"
    assert int.from_bytes(best_effort.reply[2:], "little") == subnet.state.time + 1 * SEC
    guaranteed = call(subnet, a, "fwd_upd", fwd_arg(b, "deadline"))
    assert int.from_bytes(guaranteed.reply[2:], "little") == 0


def test_best_effort_request_past_its_deadline_is_not_delivered_and_caller_gets_sys_unknown():
    subnet = make_subnet(max_messages_per_round=1)
    a, b = install(subnet), install(subnet)
    rid = submit(subnet, a, "fwd_be", fwd_arg(b, "bump"))
    subnet.tick()  # a runs; the request to b waits in the queue
    subnet.clock.advance(2)
    subnet.tick(3)
    status = subnet.request_status(rid)
    assert status.state is IngressState.REPLIED
    assert status.reply == b"J\x06Call deadline has expired."
    assert subnet.query(b, "count", b"", USER) == Reply(b"\x00")  # b never ran


def test_response_arriving_after_the_deadline_is_dropped():
    subnet = make_subnet(max_messages_per_round=1)
    a, b = install(subnet), install(subnet)
    rid = submit(subnet, a, "fwd_be", fwd_arg(b, "bump"))
    subnet.tick(2)  # a calls, b replies; the response is queued
    subnet.clock.advance(2)
    subnet.tick(3)
    assert subnet.request_status(rid).reply == b"J\x06Call deadline has expired."
    assert subnet.query(b, "count", b"", USER) == Reply(b"\x01")  # b did run
    assert not subnet.state.contexts(a).callbacks


# --- stop_canister -------------------------------------------------------------------------


def _stop_arg(cid: Principal) -> bytes:
    return encode(arg_types("stop_canister"), [{"canister_id": cid}])


def test_pending_stop_canister_times_out_with_ic0206_and_the_canister_stays_stopping():
    subnet = make_subnet()
    a = install(subnet)
    subnet.state.contexts(a).new_context(FromSystemTask("held open"), 0, subnet.state.time)
    rid = submit(subnet, MGMT, "stop_canister", _stop_arg(a), effective=a, expiry_s=600)
    subnet.tick()
    assert subnet.request_status(rid).state is IngressState.PROCESSING
    subnet.clock.advance(ns=STOP_CANISTER_TIMEOUT_NS - 2 * SEC)
    subnet.tick()
    assert subnet.request_status(rid).state is IngressState.PROCESSING
    subnet.clock.advance(3)
    subnet.tick()
    status = subnet.request_status(rid)
    assert status.state is IngressState.REJECTED
    assert status.reject == Reject(
        RejectCode.SYS_TRANSIENT, "Stop canister request timed out", "IC0206"
    )
    assert subnet.canister(a).status is CanisterStatus.STOPPING


def test_start_canister_rejects_pending_stop_calls():
    subnet = make_subnet()
    a = install(subnet)
    subnet.state.contexts(a).new_context(FromSystemTask("held open"), 0, subnet.state.time)
    rid = submit(subnet, MGMT, "stop_canister", _stop_arg(a), effective=a)
    subnet.tick()
    assert manage(subnet, "start_canister", {"canister_id": a}) == ()
    status = subnet.request_status(rid)
    assert status.state is IngressState.REJECTED and status.reject.error_code == "IC0511"
    assert subnet.canister(a).status is CanisterStatus.RUNNING


# --- cycles --------------------------------------------------------------------------------


def test_ingress_to_the_management_canister_is_charged_to_the_managed_canister():
    subnet = make_subnet()
    a = install(subnet)
    before = subnet.canister(a).balance
    arg = encode(arg_types("canister_status"), [{"canister_id": a}])
    status = call(subnet, MGMT, "canister_status", arg, effective=a)
    assert status.state is IngressState.REPLIED
    cost = subnet.config.fees.ingress_induction_cost(len("canister_status") + len(arg))
    assert subnet.canister(a).balance == before - cost


def test_provisional_top_up_by_ingress_is_not_charged():
    subnet = make_subnet()
    a = install(subnet)
    before = subnet.canister(a).balance
    assert manage(subnet, "provisional_top_up_canister", {"canister_id": a, "amount": 5}) == ()
    assert subnet.canister(a).balance == before + 5


def test_storage_is_charged_from_the_reserved_balance_first():
    subnet = make_subnet()
    a = install(subnet)
    subnet.tick()
    canister = subnet.state.canisters[a]
    canister.reserved_balance = 10**9
    before = canister.balance
    subnet.clock.advance(100)
    subnet.tick()
    assert subnet.canister(a).balance == before
    assert 0 < 10**9 - subnet.canister(a).reserved_balance


def test_canister_whose_balances_reach_zero_is_uninstalled_keeping_id_controllers_version():
    subnet = make_subnet()
    a = install(subnet)
    assert manage(subnet, "take_canister_snapshot", {"canister_id": a, "replace_snapshot": []})
    subnet.tick()
    canister = subnet.state.canisters[a]
    canister.balance, canister.reserved_balance = 100, 0
    version = canister.version
    subnet.clock.advance(100)
    subnet.tick()
    after = subnet.canister(a)
    assert after is not None and after.module is None and after.execution is None
    assert after.balance == 0 and after.reserved_balance == 0
    assert after.snapshots == {} and after.controllers == (USER,)
    assert after.version == version + 1
    assert after.history[-1].details == {"code_uninstall": None}
    reject = call(subnet, a, "upd").reject
    assert reject.error_code == "IC0537"


def test_frozen_canister_rejects_calls_with_sys_transient():
    subnet = make_subnet()
    a, b = install(subnet), install(subnet)
    frozen = subnet.state.canisters[b]
    frozen.balance = freezing_limit(frozen, subnet.config.fees) // 2
    subnet.tick()
    via_canister = call(subnet, a, "fwd_upd", fwd_arg(b, "upd"))
    assert via_canister.reply.startswith(b"J\x02Canister " + str(b).encode() + b" is out of cycles")
    via_ingress = call(subnet, b, "upd")
    assert via_ingress.reject.code is RejectCode.SYS_TRANSIENT
    assert via_ingress.reject.error_code == "IC0207"


# --- ingress admission to aaaaa-aa ---------------------------------------------------------


def test_install_code_by_a_non_controller_is_refused_before_execution():
    subnet = make_subnet()
    a = install(subnet)
    version = subnet.canister(a).version
    reject = manage(
        subnet,
        "install_code",
        {
            "mode": {"reinstall": None},
            "canister_id": a,
            "wasm_module": b"\x00asm\x01\x00\x00\x00",
            "arg": b"",
            "sender_canister_version": [],
        },
        sender=STRANGER,
    )
    assert isinstance(reject, Reject) and reject.error_code == "IC0512"
    assert reject.message == f"Only controllers of canister {a} can call ic00 method install_code"
    assert subnet.canister(a).version == version


def test_raw_rand_by_ingress_is_refused_at_admission():
    subnet = make_subnet()
    install(subnet)
    reject = manage(subnet, "raw_rand", None)
    assert reject == Reject(
        RejectCode.CANISTER_REJECT, "Only canisters can call ic00 method raw_rand", "IC0406"
    )


# --- canister_on_low_wasm_memory -----------------------------------------------------------


def _memory_settings(subnet, cid, limit_pages: int, threshold: int) -> None:
    done = manage(
        subnet,
        "update_settings",
        {
            "canister_id": cid,
            "settings": {
                "wasm_memory_limit": [limit_pages * 65536],
                "wasm_memory_threshold": [threshold],
            },
            "sender_canister_version": [],
        },
    )
    assert done == (), done


def test_low_wasm_memory_hook_runs_once_per_crossing_of_the_threshold():
    subnet = make_subnet()
    a = install(subnet)
    _memory_settings(subnet, a, 4, 2 * 65536 + 1)
    subnet.tick()
    assert subnet.query(a, "hooks", b"", USER) == Reply(b"\x00")
    assert call(subnet, a, "grow", b"\x02").state is IngressState.REPLIED
    subnet.tick(3)
    assert subnet.query(a, "hooks", b"", USER) == Reply(b"\x01")  # once, not every round
    _memory_settings(subnet, a, 100, 2 * 65536 + 1)  # plenty of room: re-armed
    subnet.tick()
    _memory_settings(subnet, a, 4, 2 * 65536 + 1)  # below the threshold again
    subnet.tick(2)
    assert subnet.query(a, "hooks", b"", USER) == Reply(b"\x02")


# --- one trap mapping, one log appender ----------------------------------------------------


def test_trap_to_reject_mapping_is_shared_and_maps_the_wasm_memory_limit_to_ic0539():
    assert scheduler.trap_reject is error_codes.trap_reject
    assert install_mod.trap_reject is error_codes.trap_reject
    cid = Principal.from_canister_index(1)
    limit = error_codes.trap_reject(
        cid, Trap(TrapKind.OUT_OF_MEMORY, "Canister exceeded its current Wasm memory limit")
    )
    assert limit.error_code == "IC0539" and limit.code is RejectCode.CANISTER_ERROR
    assert int(CANISTER_WASM_MEMORY_LIMIT_EXCEEDED) == 539
    other = error_codes.trap_reject(cid, Trap(TrapKind.OUT_OF_MEMORY, "out of memory"))
    assert other.error_code == "IC0507"
    missing = error_codes.trap_reject(cid, Trap(TrapKind.NO_EXPORT, "no export"))
    assert missing.error_code == "IC0536"


def test_scheduler_appends_logs_with_the_management_canisters_appender():
    assert scheduler.append_logs is logs.append_logs
    assert scheduler.MAX_LOG_BYTES == logs.MAX_LOG_BYTES == 4096
    codes = error_codes.ErrorCode
    assert [int(c) for c in (codes(409), codes(538), codes(539), codes(540))] == [
        409,
        538,
        539,
        540,
    ]
