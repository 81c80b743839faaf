"""Exporting a module's memory, table and mutable globals so the sandbox can persist them.

Spec: IC interface spec 0.66.0, Abstract behavior › Abstract canisters (the canister state
that survives between executions: heap memory and globals) and The System API › Callbacks
(reply/reject/cleanup callbacks are functions of the module's table).

The sandbox runs every execution in a fresh wasmtime instance, so everything a canister
keeps between messages must be read out of the instance after a message and written back
into the next one. The host can only reach exported entities, and a canister need not
export its memory, table or globals; this pass adds exports for them under names in a
reserved namespace (impl; the IC replica's instrumentation does the same for its own
counters):

* `icbox:memory` — memory 0 (heap), if the module has a memory;
* `icbox:table` — table 0 (where callbacks live), if the module has a table;
* `icbox:global:<index>` — each *mutable* global the module defines, in index order.
  Immutable globals are part of the module, not of the state, so they are not persisted.

Only export entries are appended, so no index of the module moves; the pass runs before
`metering.instrument`, whose counter global is therefore not among the persisted globals.
wasmtime cannot read or write `v128` values from Python, so a mutable `v128` global is
rejected here (impl limitation).
"""

from __future__ import annotations

from dataclasses import dataclass

from replica_core.execution.wasm_binary import (
    EXPORT,
    InvalidWasm,
    Section,
    parse_module,
    write_module,
)
from replica_core.leb128 import decode_unsigned, encode_unsigned

__all__ = [
    "GLOBAL_EXPORT_PREFIX",
    "MEMORY_EXPORT",
    "RESERVED_PREFIX",
    "TABLE_EXPORT",
    "PersistedModule",
    "export_state",
]

RESERVED_PREFIX = "icbox:"
MEMORY_EXPORT = "icbox:memory"
TABLE_EXPORT = "icbox:table"
GLOBAL_EXPORT_PREFIX = "icbox:global:"

_KIND_TABLE, _KIND_MEMORY, _KIND_GLOBAL = b"\x01", b"\x02", b"\x03"
# Sections that must come before the export section (type, import, function, table,
# memory, tag, global), by id; used when the module has no export section yet.
_BEFORE_EXPORT = frozenset({1, 2, 3, 4, 5, 13, 6})


@dataclass(frozen=True, slots=True)
class PersistedModule:
    """A module with its state exported, and the names of those exports.

    `globals` lists `(export name, value type)` of the persisted globals in index order.
    """

    wasm: bytes
    memory_export: str | None
    table_export: str | None
    globals: tuple[tuple[str, str], ...]
    is_64: bool


def export_state(wasm: bytes) -> PersistedModule:
    """Add exports for memory 0, table 0 and every mutable defined global.

    Raises `InvalidWasm` if the module cannot be read, already uses the reserved export
    namespace, or has a mutable `v128` global.
    """
    info = parse_module(wasm)
    for export in info.exports:
        if export.name.startswith(RESERVED_PREFIX):
            raise InvalidWasm(f"export name '{export.name}' is reserved for instrumentation")
    entries: list[bytes] = []
    memory_export = table_export = None
    if info.all_memories:
        memory_export = MEMORY_EXPORT
        entries.append(_export_entry(MEMORY_EXPORT, _KIND_MEMORY, 0))
    if info.all_tables:
        table_export = TABLE_EXPORT
        entries.append(_export_entry(TABLE_EXPORT, _KIND_TABLE, 0))
    imported_globals = sum(1 for i in info.imports if i.kind == "global")
    persisted: list[tuple[str, str]] = []
    for position, global_type in enumerate(info.globals):
        if not global_type.mutable:
            continue
        if global_type.value_type not in ("i32", "i64", "f32", "f64"):
            raise InvalidWasm(
                f"mutable global {imported_globals + position} of type "
                f"{global_type.value_type} cannot be persisted"
            )
        index = imported_globals + position
        name = f"{GLOBAL_EXPORT_PREFIX}{index}"
        persisted.append((name, global_type.value_type))
        entries.append(_export_entry(name, _KIND_GLOBAL, index))
    sections = list(info.sections)
    if entries:
        sections = _append_exports(sections, entries)
    return PersistedModule(
        wasm=write_module(sections) if entries else wasm,
        memory_export=memory_export,
        table_export=table_export,
        globals=tuple(persisted),
        is_64=info.is_64,
    )


def _export_entry(name: str, kind: bytes, index: int) -> bytes:
    raw = name.encode("utf-8")
    return encode_unsigned(len(raw)) + raw + kind + encode_unsigned(index)


def _append_exports(sections: list[Section], entries: list[bytes]) -> list[Section]:
    """Append export entries to the export section, creating it in order if missing."""
    out: list[Section] = []
    done = False
    for section in sections:
        if section.id == EXPORT:
            count, pos = decode_unsigned(section.payload, 0)
            payload = encode_unsigned(count + len(entries)) + section.payload[pos:]
            section = Section(EXPORT, payload + b"".join(entries))
            done = True
        out.append(section)
    if not done:
        payload = encode_unsigned(len(entries)) + b"".join(entries)
        position = 0
        for i, section in enumerate(out):
            if section.id in _BEFORE_EXPORT:
                position = i + 1
        out.insert(position, Section(EXPORT, payload))
    return out
