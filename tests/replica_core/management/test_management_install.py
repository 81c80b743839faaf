"""Management canister: install_code modes, chunked install, uninstall (real sandbox, WAT)."""

from __future__ import annotations

import gzip
import hashlib

import pytest
import wasmtime

from replica_core.canister import CanisterChange
from replica_core.errors import Reject, RejectCode

# canister_init / canister_post_upgrade take an argument `<op><text>`:
#   't' → trap with the argument as message; 'k' → trap unless heap byte 100 is 42 (kept);
#   anything else → debug_print and certified_data_set the argument.
# canister_init also stores 42 at heap byte 100 and sets the global timer;
# canister_pre_upgrade writes "pre" to stable memory (or traps if heap byte 101 is 1).
_WAT = """
(module
  (import "ic0" "msg_arg_data_size" (func $size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $copy (param i32 i32 i32)))
  (import "ic0" "debug_print" (func $print (param i32 i32)))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (import "ic0" "certified_data_set" (func $certify (param i32 i32)))
  (import "ic0" "global_timer_set" (func $timer (param i64) (result i64)))
  (import "ic0" "stable64_grow" (func $sgrow (param i64) (result i64)))
  (import "ic0" "stable64_write" (func $swrite (param i64 i64 i64)))
  (memory (export "memory") 1)
  (data (i32.const 200) "pre")
  (func $handle
    (call $copy (i32.const 0) (i32.const 0) (call $size))
    (if (i32.eq (i32.load8_u (i32.const 0)) (i32.const 116))
      (then (call $trap (i32.const 0) (call $size))))
    (if (i32.eq (i32.load8_u (i32.const 0)) (i32.const 107))
      (then (if (i32.ne (i32.load8_u (i32.const 100)) (i32.const 42))
        (then (call $trap (i32.const 200) (i32.const 3))))))
    (call $print (i32.const 0) (call $size))
    (call $certify (i32.const 0) (call $size)))
  (func (export "canister_init")
    (call $handle)
    (i32.store8 (i32.const 100) (i32.const 42))
    (drop (call $timer (i64.const 5))))
  (func (export "canister_pre_upgrade")
    (if (i32.eq (i32.load8_u (i32.const 101)) (i32.const 1))
      (then (call $trap (i32.const 200) (i32.const 3))))
    (drop (call $sgrow (i64.const 1)))
    (call $swrite (i64.const 0) (i64.const 200) (i64.const 3)))
  (func (export "canister_post_upgrade") (call $handle))
  (func (export "canister_update poison") (unreachable))
  %s
)
"""
EOP = '(@custom "icp:private enhanced-orthogonal-persistence" "")'
PLAIN = wasmtime.wat2wasm(_WAT % '(@custom "icp:public candid:service" "service : {}")')
EOP_MODULE = wasmtime.wat2wasm(_WAT % EOP)
EMPTY = wasmtime.wat2wasm("(module)")


def install(ctx, canister, wasm=PLAIN, mode=None, arg=b"hello", caller=None):
    return ctx.call(
        "install_code",
        {
            "mode": mode or {"install": None},
            "canister_id": canister.canister_id,
            "wasm_module": wasm,
            "arg": arg,
            "sender_canister_version": [],
        },
        caller or ctx.USER,
    )


def test_install_runs_init_and_records_the_deployment(ctx):
    canister = ctx.create()
    assert install(ctx, canister) == ()
    assert canister.module.module_hash == hashlib.sha256(PLAIN).digest()
    assert canister.certified_data == b"hello"
    assert canister.global_timer == 5
    assert canister.execution.heap[100] == 42
    assert canister.version == 1 and canister.last_install_time == ctx.time
    assert [r.content for r in canister.logs] == [b"hello"]
    assert canister.history[-1] == CanisterChange(
        ctx.time,
        1,
        {"from_user": {"user_id": ctx.USER}},
        {
            "code_deployment": {
                "mode": {"install": None},
                "module_hash": canister.module.module_hash,
            }
        },
    )
    assert ctx.instructions_charged > 0


def test_install_gzipped_module_hashes_the_gzip(ctx):
    canister = ctx.create()
    packed = gzip.compress(PLAIN)
    assert install(ctx, canister, packed) == ()
    assert canister.module.module_hash == hashlib.sha256(packed).digest()


def test_install_on_non_empty_canister_is_rejected(ctx):
    canister = ctx.create()
    install(ctx, canister)
    result = install(ctx, canister)
    assert isinstance(result, Reject) and result.error_code == "IC0514"
    assert "Try installing with mode='reinstall' instead." in result.message


def test_install_by_non_controller_is_rejected(ctx):
    canister = ctx.create()
    result = install(ctx, canister, caller=ctx.OTHER)
    assert isinstance(result, Reject) and result.error_code == "IC0512"
    assert canister.is_empty


def test_invalid_module_is_rejected_with_ic0505(ctx):
    canister = ctx.create()
    result = install(ctx, canister, b"\x00asm\x01\x00\x00\x00\xff")
    assert isinstance(result, Reject) and result.error_code == "IC0505"
    assert "Canister's Wasm module is not valid" in result.message
    assert canister.is_empty and canister.version == 0


