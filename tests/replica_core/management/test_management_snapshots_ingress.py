"""Management canister: snapshots, ingress admission, effective canister ids."""

from __future__ import annotations

import wasmtime

from replica_core.errors import Reject
from replica_core.management import effective_canister_id, ingress_allowed
from replica_core.management.candid_types import encode_arg
from replica_core.management.snapshots import MAX_SNAPSHOTS
from replica_core.principal import Principal

WASM = wasmtime.wat2wasm(
    """(module
      (import "ic0" "certified_data_set" (func $cd (param i32 i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "v1")
      (func (export "canister_init") (call $cd (i32.const 0) (i32.const 2))))"""
)


def installed(ctx, caller=None):
    canister = ctx.create(caller=caller or ctx.USER)
    ctx.call(
        "install_code",
        {
            "mode": {"install": None},
            "canister_id": canister.canister_id,
            "wasm_module": WASM,
            "arg": b"",
            "sender_canister_version": [],
        },
        caller or ctx.USER,
    )
    return canister


def take(ctx, canister, **extra):
    args = {"canister_id": canister.canister_id, "replace_snapshot": [], "uninstall_code": []}
    args.update(extra)
    args["sender_canister_version"] = []
    return ctx.call("take_canister_snapshot", args)


def test_take_list_load_delete_snapshot(ctx):
    canister = installed(ctx)
    snapshot = take(ctx, canister)
    assert snapshot["id"][8:] == canister.canister_id.raw
    assert snapshot["taken_at_timestamp"] == ctx.time and snapshot["total_size"] > 0
    listed = ctx.call("list_canister_snapshots", {"canister_id": canister.canister_id})
    assert listed == [snapshot]
    version = canister.version
    canister.certified_data = b"changed"
    canister.module = None
    assert (
        ctx.call(
            "load_canister_snapshot",
            {
                "canister_id": canister.canister_id,
                "snapshot_id": snapshot["id"],
                "sender_canister_version": [],
            },
        )
        == ()
    )
    assert canister.certified_data == b"v1" and canister.module is not None
    assert canister.version == version + 1
    details = canister.history[-1].details["load_snapshot"]
    assert details["snapshot_id"] == snapshot["id"] and details["from_canister_id"] == []
    args = {"canister_id": canister.canister_id, "snapshot_id": snapshot["id"]}
    assert ctx.call("delete_canister_snapshot", args) == ()
    missing = ctx.call("delete_canister_snapshot", args)
    assert isinstance(missing, Reject) and missing.error_code == "IC0305"
    assert f"Could not find the snapshot ID {snapshot['id'].hex()}" in missing.message


def test_snapshot_of_empty_canister_is_rejected(ctx):
    canister = ctx.create()
    result = take(ctx, canister)
    assert isinstance(result, Reject) and result.error_code == "IC0406"
    assert "Failed to create snapshot for empty canister" in result.message


def test_snapshot_limit_and_replace(ctx):
    canister = installed(ctx)
    first = take(ctx, canister)
    for _ in range(MAX_SNAPSHOTS - 1):
        take(ctx, canister)
    over = take(ctx, canister)
    assert isinstance(over, Reject)
    assert over.message.startswith(
        f"Canister {canister.canister_id.to_text()} has reached the maximum number of snapshots"
    )
    replaced = take(ctx, canister, replace_snapshot=[first["id"]])
    assert replaced["id"] != first["id"] and first["id"] not in canister.snapshots
    assert len(canister.snapshots) == MAX_SNAPSHOTS


def test_take_snapshot_with_uninstall(ctx):
    canister = installed(ctx)
    take(ctx, canister, uninstall_code=[True])
    assert canister.is_empty and len(canister.snapshots) == 1


