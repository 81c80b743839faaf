"""Compiled canister modules: instrumented once, compiled once, cached by module hash.

Spec: IC interface spec 0.66.0, The System API › WebAssembly module requirements (the
module the canister runs); compilation and caching are implementation matters (impl).

A `CompiledModule` is a validated module after the two instrumentation passes
(`persistence_instrumentation.export_state`, then `metering.instrument`), compiled by the
shared engine and pre-linked against the ic0 host functions (`wasmtime.InstancePre`), so
each execution only creates a store and instantiates (~30 µs). `ModuleCache` keeps the
most recently used compiled modules in memory (LRU) and, optionally, their serialized
machine code plus metadata in a directory, so a restart deserializes instead of
recompiling (~200x faster). Serialized code only loads into an engine with the same
configuration, so the file names carry a configuration tag.

Warm instances (impl): an instance whose whole mutable state is persisted (heap, mutable
globals; no instruction that changes a table or drops a segment, see
`_instance_state_is_persisted`) is, after a successful execution, indistinguishable from
a fresh instance loaded with the resulting `ExecutionState`. `keep_warm` keeps such an
instance keyed by that state object, and `take_warm` hands it (once) to the next
execution on exactly that state, which then skips instantiation and reloading the heap
and globals. Anything else (a trap, a query, another state) starts from a fresh instance.

The cache is an object owned by the subnet (no module-level state); its `ApiSlot` is how
host functions find the execution running in the current thread.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import wasmtime

from replica_core.execution.dirty_pages import DirtyPageTracker
from replica_core.execution.engine import make_engine
from replica_core.execution.interface import ExecutionState
from replica_core.execution.metering import instrument
from replica_core.execution.page_map import EMPTY_PAGE_MAP, PageMap
from replica_core.execution.persistence_instrumentation import export_state
from replica_core.execution.system_api import ApiSlot, build_linker
from replica_core.execution.wasm_binary import CODE, InvalidWasm, parse_module
from replica_core.execution.wasm_code import decode_function_body
from replica_core.execution.wasm_sections import split_code_section
from replica_core.execution.write_tracking import (
    MemoryWatch,
    WriteTracker,
    reservation_is_mapped,
)
from replica_core.types import Hash

__all__ = ["CODE_CACHE_TAG", "CompiledModule", "ModuleCache", "Runtime"]

CODE_CACHE_TAG = "icbox-sandbox-2"  # bump when instrumentation or engine config changes


class Runtime:
    """The engine, the per-thread execution slot, one linker per pointer width, and the
    trackers the sandbox reads heaps back with: `dirty_pages` (pages written since a
    memory was mapped) and `write_tracker` (pages written since the last scan, for warm
    instances; None where unsupported or when `write_tracking` is off)."""

    __slots__ = ("_callbacks", "dirty_pages", "engine", "linkers", "slot", "write_tracker")

    def __init__(
        self, engine: wasmtime.Engine | None = None, *, write_tracking: bool = True
    ) -> None:
        self.engine = engine if engine is not None else make_engine()
        self.slot = ApiSlot()
        self.dirty_pages = DirtyPageTracker()
        if self.dirty_pages.available and not _tracker_sees_writes(self.engine, self.dirty_pages):
            self.dirty_pages.close()  # then every page is compared
        self.write_tracker: WriteTracker | None = None
        if write_tracking:
            tracker = WriteTracker()
            if tracker.available and _write_tracker_sees_writes(self.engine, tracker):
                self.write_tracker = tracker
            else:
                tracker.close()  # warm instances then use `dirty_pages` too
        linker32, callbacks32 = build_linker(self.engine, False, self.slot)
        linker64, callbacks64 = build_linker(self.engine, True, self.slot)
        self.linkers = {False: linker32, True: linker64}
        self._callbacks = callbacks32 + callbacks64  # kept alive with the linkers


@dataclass(frozen=True, slots=True)
class _Metadata:
    """What the sandbox needs to know about an instrumented module (kept with the code)."""

    is_64: bool
    start_export: str | None
    memory_export: str | None
    table_export: str | None
    globals: tuple[tuple[str, str], ...]
    instruction_count: int
    reusable: bool = False  # see `_instance_state_is_persisted`


# Instructions that change instance state the sandbox does not persist (tables, dropped
# passive segments): a module using any of them always runs on a fresh instance.
_UNPERSISTED_EFFECTS = frozenset(
    {"table.set", "table.grow", "table.fill", "table.copy", "table.init", "elem.drop", "data.drop"}
)
WARM_INSTANCES = 8
"""(impl) Warm instances kept per module (the most recently kept ones)."""


def _instance_state_is_persisted(wasm: bytes) -> bool:
    """Whether no function of `wasm` can change a table or drop a segment, so that an
    instance's mutable state is exactly its heap and mutable globals."""
    try:
        info = parse_module(wasm)
        code = next((s for s in info.sections if s.id == CODE), None)
        for body in split_code_section(code.payload) if code is not None else []:
            for instruction in decode_function_body(body).instructions:
                if instruction.op.name in _UNPERSISTED_EFFECTS:
                    return False
    except (InvalidWasm, ValueError, IndexError):
        return False  # not understood: never reuse
    return True


