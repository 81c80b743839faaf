"""The Candid textual value parser: `(1, "a", opt vec { 1; 2 }, record { a = 1 })` to values.

Spec: IC interface spec 0.66.0, Candid (dfinity/candid spec/Candid.md › Values, and its
Syntactic Shorthands: `blob`, named, positional and null-valued fields).

A text is parsed in two steps, as the Rust `candid` crate's `IDLArgs` parser does (impl):
first into an untyped syntax tree in which a number is still its digits, then either
*checked and converted* against expected types (`annotate`) or, when no types are given,
given inferred types (`infer`): a number without a fraction or exponent is an `int`, one
with them a `float64`, an empty `vec {}` is `vec empty`, a `vec` takes the type of its first
element, a `service "…"` reference has type `service {}` and a `func "…".m` reference
`func () -> ()`. An annotation `(5 : nat8)` fixes a value's type in both modes.

Against expected types the rules follow the Rust parser's (impl): numbers must fit the
type (an integer literal also fits a float type), `null` fits any `opt`, `opt v` needs an
`opt` type, any value fits `reserved` (and becomes `None`), record fields the type does not
name are dropped and missing `opt`/`null`/`reserved` fields default to null, and a variant
tag must be one of the type's. Values come out in the representation documented in
`replica_core.candid.types` (opt as `[]`/`[v]`, blob as `bytes`…).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from replica_core.candid.did_lexer import Token
from replica_core.candid.did_syntax import Resolver, TypeParser, describe
from replica_core.candid.types import (
    BOOL,
    EMPTY,
    FLOAT64,
    INT,
    NAT,
    NAT8,
    NULL,
    PRINCIPAL,
    RESERVED,
    TEXT,
    CandidType,
    Field,
    Func,
    Opt,
    Prim,
    Record,
    Service,
    Variant,
    Vec,
    field_hash,
    unroll,
)
from replica_core.errors import CandidError, InvalidPrincipal
from replica_core.principal import Principal

__all__ = [
    "INTEGER_RANGES",
    "MAX_DEPTH",
    "parse_args",
    "parse_value",
]

INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "nat8": (0, (1 << 8) - 1),
    "nat16": (0, (1 << 16) - 1),
    "nat32": (0, (1 << 32) - 1),
    "nat64": (0, (1 << 64) - 1),
    "int8": (-(1 << 7), (1 << 7) - 1),
    "int16": (-(1 << 15), (1 << 15) - 1),
    "int32": (-(1 << 31), (1 << 31) - 1),
    "int64": (-(1 << 63), (1 << 63) - 1),
}
"""Value ranges of the fixed-width integer types (spec: Primitive Data)."""

MAX_DEPTH = 128
"""(impl) Deepest value nesting the parser accepts, far below Python's recursion limit."""


# --- syntax tree --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Node:
    """An untyped value: kind, payload, and the token it starts at.

    kinds and payloads: "int" (int), "float" (float), "bool", "null" (None), "text" (str),
    "blob" (bytes), "principal"/"service" (Principal), "func" ((Principal, str)),
    "opt" (_Node), "vec" (tuple of _Node), "record" (tuple of (id, name, _Node)),
    "variant" ((id, name, _Node)), "annot" ((_Node, CandidType)).
    """

    kind: str
    payload: Any
    token: Token