def test_trap_in_init_leaves_the_canister_unchanged(ctx):
    canister = ctx.create()
    result = install(ctx, canister, arg=b"tboom")
    assert isinstance(result, Reject) and result.error_code == "IC0503"
    assert result.code is RejectCode.CANISTER_ERROR
    assert "Canister called `ic0.trap` with message: 'tboom'" in result.message
    assert canister.is_empty and canister.version == 0 and not canister.history[1:]


def test_install_needs_cycles_for_the_install_execution(ctx):
    canister = ctx.create(balance=1_000)
    result = install(ctx, canister)
    assert isinstance(result, Reject) and result.error_code == "IC0207"
    assert result.message.startswith("Canister installation failed with `Canister ")


def test_module_without_system_exports_installs(ctx):
    canister = ctx.create()
    assert install(ctx, canister, EMPTY) == ()
    assert canister.certified_data == b"" and canister.global_timer == 0


def test_reinstall_replaces_state_and_clears_logs_and_certified_data(ctx):
    canister = ctx.create()
    install(ctx, canister)
    canister.execution = canister.execution.__class__(
        canister.execution.heap, canister.execution.globals, b"\x01" * 65536
    )
    assert install(ctx, canister, EMPTY, {"reinstall": None}) == ()
    assert canister.certified_data == b"" and canister.logs == []
    assert bytes(canister.execution.stable_memory) == b""
    assert canister.next_log_idx == 1  # indices keep counting


def test_upgrade_keeps_stable_memory_and_resets_timer(ctx):
    canister = ctx.create()
    install(ctx, canister)
    mode = {"upgrade": [{"skip_pre_upgrade": [], "wasm_memory_persistence": []}]}
    assert install(ctx, canister, PLAIN, mode, b"again") == ()
    assert canister.execution.stable_memory[:3] == b"pre"
    assert canister.execution.heap[100] == 0  # heap replaced
    assert canister.global_timer == 0
    assert canister.certified_data == b"again"
    assert [r.content for r in canister.logs] == [b"hello", b"again"]  # logs kept
    assert canister.history[-1].details["code_deployment"]["mode"] == {"upgrade": None}
    assert canister.version == 2


def test_upgrade_of_empty_canister_is_rejected(ctx):
    canister = ctx.create()
    result = install(ctx, canister, PLAIN, {"upgrade": []})
    assert isinstance(result, Reject) and result.error_code == "IC0537"


def test_trap_in_pre_upgrade_fails_unless_skipped(ctx):
    canister = ctx.create()
    install(ctx, canister)
    heap = bytearray(bytes(canister.execution.heap))
    heap[101] = 1
    canister.execution = canister.execution.__class__(bytes(heap), canister.execution.globals, b"")
    failed = install(ctx, canister, PLAIN, {"upgrade": []}, b"x")
    assert isinstance(failed, Reject) and failed.error_code == "IC0503"
    assert canister.version == 1
    skip = {"upgrade": [{"skip_pre_upgrade": [True], "wasm_memory_persistence": []}]}
    assert install(ctx, canister, PLAIN, skip, b"x") == ()
    assert bytes(canister.execution.stable_memory) == b""


def test_upgrade_with_keep_preserves_the_heap(ctx):
    canister = ctx.create()
    install(ctx, canister, EOP_MODULE)
    keep = {"upgrade": [{"skip_pre_upgrade": [], "wasm_memory_persistence": [{"keep": None}]}]}
    assert install(ctx, canister, EOP_MODULE, keep, b"kept") == ()
    replace = {
        "upgrade": [{"skip_pre_upgrade": [], "wasm_memory_persistence": [{"replace": None}]}]
    }
    lost = install(ctx, canister, EOP_MODULE, replace, b"kept")
    assert isinstance(lost, Reject) and lost.error_code == "IC0503"


def test_enhanced_orthogonal_persistence_requires_the_option(ctx):
    canister = ctx.create()
    install(ctx, canister, EOP_MODULE)
    missing = install(ctx, canister, EOP_MODULE, {"upgrade": []}, b"x")
    assert isinstance(missing, Reject) and missing.error_code == "IC0504"
    assert missing.message.startswith("Missing upgrade option: Enhanced orthogonal persistence")
    other = ctx.create()
    install(ctx, other, PLAIN)
    keep = {"upgrade": [{"skip_pre_upgrade": [], "wasm_memory_persistence": [{"keep": None}]}]}
    invalid = install(ctx, other, PLAIN, keep, b"x")
    assert isinstance(invalid, Reject)
    assert invalid.message.startswith("Invalid upgrade option: The `wasm_memory_persistence")


def test_wasm_memory_limit_applies_to_init(ctx):
    canister = ctx.create(wasm_memory_limit=1000)
    result = install(ctx, canister)
    assert isinstance(result, Reject) and result.code is RejectCode.CANISTER_ERROR
    assert canister.is_empty