class CompiledModule:
    """A canister module ready to run: instrumented, compiled and pre-linked."""

    __slots__ = (
        "_blank",
        "_warm",
        "_warm_lock",
        "exports",
        "globals",
        "instruction_count",
        "is_64",
        "memory_export",
        "module",
        "module_hash",
        "pre",
        "reusable",
        "runtime",
        "start_export",
        "table_export",
    )

    def __init__(
        self, module_hash: Hash, module: wasmtime.Module, meta: _Metadata, runtime: Runtime
    ) -> None:
        self.module_hash = module_hash
        self.module = module
        self.runtime = runtime
        self.pre = runtime.linkers[meta.is_64].instantiate_pre(module)
        self.is_64 = meta.is_64
        self.start_export = meta.start_export
        self.memory_export = meta.memory_export
        self.table_export = meta.table_export
        self.globals = meta.globals
        self.instruction_count = meta.instruction_count
        self.reusable = meta.reusable
        self._warm: OrderedDict[int, tuple[ExecutionState, Any]] = OrderedDict()
        self._warm_lock = threading.Lock()
        self.exports = frozenset(
            e.name for e in module.exports if isinstance(e.type, wasmtime.FuncType)
        )
        self._blank: ExecutionState | None = None

    def blank_state(self) -> ExecutionState:
        """The state of a fresh instance before its start function: data segments loaded,
        globals at their initial values, stable memory empty.

        Its heap is the module's initial image: the sandbox shares these page objects
        with every canister heap that still holds them, and skips copying them in."""
        if self._blank is None:
            store = wasmtime.Store(self.runtime.engine)
            instance = self.pre.instantiate(store)
            exports = instance.exports(store)
            heap = EMPTY_PAGE_MAP
            if self.memory_export is not None:
                memory = exports[self.memory_export]
                assert isinstance(memory, wasmtime.Memory)
                heap = PageMap.from_bytes(read_memory(store, memory))
            values = []
            for name, _ in self.globals:
                extern = exports[name]
                assert isinstance(extern, wasmtime.Global)
                values.append(extern.value(store))
            self._blank = ExecutionState(
                heap=heap, globals=tuple(values), stable_memory=EMPTY_PAGE_MAP
            )
        return self._blank

    def keep_warm(self, state: ExecutionState, instance: Any) -> None:
        """Keep a live instance (opaque to the cache) whose heap and globals are `state`."""
        if not self.reusable:
            return
        with self._warm_lock:
            self._warm[id(state)] = (state, instance)
            self._warm.move_to_end(id(state))
            while len(self._warm) > WARM_INSTANCES:
                self._warm.popitem(last=False)

    def take_warm(self, state: ExecutionState) -> Any:
        """The instance kept for exactly `state` (removed: one execution uses it), or None."""
        if not self._warm:
            return None
        with self._warm_lock:
            entry = self._warm.pop(id(state), None)
        return entry[1] if entry is not None and entry[0] is state else None


