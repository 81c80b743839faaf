"""Direct calls into wasmtime's C API for the sandbox's per-message hot path.

Spec: none (implementation support for `sandbox.py`; the System API's cost model does not
depend on it).

The `wasmtime` Python package wraps every operation in generic code that re-derives
types and converts values on each call: looking up one export enumerates all of them,
setting a global fetches its type, calling a function fetches its signature. Per message
that adds up to more than the Wasm execution itself. These helpers call the same C
functions (`wasmtime_instance_export_get`, `wasmtime_global_get/set`,
`wasmtime_func_call`) with the values the sandbox already knows, and keep wasmtime's own
trap and host-exception propagation (`enter_wasm`). Host functions (the ic0 imports) are
defined through the *unchecked* interface, which hands over a raw value array instead of
building `Val` objects per argument. They rely on the bindings of the pinned `wasmtime`
50 package (including its module-global `LAST_EXCEPTION`, which carries a host
exception out of the wasm call, so one thread at a time per process should be inside
wasm, as with the package's own trampoline); `test_sandbox.py` checks the helpers
against the public API and every ic0 test exercises `define_func`.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from ctypes import byref
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime import _func as func_module
from wasmtime._extern import wrap_extern
from wasmtime._func import enter_wasm

__all__ = [
    "HostCallback",
    "call",
    "data_address",
    "define_func",
    "export",
    "export_func",
    "export_global",
    "global_get",
    "global_set",
    "globals_get",
    "memcmp_raw",
    "memory_size",
]

HostCallback = ffi.wasmtime_func_unchecked_callback_t

# Private prototypes of the accessors called several times per message, loaded through
# `PyDLL` so that they keep the GIL: each is a few field reads inside wasmtime, and
# releasing the GIL around every one of them (as `CDLL` functions do) hands it to the
# gateway's event loop dozens of times per message (a wait of up to the switch interval
# each time). Calls that run Wasm (`wasmtime_func_call`) still release it.
_HELD = ctypes.PyDLL(ffi.dll._name)
_memory_data = _HELD["wasmtime_memory_data"]  # the address as an int, not a pointer
_memory_data.restype = ctypes.c_size_t
_memory_data.argtypes = None
_memory_data_size = _HELD["wasmtime_memory_data_size"]
_memory_data_size.restype = ctypes.c_size_t
_memory_data_size.argtypes = None
_global_get = _HELD["wasmtime_global_get"]
_global_get.restype = None
_global_get.argtypes = None
_global_set = _HELD["wasmtime_global_set"]
_global_set.restype = ctypes.c_void_p
_global_set.argtypes = None
_export_get = _HELD["wasmtime_instance_export_get"]
_export_get.restype = ctypes.c_bool
_export_get.argtypes = None
# `memcmp_raw(address, address, size)`: compares `size` bytes at two raw addresses (a
# Wasm memory's data and a `bytes` buffer) in place, without copying either (0 if equal).
memcmp_raw = ctypes.PyDLL(None)["memcmp"]
memcmp_raw.restype = ctypes.c_int
memcmp_raw.argtypes = (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
# Encoded export names the sandbox looks up on every execution.
_NAMES = {
    name: name.encode("utf-8")
    for name in ("canister counter_instructions", "icbox:memory", "icbox:table")
}
_VAL_TYPES = {
    "i32": wasmtime.ValType.i32,
    "i64": wasmtime.ValType.i64,
    "f32": wasmtime.ValType.f32,
    "f64": wasmtime.ValType.f64,
}
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
    raw = _NAMES.get(name)
    if raw is None:
        raw = name.encode("utf-8")
    item = ffi.wasmtime_extern_t()
    found = _export_get(store._context(), byref(instance._instance), raw, len(raw), byref(item))
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
    return int(_memory_data_size(store._context(), byref(memory._memory)))


def global_get(
    store: wasmtime.Store | wasmtime.Caller, global_: wasmtime.Global, value_type: str
) -> int | float:
    """The value of a numeric global of the given type."""
    raw = ffi.wasmtime_val_t()
    _global_get(store._context(), byref(global_._global), byref(raw))
    return getattr(raw.of, _KINDS[value_type][1])  # type: ignore[no-any-return]


def globals_get(
    store: wasmtime.Store, globals_: tuple[wasmtime.Global, ...], value_types: tuple[str, ...]
) -> list[int | float]:
    """The values of numeric globals of the given types (one value buffer for all)."""
    context = store._context()
    raw = ffi.wasmtime_val_t()
    out, of, get, kinds = byref(raw), raw.of, _global_get, _KINDS
    values: list[int | float] = []
    append = values.append
    for global_, value_type in zip(globals_, value_types, strict=True):
        get(context, byref(global_._global), out)
        append(getattr(of, kinds[value_type][1]))
    return values


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
    error = _global_set(store._context(), byref(global_._global), byref(raw))
    if error:
        raise wasmtime.WasmtimeError._from_ptr(
            ctypes.cast(error, ctypes.POINTER(ffi.wasmtime_error_t))
        )


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
    return _memory_data(store._context(), byref(memory._memory)) or 0


def define_func(
    linker: wasmtime.Linker,
    module: str,
    name: str,
    params: tuple[str, ...],
    results: tuple[str, ...],
    handler: Callable[..., Any],
) -> object:
    """Define a host function through wasmtime's *unchecked* (raw value) interface.

    `handler(caller, *args)` gets the arguments as Python ints/floats read straight
    from the raw value array and returns the result (at most one). An exception it
    raises ends the wasm call and is re-raised by `call` (as the package's own
    trampoline does, through its `LAST_EXCEPTION`). Returns the ctypes callback, which
    the caller must keep alive as long as the linker is used.
    """
    if len(results) > 1:
        raise ValueError("host functions return at most one value")
    fields = tuple(_KINDS[p][1] for p in params)
    result_field = _KINDS[results[0]][1] if results else None
    func_type = wasmtime.FuncType(
        [_VAL_TYPES[p]() for p in params], [_VAL_TYPES[r]() for r in results]
    )

    def trampoline(env: object, caller_ptr: object, values: Any, count: int) -> int:
        caller = wasmtime.Caller(caller_ptr)  # type: ignore[arg-type]
        try:
            result = handler(caller, *[getattr(values[i], f) for i, f in enumerate(fields)])
            if result_field is not None:
                setattr(values[0], result_field, result)
            return 0
        except BaseException as e:  # re-raised by `enter_wasm` after the wasm call
            func_module.LAST_EXCEPTION = e
            trap = wasmtime.Trap("host function raised")._consume()
            return ctypes.cast(trap, ctypes.c_void_p).value or 0
        finally:
            caller._invalidate()

    callback = HostCallback(trampoline)
    module_raw, name_raw = module.encode("utf-8"), name.encode("utf-8")
    error = ffi.wasmtime_linker_define_func_unchecked(
        linker.ptr(),
        ctypes.create_string_buffer(module_raw),
        len(module_raw),
        ctypes.create_string_buffer(name_raw),
        len(name_raw),
        func_type.ptr(),
        callback,
        None,
        ctypes.cast(None, ctypes.CFUNCTYPE(None, ctypes.c_void_p)),
    )
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)
    return callback
