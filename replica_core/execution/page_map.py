"""Canister memory as immutable, structurally shared maps of 4 KiB pages.

Spec: IC interface spec 0.66.0, The System API › Memory (the Wasm heap and stable memory
are byte arrays whose size is a multiple of 64 KiB); how they are stored is an
implementation matter (impl).

A `PageMap` is a size plus the pages that hold a non-zero byte; zero pages are not
stored. Pages are `bytes` objects of `PAGE_SIZE` and are shared, never copied: a new
version of a memory reuses the page objects of the old version it did not change, and
a heap built from a running instance reuses the page objects of the module's initial
image (`CompiledModule.blank_state()`) wherever it still holds them, so ten thousand
canisters of one module share their data segments. A Motoko canister's multi-MiB heap is
a dozen stored pages.

`PageMap` behaves like a read-only byte string where that is cheap (`len`, indexing and
slicing, `bytes(...)`); `PageDelta` is the writable overlay an execution uses for stable
memory: it collects the pages written and `freeze()`s into a new `PageMap` sharing the
rest. Equality is equality of contents.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

__all__ = ["EMPTY_PAGE_MAP", "PAGE_SIZE", "ZERO_PAGE", "PageDelta", "PageMap"]

PAGE_SIZE = 4096  # (impl) the storage granularity: the host's page, as on the IC
ZERO_PAGE = bytes(PAGE_SIZE)


_CHUNK_BITS = 6
"""(impl) Pages are kept in chunks of 2**6 = 64 (256 KiB): a new version copies the chunk
table and the chunks it changes, not every stored page, so a message that writes a few
pages of a large heap costs O(heap / 256 KiB + pages written)."""

_Chunks = dict[int, dict[int, bytes]]  # chunk number -> {page index -> page}; none empty


def _chunked(pages: Mapping[int, bytes]) -> _Chunks:
    chunks: _Chunks = {}
    for index, page in pages.items():
        chunks.setdefault(index >> _CHUNK_BITS, {})[index] = page
    return chunks


class PageMap:
    """An immutable memory of `len(self)` bytes stored as its non-zero 4 KiB pages."""

    __slots__ = ("_chunks", "_count", "_size")

    _chunks: _Chunks
    _count: int
    _size: int

    def __init__(self, size: int = 0, pages: Mapping[int, bytes] | None = None) -> None:
        """A memory of `size` bytes holding `pages` (index -> full page) and zeros elsewhere.

        Pages must be `PAGE_SIZE` bytes (the last may be shorter if `size` is not a
        multiple of it) and lie below `size`; all-zero pages are dropped.
        """
        if size < 0:
            raise ValueError(f"memory size must not be negative, not {size}")
        stored: dict[int, bytes] = {}
        last = (size + PAGE_SIZE - 1) // PAGE_SIZE
        for index, page in (pages or {}).items():
            if not 0 <= index < last:
                raise ValueError(f"page {index} lies outside a memory of {size} bytes")
            expected = min(PAGE_SIZE, size - index * PAGE_SIZE)
            if len(page) != expected:
                raise ValueError(f"page {index} has {len(page)} bytes, not {expected}")
            if page.count(0) != len(page):
                stored[index] = bytes(page)
        self._size = size
        self._chunks = _chunked(stored)
        self._count = len(stored)

    @classmethod
    def _trusted(cls, size: int, chunks: _Chunks, count: int) -> PageMap:
        """A page map over `chunks`, which the caller hands over and has checked."""
        new = cls.__new__(cls)
        new._size = size
        new._chunks = chunks
        new._count = count
        return new

    @classmethod
    def from_bytes(
        cls, data: bytes | bytearray | memoryview, base: PageMap | None = None
    ) -> PageMap:
        """The page map of `data`, sharing the page objects of `base` where they are equal."""
        view = memoryview(data).cast("B")
        size = len(view)
        shared = base if base is not None else EMPTY_PAGE_MAP
        pages: dict[int, bytes] = {}
        for index, start in enumerate(range(0, size, PAGE_SIZE)):
            chunk = view[start : start + PAGE_SIZE]
            old = shared.page(index)
            if old is not None and old == chunk:
                pages[index] = old
            elif chunk.tobytes().count(0) != len(chunk):
                pages[index] = chunk.tobytes()
        return cls._trusted(size, _chunked(pages), len(pages))

    # --- reading -------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._size

    @property
    def stored_pages(self) -> int:
        """How many pages are stored (the non-zero ones)."""
        return self._count

    def items(self) -> Iterator[tuple[int, bytes]]:
        """The stored (non-zero) pages as (index, page), in no particular order."""
        for chunk in self._chunks.values():
            yield from chunk.items()

    def page(self, index: int) -> bytes | None:
        """The stored page at `index`, or None if it is a zero page."""
        chunk = self._chunks.get(index >> _CHUNK_BITS)
        return None if chunk is None else chunk.get(index)

    def page_run(self, first: int, end: int) -> bytes:
        """Pages `first` to `end` (exclusive) as one byte string, zero pages included;
        only for a memory whose size is a multiple of `PAGE_SIZE` and with `end` pages
        at most."""
        page = self.page
        return b"".join([page(index) or ZERO_PAGE for index in range(first, end)])

    def read(self, offset: int, size: int) -> bytes:
        """`size` bytes from `offset` (IndexError past the end)."""
        if offset < 0 or size < 0 or offset + size > self._size:
            raise IndexError(f"read of {size} bytes at {offset} outside {self._size} bytes")
        parts = []
        end = offset + size
        while offset < end:
            index, within = divmod(offset, PAGE_SIZE)
            take = min(PAGE_SIZE - within, end - offset)
            page = self.page(index)
            parts.append(ZERO_PAGE[:take] if page is None else page[within : within + take])
            offset += take
        return b"".join(parts)

    def __getitem__(self, key: int | slice) -> int | bytes:
        if isinstance(key, slice):
            start, stop, step = key.indices(self._size)
            if step != 1:
                return self.to_bytes()[key]
            return self.read(start, max(0, stop - start))
        if key < 0:
            key += self._size
        if not 0 <= key < self._size:
            raise IndexError("page map index out of range")
        page = self.page(key // PAGE_SIZE)
        return 0 if page is None else page[key % PAGE_SIZE]

    def to_bytes(self) -> bytes:
        """The whole memory as one byte string (a full copy: for tests and exports)."""
        out = bytearray(self._size)
        for index, page in self.items():
            out[index * PAGE_SIZE : index * PAGE_SIZE + len(page)] = page
        return bytes(out)

    def __bytes__(self) -> bytes:
        return self.to_bytes()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PageMap):
            return NotImplemented
        return self is other or (self._size == other._size and self._chunks == other._chunks)

    def __hash__(self) -> int:
        return hash((self._size, frozenset(self.items())))

    def __repr__(self) -> str:
        return f"PageMap(size={self._size}, stored_pages={self._count})"

    # --- new versions --------------------------------------------------------------------

    def updated(self, size: int, changes: Mapping[int, bytes | None]) -> PageMap:
        """A new version of `size` bytes (not smaller) with pages replaced by `changes`.

        A change of None or an all-zero page clears the page; every other page is
        shared with `self`. Page objects in `changes` are stored as given (no copy).
        """
        if size < self._size:
            raise ValueError(f"a memory cannot shrink from {self._size} to {size} bytes")
        chunks = dict(self._chunks)
        copied: set[int] = set()  # chunks already copied for this version
        count = self._count
        last = (size + PAGE_SIZE - 1) // PAGE_SIZE
        for index, page in changes.items():
            if not 0 <= index < last:
                raise ValueError(f"page {index} lies outside a memory of {size} bytes")
            number = index >> _CHUNK_BITS
            chunk = chunks.get(number)
            if page is None or page.count(0) == len(page):
                if chunk is None or index not in chunk:
                    continue
                if number not in copied:
                    chunk = chunks[number] = dict(chunk)
                    copied.add(number)
                del chunk[index]
                count -= 1
                if not chunk:
                    del chunks[number]
                    copied.discard(number)
                continue
            if len(page) != min(PAGE_SIZE, size - index * PAGE_SIZE):
                raise ValueError(f"page {index} has {len(page)} bytes")
            if chunk is None:
                chunk = chunks[number] = {}
                copied.add(number)
            elif number not in copied:
                chunk = chunks[number] = dict(chunk)
                copied.add(number)
            if index not in chunk:
                count += 1
            chunk[index] = page
        return PageMap._trusted(size, chunks, count)


EMPTY_PAGE_MAP = PageMap()


class PageDelta:
    """A writable view of a `PageMap`: reads see the writes, `freeze()` makes a new version."""

    __slots__ = ("_base", "_changed", "_size")

    def __init__(self, base: PageMap) -> None:
        self._base = base
        self._changed: dict[int, bytearray] = {}
        self._size = len(base)

    def __len__(self) -> int:
        return self._size

    @property
    def changed(self) -> bool:
        """True once anything was written or the memory grew."""
        return bool(self._changed) or self._size != len(self._base)

    def grow(self, size: int) -> None:
        """Extend the memory with zeros to `size` bytes."""
        if size < self._size:
            raise ValueError(f"a memory cannot shrink from {self._size} to {size} bytes")
        last = self._size // PAGE_SIZE
        if self._size % PAGE_SIZE and last in self._changed:  # a partial last page
            page = self._changed[last]
            page.extend(bytes(min(PAGE_SIZE, size - last * PAGE_SIZE) - len(page)))
        self._size = size

    def _page(self, index: int) -> bytes | bytearray:
        page = self._changed.get(index)
        if page is not None:
            return page
        stored = self._base.page(index)
        length = min(PAGE_SIZE, self._size - index * PAGE_SIZE)
        if stored is None:
            return ZERO_PAGE[:length]
        if len(stored) < length:  # the base's partial last page, since grown
            return stored + bytes(length - len(stored))
        return stored

    def read(self, offset: int, size: int) -> bytes:
        """`size` bytes from `offset` (IndexError past the end)."""
        if offset < 0 or size < 0 or offset + size > self._size:
            raise IndexError(f"read of {size} bytes at {offset} outside {self._size} bytes")
        if not self._changed and self._size == len(self._base):
            return self._base.read(offset, size)
        parts = []
        end = offset + size
        while offset < end:
            index, within = divmod(offset, PAGE_SIZE)
            take = min(PAGE_SIZE - within, end - offset)
            parts.append(bytes(self._page(index)[within : within + take]))
            offset += take
        return b"".join(parts)

    def write(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        """Write `data` at `offset` (IndexError past the end)."""
        size = len(data)
        if offset < 0 or offset + size > self._size:
            raise IndexError(f"write of {size} bytes at {offset} outside {self._size} bytes")
        view = memoryview(data).cast("B")
        done = 0
        while done < size:
            index, within = divmod(offset + done, PAGE_SIZE)
            take = min(PAGE_SIZE - within, size - done)
            page = self._changed.get(index)
            if page is None:
                page = self._changed[index] = bytearray(self._page(index))
            page[within : within + take] = view[done : done + take]
            done += take

    def freeze(self) -> PageMap:
        """The new version: the base with the written pages replaced, the rest shared."""
        if not self.changed:
            return self._base
        changes: dict[int, bytes | None] = {}
        for index, page in self._changed.items():
            old = self._base.page(index)
            changes[index] = old if old is not None and old == page else bytes(page)
        last = (len(self._base) - 1) // PAGE_SIZE
        if len(self._base) % PAGE_SIZE and last not in changes:  # re-pad a partial last page
            stored = self._base.page(last)
            if stored is not None:
                changes[last] = stored + bytes(
                    min(PAGE_SIZE, self._size - last * PAGE_SIZE) - len(stored)
                )
        return self._base.updated(self._size, changes)
