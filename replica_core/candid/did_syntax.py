"""The Candid type grammar: a parser from tokens to type syntax, and its resolution to types.

Spec: IC interface spec 0.66.0, Candid (dfinity/candid spec/Candid.md › Type Structure: Core
Grammar, Syntactic Shorthands, Services, Functions, Type Definitions).

`TypeParser` turns tokens into a small syntax tree in which a type name is still a name
(definitions are mutually recursive, so a name may be used before its definition).
`Resolver` then turns the tree into the `CandidType` model: a definition that refers back to
itself (directly or through others) becomes a `Rec` knot; any other name is replaced by its
definition. An alias cycle that never goes through a type constructor (`type A = B; type B =
A`) is vacuous and rejected, as the spec requires. `did.py` (files, imports, the main
service) and `text_parse.py` (values with type annotations) build on both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from replica_core.candid.did_lexer import Token, tokenize
from replica_core.candid.types import (
    NULL,
    PRIMITIVES,
    CandidType,
    Field,
    Func,
    Opt,
    Rec,
    Record,
    Service,
    Variant,
    Vec,
    field_hash,
    unroll,
)
from replica_core.errors import CandidError

__all__ = [
    "MAX_TYPE_DEPTH",
    "MAX_U32",
    "Resolver",
    "Syntax",
    "TypeCon",
    "TypeName",
    "TypeParser",
    "describe",
    "located_error",
    "peel",
    "syntax_token",
]

MAX_U32 = (1 << 32) - 1

MAX_TYPE_DEPTH = 100
"""(impl) Deepest type nesting the parser accepts, so hostile input cannot exhaust the stack."""

_T = TypeVar("_T")


# --- syntax tree --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TypeName:
    """A use of a type name, remembered with its token for error positions."""

    name: str
    token: Token


@dataclass(frozen=True, slots=True)
class TypeCon:
    """A type constructor applied to syntax children.

    kind is one of "opt", "vec", "record", "variant", "func", "service"; `items` holds the
    child syntax (see `TypeParser`), `modes` the function annotations.
    """

    kind: str
    items: tuple[object, ...]
    token: Token
    modes: tuple[str, ...] = ()


Syntax = CandidType | TypeName | TypeCon
"""Type syntax: a resolved type (primitives), a name use, or a constructor application."""


# --- parsing ------------------------------------------------------------------------------


class TypeParser:
    """A recursive-descent parser over the tokens of a `.did` source (the type grammar).

    Also the base of the textual value parser and of the test-suite parser, which share the
    token stream and the type grammar (values carry type annotations `(5 : nat8)`).
    """

    def __init__(self, source: str, *, origin: str = "") -> None:
        self.tokens = tokenize(source, origin)
        self.pos = 0
        self.depths: dict[str, int] = {}

    # token helpers ---------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        """The current token."""
        return self.tokens[self.pos]

    def peek(self, ahead: int = 1) -> Token:
        """The token `ahead` places after the current one (or the final `eof`)."""
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def at(self, *kinds: str) -> bool:
        """Whether the current token is of one of `kinds`."""
        return self.tok.kind in kinds

    def take(self) -> Token:
        """Consume and return the current token."""
        token = self.tok
        if token.kind != "eof":
            self.pos += 1
        return token

    def accept(self, kind: str) -> Token | None:
        """Consume the current token if it is of `kind`."""
        return self.take() if self.tok.kind == kind else None

    def expect(self, kind: str, what: str | None = None) -> Token:
        """Consume a token of `kind`, or fail saying what was expected and what was found."""
        if self.tok.kind != kind:
            raise self.error(f"expected {what or repr(kind)}, found {describe(self.tok)}")
        return self.take()

    def error(self, message: str, token: Token | None = None) -> CandidError:
        """A CandidError located at `token` (default: the current token)."""
        return CandidError(f"{(token or self.tok).where}: {message}")

    def expect_end(self) -> None:
        """Fail unless all input has been consumed."""
        if not self.at("eof"):
            raise self.error(f"unexpected {describe(self.tok)} after the end")

    def text_value(self, token: Token) -> str:
        """The string of a text token; it must be valid UTF-8 (only blobs may hold raw bytes)."""
        assert isinstance(token.value, bytes)
        try:
            return token.value.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error("text literal is not valid UTF-8", token) from None

    def name(self, what: str = "a name") -> str:
        """`<name> ::= <id> | <text>`."""
        if self.at("id"):
            return str(self.take().value)
        if self.at("text"):
            return self.text_value(self.take())
        raise self.error(f"expected {what}, found {describe(self.tok)}")

    def field_number(self) -> int:
        """A numeric field id (`<nat>`): decimal or hex, at most 2^32-1."""
        token = self.take()
        value = int(str(token.value), 16 if token.kind == "hex" else 10)
        if value > MAX_U32:
            raise self.error(f"field id {value} is outside the 32-bit range", token)
        return value

    def field_label(self, *, bare: bool) -> tuple[int, str | None] | None:
        """A field label `<nat>` or `<name>` before `:` (or, if `bare`, before `;`/`}`/`=`).

        Returns `(id, name)`, or None with nothing consumed when no label starts here. A
        quoted label is always a name (`"0"` is hashed, not read as the number 0).
        """
        follow = (":", "=", ";", "}") if bare else (":", "=")
        if self.at("decimal", "hex") and (bare or self.peek().kind in follow):
            return self.field_number(), None
        if self.at("text", "id") and self.peek().kind in follow:
            name = self.name()
            return field_hash(name), name
        return None

    # types -----------------------------------------------------------------------------

    def datatype(self) -> Syntax:
        """`<datatype>`: a name, a primitive, or a constructed or reference type."""
        return self.nested("type", MAX_TYPE_DEPTH, self._datatype)

    def nested(self, what: str, limit: int, parse: Callable[[], _T]) -> _T:
        """Run `parse` one level deeper in the nesting of `what`s, failing beyond `limit`."""
        depth = self.depths.get(what, 0) + 1
        if depth > limit:
            raise self.error(f"{what} nested deeper than {limit} levels")
        self.depths[what] = depth
        try:
            return parse()
        finally:
            self.depths[what] = depth - 1

    def _datatype(self) -> Syntax:
        token = self.tok
        kind = token.kind
        if kind == "id":
            self.take()
            name = str(token.value)
            prim = PRIMITIVES.get(name)
            return prim if prim is not None else TypeName(name, token)
        if kind in ("null", "principal"):
            self.take()
            return PRIMITIVES[kind]
        if kind in ("opt", "vec"):
            self.take()
            return TypeCon(kind, (self.datatype(),), token)
        if kind == "blob":
            self.take()
            return TypeCon("vec", (PRIMITIVES["nat8"],), token)
        if kind == "record":
            self.take()
            return self.fields_body("record", token)
        if kind == "variant":
            self.take()
            return self.fields_body("variant", token)
        if kind == "func":
            self.take()
            return self.functype(token)
        if kind == "service":
            self.take()
            return self.actortype(token)
        raise self.error(f"expected a type, found {describe(token)}")

    def fields_body(self, kind: str, token: Token) -> TypeCon:
        """`{ <fieldtype>;* }` of a record or variant, with the shorthands of the spec.

        Records: a field without a label gets id 0 or previous + 1 (tuple fields). Variants:
        a tag without a type has type null.
        """
        self.expect("{")
        fields: list[tuple[int, str | None, Syntax]] = []
        next_id = 0
        seen: set[int] = set()
        while not self.at("}"):
            field_token = self.tok
            label = self.field_label(bare=kind == "variant")
            if label is None:
                if kind == "variant":
                    raise self.error(f"expected a variant tag, found {describe(self.tok)}")
                fid, fname, typ = next_id, None, self.datatype()
            else:
                fid, fname = label
                typ = self.datatype() if self.accept(":") else NULL
            if fid in seen:
                raise self.error(f"{kind} has two fields with id {fid}", field_token)
            seen.add(fid)
            fields.append((fid, fname, typ))
            next_id = fid + 1
            if not self.accept(";"):
                break
        self.expect("}")
        return TypeCon(kind, tuple(fields), token)

    def tuptype(self) -> tuple[Syntax, ...]:
        """`( <argtype>,* )`; an argument may carry a documentation name `x : T`."""
        self.expect("(")
        names: set[str] = set()
        args: list[Syntax] = []
        while not self.at(")"):
            if self.at("id", "text") and self.peek().kind == ":":
                name_token = self.tok
                name = self.name()
                if name in names:
                    raise self.error(f"duplicate argument name {name!r}", name_token)
                names.add(name)
                self.take()
            args.append(self.datatype())
            if not self.accept(","):
                break
        self.expect(")")
        return tuple(args)

    def functype(self, token: Token) -> TypeCon:
        """`<tuptype> -> <tuptype> <funcann>*`."""
        args = self.tuptype()
        self.expect("->", "'->'")
        rets = self.tuptype()
        modes: list[str] = []
        while self.at("query", "oneway", "composite_query"):
            mode_token = self.take()
            if mode_token.kind in modes:
                raise self.error(f"duplicate function annotation {mode_token.kind!r}", mode_token)
            modes.append(mode_token.kind)
        if len(modes) > 1:
            raise self.error(f"conflicting function annotations {' '.join(modes)}", token)
        if "oneway" in modes and rets:
            raise self.error("a oneway function must not have results", token)
        return TypeCon("func", (args, rets), token, tuple(modes))

    def actortype(self, token: Token) -> TypeCon:
        """`{ <methtype>;* }` where `<methtype> ::= <name> : (<functype> | <id>)`."""
        self.expect("{")
        methods: list[tuple[str, Syntax]] = []
        seen: set[str] = set()
        while not self.at("}"):
            name_token = self.tok
            name = self.name("a method name")
            if name in seen:
                raise self.error(f"duplicate method name {name!r}", name_token)
            seen.add(name)
            self.expect(":")
            if self.at("("):
                methods.append((name, self.functype(name_token)))
            else:
                id_token = self.expect("id", "a function type or a type name")
                methods.append((name, TypeName(str(id_token.value), id_token)))
            if not self.accept(";"):
                break
        self.expect("}")
        return TypeCon("service", tuple(methods), token)

    def definitions(
        self, *, imports: list[tuple[str, bool, Token]] | None = None
    ) -> dict[str, tuple[Syntax, Token]]:
        """`<def>;*`: type definitions (and, if `imports` is given, `import` declarations)."""
        defs: dict[str, tuple[Syntax, Token]] = {}
        while self.at("type") or (imports is not None and self.at("import")):
            if self.accept("type"):
                name_token = self.expect("id", "a type name")
                name = str(name_token.value)
                if name in defs:
                    raise self.error(f"type {name!r} is defined twice", name_token)
                self.expect("=")
                defs[name] = (self.datatype(), name_token)
            else:
                assert imports is not None
                import_token = self.take()
                is_service = self.accept("service") is not None
                path = self.text_value(self.expect("text", "an import path"))
                imports.append((path, is_service, import_token))
            if not self.accept(";"):
                break
        return defs


def describe(token: Token) -> str:
    """A token as error messages show it."""
    if token.kind == "eof":
        return "end of input"
    if token.kind == "text":
        return "a text literal"
    if token.kind in ("id", "decimal", "hex", "float", "bool", "sign"):
        return f"{token.kind} {token.value!s}"
    return repr(token.kind)


# --- resolution ---------------------------------------------------------------------------


class Resolver:
    """Turns type syntax into `CandidType`s, tying `Rec` knots for recursive definitions.

    `defs` are the definitions of one scope (mutually recursive); `env` holds names that
    are already resolved (used when a name is not defined in `defs`).
    """

    def __init__(
        self,
        defs: Mapping[str, tuple[Syntax, Token]],
        env: Mapping[str, CandidType] | None = None,
    ) -> None:
        self.defs = defs
        self.env = env or {}
        self.done: dict[str, CandidType] = {}
        self.in_progress: dict[str, Rec | None] = {}
        self._check_vacuous()

    def _check_vacuous(self) -> None:
        """Reject alias cycles that never pass through a type constructor (spec: vacuous)."""
        for start in self.defs:
            seen = [start]
            body = self.defs[start][0]
            while isinstance(body, TypeName) and body.name in self.defs:
                if body.name in seen:
                    cycle = " = ".join([*seen[seen.index(body.name) :], body.name])
                    raise located_error(f"vacuous (cyclic) type definition {cycle}", body.token)
                seen.append(body.name)
                body = self.defs[body.name][0]

    def all(self) -> dict[str, CandidType]:
        """Every definition of the scope, resolved, in definition order."""
        return {name: self.name(TypeName(name, token)) for name, (_, token) in self.defs.items()}

    def name(self, ref: TypeName) -> CandidType:
        """The type a name stands for (a `Rec` knot while its definition is being built)."""
        if ref.name in self.done:
            return self.done[ref.name]
        if ref.name in self.in_progress:
            knot = self.in_progress[ref.name]
            if knot is None:
                knot = self.in_progress[ref.name] = Rec(ref.name)
            return knot
        if ref.name not in self.defs:
            if ref.name in self.env:
                return self.env[ref.name]
            raise located_error(f"unbound type name {ref.name!r}", ref.token)
        self.in_progress[ref.name] = None
        body = self.type(self.defs[ref.name][0])
        knot = self.in_progress.pop(ref.name)
        if knot is not None:
            knot.define(body)
            body = knot
        self.done[ref.name] = body
        return body

    def type(self, syntax: object) -> CandidType:
        """Resolve one piece of type syntax."""
        if isinstance(syntax, CandidType):
            return syntax
        if isinstance(syntax, TypeName):
            return self.name(syntax)
        assert isinstance(syntax, TypeCon)
        kind, items = syntax.kind, syntax.items
        if kind == "opt":
            return Opt(self.type(items[0]))
        if kind == "vec":
            return Vec(self.type(items[0]))
        if kind in ("record", "variant"):
            fields = [Field(fid, fname, self.type(sub)) for fid, fname, sub in items]  # type: ignore[misc]
            cls = Record if kind == "record" else Variant
            return _located(lambda: cls(tuple(fields)), syntax.token)
        if kind == "func":
            args, rets = items
            arg_types = tuple(self.type(a) for a in args)  # type: ignore[attr-defined]
            ret_types = tuple(self.type(r) for r in rets)  # type: ignore[attr-defined]
            return Func(arg_types, ret_types, syntax.modes)
        methods = []
        for name, sub in items:  # type: ignore[misc]
            method = self.type(sub)
            if isinstance(sub, TypeName) and not self._is_func(sub, method):
                raise located_error(
                    f"method {name!r}: {sub.name!r} is not a function type", sub.token
                )
            methods.append((name, method))
        return _located(lambda: Service(tuple(methods)), syntax.token)

    def _is_func(self, ref: TypeName, resolved: CandidType) -> bool:
        """Whether a method's named type is a function type (also while it is being built)."""
        target = peel(resolved)
        if not isinstance(target, Rec):
            return isinstance(target, Func)
        body: object = ref
        while isinstance(body, TypeName) and body.name in self.defs:
            body = self.defs[body.name][0]
        return isinstance(body, TypeCon) and body.kind == "func"


def located_error(message: str, token: Token) -> CandidError:
    """A CandidError located at `token` (`file:line:column: message`)."""
    return CandidError(f"{token.where}: {message}")


def _located(build: Callable[[], CandidType], token: Token) -> CandidType:
    """Run a type constructor, locating its CandidError (e.g. duplicate field ids) at `token`."""
    try:
        return build()
    except CandidError as e:
        raise located_error(str(e), token) from None


def syntax_token(syntax: Syntax) -> Token:
    """The token a piece of named or constructed type syntax starts at."""
    assert isinstance(syntax, TypeName | TypeCon)
    return syntax.token


def peel(t: CandidType) -> CandidType:
    """The type behind `Rec` knots, or `t` itself if a knot is not defined yet."""
    try:
        return unroll(t)
    except CandidError:
        return t
