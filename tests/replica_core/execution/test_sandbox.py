"""The execution sandbox: persistence between executions, traps, limits, entry points,
the compiled-module cache, and a moc-compiled canister end to end."""

from __future__ import annotations

import struct
from dataclasses import replace
from pathlib import Path

import pytest
import wasmtime

from replica_core.candid import NAT, decode, encode
from replica_core.execution import wasmtime_fast as fast
from replica_core.execution.interface import (
    Context,
    EntryCall,
    EntryKind,
    TrapKind,
)
from replica_core.execution.persistence_instrumentation import export_state
from replica_core.execution.sandbox import (
    MAX_WASM64_MEMORY,
    ModuleCache,
    execute,
    initial_state,
)
from replica_core.execution.validation import validate_module
from replica_core.execution.wasm_binary import InvalidWasm
from replica_core.principal import Principal

WAT_DIR = Path(__file__).parent / "wat"
COUNTER = (WAT_DIR / "counter.wat").read_text()
BUILD = Path(__file__).parents[2] / "canisters" / "build"


def i64(outcome) -> int:  # type: ignore[no-untyped-def]
    assert outcome.trap is None, outcome.trap
    return struct.unpack("<q", outcome.response.payload)[0]


# --- persistence ---------------------------------------------------------------------------


@pytest.mark.parametrize("is_64", [False, True], ids=["wasm32", "wasm64"])
def test_start_function_runs_at_install_and_globals_persist_across_executions(wat_canister, is_64):
    canister = wat_canister(COUNTER, is_64=is_64)
    assert canister.state.globals == (10, 0.5)
    assert i64(canister.update("inc")) == 11
    assert i64(canister.update("inc")) == 12
    assert canister.state.globals == (12, 2.0)
    assert i64(canister.query("get")) == 12


@pytest.mark.parametrize("is_64", [False, True], ids=["wasm32", "wasm64"])
def test_heap_growth_persists_across_executions(wat_canister, is_64):
    canister = wat_canister(COUNTER, is_64=is_64)
    assert i64(canister.update("grow")) == 1
    assert len(canister.state.heap) == 2 * 65536
    assert i64(canister.query("size")) == 2


def test_heap_contents_persist_across_executions(wat_canister):
    canister = wat_canister(
        """
        (func (export "canister_update write")
          (i32.store (i32.const 70000) (i32.const 0xabcdef))
          (call $reply_i32 (i32.const 0)))
        (func (export "canister_query read")
          (call $reply_i32 (i32.load (i32.const 70000))))
        """,
        memory_pages=2,
    )
    assert canister.query("read").response.payload == bytes(4)
    canister.update("write")
    assert canister.query("read").response.payload == (0xABCDEF).to_bytes(4, "little")


def test_queries_never_persist_state(wat_canister):
    canister = wat_canister(COUNTER)
    before = canister.state
    outcome = canister.run(EntryKind.QUERY, Context.RQ, "get")
    assert outcome.trap is None and outcome.state is None
    # An update method run as a query: no state comes back even though it changed it.
    outcome = canister.run(EntryKind.UPDATE, Context.NRQ, "inc")
    assert i64(outcome) == 11 and outcome.state is None
    assert canister.state is before


def test_stable_memory_is_not_copied_when_only_read(wat_canister):
    canister = wat_canister(
        """
        (func (export "canister_update grow")
          (drop (call $ic0.stable64_grow (i64.const 1)))
          (call $reply_i32 (i32.const 0)))
        (func (export "canister_update read")
          (call $ic0.stable64_read (i64.const 0) (i64.const 0) (i64.const 8))
          (call $reply_i32 (i32.const 0)))
        """
    )
    canister.update("grow")
    stable = canister.state.stable_memory
    assert len(stable) == 65536
    canister.update("read")
    assert canister.state.stable_memory is stable


# --- traps and rollback ----------------------------------------------------------------------


