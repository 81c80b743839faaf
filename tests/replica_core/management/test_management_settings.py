"""Management canister: update_settings ranges, canister_status, canister_info, metadata, logs."""

from __future__ import annotations

import pytest
import wasmtime

from replica_core.canister import CanisterStatus, Visibility
from replica_core.errors import Reject
from replica_core.execution.interface import LogRecord
from replica_core.management.logs import MAX_LOG_BYTES, append_logs


def settings(ctx, canister, caller=None, **fields):
    raw = {k: [v] for k, v in fields.items()}
    return ctx.call(
        "update_settings",
        {"canister_id": canister.canister_id, "settings": raw, "sender_canister_version": []},
        caller or ctx.USER,
    )


def test_update_settings_changes_only_given_fields(ctx):
    canister = ctx.create()
    before = canister.settings
    assert settings(ctx, canister, freezing_threshold=100, compute_allocation=50) == ()
    assert canister.settings.freezing_threshold == 100
    assert canister.settings.compute_allocation == 50
    assert canister.settings.controllers == before.controllers
    assert canister.version == 1
    assert canister.total_num_changes == 1  # no controllers change recorded


def test_controllers_change_is_recorded_in_history(ctx):
    canister = ctx.create()
    assert settings(ctx, canister, controllers=[ctx.OTHER, ctx.USER]) == ()
    assert set(canister.controllers) == {ctx.OTHER, ctx.USER}
    change = canister.history[-1]
    assert change.canister_version == 1
    assert change.details == {"controllers_change": {"controllers": list(canister.controllers)}}


@pytest.mark.parametrize(
    ("field", "value", "code", "message"),
    [
        (
            "compute_allocation",
            101,
            "IC0504",
            "ComputeAllocation expected to be in the range [0..100], got 101",
        ),
        (
            "compute_allocation",
            1000,
            "IC0504",
            "ComputeAllocation expected to be in the range [0..100], got 1_000",
        ),
        (
            "freezing_threshold",
            1 << 64,
            "IC0504",
            "Freezing threshold expected to be in the range of [0..2^64-1]",
        ),
        (
            "reserved_cycles_limit",
            1 << 128,
            "IC0504",
            "Reserved cycles limit expected to be in the range of [0..2^128-1]",
        ),
        (
            "wasm_memory_limit",
            (1 << 48) + 1,
            "IC0504",
            "Wasm memory limit expected to be in the range",
        ),
        (
            "controllers",
            "eleven",
            "IC0504",
            "Could not validate the settings: Invalid settings: 'controllers' length exceeds maximum size allowed of 10.",
        ),
        (
            "environment_variables",
            "duplicate",
            "IC0408",
            "Duplicate environment variables are not allowed",
        ),
        (
            "environment_variables",
            "too_many",
            "IC0408",
            "Too many environment variables: 21 (max: 20)",
        ),
        (
            "environment_variables",
            "long_name",
            "IC0408",
            "exceeds the maximum allowed length of 128.",
        ),
        (
            "log_visibility",
            "viewers",
            "IC0504",
            "'allowed_viewers' length exceeds maximum size allowed of 10.",
        ),
    ],
)
def test_out_of_range_settings_are_rejected(ctx, field, value, code, message):
    from replica_core.principal import Principal

    many = [Principal.from_canister_index(i) for i in range(11)]
    value = (
        {
            "eleven": many,
            "duplicate": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}],
            "too_many": [{"name": f"V{i}", "value": ""} for i in range(21)],
            "long_name": [{"name": "N" * 129, "value": ""}],
            "viewers": {"allowed_viewers": many},
        }.get(value, value)
        if isinstance(value, str)
        else value
    )
    canister = ctx.create()
    before = canister.settings
    result = settings(ctx, canister, **{field: value})
    assert isinstance(result, Reject) and result.error_code == code
    assert message in result.message
    assert canister.settings == before and canister.version == 0


def test_reserved_cycles_limit_below_reserved_balance_is_rejected(ctx):
    canister = ctx.create()
    canister.reserved_balance = 100
    result = settings(ctx, canister, reserved_cycles_limit=99)
    assert isinstance(result, Reject) and result.error_code == "IC0540"


def test_update_settings_by_non_controller_is_rejected(ctx):
    canister = ctx.create()
    result = settings(ctx, canister, ctx.OTHER, freezing_threshold=1)
    assert isinstance(result, Reject) and result.error_code == "IC0512"


