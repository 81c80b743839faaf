"""Which 4 KiB pages of a fresh Wasm memory an execution may have written.

Spec: none (implementation support for `sandbox.py`: the IC tracks the pages a message
dirtied with memory protection and a signal handler; this is the Linux-only, read-only
equivalent (impl)).

A fresh instance's linear memory is mapped by wasmtime copy-on-write from the module's
initial image, followed by anonymous zero pages. A page that nothing wrote is then
either not mapped in yet, or mapped to the image's page-cache page or to the kernel's
shared zero page; only a write (ours, when the sandbox copies the canister's
pages in, or the canister's) gives it a private anonymous page. `/proc/self/pagemap`
reports for each page whether it is present, swapped and file-backed, so the pages to
compare after an execution are those present and not file-backed, or swapped: usually a
handful out of a multi-MiB heap, found with one `pread`. Pages mapped to the shared zero
page are reported too (they are anonymous); comparing them is merely wasted work.

The answer over-approximates and never misses a written page: anything unexpected (no
pagemap, a host page size that is not a multiple of 4 KiB, an unaligned address) gives
None, and the sandbox then compares every page. On a warm instance (reused for the next
message) the flags cover every page any earlier message wrote, so there the sandbox uses
`write_tracking.py` where the kernel supports it, and this tracker otherwise.
"""

from __future__ import annotations

import os
import re
import sys

from replica_core.execution.page_map import PAGE_SIZE

__all__ = ["DirtyPageTracker"]

_ENTRY = 8  # bytes per page in /proc/self/pagemap
# The top byte of an entry: bit 63 present, 62 swapped, 61 file page or shared anonymous.
_MAYBE_WRITTEN = bytes(
    1 if (flags & 0x40) or ((flags & 0x80) and not (flags & 0x20)) else 0 for flags in range(256)
)
_RUN = re.compile(b"\x01+")


class DirtyPageTracker:
    """Reads the process's page table flags; owned by the sandbox runtime."""

    __slots__ = ("_fd", "_host_page", "_per_host_page", "_pid")

    def __init__(self, pagemap: str = "/proc/self/pagemap") -> None:
        self._host_page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 0
        self._per_host_page = self._host_page // PAGE_SIZE
        self._fd: int | None = None
        self._pid = os.getpid()  # in a forked child the descriptor shows the parent's pages
        if self._host_page <= 0 or self._host_page % PAGE_SIZE or sys.byteorder != "little":
            return
        try:
            self._fd = os.open(pagemap, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            self._fd = None

    @property
    def available(self) -> bool:
        """False when every page has to be compared."""
        return self._fd is not None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.close()

    def candidate_runs(self, address: int, size: int) -> list[tuple[int, int]] | None:
        """The pages `candidates` gives, as maximal runs `(first, end)` of consecutive
        page indices (end exclusive), in increasing order; None if that is unknown."""
        flags = self._flags(address, size)
        if flags is None:
            return None
        per, last = self._per_host_page, (size + PAGE_SIZE - 1) // PAGE_SIZE
        return [
            (start * per, min(end * per, last))
            for start, end in map(re.Match.span, _RUN.finditer(flags))
        ]

    def _flags(self, address: int, size: int) -> bytes | None:
        """One byte per host page of [address, address+size): 1 if it may have been
        written; None if that is unknown."""
        fd, host_page = self._fd, self._host_page
        if fd is None or address % host_page or self._pid != os.getpid():
            return None
        count = (size + host_page - 1) // host_page
        if count == 0:
            return b""
        try:
            data = os.pread(fd, count * _ENTRY, address // host_page * _ENTRY)
        except OSError:
            return None
        if len(data) != count * _ENTRY:
            return None
        return data[_ENTRY - 1 :: _ENTRY].translate(_MAYBE_WRITTEN)  # little-endian top byte

    def candidates(self, address: int, size: int) -> list[int] | None:
        """Indices of the 4 KiB pages of [address, address+size) that may have been written
        since the memory was mapped, in increasing order; None if that is unknown."""
        flags = self._flags(address, size)
        if flags is None:
            return None
        result: list[int] = []
        find, per, last = flags.find, self._per_host_page, (size + PAGE_SIZE - 1) // PAGE_SIZE
        position = find(1)
        while position >= 0:
            first = position * per
            result.extend(range(first, min(first + per, last)))
            position = find(1, position + 1)
        return result
