"""The ic0 imports for stable memory, including the deprecated 32-bit variants.

Spec: IC interface spec 0.66.0, The System API › Stable memory.

Stable memory is the `PageMap` of the canister's state; the first write or grow of an
execution wraps it in a `PageDelta`, which keeps only the pages written (copy on write
per 4 KiB page), so executions that only read it copy nothing and the new version shares
every unchanged page. Growth beyond `MAX_STABLE_MEMORY` returns -1; the 32-bit
API returns -1 when the new size would exceed 4 GiB and traps once the memory is larger
than that. Reads and writes out of bounds trap.
"""

from __future__ import annotations

import ctypes

from replica_core.execution.page_map import PageDelta
from replica_core.execution.system_api.base import MAX_STABLE_MEMORY, PAGE_SIZE, ApiBase

__all__ = ["StableApi"]

_FOUR_GIB = 1 << 32
_MAX_32BIT_PAGES = _FOUR_GIB // PAGE_SIZE


class StableApi(ApiBase):
    """`stable64_*` and `stable_*`."""

    __slots__ = ()

    def _writable(self) -> PageDelta:
        stable = self.stable
        if not isinstance(stable, PageDelta):
            stable = self.stable = PageDelta(stable)
        self.stable_written = True
        return stable

    def _grow(self, new_pages: int, limit: int) -> int:
        old_pages = len(self.stable) // PAGE_SIZE
        if new_pages and (old_pages + new_pages) * PAGE_SIZE > limit:
            return -1
        if new_pages:
            self._writable().grow((old_pages + new_pages) * PAGE_SIZE)
        return old_pages

    def _read(self, dst: int, offset: int, size: int) -> None:
        stable = self.stable
        if offset + size > len(stable):
            raise self.canister_trap("stable memory out of bounds")
        address = self._heap_range("ic0.stable64_read", dst, size)
        self.charge(size)
        if size:
            ctypes.memmove(address, stable.read(offset, size), size)

    def _write(self, offset: int, src: int, size: int) -> None:
        if offset + size > len(self.stable):
            raise self.canister_trap("stable memory out of bounds")
        data = self.read_heap("ic0.stable64_write", src, size)
        if size:
            self._writable().write(offset, data)

    # --- 64-bit API ----------------------------------------------------------------------

    def stable64_size(self) -> int:
        """Stable memory size in 64 KiB pages."""
        return len(self.stable) // PAGE_SIZE

    def stable64_grow(self, new_pages: int) -> int:
        """Grow by `new_pages` zero pages; the old size, or -1 past the limit."""
        return self._grow(new_pages, MAX_STABLE_MEMORY)

    def stable64_write(self, offset: int, src: int, size: int) -> None:
        """Copy heap[src:src+size] to stable[offset:]; out of bounds traps."""
        self._write(offset, src, size)

    def stable64_read(self, dst: int, offset: int, size: int) -> None:
        """Copy stable[offset:offset+size] to heap[dst:]; out of bounds traps."""
        self._read(dst, offset, size)

    # --- deprecated 32-bit API (wasm32 only) ---------------------------------------------

    def _check_32bit(self) -> None:
        if len(self.stable) > _FOUR_GIB:
            raise self.canister_trap("32 bit stable memory api used on a memory larger than 4GB")

    def stable_size(self) -> int:
        """Stable memory size in pages; traps above 4 GiB."""
        self._check_32bit()
        return len(self.stable) // PAGE_SIZE

    def stable_grow(self, new_pages: int) -> int:
        """Grow by pages; -1 if the new size would exceed 4 GiB (or the limit)."""
        self._check_32bit()
        if len(self.stable) // PAGE_SIZE + new_pages > _MAX_32BIT_PAGES:
            return -1
        return self._grow(new_pages, MAX_STABLE_MEMORY)

    def stable_write(self, offset: int, src: int, size: int) -> None:
        """32-bit `stable64_write`; traps above 4 GiB."""
        self._check_32bit()
        self._write(offset, src, size)

    def stable_read(self, dst: int, offset: int, size: int) -> None:
        """32-bit `stable64_read`; traps above 4 GiB."""
        self._check_32bit()
        self._read(dst, offset, size)