def test_canister_status_reports_settings_and_state(ctx):
    canister = ctx.create(balance=12345)
    settings(
        ctx,
        canister,
        log_visibility={"public": None},
        environment_variables=[{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
    )
    status = ctx.call("canister_status", {"canister_id": canister.canister_id})
    assert status["status"] == {"running": None}
    assert status["module_hash"] == []
    assert status["cycles"] == 12345 and status["version"] == 1
    definite = status["settings"]
    assert definite["controllers"] == [ctx.USER]
    assert definite["log_visibility"] == {"public": None}
    assert definite["status_visibility"] == {"controllers": None}
    assert definite["freezing_threshold"] == 2_592_000
    assert definite["environment_variables"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "2"},
    ]
    assert status["memory_size"] == sum(status["memory_metrics"].values())
    assert status["ready_for_migration"] is False


def test_canister_status_visibility(ctx):
    canister = ctx.create()
    denied = ctx.call("canister_status", {"canister_id": canister.canister_id}, ctx.OTHER)
    assert isinstance(denied, Reject) and denied.error_code == "IC0512"
    itself = ctx.call(
        "canister_status", {"canister_id": canister.canister_id}, canister.canister_id
    )
    assert not isinstance(itself, Reject)
    settings(ctx, canister, status_visibility={"allowed_viewers": [ctx.OTHER]})
    viewer = ctx.call("canister_status", {"canister_id": canister.canister_id}, ctx.OTHER)
    assert viewer["status"] == {"running": None}


def test_canister_status_works_as_a_query(ctx):
    canister = ctx.create()
    canister.status = CanisterStatus.STOPPED
    ctx.replicated = False
    status = ctx.call("canister_status", {"canister_id": canister.canister_id})
    assert status["status"] == {"stopped": None}


def test_canister_info_returns_requested_recent_changes(ctx):
    canister = ctx.create()
    settings(ctx, canister, controllers=[ctx.USER])
    caller = ctx.create()
    info = ctx.call(
        "canister_info",
        {"canister_id": canister.canister_id, "num_requested_changes": []},
        caller.canister_id,
        ingress=False,
    )
    assert info == {
        "total_num_changes": 2,
        "recent_changes": [],
        "module_hash": [],
        "controllers": [ctx.USER],
    }
    info = ctx.call(
        "canister_info",
        {"canister_id": canister.canister_id, "num_requested_changes": [1]},
        caller.canister_id,
        ingress=False,
    )
    (change,) = info["recent_changes"]
    assert change["details"] == {"controllers_change": {"controllers": [ctx.USER]}}
    assert change["origin"] == {"from_user": {"user_id": ctx.USER}}


def test_canister_info_refused_as_ingress(ctx):
    canister = ctx.create()
    result = ctx.call(
        "canister_info", {"canister_id": canister.canister_id, "num_requested_changes": []}
    )
    assert isinstance(result, Reject)
    assert result.message == "Only canisters can call ic00 method canister_info"


def test_history_keeps_the_20_most_recent_changes(ctx):
    canister = ctx.create()
    for _ in range(25):
        settings(ctx, canister, controllers=[ctx.USER])
    assert canister.total_num_changes == 26 and len(canister.history) == 20
    assert canister.history[-1].canister_version == 25


def test_canister_metadata_public_and_private_sections(ctx):
    wasm = wasmtime.wat2wasm(
        '(module (@custom "icp:public name" "pub") (@custom "icp:private secret" "priv"))'
    )
    canister = ctx.create()
    ctx.call(
        "install_code",
        {
            "mode": {"install": None},
            "canister_id": canister.canister_id,
            "wasm_module": wasm,
            "arg": b"",
            "sender_canister_version": [],
        },
    )
    reader = ctx.create(caller=ctx.OTHER)
    rid = reader.canister_id
    args = {"canister_id": canister.canister_id, "name": "name"}
    assert ctx.call("canister_metadata", args, rid, ingress=False) == {"value": b"pub"}
    secret = {"canister_id": canister.canister_id, "name": "secret"}
    hidden = ctx.call("canister_metadata", secret, rid, ingress=False)
    assert (
        isinstance(hidden, Reject)
        and "has no metadata section with the name secret" in hidden.message
    )
    assert ctx.call("canister_metadata", secret, ctx.USER, ingress=False) == {"value": b"priv"}


def test_canister_metadata_of_empty_canister(ctx):
    canister = ctx.create()
    caller = ctx.create()
    result = ctx.call(
        "canister_metadata",
        {"canister_id": canister.canister_id, "name": "x"},
        caller.canister_id,
        ingress=False,
    )
    assert isinstance(result, Reject) and "has no Wasm module" in result.message


def test_logs_evict_oldest_beyond_4_kib_and_keep_indices(ctx):
    canister = ctx.create()
    append_logs(canister, [LogRecord(i, bytes([i]) * 1000) for i in range(6)])
    assert sum(len(r.content) for r in canister.logs) <= MAX_LOG_BYTES
    ctx.replicated = False
    result = ctx.call("fetch_canister_logs", {"canister_id": canister.canister_id})
    records = result["canister_log_records"]
    assert [r["idx"] for r in records] == [2, 3, 4, 5]
    assert records[0]["content"] == bytes([2]) * 1000 and records[0]["timestamp_nanos"] == 2


def test_fetch_canister_logs_visibility_and_query_only(ctx):
    canister = ctx.create()
    replicated = ctx.call("fetch_canister_logs", {"canister_id": canister.canister_id})
    assert isinstance(replicated, Reject) and "not accessible via ingress" in replicated.message
    ctx.replicated = False
    denied = ctx.call("fetch_canister_logs", {"canister_id": canister.canister_id}, ctx.OTHER)
    assert isinstance(denied, Reject) and denied.error_code == "IC0406"
    canister.settings = canister.settings.__class__(
        canister.controllers, log_visibility=Visibility("public")
    )
    allowed = ctx.call("fetch_canister_logs", {"canister_id": canister.canister_id}, ctx.OTHER)
    assert allowed == {"canister_log_records": []}
