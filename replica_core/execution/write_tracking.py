"""Exactly which 4 KiB pages of a warm instance's Wasm memory an execution wrote.

Spec: none (implementation support for `sandbox.py`: the IC tracks the pages a message
dirtied with memory protection and a signal handler; this is the Linux ≥ 6.7 equivalent
without a handler (impl)).

`dirty_pages.py` finds every page written since the memory was *mapped*; on a warm
instance (`CompiledModule.take_warm`) that is every page any earlier message wrote, so
the work per message grows with the instance's age. Here the kernel tracks writes per
execution instead, with userfaultfd write protection in asynchronous mode:

- one userfaultfd per `Runtime` (`UFFDIO_API` with `UFFD_FEATURE_WP_ASYNC`,
  `UFFD_FEATURE_WP_UNPOPULATED` and, for wasmtime's memfd-backed copy-on-write memory
  images, `UFFD_FEATURE_WP_HUGETLBFS_SHMEM`); a memory range is registered on it
  (`UFFDIO_REGISTER_MODE_WP`) and write-protected (`UFFDIO_WRITEPROTECT`). In async mode
  a write to a protected page is resolved by the kernel itself, which just drops the
  page's protection: no fault message, no handler thread;
- after an execution, one `PAGEMAP_SCAN` ioctl on `/proc/self/pagemap` returns the runs
  of pages that are no longer protected (`PAGE_IS_WRITTEN`), i.e. written since the
  last scan, and protects them again in the same call (`PM_SCAN_WP_MATCHING`).
  `PM_SCAN_CHECK_WPASYNC` makes the scan fail instead of answering for a range that is
  not (or no longer) registered, e.g. one wasmtime remapped.

Registrations live in the memory's mappings, not in the descriptor: when wasmtime unmaps
a dropped instance's memory they vanish with it, so the one descriptor serves any number
of instances without leaking anything. A `MemoryWatch` is one instance's armed state.

Growth: `memory.grow` makes more of the memory's reservation accessible (`mprotect`).
The whole reservation is registered up front, so the grown part is registered too and
stays one mapping with the rest (registering each grown part separately would leave a
mapping per growth, never merged again, towards the kernel's `vm.max_map_count`). Grown
pages were never protected: the scan reports those the execution touched, and at most
once the untouched ones of a page table the kernel has already allocated (zero pages;
comparing them is merely wasted work). A memory that outgrows the reservation (only
wasm64 can) is moved by wasmtime and no longer tracked.

The answers are exact or over-approximate, never missing a write. Any failure (no
userfaultfd, an old kernel, EPERM, a mapping that cannot be registered, a scan that
fails, a moved memory) makes the caller fall back to `DirtyPageTracker` for that
execution; `Runtime` runs a self-test at startup and does not use a tracker that gets
the probe wrong or a memory layout other than the one assumed here.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading

from replica_core.execution.page_map import PAGE_SIZE

__all__ = ["WASMTIME_RESERVATION", "MemoryWatch", "WriteTracker", "reservation_is_mapped"]

WASMTIME_RESERVATION = 4 * 1024**3
"""(impl) The address space wasmtime's default configuration reserves for each linear
memory (`memory_reservation`, plus guard pages after it): a memory grows in place
within it, and only a 64-bit memory growing past it is moved elsewhere."""


def _iowr(kind: int, number: int, size: int) -> int:
    """The `_IOWR(kind, number, size)` ioctl request code (asm-generic/ioctl.h)."""
    return (3 << 30) | (size << 16) | (kind << 8) | number


class _UffdioApi(ctypes.Structure):
    _fields_ = (
        ("api", ctypes.c_uint64),
        ("features", ctypes.c_uint64),
        ("ioctls", ctypes.c_uint64),
    )


class _UffdioRegister(ctypes.Structure):
    _fields_ = (
        ("start", ctypes.c_uint64),  # struct uffdio_range
        ("len", ctypes.c_uint64),
        ("mode", ctypes.c_uint64),
        ("ioctls", ctypes.c_uint64),
    )


class _UffdioWriteprotect(ctypes.Structure):
    _fields_ = (("start", ctypes.c_uint64), ("len", ctypes.c_uint64), ("mode", ctypes.c_uint64))


class _PmScanArg(ctypes.Structure):
    _fields_ = tuple(
        (name, ctypes.c_uint64)
        for name in (
            "size",
            "flags",
            "start",
            "end",
            "walk_end",
            "vec",
            "vec_len",
            "max_pages",
            "category_inverted",
            "category_mask",
            "category_anyof_mask",
            "return_mask",
        )
    )


# linux/userfaultfd.h
_SYS_USERFAULTFD = {"x86_64": 323, "aarch64": 282}
_UFFD_USER_MODE_ONLY = 1
_UFFD_API = 0xAA
_UFFDIO_API = _iowr(0xAA, 0x3F, ctypes.sizeof(_UffdioApi))
_UFFDIO_REGISTER = _iowr(0xAA, 0x00, ctypes.sizeof(_UffdioRegister))
_UFFDIO_WRITEPROTECT = _iowr(0xAA, 0x06, ctypes.sizeof(_UffdioWriteprotect))
_UFFDIO_REGISTER_MODE_WP = 1 << 1
_UFFDIO_WRITEPROTECT_MODE_WP = 1 << 0
_UFFD_FEATURE_WP_HUGETLBFS_SHMEM = 1 << 12
_UFFD_FEATURE_WP_UNPOPULATED = 1 << 13
_UFFD_FEATURE_WP_ASYNC = 1 << 15
# linux/fs.h
_PAGEMAP_SCAN = _iowr(ord("f"), 16, ctypes.sizeof(_PmScanArg))
_PAGE_IS_WRITTEN = 1 << 1
_PM_SCAN_WP_MATCHING = 1 << 0
_PM_SCAN_CHECK_WPASYNC = 1 << 1
_REGIONS = 256  # page_region entries per PAGEMAP_SCAN call (more calls if needed)

_libc = ctypes.PyDLL(None, use_errno=True)  # keeps the GIL: each call is a few µs
_ioctl = _libc.ioctl
_ioctl.restype = ctypes.c_int
_ioctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long
_syscall.argtypes = (ctypes.c_long, ctypes.c_int)


def _open_userfaultfd(features: int) -> int | None:
    """A non-blocking userfaultfd with `features` enabled, or None."""
    number = _SYS_USERFAULTFD.get(os.uname().machine)
    if number is None:
        return None
    base = os.O_CLOEXEC | os.O_NONBLOCK
    # Plain first; without privilege (vm.unprivileged_userfaultfd = 0) only user-mode
    # faults may be handled, which is all async write protection needs.
    for flags in (base, base | _UFFD_USER_MODE_ONLY):
        fd = _syscall(number, flags)
        if fd < 0:
            continue
        api = _UffdioApi(api=_UFFD_API, features=features)
        if _ioctl(fd, _UFFDIO_API, ctypes.addressof(api)) == 0 and (
            api.features & features == features
        ):
            return fd
        os.close(fd)
    return None


class WriteTracker:
    """A userfaultfd for async write protection plus a pagemap descriptor to scan with;
    owned by the sandbox runtime, shared by all its instances."""

    __slots__ = ("_arg", "_lock", "_pagemap", "_pid", "_uffd", "_vec", "reservation")

    def __init__(
        self, pagemap: str = "/proc/self/pagemap", *, reservation: int = WASMTIME_RESERVATION
    ) -> None:
        self.reservation = reservation
        # Both descriptors stay bound to this process's address space: in a forked
        # child they would protect and scan the parent's pages, so they are unused there.
        self._pid = os.getpid()
        self._uffd: int | None = None
        self._pagemap: int | None = None
        self._lock = threading.Lock()  # guards the scan buffers
        self._vec = (ctypes.c_uint64 * (3 * _REGIONS))()
        self._arg = _PmScanArg(
            size=ctypes.sizeof(_PmScanArg),
            flags=_PM_SCAN_WP_MATCHING | _PM_SCAN_CHECK_WPASYNC,
            vec=ctypes.addressof(self._vec),
            vec_len=_REGIONS,
            # Exactly these masks (no `category_anyof_mask`) take the kernel's fast path
            # for "written pages only" (fs/proc/task_mmu.c, pagemap_scan_pmd_entry).
            category_mask=_PAGE_IS_WRITTEN,
            return_mask=_PAGE_IS_WRITTEN,
        )
        host_page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 0
        if not sys.platform.startswith("linux") or host_page <= 0 or host_page % PAGE_SIZE:
            return
        wanted = _UFFD_FEATURE_WP_ASYNC | _UFFD_FEATURE_WP_UNPOPULATED
        uffd = _open_userfaultfd(wanted | _UFFD_FEATURE_WP_HUGETLBFS_SHMEM)
        if uffd is None:  # anonymous memory only (memory images then fail to register)
            uffd = _open_userfaultfd(wanted)
        if uffd is None:
            return
        try:
            self._pagemap = os.open(pagemap, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            os.close(uffd)
            return
        self._uffd = uffd

    @property
    def available(self) -> bool:
        """False when writes cannot be tracked here (use `DirtyPageTracker`)."""
        return self._uffd is not None

    def close(self) -> None:
        """Release both descriptors (registrations on live memories lapse with them)."""
        for fd in (self._uffd, self._pagemap):
            if fd is not None:
                os.close(fd)
        self._uffd = self._pagemap = None

    def __del__(self) -> None:
        self.close()

    def protect(self, address: int, size: int) -> bool:
        """Register the memory reserved at `address` (`reservation` bytes, of which the
        first `size` are accessible) for async write protection, and protect those
        `size` bytes; `written_runs` then reports the pages written from now on, also
        those the memory grows into. False on failure (nothing is tracked then)."""
        uffd, reserved = self._uffd, self.reservation
        if (
            uffd is None
            or self._pid != os.getpid()
            or address % PAGE_SIZE
            or size % PAGE_SIZE
            or not 0 < size <= reserved
        ):
            return False
        register = _UffdioRegister(start=address, len=reserved, mode=_UFFDIO_REGISTER_MODE_WP)
        if _ioctl(uffd, _UFFDIO_REGISTER, ctypes.addressof(register)) != 0:
            return False
        protect = _UffdioWriteprotect(start=address, len=size, mode=_UFFDIO_WRITEPROTECT_MODE_WP)
        return _ioctl(uffd, _UFFDIO_WRITEPROTECT, ctypes.addressof(protect)) == 0

    def written_runs(self, address: int, size: int) -> list[tuple[int, int]] | None:
        """The 4 KiB pages of [address, address+size), inside a range registered by
        `protect`, written since they were protected or last scanned, as runs
        `(first, end)` of page indices from `address` (end exclusive, increasing),
        protecting them again; None if unknown (then the protection of the range is
        unknown as well: `protect` it again).

        Pages the memory grew into since were never protected: those in a page table
        the kernel has already allocated are reported (once) even if untouched."""
        pagemap = self._pagemap
        if pagemap is None or self._pid != os.getpid() or address % PAGE_SIZE or size % PAGE_SIZE:
            return None
        end = address + size
        runs: list[tuple[int, int]] = []
        with self._lock:
            arg, vec = self._arg, self._vec
            start = address
            while start < end:
                arg.start, arg.end, arg.walk_end = start, end, 0
                count = _ioctl(pagemap, _PAGEMAP_SCAN, ctypes.addressof(arg))
                if count < 0:
                    return None
                values = vec[: 3 * count]
                runs.extend(
                    ((values[i] - address) // PAGE_SIZE, (values[i + 1] - address) // PAGE_SIZE)
                    for i in range(0, 3 * count, 3)
                )
                walk_end = arg.walk_end
                if walk_end <= start or walk_end > end:
                    return None  # no progress, or an answer outside the range
                start = walk_end
        return runs


class MemoryWatch:
    """Write tracking of one instance's linear memory: where it is and how much of it
    is protected (`size` 0: nothing, writes are not tracked)."""

    __slots__ = ("address", "size", "tracker")

    def __init__(self, tracker: WriteTracker) -> None:
        self.tracker = tracker
        self.address = 0
        self.size = 0

    def arm(self, address: int, size: int) -> None:
        """Make writes to the memory [address, address+size) from now on visible to
        `written_runs` (nothing to do if they already are)."""
        if self.size and self.address == address and self.size == size:
            return
        self.address, self.size = address, size if self.tracker.protect(address, size) else 0

    def written_runs(self, address: int, size: int) -> list[tuple[int, int]] | None:
        """Runs of the 4 KiB pages of the memory [address, address+size) written since
        `arm` or the last call, which also re-arms; None if unknown (the memory moved,
        grew past the reservation, or the scan failed: `arm` again)."""
        armed = self.size
        if not armed or address != self.address or not armed <= size <= self.tracker.reservation:
            self.size = 0
            return None
        runs = self.tracker.written_runs(address, size)
        self.size = 0 if runs is None else size
        return runs


def reservation_is_mapped(address: int, size: int, reservation: int) -> bool:
    """Whether /proc/self/maps shows a Wasm memory at `address` as the tracker assumes:
    its `size` accessible bytes followed by inaccessible ones up to `reservation`, all
    private anonymous mappings or wasmtime's memory image (checked once, at startup)."""
    end = address + reservation
    covered = address
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                fields = line.split()
                low, high = (int(bound, 16) for bound in fields[0].split("-"))
                if high <= address or low >= end:
                    continue
                if low > covered or fields[1][3] != "p":
                    return False  # a hole, or a shared mapping
                if len(fields) > 5 and not fields[5].startswith("/memfd:"):
                    return False  # some file
                accessible = fields[1][:2] == "rw"
                if high > address + size if accessible else low < address + size:
                    return False  # accessible past the memory, or not inside it
                covered = high
    except (OSError, ValueError, IndexError):
        return False
    return covered >= end
