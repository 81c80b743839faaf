"""The Candid textual form of types and values (the printer; parsing is `text_parse`).

Spec: IC interface spec 0.66.0, Candid (dfinity/candid spec/Candid.md › Type Structure,
Values).

Conventions follow the reference (Rust) pretty printer: numbers carry their type
(`1 : nat`, `-5 : int8`, `0.5 : float64`), an annotated value under `opt` is parenthesised
(`opt (1 : nat)`), tuple records print their components only (`record { 1 : nat; "a" }`),
`vec nat8` prints as `blob "..."` (printable ASCII kept, every byte escaped as `\\xx`
otherwise), text is escaped like Rust's `escape_debug`, a variant tag of type null prints
without a value (`variant { ok }`), and labels that are not identifiers are quoted. Recursive
types print by the name of their `Rec` knot; `rec_definitions_to_text` lists the knots.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from replica_core.candid.types import (
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
from replica_core.errors import CandidError

__all__ = [
    "args_to_text",
    "label_to_text",
    "rec_definitions_to_text",
    "text_literal",
    "type_to_text",
    "value_to_text",
]

KEYWORDS = frozenset(
    "import service func type opt vec record variant blob principal query oneway "
    "composite_query null bool nat int nat8 nat16 nat32 nat64 int8 int16 int32 int64 "
    "float32 float64 text reserved empty true false".split()
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SIMPLE_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r", '"': '\\"', "'": "\\'", "\\": "\\\\"}
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def text_literal(s: str) -> str:
    """A quoted Candid text literal for `s`."""
    out = ['"']
    for ch in s:
        esc = _SIMPLE_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ch.isprintable() or unicodedata.category(ch) not in _UNPRINTABLE:
            out.append(ch)
        else:
            out.append(f"\\u{{{ord(ch):x}}}")
    out.append('"')
    return "".join(out)


def _name_to_text(name: str) -> str:
    return name if _IDENT.match(name) and name not in KEYWORDS else text_literal(name)


def label_to_text(f: Field) -> str:
    """A field label: its name (quoted if not an identifier) or its numeric id."""
    return str(f.id) if f.name is None else _name_to_text(f.name)


# --- types -----------------------------------------------------------------------------


def type_to_text(t: CandidType) -> str:
    """The textual form of a type, e.g. `record { a : nat; 1 : text }`."""
    return _type(t)


def _type(t: CandidType) -> str:
    if isinstance(t, Rec):
        return _name_to_text(t.name)
    if isinstance(t, Prim):
        return t.name
    if isinstance(t, Opt):
        return f"opt {_type(t.inner)}"
    if isinstance(t, Vec):
        inner = t.inner
        if isinstance(inner, Prim) and inner.name == "nat8":
            return "blob"
        return f"vec {_type(inner)}"
    if isinstance(t, Record):
        if not t.fields:
            return "record {}"
        if t.is_tuple:
            return "record { " + "; ".join(_type(f.type) for f in t.fields) + " }"
        return "record { " + "; ".join(_field_type(f, False) for f in t.fields) + " }"
    if isinstance(t, Variant):
        if not t.fields:
            return "variant {}"
        return "variant { " + "; ".join(_field_type(f, True) for f in t.fields) + " }"
    if isinstance(t, Func):
        return "func " + _func_sig(t)
    if isinstance(t, Service):
        if not t.methods:
            return "service {}"
        return "service { " + "".join(f"{_method(n, m)}; " for n, m in t.methods) + "}"
    if isinstance(t, FutureType):
        return f"<future type {t.opcode}>"
    raise CandidError(f"not a Candid type: {t!r}")


def _field_type(f: Field, variant: bool) -> str:
    if variant and _is_null(f.type):
        return label_to_text(f)
    return f"{label_to_text(f)} : {_type(f.type)}"


def _is_null(t: CandidType) -> bool:
    return isinstance(t, Prim) and t.name == "null"


def _func_sig(t: Func) -> str:
    args = ", ".join(_type(a) for a in t.args)
    rets = ", ".join(_type(r) for r in t.rets)
    modes = "".join(f" {m}" for m in t.modes)
    return f"({args}) -> ({rets}){modes}"


def _method(name: str, t: CandidType) -> str:
    body = _func_sig(t) if isinstance(t, Func) else _type(t)
    return f"{_name_to_text(name)} : {body}"


def rec_definitions_to_text(t: CandidType) -> str:
    """`type name = ...;` lines for every recursion knot reachable from `t`."""
    seen: dict[int, Rec] = {}
    stack = [t]
    visited: set[int] = set()
    while stack:
        cur = stack.pop()
        if id(cur) in visited:
            continue
        visited.add(id(cur))
        if isinstance(cur, Rec):
            seen[id(cur)] = cur
            stack.append(cur.target)
        elif isinstance(cur, Opt | Vec):
            stack.append(cur.inner)
        elif isinstance(cur, Record | Variant):
            stack.extend(f.type for f in cur.fields)
        elif isinstance(cur, Func):
            stack.extend(cur.args + cur.rets)
        elif isinstance(cur, Service):
            stack.extend(m for _, m in cur.methods)
    return "\n".join(f"type {_name_to_text(r.name)} = {_type(r.target)};" for r in seen.values())


# --- values ----------------------------------------------------------------------------


def args_to_text(types: Sequence[CandidType], values: Sequence[Any]) -> str:
    """An argument sequence, e.g. `(record { name = "x" }, opt vec { 1 : nat })`."""
    if len(types) != len(values):
        raise CandidError(f"{len(types)} types but {len(values)} values")
    return "(" + ", ".join(value_to_text(t, v) for t, v in zip(types, values, strict=True)) + ")"


def value_to_text(t: CandidType, v: Any) -> str:
    """The textual form of value `v` (Python representation) of type `t`."""
    try:
        return _value(t, v, 0)
    except RecursionError:
        raise CandidError("value nested too deeply to print") from None


def _number(t: Prim, v: Any) -> str:
    if t.name.startswith("float"):
        f = float(v)
        if math.isnan(f):
            body = "nan"
        elif math.isinf(f):
            body = "inf" if f > 0 else "-inf"
        elif f == math.trunc(f) and abs(f) < 1e16:
            body = f"{int(f)}.0" if f != 0 or math.copysign(1, f) > 0 else "-0.0"
        else:
            body = repr(f)
        return f"{body} : {t.name}"
    if not isinstance(v, int):
        raise CandidError(f"{t.name} value {v!r} is not an int")
    return f"{int(v)} : {t.name}"


def _annotated(t: CandidType) -> bool:
    t = unroll(t)
    return isinstance(t, Prim) and t.name not in ("bool", "text", "principal", "null", "empty")


def _blob(data: bytes) -> str:
    if all(0x20 <= c <= 0x7E or c in (0x09, 0x0A, 0x0D) for c in data):
        body = "".join(
            chr(c) if 0x20 <= c <= 0x7E and c not in (0x22, 0x27, 0x60, 0x5C) else f"\\{c:02x}"
            for c in data
        )
    else:
        body = "".join(f"\\{c:02x}" for c in data)
    return f'blob "{body}"'


def _lookup(v: Any, f: Field) -> Any:
    if isinstance(v, list | tuple):
        return v[f.id]
    if f.name is not None and f.name in v:
        return v[f.name]
    if f.id in v:
        return v[f.id]
    raise CandidError(f"record value has no field {label_to_text(f)}")


def _value(t: CandidType, v: Any, depth: int) -> str:
    t = unroll(t)
    if isinstance(t, Prim):
        name = t.name
        if name == "null":
            return "null"
        if name == "reserved":
            return "null : reserved"
        if name == "bool":
            return "true" if v else "false"
        if name == "text":
            return text_literal(v)
        if name == "principal":
            return f'principal "{v.to_text()}"'
        if name == "empty":
            raise CandidError("the type empty has no values")
        return _number(t, v)
    if isinstance(t, Opt):
        if v is None or len(v) == 0:
            return "null"
        inner = _value(t.inner, v[0], depth + 1)
        return f"opt ({inner})" if _annotated(t.inner) else f"opt {inner}"
    if isinstance(t, Vec):
        inner_t = unroll(t.inner)
        if isinstance(inner_t, Prim) and inner_t.name == "nat8":
            return _blob(bytes(v))
        if not v:
            return "vec {}"
        return "vec { " + "; ".join(_value(t.inner, x, depth + 1) for x in v) + " }"
    if isinstance(t, Record):
        if not t.fields:
            return "record {}"
        if t.is_tuple:
            parts = [_value(f.type, _lookup(v, f), depth + 1) for f in t.fields]
        else:
            parts = [
                f"{label_to_text(f)} = {_value(f.type, _lookup(v, f), depth + 1)}"
                for f in t.fields
                if not _missing_optional(v, f)
            ]
        return "record { " + "; ".join(parts) + " }" if parts else "record {}"
    if isinstance(t, Variant):
        ((key, x),) = v.items()
        for f in t.fields:
            if key == f.name or (key == f.id and not isinstance(key, str)):
                if _is_null(unroll(f.type)):
                    return f"variant {{ {label_to_text(f)} }}"
                return f"variant {{ {label_to_text(f)} = {_value(f.type, x, depth + 1)} }}"
        raise CandidError(f"variant value has unknown tag {key!r}")
    if isinstance(t, Func):
        principal, method = v
        return f'func "{principal.to_text()}".{_name_to_text(method)}'
    if isinstance(t, Service):
        return f'service "{v.to_text()}"'
    raise CandidError(f"cannot print a value of type {t!r}")


def _missing_optional(v: Any, f: Field) -> bool:
    return isinstance(v, dict) and f.name not in v and f.id not in v and _null_like(f.type)


def _null_like(t: CandidType) -> bool:
    t = unroll(t)
    return isinstance(t, Opt) or (isinstance(t, Prim) and t.name in ("null", "reserved"))