def test_trap_rolls_back_state_but_keeps_logs_and_instructions(wat_canister):
    canister = wat_canister(
        """
        (data (i32.const 0) "before trap")
        (global $g (mut i32) (i32.const 0))
        (func (export "canister_update boom")
          (global.set $g (i32.const 5))
          (call $ic0.debug_print (i32.const 0) (i32.const 11))
          (unreachable))
        """
    )
    before = canister.state
    outcome = canister.update("boom")
    assert outcome.trap is not None
    assert outcome.trap.kind is TrapKind.CANISTER_TRAP
    assert outcome.trap.message == "Canister trapped: unreachable"
    assert outcome.state is None and outcome.response is None
    assert [r.content for r in outcome.logs] == [b"before trap", b"[TRAP]: unreachable"]
    assert outcome.instructions > 0
    assert canister.state is before and before.globals == (0,)


def test_wasm_traps_use_the_ic_descriptions(wat_canister):
    canister = wat_canister(
        """
        (func (export "canister_update div")
          (drop (i32.div_u (i32.const 1) (i32.const 0))))
        (func (export "canister_update oob")
          (drop (i32.load (i32.const 70000))))
        """
    )
    assert canister.update("div").trap.message == "Canister trapped: integer division by 0"
    assert canister.update("oob").trap.message == "Canister trapped: heap out of bounds"


def test_replies_and_calls_of_a_trapping_execution_are_discarded(wat_canister):
    canister = wat_canister(
        """
        (func (export "canister_update f")
          (call $ic0.msg_reply)
          (unreachable))
        """
    )
    outcome = canister.update("f")
    assert outcome.trap is not None and outcome.response is None


# --- instruction limits ----------------------------------------------------------------------


def test_exceeding_the_instruction_limit_traps_as_out_of_instructions(wat_canister):
    canister = wat_canister(
        """
        (func (export "canister_update spin")
          (loop $l (br $l)))
        """
    )
    outcome = canister.update("spin", instruction_limit=100_000)
    assert outcome.trap is not None
    assert outcome.trap.kind is TrapKind.OUT_OF_INSTRUCTIONS
    assert outcome.trap.message == (
        "Canister exceeded the limit of 100000 instructions for single message execution."
    )
    assert outcome.instructions == 100_000


def test_instruction_count_is_deterministic(wat_canister):
    canister = wat_canister(COUNTER)
    counts = {canister.run(EntryKind.QUERY, Context.NRQ, "get").instructions for _ in range(3)}
    assert len(counts) == 1 and counts.pop() > 0


# --- memory limits ---------------------------------------------------------------------------


def test_exceeding_wasm_memory_limit_in_an_update_traps_with_the_ic_message(
    wat_canister, env_factory
):
    canister = wat_canister(COUNTER)
    outcome = canister.update("grow", env=env_factory(wasm_memory_limit=100_000))
    assert outcome.trap is not None
    assert outcome.trap.kind is TrapKind.OUT_OF_MEMORY
    assert outcome.trap.message.startswith(
        "Canister exceeded its current Wasm memory limit of 100000 bytes. "
        "The peak Wasm memory usage was 131072 bytes."
    )
    assert outcome.state is None


def test_wasm_memory_limit_is_not_enforced_in_queries(wat_canister, env_factory):
    canister = wat_canister(COUNTER)
    outcome = canister.run(
        EntryKind.UPDATE, Context.NRQ, "grow", env=env_factory(wasm_memory_limit=100_000)
    )
    assert i64(outcome) == 1


def test_memory_grow_returns_minus_one_at_the_declared_maximum():
    wasm = wasmtime.wat2wasm(
        """(module
          (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
          (import "ic0" "msg_reply" (func $reply))
          (memory 1 2)
          (func (export "canister_update grow")
            (i32.store (i32.const 0) (memory.grow (i32.const 1)))
            (call $append (i32.const 0) (i32.const 4))
            (call $reply)))"""
    )
    cache = ModuleCache()
    module = cache.get(validate_module(wasm).wasm)
    env = _env()
    state = initial_state(module, env).state
    assert state is not None
    first = execute(module, state, EntryCall(EntryKind.UPDATE, Context.U, "grow"), env)
    assert first.response.payload == (1).to_bytes(4, "little")
    second = execute(module, first.state, EntryCall(EntryKind.UPDATE, Context.U, "grow"), env)
    assert second.response.payload == (-1).to_bytes(4, "little", signed=True)


