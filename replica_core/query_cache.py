"""The replica-side query cache: repeated non-replicated queries answered without running Wasm.

Spec: IC interface spec 0.66.0, Abstract behavior › Query call (a query runs on a certified
state and nothing it does is kept, so the same query on an unchanged state has the same
response). The cache itself is an implementation detail of the IC replica
(dfinity/ic rs/execution_environment/src/query_handler/query_cache.rs); icbox keeps its
rules, stricter where icbox cannot observe as much:

* Key: (receiver, caller, method name, argument) — `QueryKey`.
* An entry records the certified state it was computed on (its height and time) and every
  canister the call graph depended on (the receiver and the callee of every call it made).
  It is valid while none of those canisters changed since (`canisters_changed`, told by the
  subnet for every certified state it publishes; the IC compares canister versions and
  balances, icbox compares "the certified copy of the canister was replaced", which covers
  both) and, if any module in the graph can read the time or the data certificate (it
  imports `ic0.time`, `ic0.data_certificate_size` or `ic0.data_certificate_copy`: icbox has
  no per-execution System API counters), only on the same certified state. Unlike the IC,
  a result that read the data certificate is never served across certified states.
* Only replies are cached: a reject, a trap anywhere in the call graph (the IC's "nested
  errors"), running out of instructions, or a call to the management canister (whose
  answers depend on the whole subnet) make the result uncacheable.
* Bounded: least recently used entries are evicted beyond `max_bytes` (counted as the IC
  does: key and response bytes plus a fixed overhead) or `max_entries`; an entry older than
  `max_age_ns` of certified time is dropped (IC: `query_cache_max_expiry_time`).

Query statistics (`query_stats` in `canister_status`) are not tracked by icbox, so cache hits
change no counter there; the cache keeps its own `hits`/`misses`/`evictions`/`invalidations`.
All methods are thread safe (queries run on a thread pool while rounds run on another).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from replica_core.errors import Reject
from replica_core.execution.interface import ExecutionOutcome, Reply
from replica_core.principal import Principal

__all__ = [
    "DEFAULT_MAX_AGE_NS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_ENTRIES",
    "ENTRY_OVERHEAD_BYTES",
    "TIME_DEPENDENT_IMPORTS",
    "QueryCache",
    "QueryKey",
    "QueryRecord",
    "module_reads_time",
]

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
"""Capacity of the cache in counted bytes (impl; the IC's default is 200 MiB)."""

DEFAULT_MAX_ENTRIES = 100_000
"""Most entries kept, whatever their size (impl)."""

DEFAULT_MAX_AGE_NS = 300 * 1_000_000_000
"""Longest an entry is served, in certified time (IC `query_cache_max_expiry_time`)."""

ENTRY_OVERHEAD_BYTES = 256
"""Bytes counted for an entry beyond its key and response (impl: the Python objects)."""

TIME_DEPENDENT_IMPORTS = frozenset({"time", "data_certificate_size", "data_certificate_copy"})
"""`ic0` functions whose answer changes with every certified state of an unchanged canister."""


@dataclass(frozen=True, slots=True)
class QueryKey:
    """What distinguishes cached queries (IC `EntryKey`)."""

    receiver: Principal
    caller: Principal
    method_name: str
    arg: bytes


@dataclass(slots=True)
class QueryRecord:
    """What one query's call graph depended on, collected while it runs."""

    canisters: set[Principal] = field(default_factory=set)
    time_dependent: bool = False
    cacheable: bool = True

    def executed(self, canister_id: Principal, outcome: ExecutionOutcome, reads_time: bool) -> None:
        """One execution in the graph: its canister, the callees of its calls, its trap."""
        self.canisters.add(canister_id)
        self.time_dependent = self.time_dependent or reads_time
        if outcome.trap is not None:
            self.cacheable = False
        for call in outcome.calls:
            self.canisters.add(call.callee)

    def called_management(self) -> None:
        """A call to `aaaaa-aa`: its answer depends on more than the canisters recorded."""
        self.cacheable = False


def module_reads_time(info: object | None) -> bool:
    """Whether a validated module may read the time or the data certificate (None: unknown,
    assume it does)."""
    parsed = getattr(info, "info", None)
    imports = getattr(parsed, "imports", None)
    if imports is None:
        return True
    return any(imp.module == "ic0" and imp.name in TIME_DEPENDENT_IMPORTS for imp in imports)


@dataclass(frozen=True, slots=True)
class _Entry:
    result: Reply
    height: int  # the certified state the result was computed on
    time: int  # that state's certified time (ns)
    canisters: tuple[Principal, ...]
    time_dependent: bool
    size: int


class QueryCache:
    """An LRU cache of query replies, valid while the canisters they depend on are unchanged."""

    def __init__(
        self,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_age_ns: int = DEFAULT_MAX_AGE_NS,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.max_age_ns = max_age_ns
        self._entries: OrderedDict[QueryKey, _Entry] = OrderedDict()
        self._changed_at: dict[Principal, int] = {}  # height of each canister's last change
        self._lock = threading.Lock()
        self.size = 0
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.invalidations = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(
        self, key: QueryKey, height: int, time: int, *, count_miss: bool = True
    ) -> Reply | None:
        """The cached reply of `key` if it is still valid on the certified state `height`
        (at certified `time`), else None (counted as a miss unless `count_miss` is false: a
        caller that will run the query, and so look again, counts it then)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += count_miss
                return None
            if self._valid(entry, height, time):
                self._entries.move_to_end(key)
                self.hits += 1
                return entry.result
            self._drop(key, entry)
            self.invalidations += 1
            self.misses += count_miss
            return None

    def _valid(self, entry: _Entry, height: int, time: int) -> bool:
        if entry.time_dependent and entry.height != height:
            return False
        if time - entry.time > self.max_age_ns:
            return False
        changed = self._changed_at
        return all(changed.get(cid, -1) <= entry.height for cid in entry.canisters)

    def put(
        self, key: QueryKey, result: Reply | Reject, record: QueryRecord, height: int, time: int
    ) -> bool:
        """Keep the result of a query computed on the certified state `height` (at certified
        `time`), if it may be cached; returns whether it was."""
        if not isinstance(result, Reply) or not record.cacheable:
            return False
        size = ENTRY_OVERHEAD_BYTES + len(key.method_name) + len(key.arg) + len(result.payload)
        if size > self.max_bytes:
            return False
        entry = _Entry(result, height, time, tuple(record.canisters), record.time_dependent, size)
        with self._lock:
            if not self._valid(entry, height, time):
                return False  # a canister it read changed while it ran
            old = self._entries.pop(key, None)
            if old is not None:
                self.size -= old.size
            self._entries[key] = entry
            self.size += size
            while self.size > self.max_bytes or len(self._entries) > self.max_entries:
                _, evicted = self._entries.popitem(last=False)
                self.size -= evicted.size
                self.evictions += 1
        return True

    def canisters_changed(self, height: int, canister_ids: Iterable[Principal]) -> None:
        """The certified state `height` replaced (or removed) these canisters: entries that
        depend on them, computed on an earlier state, are no longer valid."""
        with self._lock:
            for cid in canister_ids:
                self._changed_at[cid] = height

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.size = 0

    def _drop(self, key: QueryKey, entry: _Entry) -> None:
        del self._entries[key]
        self.size -= entry.size