def test_uninstall_empties_the_canister_and_rejects_open_contexts(ctx):
    canister = ctx.create()
    install(ctx, canister)
    canister.chunk_store[b"h" * 32] = b"chunk"
    assert ctx.call("uninstall_code", {"canister_id": canister.canister_id}) == ()
    assert canister.is_empty and canister.execution is None
    assert canister.certified_data == b"" and canister.logs == [] and not canister.chunk_store
    assert canister.history[-1].details == {"code_uninstall": None}
    ((cid, reject),) = ctx.rejected_contexts
    assert cid == canister.canister_id and reject.code is RejectCode.CANISTER_REJECT
    assert reject.message == "Canister has been uninstalled."


def _chunks(ctx, canister, data, size):
    hashes = []
    for i in range(0, len(data), size):
        reply = ctx.call(
            "upload_chunk", {"canister_id": canister.canister_id, "chunk": data[i : i + size]}
        )
        hashes.append(reply)
    return hashes


def test_install_chunked_code_assembles_chunks(ctx):
    canister = ctx.create()
    hashes = _chunks(ctx, canister, PLAIN, 100)
    stored = ctx.call("stored_chunks", {"canister_id": canister.canister_id})
    assert sorted(h["hash"] for h in stored) == sorted(h["hash"] for h in hashes)
    result = ctx.call(
        "install_chunked_code",
        {
            "mode": {"install": None},
            "target_canister": canister.canister_id,
            "store_canister": [],
            "chunk_hashes_list": hashes,
            "wasm_module_hash": hashlib.sha256(PLAIN).digest(),
            "arg": b"chunky",
            "sender_canister_version": [],
        },
    )
    assert result == ()
    assert canister.certified_data == b"chunky"


def test_install_chunked_code_rejects_missing_chunk_and_wrong_hash(ctx):
    canister = ctx.create()
    hashes = _chunks(ctx, canister, PLAIN, 1000)
    args = {
        "mode": {"install": None},
        "target_canister": canister.canister_id,
        "store_canister": [],
        "chunk_hashes_list": [*hashes, {"hash": bytes(32)}],
        "wasm_module_hash": hashlib.sha256(PLAIN).digest(),
        "arg": b"",
        "sender_canister_version": [],
    }
    missing = ctx.call("install_chunked_code", args)
    assert isinstance(missing, Reject) and missing.error_code == "IC0504"
    assert missing.message.startswith("Error from Wasm chunk store: Chunk hash [0, 0,")
    wrong = ctx.call(
        "install_chunked_code", {**args, "chunk_hashes_list": hashes, "wasm_module_hash": bytes(32)}
    )
    assert isinstance(wrong, Reject) and "does not match given hash" in wrong.message


def test_install_chunked_code_from_another_store_needs_its_control(ctx):
    target = ctx.create()
    store = ctx.create(caller=ctx.OTHER)
    ctx.call("upload_chunk", {"canister_id": store.canister_id, "chunk": PLAIN}, ctx.OTHER)
    hashes = [{"hash": hashlib.sha256(PLAIN).digest()}]
    args = {
        "mode": {"install": None},
        "target_canister": target.canister_id,
        "store_canister": [store.canister_id],
        "chunk_hashes_list": hashes,
        "wasm_module_hash": hashlib.sha256(PLAIN).digest(),
        "arg": b"x",
        "sender_canister_version": [],
    }
    refused = ctx.call("install_chunked_code", args)
    assert isinstance(refused, Reject) and refused.error_code == "IC0512"
    store.settings = store.settings.__class__((ctx.OTHER, ctx.USER))
    assert ctx.call("install_chunked_code", args) == ()


def test_upload_chunk_limits(ctx):
    canister = ctx.create()
    big = ctx.call(
        "upload_chunk", {"canister_id": canister.canister_id, "chunk": b"x" * (1024 * 1024 + 1)}
    )
    assert isinstance(big, Reject) and "exceeds the maximum chunk size of 1048576" in big.message
    for i in range(100):
        canister.chunk_store[i.to_bytes(32, "big")] = b""
    full = ctx.call("upload_chunk", {"canister_id": canister.canister_id, "chunk": b"new"})
    assert isinstance(full, Reject) and "maximum number of entries, 100" in full.message
    assert ctx.call("clear_chunk_store", {"canister_id": canister.canister_id}) == ()
    assert canister.chunk_store == {}


def test_canister_itself_may_use_its_chunk_store(ctx):
    canister = ctx.create()
    cid = canister.canister_id
    reply = ctx.call("upload_chunk", {"canister_id": cid, "chunk": b"abc"}, cid, ingress=False)
    assert reply == {"hash": hashlib.sha256(b"abc").digest()}
    refused = ctx.call("stored_chunks", {"canister_id": cid}, ctx.OTHER)
    assert isinstance(refused, Reject) and refused.error_code == "IC0512"


@pytest.mark.parametrize("persistence", [[], [{"replace": None}]])
def test_upgrade_from_plain_module_accepts_replace_or_nothing(ctx, persistence):
    canister = ctx.create()
    install(ctx, canister)
    mode = {"upgrade": [{"skip_pre_upgrade": [], "wasm_memory_persistence": persistence}]}
    assert install(ctx, canister, PLAIN, mode, b"y") == ()
