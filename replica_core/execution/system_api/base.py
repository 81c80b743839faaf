"""The per-execution System API state and the helpers every ic0 group uses.

Spec: IC interface spec 0.66.0, The System API (blob idioms, traps, execution contexts).

`ApiBase` holds what one execution of an entry point can observe and change through
`ic0`: the entry call and environment (read-only), the reply buffer and response, the call
under construction and the performed calls, cycles accepted/burned/attached, certified
data, the timer, logs and stable memory. The groups (`msg`, `call`, `cycles`, `stable`,
`misc`) add one method per import on top of it; `SystemApi` in `api.py` combines them.

While an import runs, `caller` is the wasmtime `Caller` of that host call; memory is read
and written through ctypes at the memory's data pointer, fetched anew per access because
`memory.grow` may move it. A failed precondition raises `HostTrap`, which propagates
unchanged out of the wasm call to the sandbox (wasmtime re-raises the host's exception).
"""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING

from replica_core.errors import Reject
from replica_core.execution import wasmtime_fast as fast
from replica_core.execution.interface import (
    Context,
    EntryCall,
    EntryKind,
    Environment,
    LogRecord,
    OutgoingCall,
    Reply,
    Trap,
    TrapKind,
)
from replica_core.execution.page_map import PageDelta, PageMap

if TYPE_CHECKING:
    import wasmtime

__all__ = [
    "CHARGE_BATCH",
    "MAX_CALL_TIMEOUT",
    "MAX_INTER_CANISTER_PAYLOAD",
    "MAX_LOG_MESSAGE",
    "MAX_RESPONSE_SIZE",
    "MAX_STABLE_MEMORY",
    "MODE_NAMES",
    "PAGE_SIZE",
    "ApiBase",
    "HostTrap",
    "PendingCall",
]

PAGE_SIZE = 64 * 1024
MAX_STABLE_MEMORY = 500 * 1024**3  # resource-limits.md: stable memory 500 GiB
MAX_INTER_CANISTER_PAYLOAD = 2 * 1024 * 1024  # resource-limits.md: 2 MiB call argument
MAX_RESPONSE_SIZE = 2 * 1024 * 1024  # resource-limits.md: 2 MiB replicated response
MAX_NON_REPLICATED_RESPONSE_SIZE = 3 * 1024 * 1024  # resource-limits.md: 3 MiB for queries
MAX_CALL_TIMEOUT = 300  # spec: MAX_CALL_TIMEOUT, seconds (call_with_best_effort_response)
CHARGE_BATCH = 100_000  # (impl) dynamic charges are applied in batches of this size
MAX_LOG_MESSAGE = 4 * 1024  # (impl, as the IC) a debug_print record is cut to 4 KiB
_U128_MAX = (1 << 128) - 1
_NON_REPLICATED = frozenset({"NRQ", "TQ", "CQ", "CRy", "CRt", "CC", "F"})

# How the IC names each context in contract-violation messages (impl: dfinity/ic ApiType).
MODE_NAMES: dict[str, str] = {
    "s": "start",
    "I": "init",
    "G": "pre upgrade",
    "U": "update",
    "RQ": "replicated query",
    "NRQ": "non replicated query",
    "TQ": "non replicated query",
    "CQ": "composite query",
    "Ry": "reply callback",
    "Rt": "reject callback",
    "CRy": "composite reply callback",
    "CRt": "composite reject callback",
    "C": "cleanup",
    "CC": "composite cleanup",
    "F": "inspect message",
    "T": "system task",
}
_TASK_NAMES = {
    EntryKind.HEARTBEAT: "heartbeat",
    EntryKind.GLOBAL_TIMER: "global timer",
    EntryKind.ON_LOW_WASM_MEMORY: "on low Wasm memory",
}
_RESPONDING = frozenset({"U", "RQ", "NRQ", "TQ", "CQ", "Ry", "Rt", "CRy", "CRt"})