def test_snapshot_of_another_canister(ctx):
    mine = installed(ctx)
    theirs = installed(ctx, caller=ctx.OTHER)
    snapshot = ctx.call(
        "take_canister_snapshot",
        {
            "canister_id": theirs.canister_id,
            "replace_snapshot": [],
            "uninstall_code": [],
            "sender_canister_version": [],
        },
        ctx.OTHER,
    )
    load = {
        "canister_id": mine.canister_id,
        "snapshot_id": snapshot["id"],
        "sender_canister_version": [],
    }
    refused = ctx.call("load_canister_snapshot", load)
    assert isinstance(refused, Reject) and "Only a controller of the canister" in refused.message
    theirs.settings = theirs.settings.__class__((ctx.OTHER, ctx.USER))
    assert ctx.call("load_canister_snapshot", load) == ()
    details = mine.history[-1].details["load_snapshot"]
    assert details["from_canister_id"] == [theirs.canister_id]
    foreign = ctx.call(
        "delete_canister_snapshot", {"canister_id": mine.canister_id, "snapshot_id": snapshot["id"]}
    )
    assert isinstance(foreign, Reject) and "does not belong to canister" in foreign.message


def test_list_snapshots_by_non_controller_is_rejected(ctx):
    canister = installed(ctx)
    result = ctx.call("list_canister_snapshots", {"canister_id": canister.canister_id}, ctx.OTHER)
    assert isinstance(result, Reject) and result.error_code == "IC0512"


def test_ingress_admission_follows_the_ic(ctx):
    canister = ctx.create()
    cid = canister.canister_id
    status = encode_arg("canister_status", {"canister_id": cid})
    assert ingress_allowed("canister_status", status, ctx.USER, ctx.canisters) is None
    denied = ingress_allowed("canister_status", status, ctx.OTHER, ctx.canisters)
    assert denied.error_code == "IC0512"
    assert denied.message == (
        f"Only controllers of canister {cid.to_text()} can call ic00 method canister_status"
    )
    stop = encode_arg("stop_canister", {"canister_id": cid})
    assert (
        ingress_allowed("stop_canister", stop, ctx.OTHER, ctx, subnet_admins=(ctx.OTHER,)) is None
    )
    for method in ("raw_rand", "deposit_cycles", "canister_info", "http_request", "nonsense"):
        refused = ingress_allowed(method, b"", ctx.USER, ctx.canisters)
        assert refused.message == f"Only canisters can call ic00 method {method}"
    logs = ingress_allowed("fetch_canister_logs", b"", ctx.USER, ctx.canisters)
    assert logs.error_code == "IC0406"
    bad = ingress_allowed("install_code", b"garbage", ctx.USER, ctx.canisters)
    assert bad.error_code == "IC0408"
    gone = Principal.from_canister_index(777)
    missing = ingress_allowed(
        "start_canister",
        encode_arg("start_canister", {"canister_id": gone}),
        ctx.USER,
        ctx.get_canister,
    )
    assert missing.error_code == "IC0301"
    assert ingress_allowed("provisional_create_canister_with_cycles", b"", ctx.OTHER, {}) is None
    assert ingress_allowed("create_canister", b"", ctx.USER, {}).error_code == "IC0406"
    assert ingress_allowed("create_canister", b"", ctx.USER, {}, subnet_admins=(ctx.USER,)) is None


def test_effective_canister_id_of_management_calls(ctx):
    cid = Principal.from_canister_index(5)
    assert (
        effective_canister_id(
            "install_code",
            encode_arg(
                "install_code",
                {
                    "mode": {"install": None},
                    "canister_id": cid,
                    "wasm_module": b"",
                    "arg": b"",
                    "sender_canister_version": [],
                },
            ),
        )
        == cid
    )
    chunked = encode_arg(
        "install_chunked_code",
        {
            "mode": {"install": None},
            "target_canister": cid,
            "store_canister": [],
            "chunk_hashes_list": [],
            "wasm_module_hash": b"",
            "arg": b"",
            "sender_canister_version": [],
        },
    )
    assert effective_canister_id("install_chunked_code", chunked) == cid
    create = encode_arg("provisional_create_canister_with_cycles", {"specified_id": [cid]})
    assert effective_canister_id("provisional_create_canister_with_cycles", create) == cid
    assert effective_canister_id("raw_rand", encode_arg("raw_rand", None)) is None
    assert effective_canister_id("start_canister", b"junk") is None
    assert effective_canister_id("no_such_method", b"") is None