class _ValueParser(TypeParser):
    """`<arg> ::= ( <annval>,* )` and the value grammar, into `_Node`s."""

    def __init__(self, source: str, env: Mapping[str, CandidType]) -> None:
        super().__init__(source)
        self.env = env

    def args(self) -> list[_Node]:
        self.expect("(", "'(' opening the argument list")
        nodes: list[_Node] = []
        while not self.at(")"):
            nodes.append(self.annval())
            if not self.accept(","):
                break
        self.expect(")")
        return nodes

    def annval(self) -> _Node:
        """`<annval> ::= <val> | <val> : <datatype>`."""
        node = self.value()
        if self.at(":"):
            colon = self.take()
            typ = Resolver({}, self.env).type(self.datatype())
            return _Node("annot", (node, typ), colon)
        return node

    def value(self) -> _Node:
        return self.nested("value", MAX_DEPTH, self._value)

    def _value(self) -> _Node:
        token = self.tok
        kind = token.kind
        if kind == "bool":
            self.take()
            return _Node("bool", token.value, token)
        if kind == "null":
            self.take()
            return _Node("null", None, token)
        if kind in ("sign", "decimal", "hex", "float"):
            return self.number()
        if kind == "text":
            self.take()
            return _Node("text", self.text_value(token), token)
        if kind == "blob":
            self.take()
            data = self.expect("text", "a text literal after 'blob'").value
            return _Node("blob", data, token)
        if kind == "opt":
            self.take()
            return _Node("opt", self.value(), token)
        if kind == "vec":
            self.take()
            self.expect("{")
            items: list[_Node] = []
            while not self.at("}"):
                items.append(self.annval())
                if not self.accept(";"):
                    break
            self.expect("}")
            return _Node("vec", tuple(items), token)
        if kind == "record":
            self.take()
            return self.record(token)
        if kind == "variant":
            self.take()
            self.expect("{")
            label = self.value_label(follow=("=", "}", ";"))
            if label is None:
                raise self.error(f"expected a variant tag, found {describe(self.tok)}")
            inner = self.annval() if self.accept("=") else _Node("null", None, self.tok)
            self.accept(";")
            self.expect("}", "'}' (a variant value has exactly one tag)")
            return _Node("variant", (*label, inner), token)
        if kind in ("principal", "service"):
            self.take()
            return _Node(kind, self.principal(), token)
        if kind == "func":
            self.take()
            principal = self.principal()
            self.expect(".", "'.' between a func reference's canister and method")
            return _Node("func", (principal, self.name("a method name")), token)
        if kind == "(":
            self.take()
            node = self.annval()
            self.expect(")")
            return node
        raise self.error(f"expected a value, found {describe(token)}")

    def number(self) -> _Node:
        """`<sign>? (<nat> | <float>)`; digits stay exact (int) or become a float64."""
        start = self.tok
        negative = False
        if sign := self.accept("sign"):
            negative = sign.value == "-"
        token = self.take()
        digits = str(token.value)
        if token.kind == "decimal":
            value: int | float = int(digits)
        elif token.kind == "hex":
            value = int(digits, 16)
        elif token.kind == "float":
            value = float(digits)
        else:
            raise self.error(f"expected a number after the sign, found {describe(token)}", token)
        kind = "float" if token.kind == "float" else "int"
        return _Node(kind, -value if negative else value, start)

    def record(self, token: Token) -> _Node:
        """`record { <fieldval>;* }` with named, numbered and positional fields."""
        self.expect("{")
        fields: list[tuple[int, str | None, _Node]] = []
        seen: dict[int, Token] = {}
        next_id = 0
        while not self.at("}"):
            field_token = self.tok
            label = self.value_label(follow=("=",))
            if label is None:
                fid, fname = next_id, None
            else:
                fid, fname = label
                self.expect("=")
            if fid in seen:
                raise self.error(f"record has two fields with id {fid}", field_token)
            seen[fid] = field_token
            fields.append((fid, fname, self.annval()))
            next_id = fid + 1
            if not self.accept(";"):
                break
        self.expect("}")
        return _Node("record", tuple(fields), token)

    def value_label(self, *, follow: tuple[str, ...]) -> tuple[int, str | None] | None:
        """A field label (`<nat>` or `<name>`) if the token after it is one of `follow`."""
        if self.peek().kind not in follow:
            return None
        if self.at("decimal", "hex"):
            return self.field_number(), None
        if self.at("text", "id"):
            name = self.name()
            return field_hash(name), name
        return None

    def principal(self) -> Principal:
        token = self.expect("text", "a principal in quotes")
        try:
            return Principal.from_text(self.text_value(token))
        except InvalidPrincipal as e:
            raise self.error(f"invalid principal: {e}", token) from None


