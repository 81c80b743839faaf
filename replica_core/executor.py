"""The executor the subnet runs canisters with: validate once, compile once, execute.

Spec: none (impl). It adapts `execution/sandbox.py` and `execution/module_cache.py` to the
`Executor` protocol of `management_context.py`, caching validated and compiled modules.
"""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = ["SandboxExecutor"]


class SandboxExecutor:
    """`Executor` over `execution/sandbox.py`: validate once, compile once, run."""

    def __init__(self, cache: Any = None) -> None:
        from replica_core.execution.module_cache import ModuleCache

        self.cache = cache if cache is not None else ModuleCache()
        self._validated: dict[bytes, Any] = {}
        # (impl) the modules of the last executions, keyed by the Wasm bytes themselves: a
        # `bytes` object caches its hash, so a hit costs a dict lookup instead of hashing
        # the whole module (SHA-256 per message was a tenth of the update path)
        self._recent: dict[bytes, tuple[Any, Any]] = {}

    def _lookup(self, wasm: bytes) -> tuple[Any, Any]:
        wasm = _as_bytes(wasm)
        entry = self._recent.get(wasm)
        if entry is None:
            info = self._validated_by_hash(wasm)
            entry = (info, self.cache.get(info.wasm))
            if len(self._recent) >= self.cache.capacity:
                self._recent.clear()
            self._recent[wasm] = entry
        return entry

    def _validated_by_hash(self, wasm: bytes) -> Any:
        from replica_core.execution.validation import validate_module

        key = hashlib.sha256(wasm).digest()
        info = self._validated.get(key)
        if info is None:
            info = self._validated[key] = validate_module(wasm, engine=self.cache.runtime.engine)
        return info

    def shared_wasm(self, wasm: bytes) -> bytes:
        """The one `bytes` object kept for this module, so that canisters installed with
        equal modules share it instead of each holding a copy (impl: idle memory)."""
        entry = self._recent.get(_as_bytes(wasm))
        if entry is None:
            self._lookup(wasm)
        for key in self._recent:
            if key == wasm:
                return key
        return wasm

    def validated(self, wasm: bytes) -> Any:
        """The `ValidatedModule` of a module as installed (cached by its hash)."""
        entry = self._recent.get(_as_bytes(wasm))
        return entry[0] if entry is not None else self._validated_by_hash(wasm)

    def compile(self, wasm: bytes) -> Any:
        return self._lookup(wasm)[1]

    def initial_state(self, module: Any, env: Any, **kwargs: Any) -> Any:
        from replica_core.execution import sandbox

        return sandbox.initial_state(module, env, **kwargs)

    def execute(self, module: Any, state: Any, call: Any, env: Any) -> Any:
        from replica_core.execution import sandbox

        return sandbox.execute(module, state, call, env)


def _as_bytes(wasm: bytes | bytearray | memoryview) -> bytes:
    """A hashable key for a module (`wat2wasm` gives a bytearray)."""
    return wasm if type(wasm) is bytes else bytes(wasm)
