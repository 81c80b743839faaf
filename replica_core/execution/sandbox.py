"""The execution sandbox: running one entry point of a canister under wasmtime.

Spec: IC interface spec 0.66.0, Abstract behavior › Abstract canisters (a canister is a
function from state, message and environment to a trap or new state plus effects) and
The System API › Entry points, Traps, Memory.

`execute(module, state, call, env)` never raises for anything the canister does: wasmtime
traps, ic0 contract violations and resource exhaustion become a `Trap` in the
`ExecutionOutcome` (DESIGN.md: this is the one place that converts wasmtime's errors).
Each execution gets a fresh `wasmtime.Store` and instance (cheap: instantiation is
pre-linked) — or, for an execution whose state is kept, the instance a previous successful
execution left holding exactly that state (`CompiledModule.take_warm`, only for modules
whose instance state is entirely heap and globals; impl) — then

1. the heap (a `PageMap`) is grown to the saved size and its pages that differ from
   the module's image are copied in (`_load_heap`), the persisted globals are restored
   and the instruction counter is set to `call.instruction_limit`;
2. the entry point runs: an export (`canister_update <name>`, `canister_init`, the former
   start function, ...) or, for callbacks, a function of table 0 called with its env;
3. on success the pages the execution may have written (`dirty_pages.py`; on a warm
   instance exactly those it wrote, `write_tracking.py`) are read back into a new
   version of the heap sharing every other page, and the globals are read,
   giving a new `ExecutionState` (stable memory is a new version only if the execution
   wrote it); on a trap `state` is None, the logs are kept and the instructions charged.

Queries (`RQ`, `NRQ`, `TQ`) and `canister_inspect_message` never persist state, so their
outcome has `state=None` even on success; composite queries and their callbacks return
their state, which the query executor carries between callbacks and then drops (impl).

Memory limits: the store limits linear memory to the architecture's maximum (4 GiB for
wasm32, 6 GiB for wasm64), past which `memory.grow` returns -1. A non-zero
`wasm_memory_limit` is enforced, as on the IC, only for `canister_init`/
`canister_post_upgrade`, the start function and update methods: if the heap ends larger
than the limit, the execution fails with the IC's `WasmMemoryLimitExceeded` message
(impl: checked when the entry point returns, so it has the effect of a trap).
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable
from dataclasses import dataclass

import wasmtime

from replica_core.execution import wasmtime_fast as fast
from replica_core.execution.interface import (
    Context,
    EntryCall,
    EntryKind,
    Environment,
    ExecutionOutcome,
    ExecutionState,
    Trap,
    TrapKind,
)
from replica_core.execution.metering import COUNTER_EXPORT, MAX_BUDGET
from replica_core.execution.module_cache import CompiledModule, ModuleCache
from replica_core.execution.page_map import EMPTY_PAGE_MAP, PageDelta, PageMap
from replica_core.execution.page_map import PAGE_SIZE as HOST_PAGE
from replica_core.execution.system_api import HostTrap, SystemApi
from replica_core.execution.system_api.base import PAGE_SIZE
from replica_core.execution.write_tracking import MemoryWatch

__all__ = [
    "MAX_WASM32_MEMORY",
    "MAX_WASM64_MEMORY",
    "CompiledModule",
    "ModuleCache",
    "execute",
    "initial_state",
]

MAX_WASM32_MEMORY = 4 * 1024**3  # resource-limits.md: Wasm heap 4 GiB (wasm32)
MAX_WASM64_MEMORY = 6 * 1024**3  # resource-limits.md: Wasm heap 6 GiB (wasm64)
INSTALL_INSTRUCTION_LIMIT = 300_000_000_000  # resource-limits.md: install/upgrade 300 B

_OUT_OF_INSTRUCTIONS = (
    "Canister exceeded the limit of {limit} instructions for single message execution."
)
# Contexts whose state changes persist (the scheduler commits them) or, for composite
# queries, are carried between the query's callbacks.
_STATE_CONTEXTS = frozenset({"s", "I", "G", "U", "Ry", "Rt", "C", "T", "CQ", "CRy", "CRt", "CC"})
_MEMORY_LIMIT_CONTEXTS = frozenset({"s", "I", "U"})
_METHOD_EXPORTS = {
    EntryKind.UPDATE: ("canister_update ", "update"),
    EntryKind.QUERY: ("canister_query ", "query"),
    EntryKind.COMPOSITE_QUERY: ("canister_composite_query ", "composite_query"),
}
_CALLBACKS = frozenset({EntryKind.REPLY_CALLBACK, EntryKind.REJECT_CALLBACK, EntryKind.CLEANUP})
_WASM_TRAP_PREFIX = "Canister trapped: "
_CHUNK_PAGES = 16  # pages compared at once by `_differing_pages`
# How the IC describes Wasm traps (impl: dfinity/ic TrapCode's Display).
_TRAP_DESCRIPTIONS = {
    wasmtime.TrapCode.STACK_OVERFLOW: "stack overflow",
    wasmtime.TrapCode.MEMORY_OUT_OF_BOUNDS: "heap out of bounds",
    wasmtime.TrapCode.HEAP_MISALIGNED: "heap out of bounds",
    wasmtime.TrapCode.TABLE_OUT_OF_BOUNDS: "table out of bounds",
    wasmtime.TrapCode.INDIRECT_CALL_TO_NULL: "table out of bounds",
    wasmtime.TrapCode.INTEGER_DIVISION_BY_ZERO: "integer division by 0",
    wasmtime.TrapCode.UNREACHABLE: "unreachable",
    wasmtime.TrapCode.INTEGER_OVERFLOW: "integer overflow",
    wasmtime.TrapCode.BAD_CONVERSION_TO_INTEGER: "invalid conversion to integer",
    wasmtime.TrapCode.BAD_SIGNATURE: "indirect call signature mismatch",
}


def execute(
    module: CompiledModule, state: ExecutionState, call: EntryCall, env: Environment
) -> ExecutionOutcome:
    """Run one entry point of `module` on `state`; see the module docstring."""
    api = SystemApi(call, env, state.stable_memory, module.is_64)
    budget = min(max(call.instruction_limit, 0), MAX_BUDGET)

    # 1. A fresh instance with the canister's state, or the warm one holding exactly it
    # (only for executions whose state is kept: others would leave it changed).
    persists = api.context in _STATE_CONTEXTS
    live: _Live | Trap | None = module.take_warm(state) if persists else None
    if live is None:
        live = _fresh_instance(module, state)
        if isinstance(live, Trap):
            return ExecutionOutcome(trap=live, state=None)
    elif live.watch is not None and live.memory is not None:  # track this execution's writes
        live.watch.arm(
            fast.data_address(live.store, live.memory), fast.memory_size(live.store, live.memory)
        )
    assert isinstance(live, _Live)
    store, instance, counter, memory = live.store, live.instance, live.counter, live.memory
    persisted = live.persisted
    fast.global_set(store, counter, "i64", budget)
    api.memory = memory
    api.counter = counter

    # 2. The entry point.
    trap = _run(module, api, store, instance, call)
    left = int(fast.global_get(store, counter, "i64")) - api.pending_charge
    instructions = budget if left < 0 else budget - left
    if left < 0:  # over budget, whatever else happened (as the IC classifies it)
        trap = Trap(
            TrapKind.OUT_OF_INSTRUCTIONS, _OUT_OF_INSTRUCTIONS.format(limit=call.instruction_limit)
        )
    heap_size = fast.memory_size(store, memory) if memory is not None else 0
    if trap is None and env.wasm_memory_limit and api.context in _MEMORY_LIMIT_CONTEXTS:
        if heap_size > env.wasm_memory_limit:
            trap = Trap(
                TrapKind.OUT_OF_MEMORY, _memory_limit_message(env.wasm_memory_limit, heap_size)
            )
    if (
        trap is not None
        and trap.kind is TrapKind.CANISTER_TRAP
        and trap.message.startswith(_WASM_TRAP_PREFIX)
    ):
        api.log(b"[TRAP]: " + trap.message[len(_WASM_TRAP_PREFIX) :].encode())  # as the IC
    logs = tuple(api.logs)
    if trap is not None:
        return ExecutionOutcome(trap=trap, state=None, logs=logs, instructions=instructions)

    # 3. The new state and the effects.
    new_state = None
    if persists:
        values = fast.globals_get(store, persisted, live.value_types)
        stable = api.stable
        new_state = ExecutionState(
            heap=(
                _read_heap(module, store, memory, state.heap, live.watch)
                if memory is not None
                else EMPTY_PAGE_MAP
            ),
            globals=tuple(values),
            stable_memory=stable.freeze() if isinstance(stable, PageDelta) else stable,
        )
        module.keep_warm(new_state, live)  # its heap and globals are now exactly new_state
    return ExecutionOutcome(
        trap=None,
        state=new_state,
        response=api.response,
        calls=tuple(api.calls),
        cycles_accepted=api.cycles_accepted,
        cycles_burned=api.cycles_burned,
        certified_data=api.certified_data,
        global_timer=api.global_timer,
        message_accepted=api.accepted_message or _no_inspect_export(module, call),
        logs=logs,
        instructions=instructions,
    )


@dataclass(frozen=True, slots=True)
class _Live:
    """An instance with the handles the sandbox uses on it."""

    store: wasmtime.Store
    instance: wasmtime.Instance
    counter: wasmtime.Global
    memory: wasmtime.Memory | None
    persisted: tuple[wasmtime.Global, ...]
    value_types: tuple[str, ...]  # of `persisted`
    watch: MemoryWatch | None  # write tracking of `memory`, armed once the instance is warm


def _fresh_instance(module: CompiledModule, state: ExecutionState) -> _Live | Trap:
    """A new store and instance holding `state`'s heap and globals."""
    store = wasmtime.Store(module.runtime.engine)
    store.set_limits(memory_size=MAX_WASM64_MEMORY if module.is_64 else MAX_WASM32_MEMORY)
    try:
        instance = module.pre.instantiate(store)
    except (wasmtime.WasmtimeError, wasmtime.Trap) as e:
        return Trap(TrapKind.OUT_OF_MEMORY, f"Instantiation failed: {e}")
    counter = fast.export_global(store, instance, COUNTER_EXPORT)
    memory: wasmtime.Memory | None = None
    if module.memory_export is not None:
        extern = fast.export(store, instance, module.memory_export)
        assert isinstance(extern, wasmtime.Memory)
        memory = extern
        trap = _load_heap(store, memory, state.heap, module.blank_state().heap)
        if trap is not None:
            return trap
    persisted = tuple(fast.export_global(store, instance, name) for name, _ in module.globals)
    for extern, (_, value_type), value in zip(
        persisted, module.globals, state.globals, strict=True
    ):
        fast.global_set(store, extern, value_type, value)
    value_types = tuple(value_type for _, value_type in module.globals)
    tracker = module.runtime.write_tracker
    watch = (
        MemoryWatch(tracker)
        if tracker is not None and memory is not None and module.reusable
        else None
    )
    return _Live(store, instance, counter, memory, persisted, value_types, watch)