_PROBE_WAT = """(module (memory (export "m") 2) (data (i32.const 8192) "image")
  (func (export "w") (i32.store8 (i32.const 70000) (i32.const 1))
    (i32.store8 (i32.const 8193) (i32.const 1))))"""
_PROBE_WAT64 = """(module (memory (export "m") i64 2) (data (i64.const 8192) "image")
  (func (export "w") (i32.store8 (i64.const 70000) (i32.const 1))
    (i32.store8 (i64.const 8193) (i32.const 1))))"""


def _tracker_sees_writes(engine: wasmtime.Engine, tracker: DirtyPageTracker) -> bool:
    """Whether the tracker reports the pages a Wasm store wrote, and only a few pages,
    on this engine's memories (a self-check: the way wasmtime maps memory decides it)."""
    store = wasmtime.Store(engine)
    instance = wasmtime.Instance(store, wasmtime.Module(engine, wasmtime.wat2wasm(_PROBE_WAT)), [])
    exports = instance.exports(store)
    memory, write = exports["m"], exports["w"]
    assert isinstance(memory, wasmtime.Memory) and isinstance(write, wasmtime.Func)
    address = ctypes.cast(memory.data_ptr(store), ctypes.c_void_p).value or 0
    before = tracker.candidates(address, memory.data_len(store))
    write(store)
    after = tracker.candidates(address, memory.data_len(store))
    return before is not None and after is not None and {2, 17} <= set(after) and len(after) < 8


def _write_tracker_sees_writes(engine: wasmtime.Engine, tracker: WriteTracker) -> bool:
    """Whether wasmtime lays out wasm32 and wasm64 memories as the write tracker assumes,
    and it reports exactly the pages a Wasm store wrote after protection (a page of the
    memory image, a zero page), then the pages written after a `memory.grow`."""
    for wat in (_PROBE_WAT, _PROBE_WAT64):
        store = wasmtime.Store(engine)
        module = wasmtime.Module(engine, wasmtime.wat2wasm(wat))
        exports = wasmtime.Instance(store, module, []).exports(store)
        memory, write = exports["m"], exports["w"]
        assert isinstance(memory, wasmtime.Memory) and isinstance(write, wasmtime.Func)
        address = ctypes.cast(memory.data_ptr(store), ctypes.c_void_p).value or 0
        size = memory.data_len(store)
        if not reservation_is_mapped(address, size, tracker.reservation):
            return False
        watch = MemoryWatch(tracker)
        watch.arm(address, size)
        first = watch.written_runs(address, size)
        write(store)
        memory.grow(store, 1)
        ctypes.memset(address + size + 5000, 1, 1)  # page 33, grown into
        grown = watch.written_runs(address, memory.data_len(store))
        ctypes.memset(address + size + 9000, 1, 1)  # page 34, protected by now
        last = watch.written_runs(address, memory.data_len(store))
        again = watch.written_runs(address, memory.data_len(store))
        if not (
            first == []
            and grown is not None
            and {index for index in _pages_of(grown) if index < 32} == {2, 17}
            and 33 in _pages_of(grown)
            and last == [(34, 35)]
            and again == []
        ):
            return False
    return True


def _pages_of(runs: list[tuple[int, int]]) -> set[int]:
    return {index for first, end in runs for index in range(first, end)}


def read_memory(store: wasmtime.Store, memory: wasmtime.Memory) -> bytes:
    """The whole linear memory as bytes (one copy, through ctypes)."""
    length = memory.data_len(store)
    if not length:
        return b""
    address = ctypes.cast(memory.data_ptr(store), ctypes.c_void_p).value
    return ctypes.string_at(address, length)