def test_wasm64_memory_grow_returns_minus_one_past_6_gib(wat_canister):
    canister = wat_canister(
        """
        (func (export "canister_update grow")
          (call $reply_i64 (memory.grow (i64.const {pages}))))
        """.replace("{pages}", str(MAX_WASM64_MEMORY // 65536)),
        is_64=True,
    )
    assert i64(canister.update("grow")) == -1


# --- entry points ----------------------------------------------------------------------------


def test_missing_method_traps_with_no_export(wat_canister):
    canister = wat_canister(COUNTER)
    outcome = canister.update("nope")
    assert outcome.trap is not None
    assert outcome.trap.kind is TrapKind.NO_EXPORT
    assert outcome.trap.message == "Canister has no update method 'nope'"
    query = canister.query("inc")  # exported as an update, not a query
    assert query.trap.message == "Canister has no query method 'inc'"


def test_missing_optional_system_entry_points_do_nothing(wat_canister):
    canister = wat_canister(COUNTER)
    for kind, context in [
        (EntryKind.INIT, Context.I),
        (EntryKind.HEARTBEAT, Context.T),
        (EntryKind.GLOBAL_TIMER, Context.T),
        (EntryKind.PRE_UPGRADE, Context.G),
    ]:
        outcome = canister.run(kind, context)
        assert outcome.trap is None and outcome.response is None


def test_without_inspect_message_export_every_message_is_accepted(wat_canister):
    canister = wat_canister(COUNTER)
    outcome = canister.run(EntryKind.INSPECT_MESSAGE, Context.F, "inc")
    assert outcome.trap is None and outcome.message_accepted


@pytest.mark.parametrize("is_64", [False, True], ids=["wasm32", "wasm64"])
def test_reply_callback_is_table_function_called_with_env(wat_canister, is_64):
    canister = wat_canister(
        """
        (table 2 funcref)
        (elem (i32.const 1) $on_reply)
        (func $on_reply (param $env {I})
          (call $reply_i64 (call $to_i64 (local.get $env))))
        """,
        is_64=is_64,
    )
    outcome = canister.callback(EntryKind.REPLY_CALLBACK, Context.Ry, 1, 0xFFFF_FFF0)
    assert i64(outcome) == 0xFFFF_FFF0
    missing = canister.callback(EntryKind.REPLY_CALLBACK, Context.Ry, 0)
    assert missing.trap is not None
    assert missing.trap.message == (
        "Canister requested to invoke a non-existent Wasm function 0 from table 0"
    )


# --- module cache and instrumentation --------------------------------------------------------


def _env():  # type: ignore[no-untyped-def]
    from replica_core.execution.interface import Environment

    return Environment(
        canister_id=Principal.from_canister_index(1),
        subnet_id=Principal(b"\x01"),
        time=1,
        controllers=(),
        status=1,
        version=0,
        balance=0,
        liquid_balance=0,
        certified_data=b"",
        global_timer=0,
        root_key=b"",
    )


def test_module_cache_compiles_once_and_evicts_least_recently_used():
    cache = ModuleCache(capacity=2)
    modules = [
        wasmtime.wat2wasm(f'(module (func (export "canister_update m{i}")))') for i in range(3)
    ]
    first = cache.get(modules[0])
    assert cache.get(modules[0]) is first
    cache.get(modules[1])
    cache.get(modules[0])  # most recently used
    cache.get(modules[2])  # evicts modules[1]
    assert len(cache) == 2
    assert cache.get(modules[0]) is first


def test_module_cache_reloads_serialized_code_from_its_directory(tmp_path):
    wasm = validate_module(
        wasmtime.wat2wasm(
            """(module (import "ic0" "msg_reply" (func $reply)) (memory 1)
                 (global $g (mut i32) (i32.const 4))
                 (func (export "canister_query q") (call $reply)))"""
        )
    ).wasm
    first = ModuleCache(cache_dir=tmp_path).get(wasm)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".cwasm", ".json"]
    reloaded = ModuleCache(cache_dir=tmp_path).get(wasm)
    assert reloaded.globals == first.globals and reloaded.is_64 == first.is_64
    state = initial_state(reloaded, _env()).state
    assert state is not None and state.globals == (4,)
    outcome = execute(reloaded, state, EntryCall(EntryKind.QUERY, Context.NRQ, "q"), _env())
    assert outcome.trap is None and outcome.response.payload == b""


def test_persistence_pass_rejects_the_reserved_export_namespace():
    wasm = wasmtime.wat2wasm('(module (memory (export "icbox:memory") 1))')
    with pytest.raises(InvalidWasm, match="reserved"):
        export_state(wasm)


def test_persistence_pass_exports_memory_table_and_mutable_globals_only():
    wasm = wasmtime.wat2wasm(
        """(module (memory 1) (table 1 funcref)
             (global (mut i32) (i32.const 1)) (global i64 (i64.const 2))
             (global (mut f32) (f32.const 3)))"""
    )
    persisted = export_state(wasm)
    assert persisted.memory_export == "icbox:memory"
    assert persisted.table_export == "icbox:table"
    assert persisted.globals == (("icbox:global:0", "i32"), ("icbox:global:2", "f32"))
    names = [e.name for e in wasmtime.Module(wasmtime.Engine(), persisted.wasm).exports]
    assert names == ["icbox:memory", "icbox:table", "icbox:global:0", "icbox:global:2"]


def test_fast_wasmtime_helpers_agree_with_the_public_api():
    store = wasmtime.Store()
    module = wasmtime.Module(
        store.engine,
        """(module (global (export "a") (mut i64) (i64.const -5))
                   (global (export "b") (mut f64) (f64.const 1.5))
                   (memory (export "m") 2)
                   (func (export "f") (param i32) (global.set 0 (i64.extend_i32_s (local.get 0)))))""",
    )
    instance = wasmtime.Instance(store, module, [])
    a = fast.export_global(store, instance, "a")
    assert fast.global_get(store, a, "i64") == instance.exports(store)["a"].value(store) == -5
    fast.global_set(store, fast.export_global(store, instance, "b"), "f64", 2.25)
    assert instance.exports(store)["b"].value(store) == 2.25
    fast.call(store, fast.export_func(store, instance, "f"), (-7,), "i32")
    assert instance.exports(store)["a"].value(store) == -7
    memory = instance.exports(store)["m"]
    assert fast.memory_size(store, memory) == memory.data_len(store) == 2 * 65536
    assert fast.export(store, instance, "missing") is None
    with pytest.raises(KeyError):
        fast.export_func(store, instance, "a")


# --- a moc canister end to end ---------------------------------------------------------------


def _manifest_wasm(flavour: str, name: str) -> bytes:
    path = BUILD / flavour / f"{name}.wasm"
    if not path.exists():
        pytest.skip(f"{path} is not built")
    return path.read_bytes()


@pytest.mark.parametrize("flavour", ["base", "core"], ids=["moc-wasm32", "moc-wasm64"])
def test_moc_counter_installs_increments_and_answers_queries(flavour, module_cache):
    validated = validate_module(_manifest_wasm(flavour, "counter"))
    module = module_cache.get(validated.wasm)
    assert module.is_64 == (flavour == "core")
    env = replace(_env(), balance=10**12, liquid_balance=10**12)
    no_args = encode([], [])
    installed = initial_state(module, env)
    assert installed.trap is None, installed.trap
    init = execute(module, installed.state, EntryCall(EntryKind.INIT, Context.I, arg=no_args), env)
    assert init.trap is None, init.trap
    state = init.state
    for expected in (1, 2):
        call = EntryCall(EntryKind.UPDATE, Context.U, "inc", arg=no_args)
        outcome = execute(module, state, call, env)
        assert outcome.trap is None, outcome.trap
        assert decode(outcome.response.payload, [NAT]) == [expected]
        state = outcome.state
    query = EntryCall(EntryKind.QUERY, Context.NRQ, "get", arg=no_args)
    reply = execute(module, state, query, env)
    assert reply.trap is None, reply.trap
    assert decode(reply.response.payload, [NAT]) == [2]
