"""Direct calls into wasmtime's C API for the sandbox's per-message hot path.

Spec: none (implementation support for `sandbox.py`; the System API's cost model does not
depend on it).

The `wasmtime` Python package wraps every operation in generic code that re-derives
types and converts values on each call: looking up one export enumerates all of them,
setting a global fetches its type, calling a function fetches its signature. Per message
that adds up to more than the Wasm execution itself. These helpers call the same C
functions (`wasmtime_instance_export_get`, `wasmtime_global_get/set`,
`wasmtime_func_call`) with the values the sandbox already knows, and keep wasmtime's own
trap and host-exception propagation (`enter_wasm`). They rely on the bindings of the
pinned `wasmtime` 50 package; `tests/replica_core/execution/test_sandbox.py` checks them
against the public API.
"""

from __future__ import annotations

import ctypes
from ctypes import byref

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime._extern import wrap_extern
from wasmtime._func import enter_wasm

__all__ = [
    "call",
    "data_address",
    "export",
    "export_func",
    "export_global",
    "global_get",
    "global_set",
    "memory_size",
]

_EXTERN_GLOBAL = ffi.WASMTIME_EXTERN_GLOBAL.value
_EXTERN_FUNC = ffi.WASMTIME_EXTERN_FUNC.value
_KINDS = {
    "i32": (ffi.WASMTIME_I32.value, "i32"),
    "i64": (ffi.WASMTIME_I64.value, "i64"),
    "f32": (ffi.WASMTIME_F32.value, "f32"),
    "f64": (ffi.WASMTIME_F64.value, "f64"),
}


def _extern(
    store: wasmtime.Store, instance: wasmtime.Instance, name: str
) -> ffi.wasmtime_extern_t | None:
    raw = name.encode("utf-8")
    item = ffi.wasmtime_extern_t()
    found = ffi.wasmtime_instance_export_get(
        store._context(), byref(instance._instance), raw, len(raw), byref(item)
    )
    return item if found else None


def export(store: wasmtime.Store, instance: wasmtime.Instance, name: str) -> object | None:
    """The export `name` of `instance` (without enumerating every export), or None."""
    item = _extern(store, instance, name)
    return wrap_extern(item) if item is not None else None


def export_global(store: wasmtime.Store, instance: wasmtime.Instance, name: str) -> wasmtime.Global:
    """The exported global `name` (KeyError if there is no such global)."""
    item = _extern(store, instance, name)
    if item is None or item.kind != _EXTERN_GLOBAL:
        raise KeyError(f"no exported global {name!r}")
    return wasmtime.Global._from_raw(item.of.global_)


def export_func(store: wasmtime.Store, instance: wasmtime.Instance, name: str) -> wasmtime.Func:
    """The exported function `name` (KeyError if there is no such function)."""
    item = _extern(store, instance, name)
    if item is None or item.kind != _EXTERN_FUNC:
        raise KeyError(f"no exported function {name!r}")
    return wasmtime.Func._from_raw(item.of.func)


def memory_size(store: wasmtime.Store | wasmtime.Caller, memory: wasmtime.Memory) -> int:
    """A memory's size in bytes."""
    return int(ffi.wasmtime_memory_data_size(store._context(), byref(memory._memory)))


def global_get(
    store: wasmtime.Store | wasmtime.Caller, global_: wasmtime.Global, value_type: str
) -> int | float:
    """The value of a numeric global of the given type."""
    raw = ffi.wasmtime_val_t()
    ffi.wasmtime_global_get(store._context(), byref(global_._global), byref(raw))
    return getattr(raw.of, _KINDS[value_type][1])  # type: ignore[no-any-return]


def global_set(
    store: wasmtime.Store | wasmtime.Caller,
    global_: wasmtime.Global,
    value_type: str,
    value: int | float,
) -> None:
    """Set a numeric mutable global of the given type."""
    kind, field = _KINDS[value_type]
    raw = ffi.wasmtime_val_t(kind=kind)
    setattr(raw.of, field, value)
    error = ffi.wasmtime_global_set(store._context(), byref(global_._global), byref(raw))
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)


def call(store: wasmtime.Store, func: wasmtime.Func, args: tuple[int, ...], arg_type: str) -> None:
    """Call a function whose parameters all have type `arg_type` and that returns nothing.

    Raises what `Func.__call__` raises: `wasmtime.Trap`, `wasmtime.WasmtimeError`, or the
    exception a host function raised.
    """
    kind, field = _KINDS[arg_type]
    params = (ffi.wasmtime_val_t * len(args))()
    for i, value in enumerate(args):
        params[i].kind = kind
        setattr(params[i].of, field, value)
    results = (ffi.wasmtime_val_t * 0)()
    with enter_wasm(store) as trap:
        error = ffi.wasmtime_func_call(
            store._context(), byref(func._func), params, len(args), results, 0, trap
        )
        if error:
            raise wasmtime.WasmtimeError._from_ptr(error)


def data_address(store: wasmtime.Store | wasmtime.Caller, memory: wasmtime.Memory) -> int:
    """The address of a memory's data (valid until the memory grows)."""
    pointer = ffi.wasmtime_memory_data(store._context(), byref(memory._memory))
    return ctypes.cast(pointer, ctypes.c_void_p).value or 0
