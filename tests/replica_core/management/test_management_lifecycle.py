"""Management canister: creation, start/stop, deletion, cycles, raw_rand, dispatch rules."""

from __future__ import annotations

from replica_core.canister import CanisterStatus
from replica_core.errors import Reject, RejectCode
from replica_core.management import dispatch
from replica_core.management.lifecycle import DEFAULT_PROVISIONAL_CYCLES_BALANCE
from replica_core.management_context import Deferred
from replica_core.principal import Principal


def test_provisional_create_gives_default_balance_and_caller_as_controller(ctx):
    result = ctx.call("provisional_create_canister_with_cycles", {})
    canister = ctx.canisters[result["canister_id"]]
    assert canister.balance == DEFAULT_PROVISIONAL_CYCLES_BALANCE
    assert canister.controllers == (ctx.USER,)
    assert canister.is_empty and canister.status is CanisterStatus.RUNNING
    assert canister.total_num_changes == 1
    assert canister.history[0].details == {
        "creation": {"controllers": [ctx.USER], "environment_variables_hash": []}
    }


def test_provisional_create_with_specified_id(ctx):
    wanted = Principal.from_canister_index(4242)
    result = ctx.call(
        "provisional_create_canister_with_cycles", {"amount": [5], "specified_id": [wanted]}
    )
    assert result == {"canister_id": wanted}
    assert ctx.canisters[wanted].balance == 5
    again = ctx.call("provisional_create_canister_with_cycles", {"specified_id": [wanted]})
    assert isinstance(again, Reject) and again.error_code == "IC0205"


def test_create_canister_from_canister_burns_fee_and_keeps_attached_cycles(ctx):
    caller = ctx.create()
    fee = ctx.fees.canister_creation_fee
    result = ctx.call(
        "create_canister", {"settings": []}, caller.canister_id, fee + 7, ingress=False
    )
    created = ctx.canisters[result["canister_id"]]
    assert created.balance == 7
    assert created.controllers == (caller.canister_id,)
    assert ctx.accepted == fee + 7
    origin = created.history[0].origin
    assert origin == {"from_canister": {"canister_id": caller.canister_id, "canister_version": []}}


def test_create_canister_with_too_few_cycles_is_rejected(ctx):
    caller = ctx.create()
    result = ctx.call("create_canister", {"settings": []}, caller.canister_id, 10, ingress=False)
    assert isinstance(result, Reject)
    assert result.error_code == "IC0403" and result.code is RejectCode.CANISTER_REJECT
    assert result.message.startswith("Creating a canister requires a fee of 500000000000")
    assert ctx.accepted == 0


def test_create_canister_by_ingress_only_for_subnet_admins(ctx):
    refused = ctx.call("create_canister", {"settings": []}, ingress=True)
    assert isinstance(refused, Reject) and refused.error_code == "IC0406"
    assert refused.message == "Only canisters can call ic00 method create_canister"
    ctx.subnet_admins = (ctx.USER,)
    created = ctx.call("create_canister", {"settings": []}, ingress=True)
    assert ctx.canisters[created["canister_id"]].balance == 0


def test_sender_canister_version_must_match_callers_version(ctx):
    caller = ctx.create()
    caller.version = 3
    fee = ctx.fees.canister_creation_fee
    bad = ctx.call(
        "create_canister",
        {"settings": [], "sender_canister_version": [2]},
        caller.canister_id,
        fee,
        ingress=False,
    )
    assert isinstance(bad, Reject) and bad.error_code == "IC0504"
    assert "sender canister version Some(2)" in bad.message
    good = ctx.call(
        "create_canister",
        {"settings": [], "sender_canister_version": [3]},
        caller.canister_id,
        fee,
        ingress=False,
    )
    history = ctx.canisters[good["canister_id"]].history
    assert history[0].origin["from_canister"]["canister_version"] == [3]


def test_top_up_and_deposit_add_cycles(ctx):
    canister = ctx.create(balance=100)
    ctx.call("provisional_top_up_canister", {"canister_id": canister.canister_id, "amount": 50})
    assert canister.balance == 150
    payer = ctx.create()
    ctx.call(
        "deposit_cycles",
        {"canister_id": canister.canister_id},
        payer.canister_id,
        25,
        ingress=False,
    )
    assert canister.balance == 175 and ctx.accepted == 25


def test_deposit_cycles_refused_as_ingress(ctx):
    canister = ctx.create()
    result = ctx.call("deposit_cycles", {"canister_id": canister.canister_id}, ingress=True)
    assert isinstance(result, Reject)
    assert result.message == "Only canisters can call ic00 method deposit_cycles"


