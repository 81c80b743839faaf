"""Binding the ic0 imports to a wasmtime linker, with the context check in front.

Spec: IC interface spec 0.66.0, The System API › Overview of imports (each import may be
called only from the listed contexts; elsewhere it traps).

One linker per engine and pointer width is built once and shared by all modules of that
width (host functions are defined once, not per execution). The host functions find the
`SystemApi` of the running execution in an `ApiSlot` (thread-local, owned by whoever owns
the linker), check the context, make every argument unsigned (spec: numbers passed through
the System API are unsigned), and call the method of the same name.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import wasmtime

from replica_core.execution import wasmtime_fast as fast
from replica_core.execution.ic0 import IC0_MODULE, imports_for, signature
from replica_core.execution.system_api.api import SystemApi

__all__ = ["ApiSlot", "build_linker"]

_MASKS = {"i32": (1 << 32) - 1, "i64": (1 << 64) - 1}


class ApiSlot(threading.local):
    """Where host functions find the `SystemApi` of the execution running in this thread."""

    api: SystemApi | None = None


def build_linker(
    engine: wasmtime.Engine, is_64: bool, slot: ApiSlot
) -> tuple[wasmtime.Linker, tuple[object, ...]]:
    """A linker defining every ic0 import available to modules of this pointer width.

    Also returns the host functions' ctypes callbacks, which the caller must keep alive
    for as long as it uses the linker (and instances made from it).
    """
    linker = wasmtime.Linker(engine)
    callbacks = []
    for name, row in imports_for(is_64).items():
        params, results = signature(name, is_64)
        host = _host_function(name, row.contexts, params, slot)
        callbacks.append(fast.define_func(linker, IC0_MODULE, name, params, results, host))
    return linker, tuple(callbacks)


def _host_function(
    name: str, contexts: frozenset[str], params: tuple[str, ...], slot: ApiSlot
) -> Callable[..., Any]:
    """The host function of `ic0.<name>`: context check, unsigned arguments, the method."""
    method = getattr(SystemApi, name)
    masks = tuple(_MASKS[p] for p in params)

    def host(caller: wasmtime.Caller, *args: int) -> Any:
        api = slot.api
        assert api is not None, "ic0 import called outside of an execution"
        api.caller = caller
        if api.context not in contexts:
            raise api.context_violation(name)
        return method(api, *[a & m for a, m in zip(args, masks, strict=True)])

    host.__name__ = f"ic0_{name}"
    return host