# --- typing -------------------------------------------------------------------------------


def _fail(node: _Node, message: str) -> CandidError:
    return CandidError(f"{node.token.where}: {message}")


def _show(node: _Node) -> str:
    if node.kind in ("int", "float", "bool"):
        return f"{node.kind} literal {node.payload!r}"
    if node.kind == "text":
        return f"text {node.payload!r}"
    return f"{node.kind} value"


def _default(t: CandidType) -> Any:
    """The value of an omitted argument or record field, if the type has one (null/opt/reserved)."""
    u = unroll(t)
    if u in (NULL, RESERVED):
        return None
    if isinstance(u, Opt):
        return []
    raise CandidError(f"a value of type {_type_name(t)} cannot be omitted")


def _type_name(t: CandidType) -> str:
    """A type in Candid syntax, for error messages."""
    return str(t)


def _float32(x: float) -> float:
    """Round to the nearest float32 (overflow gives an infinity, as Rust's `as f32` does)."""
    if math.isfinite(x) and abs(x) > 3.4028235677973366e38:
        return math.copysign(math.inf, x)
    return struct.unpack("<f", struct.pack("<f", x))[0]


def annotate(node: _Node, t: CandidType, depth: int = 0) -> Any:
    """Check `node` against type `t` and convert it to the Python value of that type."""
    if depth > MAX_DEPTH:
        raise _fail(node, f"value nested deeper than {MAX_DEPTH} levels")
    u = unroll(t)
    kind, payload = node.kind, node.payload
    if kind == "annot":
        inner, declared = payload
        value = annotate(inner, declared, depth + 1)
        if unroll(declared) == u or u == RESERVED:
            return None if u == RESERVED else value
        if unroll(declared) == NAT and u == INT:
            return value
        raise _fail(node, f"annotated type {_type_name(declared)} does not match {_type_name(t)}")
    if u == RESERVED:
        return None
    if isinstance(u, Prim):
        return _annotate_prim(node, u, t)
    if isinstance(u, Opt):
        if kind == "null":
            return []
        if kind == "opt":
            return [annotate(payload, u.inner, depth + 1)]
    elif isinstance(u, Vec):
        if unroll(u.inner) == NAT8:
            if kind == "blob":
                return payload
            if kind == "vec":
                return bytes(annotate(item, NAT8, depth + 1) for item in payload)
        elif kind == "vec":
            return [annotate(item, u.inner, depth + 1) for item in payload]
    elif isinstance(u, Record) and kind == "record":
        given = {fid: sub for fid, _, sub in payload}
        out: dict[str | int, Any] = {}
        for f in u.fields:
            if f.id in given:
                out[f.label] = annotate(given[f.id], f.type, depth + 1)
            else:
                try:
                    out[f.label] = _default(f.type)
                except CandidError:
                    raise _fail(node, f"record field {f.label!r} is missing") from None
        return out
    elif isinstance(u, Variant) and kind == "variant":
        fid, fname, sub = payload
        chosen = u.field_by_id(fid)
        if chosen is None:
            raise _fail(node, f"variant tag {fname or fid!r} is not in {_type_name(t)}")
        return {chosen.label: annotate(sub, chosen.type, depth + 1)}
    elif isinstance(u, Service) and kind == "service":
        return payload
    elif isinstance(u, Func) and kind == "func":
        return payload
    raise _fail(node, f"type mismatch: {_show(node)} cannot be of type {_type_name(t)}")


def _annotate_prim(node: _Node, p: Prim, t: CandidType) -> Any:
    kind, payload = node.kind, node.payload
    name = p.name
    if kind == "int" and name in ("nat", "int"):
        if name == "nat" and payload < 0:
            raise _fail(node, f"{payload} is negative, not a nat")
        return payload
    if kind == "int" and name in INTEGER_RANGES:
        lo, hi = INTEGER_RANGES[name]
        if not lo <= payload <= hi:
            raise _fail(node, f"{payload} is out of range for {name} ({lo}..{hi})")
        return payload
    if kind in ("int", "float") and name == "float64":
        return float(payload)
    if kind in ("int", "float") and name == "float32":
        return _float32(float(payload))
    if (kind, name) in (("bool", "bool"), ("text", "text"), ("principal", "principal")):
        return payload
    if kind == "null" and name == "null":
        return None
    if name == "empty":
        raise _fail(node, "no value has type empty")
    raise _fail(node, f"type mismatch: {_show(node)} cannot be of type {_type_name(t)}")