def test_unknown_canister_is_rejected_with_not_found(ctx):
    missing = Principal.from_canister_index(999)
    result = ctx.call("start_canister", {"canister_id": missing})
    assert isinstance(result, Reject)
    assert result.error_code == "IC0301" and result.code is RejectCode.DESTINATION_INVALID
    assert result.message.startswith(f"Canister {missing.to_text()} not found.")


def test_stop_is_deferred_until_stopped_and_start_cancels_pending_stops(ctx):
    canister = ctx.create()
    cid = canister.canister_id
    raw = ctx.call  # keep the decoded form for replies
    result = dispatch(ctx, "stop_canister", _arg("stop_canister", cid), ctx.USER, 0)
    assert result == Deferred(cid)
    assert canister.status is CanisterStatus.STOPPING and canister.version == 1
    assert raw("start_canister", {"canister_id": cid}) == ()
    assert canister.status is CanisterStatus.RUNNING and canister.version == 2
    ((stopped_id, reject),) = ctx.rejected_stops
    assert stopped_id == cid and reject.error_code == "IC0511"


def test_stop_of_stopped_canister_replies_at_once(ctx):
    canister = ctx.create()
    canister.status = CanisterStatus.STOPPED
    assert ctx.call("stop_canister", {"canister_id": canister.canister_id}) == ()
    assert canister.version == 1


def test_wrong_controller_is_rejected_with_ic0512(ctx):
    canister = ctx.create()
    result = ctx.call("stop_canister", {"canister_id": canister.canister_id}, ctx.OTHER)
    assert isinstance(result, Reject) and result.error_code == "IC0512"
    assert result.message.startswith(
        f"Only the controllers of the canister {canister.canister_id.to_text()} can control "
        f"it.\nCanister's controllers: {ctx.USER.to_text()}\nSender's ID: {ctx.OTHER.to_text()}"
    )
    assert canister.status is CanisterStatus.RUNNING


def test_subnet_admin_may_stop_and_start(ctx):
    canister = ctx.create()
    ctx.subnet_admins = (ctx.OTHER,)
    assert ctx.call("start_canister", {"canister_id": canister.canister_id}, ctx.OTHER) == ()


def test_delete_requires_stopped_canister(ctx):
    canister = ctx.create()
    cid = canister.canister_id
    result = ctx.call("delete_canister", {"canister_id": cid})
    assert isinstance(result, Reject) and result.error_code == "IC0510"
    assert result.message.startswith(f"Canister {cid.to_text()} must be stopped before it is")
    canister.status = CanisterStatus.STOPPED
    assert ctx.call("delete_canister", {"canister_id": cid}) == ()
    assert cid not in ctx.canisters


def test_canister_cannot_delete_itself(ctx):
    canister = ctx.create()
    cid = canister.canister_id
    ctx.call(
        "update_settings",
        {"canister_id": cid, "settings": {"controllers": [[ctx.USER, cid]]}},
    )
    canister.status = CanisterStatus.STOPPED
    result = ctx.call("delete_canister", {"canister_id": cid}, cid, ingress=False)
    assert isinstance(result, Reject) and result.error_code == "IC0512"
    assert "cannot delete itself" in result.message


def test_raw_rand_returns_32_fresh_bytes_for_canisters_only(ctx):
    caller = ctx.create()
    first = ctx.call("raw_rand", None, caller.canister_id, ingress=False)
    second = ctx.call("raw_rand", None, caller.canister_id, ingress=False)
    assert len(first) == 32 and len(second) == 32 and first != second
    refused = ctx.call("raw_rand", None, ingress=True)
    assert isinstance(refused, Reject) and refused.error_code == "IC0406"


def test_unknown_method_is_rejected_with_ic0536(ctx):
    result = dispatch(ctx, "start", b"DIDL\x00\x00", ctx.USER, 0)
    assert isinstance(result, Reject) and result.error_code == "IC0536"
    assert result.message == "Management canister has no method 'start'"


def test_invalid_candid_is_rejected_with_error_decoding_candid(ctx):
    result = dispatch(ctx, "start_canister", b"\x01\x02\x03", ctx.USER, 0)
    assert isinstance(result, Reject) and result.error_code == "IC0408"
    assert result.code is RejectCode.CANISTER_REJECT
    assert result.message.startswith("Error decoding candid: ")


def test_update_methods_refused_in_non_replicated_mode(ctx):
    canister = ctx.create()
    ctx.replicated = False
    result = ctx.call("start_canister", {"canister_id": canister.canister_id})
    assert isinstance(result, Reject) and "non-replicated" in result.message


def _arg(method: str, canister_id: Principal) -> bytes:
    from replica_core.candid import encode
    from replica_core.management.candid_types import arg_types

    return encode(arg_types(method), [{"canister_id": canister_id}])