class HostTrap(Exception):
    """Raised inside an ic0 import to end the execution with `trap`."""

    def __init__(self, trap: Trap) -> None:
        super().__init__(trap.message)
        self.trap = trap


class PendingCall:
    """The call under construction between `call_new` and `call_perform`."""

    __slots__ = ("arg", "callee", "cleanup", "cycles", "method_name", "on_reject", "on_reply")
    __slots__ += ("timeout_seconds",)

    def __init__(
        self,
        callee: bytes,
        method_name: str,
        on_reply: tuple[int, int],
        on_reject: tuple[int, int],
    ) -> None:
        self.callee = callee
        self.method_name = method_name
        self.on_reply = on_reply
        self.on_reject = on_reject
        self.arg = bytearray()
        self.cycles = 0
        self.cleanup: tuple[int, int] | None = None
        self.timeout_seconds: int | None = None


class ApiBase:
    """State of one execution as seen through ic0, and memory/trap helpers."""

    __slots__ = (
        "accepted_message",
        "call",
        "caller",
        "calls",
        "certified_data",
        "context",
        "counter",
        "cycles_accepted",
        "cycles_attached",
        "cycles_available",
        "cycles_burned",
        "cycles_reserved",
        "env",
        "global_timer",
        "is_64",
        "logs",
        "memory",
        "pending",
        "pending_charge",
        "replied",
        "reply_buffer",
        "response",
        "stable",
        "stable_written",
    )

    def __init__(
        self, call: EntryCall, env: Environment, stable_memory: PageMap, is_64: bool
    ) -> None:
        self.call = call
        self.env = env
        self.context: str = call.context.value
        self.is_64 = is_64
        self.caller: wasmtime.Caller | None = None
        self.memory: wasmtime.Memory | None = None
        self.counter: wasmtime.Global | None = None
        self.pending_charge = 0  # dynamic instruction charges not yet applied
        self.reply_buffer = bytearray()
        self.response: Reply | Reject | None = None
        self.replied = call.responded or self.context not in _RESPONDING
        self.pending: PendingCall | None = None
        self.calls: list[OutgoingCall] = []
        self.cycles_available = call.cycles_available
        self.cycles_accepted = 0
        self.cycles_burned = 0
        self.cycles_attached = 0  # on performed calls and the call under construction
        self.cycles_reserved = 0  # fees of performed calls (impl: checked, charged later)
        self.certified_data: bytes | None = None
        self.global_timer: int | None = None
        self.logs: list[LogRecord] = []
        self.accepted_message = False
        self.stable: PageMap | PageDelta = stable_memory  # a PageDelta once written
        self.stable_written = False

    # --- execution context ---------------------------------------------------------------

    @property
    def mode_name(self) -> str:
        """The IC's name of the current execution context."""
        if self.context == "T":
            return _TASK_NAMES.get(self.call.kind, "system task")
        return MODE_NAMES[self.context]

    @property
    def replicated(self) -> bool:
        """True in replicated execution (spec: ic0.in_replicated_execution)."""
        return self.context not in _NON_REPLICATED

    @property
    def certificate_context(self) -> bool:
        """True where a data certificate can be present: a non-replicated query or
        composite query method (not a transform, not a callback)."""
        return self.call.context in (Context.NRQ, Context.CQ)

    # --- traps ---------------------------------------------------------------------------

    def violation(self, message: str) -> HostTrap:
        """A System API contract violation (the canister used ic0 wrongly)."""
        return HostTrap(Trap(TrapKind.CONTRACT_VIOLATION, f"Canister violated contract: {message}"))

    def canister_trap(self, message: str) -> HostTrap:
        """A trap the IC reports as "Canister trapped: …" (e.g. stable out of bounds)."""
        return HostTrap(Trap(TrapKind.CANISTER_TRAP, f"Canister trapped: {message}"))

    def context_violation(self, name: str) -> HostTrap:
        """The import may not be called in the current context."""
        return self.violation(f'"ic0_{name}" cannot be executed in {self.mode_name} mode')

    # --- instructions --------------------------------------------------------------------

    def charge(self, amount: int) -> None:
        """Charge `amount` instructions (dynamic System API cost, e.g. bytes copied).

        Charges are collected and applied to the instruction counter once they reach
        `CHARGE_BATCH` (and when the counter is read or the execution ends), which saves
        two counter accesses per import call; an execution can thus overshoot its budget
        by less than one batch before it traps, as metering lets it overshoot by one block.
        """
        if amount > 0:
            self.pending_charge += amount
            if self.pending_charge >= CHARGE_BATCH:
                self.flush_charges()

    def flush_charges(self) -> None:
        """Apply the collected charges; out of instructions if the counter goes negative."""
        amount, counter, caller = self.pending_charge, self.counter, self.caller
        if amount == 0 or counter is None or caller is None:
            return
        self.pending_charge = 0
        left = int(fast.global_get(caller, counter, "i64")) - amount
        fast.global_set(caller, counter, "i64", left)
        if left < 0:
            raise HostTrap(
                Trap(
                    TrapKind.OUT_OF_INSTRUCTIONS,
                    f"Canister exceeded the limit of {self.call.instruction_limit} "
                    "instructions for single message execution.",
                )
            )

    # --- memory --------------------------------------------------------------------------

    def _heap(self) -> tuple[int, int]:
        """Address and length of the canister's heap (0, 0 without a memory)."""
        memory, caller = self.memory, self.caller
        if memory is None or caller is None:
            return 0, 0
        return fast.data_address(caller, memory), fast.memory_size(caller, memory)

    def _heap_range(self, what: str, start: int, size: int) -> int:
        """The address of heap[start:start+size], or a contract violation if out of bounds."""
        address, length = self._heap()
        if start + size > length:
            raise self.violation(
                f"{what} heap: src={start} + length={size} exceeds the slice size={length}"
            )
        return address + start

    def read_heap(self, what: str, src: int, size: int) -> bytes:
        """Copy heap[src:src+size] out of the canister (blob parameters)."""
        address = self._heap_range(what, src, size)
        self.charge(size)
        return ctypes.string_at(address, size) if size else b""

    def write_heap(self, what: str, dst: int, data: bytes) -> None:
        """Copy `data` into heap[dst:dst+len(data)]."""
        address = self._heap_range(what, dst, len(data))
        self.charge(len(data))
        if data:
            ctypes.memmove(address, data, len(data))

    def copy_blob(self, what: str, blob: bytes, dst: int, offset: int, size: int) -> None:
        """The blob idiom `X_copy(dst, offset, size)`: blob[offset:offset+size] → heap[dst:]."""
        self._heap_range(what, dst, size)
        if offset + size > len(blob):
            raise self.violation(
                f"{what} data: src={offset} + length={size} exceeds the slice size={len(blob)}"
            )
        self.write_heap(what, dst, blob[offset : offset + size])

    def write_u128(self, what: str, dst: int, value: int) -> None:
        """Write a 128-bit amount as 16 little-endian bytes (as the IC does); amounts
        saturate at 2^128 - 1 (spec: cycle balances saturate on addition)."""
        self.write_heap(what, dst, min(value, _U128_MAX).to_bytes(16, "little"))

    def log(self, content: bytes) -> None:
        """Append a canister log record, cut to `MAX_LOG_MESSAGE` bytes."""
        self.logs.append(LogRecord(self.env.time, bytes(content[:MAX_LOG_MESSAGE])))

    # --- cycles --------------------------------------------------------------------------

    @property
    def balance(self) -> int:
        """The balance as this execution sees it (spec: canister_cycle_balance128)."""
        return max(
            self.env.balance + self.cycles_accepted - self.cycles_burned - self.cycles_attached,
            0,
        )

    @property
    def liquid_balance(self) -> int:
        """What can still be spent without freezing (spec: liquid cycle balance)."""
        spent = self.cycles_burned + self.cycles_attached + self.cycles_reserved
        return max(self.env.liquid_balance + self.cycles_accepted - spent, 0)