class ModuleCache:
    """Compiled modules by the SHA-256 of their (decompressed) Wasm, LRU, optionally on disk."""

    def __init__(
        self,
        engine: wasmtime.Engine | None = None,
        *,
        capacity: int = 64,
        cache_dir: str | os.PathLike[str] | None = None,
        write_tracking: bool = True,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"cache capacity must be positive, not {capacity}")
        self.runtime = Runtime(engine, write_tracking=write_tracking)
        self.capacity = capacity
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._modules: OrderedDict[bytes, CompiledModule] = OrderedDict()

    def __len__(self) -> int:
        return len(self._modules)

    def __contains__(self, wasm_hash: object) -> bool:
        return wasm_hash in self._modules

    def get(self, wasm: bytes) -> CompiledModule:
        """The compiled form of a validated, decompressed module (compiled on first use).

        Raises `InvalidWasm` if instrumentation or compilation fails.
        """
        key = hashlib.sha256(wasm).digest()
        compiled = self._modules.get(key)
        if compiled is not None:
            self._modules.move_to_end(key)
            return compiled
        compiled = self._load(key) or self._compile(key, wasm)
        self._modules[key] = compiled
        if len(self._modules) > self.capacity:
            self._modules.popitem(last=False)
        return compiled

    def _compile(self, key: bytes, wasm: bytes) -> CompiledModule:
        persisted = export_state(wasm)
        instrumented = instrument(persisted.wasm)
        try:
            module = wasmtime.Module(self.runtime.engine, instrumented.wasm)
        except wasmtime.WasmtimeError as e:
            raise InvalidWasm(f"compilation failed: {e}") from None
        meta = _Metadata(
            is_64=instrumented.is_64,
            start_export=instrumented.start_export,
            memory_export=persisted.memory_export,
            table_export=persisted.table_export,
            globals=persisted.globals,
            instruction_count=instrumented.instruction_count,
            reusable=_instance_state_is_persisted(persisted.wasm),
        )
        self._store(key, module, meta)
        return CompiledModule(Hash(key), module, meta, self.runtime)

    def _paths(self, key: bytes) -> tuple[Path, Path] | None:
        if self.cache_dir is None:
            return None
        stem = f"{key.hex()}.{CODE_CACHE_TAG}"
        return self.cache_dir / f"{stem}.cwasm", self.cache_dir / f"{stem}.json"

    def _load(self, key: bytes) -> CompiledModule | None:
        paths = self._paths(key)
        if paths is None or not paths[0].exists() or not paths[1].exists():
            return None
        try:
            raw = json.loads(paths[1].read_text())
            meta = _Metadata(
                is_64=bool(raw["is_64"]),
                start_export=raw["start_export"],
                memory_export=raw["memory_export"],
                table_export=raw["table_export"],
                globals=tuple((str(n), str(t)) for n, t in raw["globals"]),
                instruction_count=int(raw["instruction_count"]),
                reusable=raw.get("reusable") is True,
            )
            module = wasmtime.Module.deserialize_file(self.runtime.engine, str(paths[0]))
        except (OSError, ValueError, KeyError, TypeError, wasmtime.WasmtimeError):
            return None  # a stale or damaged entry: recompile
        return CompiledModule(Hash(key), module, meta, self.runtime)

    def _store(self, key: bytes, module: wasmtime.Module, meta: _Metadata) -> None:
        paths = self._paths(key)
        if paths is None:
            return
        assert self.cache_dir is not None
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        record = {
            "is_64": meta.is_64,
            "start_export": meta.start_export,
            "memory_export": meta.memory_export,
            "table_export": meta.table_export,
            "globals": [list(g) for g in meta.globals],
            "instruction_count": meta.instruction_count,
            "reusable": meta.reusable,
        }
        for path, data in ((paths[0], module.serialize()), (paths[1], json.dumps(record).encode())):
            fd, tmp = tempfile.mkstemp(dir=self.cache_dir, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