def initial_state(
    module: CompiledModule,
    env: Environment,
    *,
    stable_memory: PageMap | bytes = EMPTY_PAGE_MAP,
    heap: PageMap | bytes | None = None,
    instruction_limit: int = INSTALL_INSTRUCTION_LIMIT,
) -> ExecutionOutcome:
    """Instantiate a module afresh and run its start function (install and upgrade).

    Stable memory is empty on install and the old one on upgrade; `heap` replaces the
    fresh heap when an upgrade keeps the Wasm memory (`wasm_memory_persistence = keep`);
    `bytes` are converted to `PageMap`s. The outcome's `state` is the canister's initial state (if the start function did not
    trap); run `canister_init` or `canister_post_upgrade` on it next.
    """
    blank = module.blank_state()
    state = ExecutionState(
        heap=blank.heap if heap is None else heap,
        globals=blank.globals,
        stable_memory=stable_memory,
    )
    call = EntryCall(kind=EntryKind.START, context=Context.s, instruction_limit=instruction_limit)
    return execute(module, state, call, env)


def _load_heap(
    store: wasmtime.Store, memory: wasmtime.Memory, heap: PageMap, image: PageMap
) -> Trap | None:
    """Grow the fresh memory to the saved size and write the saved heap's pages in.

    The fresh memory already holds `image` (the module's initial heap) followed by zeros,
    and writing a page of it costs a copy-on-write fault; so only the pages that are not
    the image's own page objects are copied, and the image pages the heap no longer has
    are zeroed. Nothing is compared.
    """
    current = memory.data_len(store)
    size = len(heap)
    if size > current:
        try:
            memory.grow(store, (size - current + PAGE_SIZE - 1) // PAGE_SIZE)
        except wasmtime.WasmtimeError as e:
            return Trap(TrapKind.OUT_OF_MEMORY, f"Canister cannot restore its Wasm memory: {e}")
    if heap is image:
        return None
    address = fast.data_address(store, memory)
    image_page = image.page
    for index, page in heap.items():
        if image_page(index) is not page:
            ctypes.memmove(address + index * HOST_PAGE, page, len(page))
    heap_page = heap.page
    for index, page in image.items():
        if heap_page(index) is None:
            ctypes.memset(address + index * HOST_PAGE, 0, len(page))
    return None


def _read_heap(
    module: CompiledModule,
    store: wasmtime.Store,
    memory: wasmtime.Memory,
    old: PageMap,
    watch: MemoryWatch | None = None,
) -> PageMap:
    """The heap after a successful execution, as a new version of `old`.

    Only the pages the execution may have written are read back and compared with
    `old`: on a warm instance whose `watch` is armed, exactly the pages it wrote
    (`write_tracking.py`); otherwise those `DirtyPageTracker` flags (every page when the
    process's page table cannot be read). A page equal to its old version or to the
    module's image keeps that page object.
    """
    address = fast.data_address(store, memory)
    size = fast.memory_size(store, memory)
    tracker = module.runtime.dirty_pages
    candidates: Iterable[int] | None
    written = watch.written_runs(address, size) if watch is not None else None
    if written is not None:  # few pages, nearly all changed: no memcmp pass first
        candidates = [index for first, end in written for index in range(first, end)]
    elif size % HOST_PAGE == 0 and len(old) % HOST_PAGE == 0:
        runs = tracker.candidate_runs(address, size)
        candidates = None if runs is None else _differing_pages(address, old, runs)
    else:
        candidates = tracker.candidates(address, size)
    if candidates is None:
        candidates = range((size + HOST_PAGE - 1) // HOST_PAGE)
    image = module.blank_state().heap
    changes: dict[int, bytes | None] = {}
    for index in candidates:
        start = index * HOST_PAGE
        data = ctypes.string_at(address + start, min(HOST_PAGE, size - start))
        previous = old.page(index)
        if previous is None:
            if data.count(0) == len(data):
                continue
        elif previous == data:
            continue
        original = image.page(index)
        changes[index] = original if original is not None and original == data else data
    if not changes and size == len(old):
        return old
    return old.updated(size, changes)


def _differing_pages(address: int, old: PageMap, runs: list[tuple[int, int]]) -> list[int]:
    """The pages of `runs` whose bytes at `address` differ from `old` (whole pages).

    A warm instance's page table flags every page any earlier execution wrote, so most
    candidates are unchanged: each run is compared with `old` in chunks of
    `_CHUNK_PAGES` with one `memcmp` each, and only the pages of a chunk that differs
    are compared one by one (impl).
    """
    compare = fast.memcmp_raw
    found: list[int] = []
    for first, end in runs:
        reference = old.page_run(first, end)
        base = (ctypes.cast(ctypes.c_char_p(reference), ctypes.c_void_p).value or 0) - (
            first * HOST_PAGE
        )
        for low in range(first, end, _CHUNK_PAGES):
            high = min(low + _CHUNK_PAGES, end)
            offset = low * HOST_PAGE
            if not compare(address + offset, base + offset, (high - low) * HOST_PAGE):
                continue
            for index in range(low, high):
                offset = index * HOST_PAGE
                if compare(address + offset, base + offset, HOST_PAGE):
                    found.append(index)
    return found


def _run(
    module: CompiledModule,
    api: SystemApi,
    store: wasmtime.Store,
    instance: wasmtime.Instance,
    call: EntryCall,
) -> Trap | None:
    """Call the entry point with the execution's `SystemApi` installed; the trap, if any."""
    target = _entry_point(module, store, instance, call)
    if isinstance(target, Trap):
        return target
    if target is None:  # an optional system entry point the module does not export
        return None
    func, args = target
    slot = module.runtime.slot
    previous, slot.api = slot.api, api
    try:
        fast.call(store, func, args, "i64" if module.is_64 else "i32")
    except HostTrap as e:
        return e.trap
    except wasmtime.Trap as e:
        description = _TRAP_DESCRIPTIONS.get(e.trap_code) if e.trap_code is not None else None
        if description is None:
            description = e.message.splitlines()[0] if e.message else "unknown"
        return Trap(TrapKind.CANISTER_TRAP, f"{_WASM_TRAP_PREFIX}{description}")
    except wasmtime.WasmtimeError as e:
        return Trap(TrapKind.CANISTER_TRAP, f"{_WASM_TRAP_PREFIX}{e}")
    finally:
        slot.api = previous
        api.caller = None
    return None


def _entry_point(
    module: CompiledModule,
    store: wasmtime.Store,
    instance: wasmtime.Instance,
    call: EntryCall,
) -> tuple[wasmtime.Func, tuple[int, ...]] | Trap | None:
    """The function to call and its arguments, a trap if it does not exist, or None."""
    kind = call.kind
    if kind in _CALLBACKS:
        return _callback(module, store, instance, call)
    if kind is EntryKind.START:
        name = module.start_export
        if name is None:
            return None
    elif kind in _METHOD_EXPORTS:
        prefix, label = _METHOD_EXPORTS[kind]
        name = prefix + call.method_name
        if name not in module.exports:
            return Trap(TrapKind.NO_EXPORT, f"Canister has no {label} method '{call.method_name}'")
    else:
        name = kind.value
        if name not in module.exports:
            return None
    return fast.export_func(store, instance, name), ()


def _callback(
    module: CompiledModule,
    store: wasmtime.Store,
    instance: wasmtime.Instance,
    call: EntryCall,
) -> tuple[wasmtime.Func, tuple[int, ...]] | Trap:
    """A reply/reject/cleanup callback: function `fun` of table 0, called with `env`."""
    callback = call.callback
    if callback is None:
        return Trap(TrapKind.CONTRACT_VIOLATION, f"no callback given for a {call.kind.value}")
    func = None
    if module.table_export is not None:
        table = fast.export(store, instance, module.table_export)
        assert isinstance(table, wasmtime.Table)
        func = table.get(store, callback.fun)
    if not isinstance(func, wasmtime.Func):
        return Trap(
            TrapKind.CANISTER_TRAP,
            f"Canister requested to invoke a non-existent Wasm function {callback.fun} "
            f"from table 0",
        )
    pointer = wasmtime.ValType.i64() if module.is_64 else wasmtime.ValType.i32()
    func_type = func.type(store)
    if list(func_type.params) != [pointer] or list(func_type.results):
        return Trap(
            TrapKind.CANISTER_TRAP,
            f"Canister trapped: function {callback.fun} of table 0 does not have the "
            f"callback signature ({'i64' if module.is_64 else 'i32'}) -> ()",
        )
    return func, (callback.env,)


def _no_inspect_export(module: CompiledModule, call: EntryCall) -> bool:
    """Without a `canister_inspect_message` export every ingress message is accepted."""
    return call.kind is EntryKind.INSPECT_MESSAGE and call.kind.value not in module.exports


def _memory_limit_message(limit: int, peak: int) -> str:
    """The IC's `WasmMemoryLimitExceeded` description."""
    return (
        f"Canister exceeded its current Wasm memory limit of {limit} bytes. "
        f"The peak Wasm memory usage was {peak} bytes. "
        "If the canister reaches 4GiB, then it may stop functioning and may become "
        "unrecoverable. Please reach out to the canister owner to investigate the reason "
        "for the increased memory usage. It might be necessary to move data from the Wasm "
        "memory to the stable memory. If such high Wasm memory usage is expected and safe, "
        "then the developer can increase the Wasm memory limit in the canister settings."
    )