def infer(node: _Node, depth: int = 0) -> tuple[CandidType, Any]:
    """Infer a type for an untyped value (as the Rust parser does) and convert the value."""
    if depth > MAX_DEPTH:
        raise _fail(node, f"value nested deeper than {MAX_DEPTH} levels")
    kind, payload = node.kind, node.payload
    if kind == "annot":
        inner, declared = payload
        return declared, annotate(inner, declared, depth + 1)
    simple = {
        "int": INT,
        "float": FLOAT64,
        "bool": BOOL,
        "null": NULL,
        "text": TEXT,
        "principal": PRINCIPAL,
    }
    if kind in simple:
        return simple[kind], payload
    if kind == "blob":
        return Vec(NAT8), payload
    if kind == "service":
        return Service(()), payload
    if kind == "func":
        return Func((), (), ()), payload
    if kind == "opt":
        inner_type, inner_value = infer(payload, depth + 1)
        return Opt(inner_type), [inner_value]
    if kind == "vec":
        if not payload:
            return Vec(EMPTY), []
        first_type, first = infer(payload[0], depth + 1)
        rest = [annotate(item, first_type, depth + 1) for item in payload[1:]]
        values = [first, *rest]
        if unroll(first_type) == NAT8:
            return Vec(first_type), bytes(values)
        return Vec(first_type), values
    if kind == "record":
        fields: list[Field] = []
        out: dict[str | int, Any] = {}
        for fid, fname, sub in payload:
            sub_type, sub_value = infer(sub, depth + 1)
            f = Field(fid, fname, sub_type)
            fields.append(f)
            out[f.label] = sub_value
        return Record(tuple(fields)), out
    assert kind == "variant"
    fid, fname, sub = payload
    sub_type, sub_value = infer(sub, depth + 1)
    f = Field(fid, fname, sub_type)
    return Variant((f,)), {f.label: sub_value}


# --- entry points -------------------------------------------------------------------------


def parse_args(
    text: str,
    types: Sequence[CandidType] | None = None,
    *,
    env: Mapping[str, CandidType] | None = None,
) -> tuple[list[CandidType], list[Any]]:
    """Parse a textual argument list `( <annval>,* )` into its types and Python values.

    With `types`, each value is checked against and converted to its type; omitted
    trailing arguments must be of a type with a default (null, opt, reserved); more values
    than types is an error. Without `types`, types are inferred. `env` resolves type names
    used in annotations. Errors raise CandidError with `line:column`.
    """
    parser = _ValueParser(text, env or {})
    nodes = parser.args()
    parser.expect_end()
    if types is None:
        inferred = [infer(node) for node in nodes]
        return [t for t, _ in inferred], [v for _, v in inferred]
    types = list(types)
    if len(nodes) > len(types):
        raise _fail(nodes[len(types)], f"{len(nodes)} values given for {len(types)} types")
    values = [annotate(node, t) for node, t in zip(nodes, types, strict=False)]
    for t in types[len(nodes) :]:
        try:
            values.append(_default(t))
        except CandidError as e:
            raise parser.error(f"missing argument {len(values) + 1}: {e}") from None
    return types, values


def parse_value(
    text: str,
    type: CandidType | None = None,
    *,
    env: Mapping[str, CandidType] | None = None,
) -> tuple[CandidType, Any]:
    """Parse one textual value (`<annval>`), checked against `type` or with an inferred type."""
    parser = _ValueParser(text, env or {})
    node = parser.annval()
    parser.expect_end()
    if type is None:
        return infer(node)
    return type, annotate(node, type)
