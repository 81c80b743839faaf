"""The Candid type model: primitive and composite types, field ids, recursion knots.

Spec: IC interface spec 0.66.0, Candid (dfinity/candid spec/Candid.md › Types, Binary format).

Types are immutable values (frozen slotted dataclasses) except for the recursion knot `Rec`,
which is created first, used inside other types, then tied with `rec.define(t)`. A `Rec`
compares and hashes by identity, so `==` and `hash` on recursive types always terminate.

Python value representation (what `encode` accepts and `decode` returns):

=====================  ==================================================================
Candid type            Python value
=====================  ==================================================================
nat, int, natN, intN   `int`
float32, float64       `float` (encode also accepts `int`)
bool                   `bool`
text                   `str`
null, reserved         `None` (encode accepts anything for `reserved`)
principal              `replica_core.principal.Principal`
vec nat8               `bytes` (encode also accepts `bytearray`, `memoryview`, `list[int]`)
other vec              `list` (encode accepts any sequence)
opt T                  `[]` for none, `[v]` for some (as agent-js and icp-py-core do)
record                 `dict` keyed by field name when the type knows one, else by the
                       numeric id as `int`; encode accepts name or id keys, and a tuple
                       record (ids 0..n-1) also accepts a `list`/`tuple`
variant                a `dict` with exactly one `{tag: value}` entry (same key rule)
func reference         `(Principal, method_name: str)`
service reference      `Principal`
empty                  no value
=====================  ==================================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from replica_core.errors import CandidError

__all__ = [
    "BOOL",
    "EMPTY",
    "FLOAT32",
    "FLOAT64",
    "FUNC_MODES",
    "INT",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "NAT",
    "NAT8",
    "NAT16",
    "NAT32",
    "NAT64",
    "NULL",
    "OPCODE_FUNC",
    "OPCODE_OPT",
    "OPCODE_RECORD",
    "OPCODE_SERVICE",
    "OPCODE_VARIANT",
    "OPCODE_VEC",
    "PRIMITIVES",
    "PRIMITIVES_BY_OPCODE",
    "PRINCIPAL",
    "RESERVED",
    "TEXT",
    "CandidType",
    "Field",
    "Func",
    "FutureType",
    "Opt",
    "Prim",
    "Rec",
    "Record",
    "Service",
    "Variant",
    "Vec",
    "field_hash",
    "field_id",
    "unroll",
]

# Composite type opcodes (Candid spec › Binary format › Types: T(opt <datatype>) = sleb128(-18) …).
OPCODE_OPT = -18
OPCODE_VEC = -19
OPCODE_RECORD = -20
OPCODE_VARIANT = -21
OPCODE_FUNC = -22
OPCODE_SERVICE = -23

FUNC_MODES: dict[str, int] = {"query": 1, "oneway": 2, "composite_query": 3}
"""Function annotations and their binary codes (Candid spec › Binary format › `A(...)`)."""


def field_hash(name: str) -> int:
    """The Candid id of a field name: h = h * 223 + byte over its UTF-8, modulo 2^32."""
    h = 0
    for byte in name.encode("utf-8"):
        h = (h * 223 + byte) & 0xFFFFFFFF
    return h


def field_id(name_or_id: str | int) -> int:
    """The id of a field label: an int is the id; a numeric text label like "0" is an id too."""
    if isinstance(name_or_id, bool):
        raise CandidError(f"field label {name_or_id!r} is neither a name nor an id")
    if isinstance(name_or_id, int):
        if not 0 <= name_or_id < 1 << 32:
            raise CandidError(f"field id {name_or_id} is outside the 32-bit range")
        return name_or_id
    if isinstance(name_or_id, str):
        if name_or_id.isdecimal() and name_or_id.isascii():
            return field_id(int(name_or_id))
        return field_hash(name_or_id)
    raise CandidError(f"field label {name_or_id!r} is neither a name nor an id")


class CandidType:
    """The base of every Candid type."""

    __slots__ = ()

    def __str__(self) -> str:
        from replica_core.candid.text import type_to_text

        return type_to_text(self)


@dataclass(frozen=True, slots=True, repr=False)
class Prim(CandidType):
    """A primitive type, identified by its Candid name and its (negative) opcode."""

    name: str
    opcode: int

    def __repr__(self) -> str:
        return self.name.upper()


NULL = Prim("null", -1)
BOOL = Prim("bool", -2)
NAT = Prim("nat", -3)
INT = Prim("int", -4)
NAT8 = Prim("nat8", -5)
NAT16 = Prim("nat16", -6)
NAT32 = Prim("nat32", -7)
NAT64 = Prim("nat64", -8)
INT8 = Prim("int8", -9)
INT16 = Prim("int16", -10)
INT32 = Prim("int32", -11)
INT64 = Prim("int64", -12)
FLOAT32 = Prim("float32", -13)
FLOAT64 = Prim("float64", -14)
TEXT = Prim("text", -15)
RESERVED = Prim("reserved", -16)
EMPTY = Prim("empty", -17)
PRINCIPAL = Prim("principal", -24)

PRIMITIVES: dict[str, Prim] = {
    p.name: p
    for p in (
        NULL,
        BOOL,
        NAT,
        INT,
        NAT8,
        NAT16,
        NAT32,
        NAT64,
        INT8,
        INT16,
        INT32,
        INT64,
        FLOAT32,
        FLOAT64,
        TEXT,
        RESERVED,
        EMPTY,
        PRINCIPAL,
    )
}
"""The primitive types by their Candid name."""

PRIMITIVES_BY_OPCODE: dict[int, Prim] = {p.opcode: p for p in PRIMITIVES.values()}


@dataclass(frozen=True, slots=True)
class Opt(CandidType):
    """`opt T`: an optional value."""

    inner: CandidType


@dataclass(frozen=True, slots=True)
class Vec(CandidType):
    """`vec T`: a sequence (`vec nat8` is `blob`)."""

    inner: CandidType


@dataclass(frozen=True, slots=True)
class Field:
    """A record field or variant tag: its 32-bit id, its name if known, and its type."""

    id: int
    name: str | None
    type: CandidType

    @property
    def label(self) -> str | int:
        """The key used for this field in a Python dict: the name if known, else the id."""
        return self.name if self.name is not None else self.id


def _make_fields(
    spec: Mapping[str | int, CandidType] | Iterable[tuple[str | int, CandidType]],
) -> tuple[Field, ...]:
    items = spec.items() if isinstance(spec, Mapping) else spec
    out: list[Field] = []
    for label, ty in items:
        fid = field_id(label)
        name = label if isinstance(label, str) and fid != _numeric_id(label) else None
        out.append(Field(fid, name, ty))
    return tuple(out)


def _numeric_id(label: str) -> int | None:
    return int(label) if label.isdecimal() and label.isascii() else None


def _sorted_fields(kind: str, fields: Iterable[Field]) -> tuple[Field, ...]:
    ordered = tuple(sorted(fields, key=lambda f: f.id))
    for a, b in zip(ordered, ordered[1:], strict=False):
        if a.id == b.id:
            raise CandidError(f"{kind} has two fields with id {a.id} ({a.label!r} and {b.label!r})")
    return ordered


class _FieldsType(CandidType):
    """Shared constructors of `Record` and `Variant`."""

    __slots__ = ()
    kind: ClassVar[str]
    fields: tuple[Field, ...]

    @classmethod
    def of(
        cls,
        spec: Mapping[str | int, CandidType] | Iterable[tuple[str | int, CandidType]] = (),
    ) -> Any:
        """Build from `{"name": T, ...}` or `[(name_or_id, T), ...]`."""
        return cls(_make_fields(spec))

    @classmethod
    def tuple(cls, types: Iterable[CandidType]) -> Any:
        """Build a tuple type: fields with ids 0..n-1 and no names."""
        return cls(tuple(Field(i, None, t) for i, t in enumerate(types)))

    def field_by_id(self, fid: int) -> Field | None:
        """The field with the given id, or None."""
        for f in self.fields:
            if f.id == fid:
                return f
        return None

    @property
    def is_tuple(self) -> bool:
        """True when the field ids are exactly 0..n-1 with no names."""
        return all(f.id == i and f.name is None for i, f in enumerate(self.fields))


@dataclass(frozen=True, slots=True)
class Record(_FieldsType):
    """`record { ... }`; fields kept sorted by id."""

    kind: ClassVar[str] = "record"
    fields: tuple[Field, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", _sorted_fields("record", self.fields))


@dataclass(frozen=True, slots=True)
class Variant(_FieldsType):
    """`variant { ... }`; tags kept sorted by id."""

    kind: ClassVar[str] = "variant"
    fields: tuple[Field, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", _sorted_fields("variant", self.fields))


@dataclass(frozen=True, slots=True)
class Func(CandidType):
    """`func (args) -> (rets) modes`; modes among "query", "oneway", "composite_query"."""

    args: tuple[CandidType, ...] = ()
    rets: tuple[CandidType, ...] = ()
    modes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", tuple(self.args))
        object.__setattr__(self, "rets", tuple(self.rets))
        object.__setattr__(self, "modes", tuple(self.modes))
        for mode in self.modes:
            if mode not in FUNC_MODES:
                raise CandidError(f"unknown function mode {mode!r}")


@dataclass(frozen=True, slots=True)
class Service(CandidType):
    """`service { name : func ...; }`; methods kept sorted by name."""

    methods: tuple[tuple[str, CandidType], ...] = ()

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.methods, key=lambda m: m[0].encode("utf-8")))
        for a, b in zip(ordered, ordered[1:], strict=False):
            if a[0] == b[0]:
                raise CandidError(f"service has two methods named {a[0]!r}")
        object.__setattr__(self, "methods", ordered)

    def method(self, name: str) -> CandidType | None:
        """The type of the named method, or None."""
        for n, t in self.methods:
            if n == name:
                return t
        return None


class FutureType(CandidType):
    """A wire type headed by an opcode below -24 (Candid spec › Deserialisation of future
    types); its values are skipped and it is only a subtype of `opt _` and `reserved`."""

    __slots__ = ("opcode", "payload")

    def __init__(self, opcode: int, payload: bytes) -> None:
        self.opcode = opcode
        self.payload = payload

    def __repr__(self) -> str:
        return f"FutureType({self.opcode})"


class Rec(CandidType):
    """A recursion knot: a named placeholder defined after it is used (`μname. t`).

    Compares and hashes by identity.
    """

    __slots__ = ("_target", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._target: CandidType | None = None

    def define(self, target: CandidType) -> Rec:
        """Tie the knot: this placeholder now stands for `target`."""
        if self._target is not None:
            raise CandidError(f"recursive type {self.name!r} is already defined")
        if not isinstance(target, CandidType):
            raise CandidError(f"recursive type {self.name!r} defined as non-type {target!r}")
        self._target = target
        return self

    @property
    def target(self) -> CandidType:
        """The type this knot stands for."""
        if self._target is None:
            raise CandidError(f"recursive type {self.name!r} is used but never defined")
        return self._target

    @property
    def is_defined(self) -> bool:
        return self._target is not None

    def __repr__(self) -> str:
        return f"Rec({self.name!r})"


def unroll(t: CandidType) -> CandidType:
    """Follow `Rec` knots until a non-knot type; raise CandidError on a knot cycle (`μx.x`)."""
    seen: set[int] = set()
    while isinstance(t, Rec):
        if id(t) in seen:
            raise CandidError(f"recursive type {t.name!r} is not well-founded (μx.x)")
        seen.add(id(t))
        t = t.target
    return t
