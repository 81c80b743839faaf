"""The Candid type table: serialising types into it and parsing it back.

Spec: IC interface spec 0.66.0, Candid (dfinity/candid spec/Candid.md › Binary Format ›
Types, Parameters and Results, Deserialisation of future types).

A message starts with `DIDL`, a table of composite types (each may refer to table entries,
which is how recursion is expressed), then the list of argument types. Parsing checks every
count against the bytes that remain, every reference against the table, field-id order,
method-name order and annotation codes; entries that lie on a cycle become `Rec` knots.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from replica_core.candid.types import (
    FUNC_MODES,
    OPCODE_FUNC,
    OPCODE_OPT,
    OPCODE_RECORD,
    OPCODE_SERVICE,
    OPCODE_VARIANT,
    OPCODE_VEC,
    PRIMITIVES_BY_OPCODE,
    CandidType,
    Field,
    Func,
    FutureType,
    Opt,
    Prim,
    Rec,
    Record,
    Service,
    Variant,
    Vec,
    unroll,
)
from replica_core.candid.wire import leb_unsigned, read_leb, read_sleb
from replica_core.errors import CandidError
from replica_core.leb128 import encode_signed

__all__ = ["MAGIC", "encode_type_table", "parse_header"]

MAGIC = b"DIDL"
_MODE_NAMES = {code: name for name, code in FUNC_MODES.items()}


# --- serialising --------------------------------------------------------------------


class _TypeTable:
    """Assigns table indices to composite types; each distinct composite type once."""

    def __init__(self) -> None:
        self.entries: list[bytes | None] = []
        self.index: dict[CandidType, int] = {}

    def ref(self, t: CandidType) -> int:
        """The opcode (primitive) or table index (composite) that stands for `t`."""
        t = unroll(t)
        if isinstance(t, Prim):
            return t.opcode
        if isinstance(t, FutureType):
            raise CandidError(f"cannot encode a value of the future type {t.opcode}")
        found = self.index.get(t)
        if found is not None:
            return found
        i = len(self.entries)
        self.index[t] = i
        self.entries.append(None)
        self.entries[i] = self._entry(t)
        return i

    def _entry(self, t: CandidType) -> bytes:
        s = encode_signed
        if isinstance(t, Opt):
            return s(OPCODE_OPT) + s(self.ref(t.inner))
        if isinstance(t, Vec):
            return s(OPCODE_VEC) + s(self.ref(t.inner))
        if isinstance(t, Record | Variant):
            op = OPCODE_RECORD if isinstance(t, Record) else OPCODE_VARIANT
            parts = [s(op), leb_unsigned(len(t.fields))]
            for f in t.fields:
                parts.append(leb_unsigned(f.id) + s(self.ref(f.type)))
            return b"".join(parts)
        if isinstance(t, Func):
            parts = [s(OPCODE_FUNC), leb_unsigned(len(t.args))]
            parts += [s(self.ref(a)) for a in t.args]
            parts.append(leb_unsigned(len(t.rets)))
            parts += [s(self.ref(r)) for r in t.rets]
            parts.append(leb_unsigned(len(t.modes)))
            parts += [bytes((FUNC_MODES[m],)) for m in t.modes]
            return b"".join(parts)
        if isinstance(t, Service):
            parts = [s(OPCODE_SERVICE), leb_unsigned(len(t.methods))]
            for name, mt in t.methods:
                if not isinstance(unroll(mt), Func):
                    raise CandidError(f"service method {name!r} has non-function type {mt}")
                raw = name.encode("utf-8")
                parts.append(leb_unsigned(len(raw)) + raw + s(self.ref(mt)))
            return b"".join(parts)
        raise CandidError(f"not a Candid type: {t!r}")


def encode_type_table(types: Sequence[CandidType]) -> bytes:
    """The header of a message: `DIDL`, the type table and the argument type list."""
    table = _TypeTable()
    refs = [table.ref(t) for t in types]
    entries = [e for e in table.entries if e is not None]
    return b"".join(
        [MAGIC, leb_unsigned(len(entries)), *entries, leb_unsigned(len(refs))]
        + [encode_signed(r) for r in refs]
    )


# --- the type table --------------------------------------------------------------------


def parse_header(data: bytes) -> tuple[list[CandidType], int]:
    """Parse `DIDL`, the type table and the argument types; return (types, value offset)."""
    if data[:4] != MAGIC:
        raise CandidError("Candid data does not start with the magic bytes DIDL")
    try:
        return _parse_header(data)
    except IndexError:
        raise CandidError("unexpected end of input inside the Candid type table") from None
    except RecursionError:
        raise CandidError("Candid type table nested too deeply") from None


def _count(data: bytes, pos: int, what: str) -> tuple[int, int]:
    n, pos = read_leb(data, pos)
    if n > len(data) - pos:
        raise CandidError(f"{what} count {n} exceeds the remaining {len(data) - pos} bytes")
    return n, pos


def _parse_header(data: bytes) -> tuple[list[CandidType], int]:
    pos = 4
    n_entries, pos = _count(data, pos, "type table")
    raw: list[tuple[Any, ...]] = []

    def ref(p: int) -> tuple[int, int]:
        r, p = read_sleb(data, p)
        if r >= 0:
            if r >= n_entries:
                raise CandidError(f"type index {r} is outside the table of {n_entries} entries")
        elif r not in PRIMITIVES_BY_OPCODE:
            raise CandidError(f"type opcode {r} is not a primitive type")
        return r, p

    for _ in range(n_entries):
        op, pos = read_sleb(data, pos)
        if op in (OPCODE_OPT, OPCODE_VEC):
            r, pos = ref(pos)
            raw.append((op, r))
        elif op in (OPCODE_RECORD, OPCODE_VARIANT):
            n, pos = _count(data, pos, "field")
            fields = []
            last = -1
            for _ in range(n):
                fid, pos = read_leb(data, pos)
                if fid >= 1 << 32:
                    raise CandidError(f"field id {fid} exceeds 32 bits")
                if fid <= last:
                    raise CandidError(f"field ids not strictly increasing ({last} then {fid})")
                last = fid
                r, pos = ref(pos)
                fields.append((fid, r))
            raw.append((op, fields))
        elif op == OPCODE_FUNC:
            n, pos = _count(data, pos, "function argument")
            args = []
            for _ in range(n):
                r, pos = ref(pos)
                args.append(r)
            n, pos = _count(data, pos, "function result")
            rets = []
            for _ in range(n):
                r, pos = ref(pos)
                rets.append(r)
            n, pos = _count(data, pos, "function annotation")
            modes = []
            for _ in range(n):
                code = data[pos]
                pos += 1
                if code not in _MODE_NAMES:
                    raise CandidError(f"unknown function annotation {code}")
                modes.append(_MODE_NAMES[code])
            raw.append((op, args, rets, modes))
        elif op == OPCODE_SERVICE:
            n, pos = _count(data, pos, "service method")
            methods = []
            last_name: bytes | None = None
            for _ in range(n):
                ln, pos = _count(data, pos, "method name length")
                name_raw = data[pos : pos + ln]
                pos += ln
                if last_name is not None and name_raw <= last_name:
                    raise CandidError("service method names not strictly increasing")
                last_name = name_raw
                try:
                    name = name_raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise CandidError("service method name is not valid UTF-8") from None
                r, pos = ref(pos)
                methods.append((name, r))
            raw.append((op, methods))
        elif op < -24:
            ln, pos = _count(data, pos, "future type length")
            raw.append((op, data[pos : pos + ln]))
            pos += ln
        else:
            raise CandidError(f"type table entry has opcode {op}, not a composite type")

    n_args, pos = _count(data, pos, "argument")
    arg_refs = []
    for _ in range(n_args):
        r, pos = ref(pos)
        arg_refs.append(r)
    types = _TableBuilder(raw).build_all()
    for t in types:
        u = unroll(t)
        if isinstance(u, Service):
            for name, mt in u.methods:
                if not isinstance(unroll(mt), Func):
                    raise CandidError(f"service method {name!r} does not have a function type")
    return [types[r] if r >= 0 else PRIMITIVES_BY_OPCODE[r] for r in arg_refs], pos


class _TableBuilder:
    """Turns raw table entries into types; entries on a cycle become `Rec` knots."""

    def __init__(self, raw: list[tuple[Any, ...]]) -> None:
        self.raw = raw
        self.done: dict[int, CandidType] = {}
        self.active: set[int] = set()
        self.knots: dict[int, Rec] = {}

    def build_all(self) -> list[CandidType]:
        return [self.entry(i) for i in range(len(self.raw))]

    def get(self, r: int) -> CandidType:
        return PRIMITIVES_BY_OPCODE[r] if r < 0 else self.entry(r)

    def entry(self, i: int) -> CandidType:
        found = self.done.get(i)
        if found is not None:
            return found
        if i in self.active:
            knot = self.knots.get(i)
            if knot is None:
                knot = self.knots[i] = Rec(f"rec_{i}")
            return knot
        self.active.add(i)
        t = self._make(self.raw[i])
        self.active.discard(i)
        knot = self.knots.get(i)
        if knot is not None:
            knot.define(t)
            t = knot
        self.done[i] = t
        return t

    def _make(self, e: tuple[Any, ...]) -> CandidType:
        op = e[0]
        if op == OPCODE_OPT:
            return Opt(self.get(e[1]))
        if op == OPCODE_VEC:
            return Vec(self.get(e[1]))
        if op in (OPCODE_RECORD, OPCODE_VARIANT):
            fields = tuple(Field(fid, None, self.get(r)) for fid, r in e[1])
            return Record(fields) if op == OPCODE_RECORD else Variant(fields)
        if op == OPCODE_FUNC:
            return Func(
                tuple(self.get(r) for r in e[1]), tuple(self.get(r) for r in e[2]), tuple(e[3])
            )
        if op == OPCODE_SERVICE:
            return Service(tuple((name, self.get(r)) for name, r in e[1]))
        return FutureType(op, bytes(e[1]))
