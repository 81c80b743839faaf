"""The Candid interface description (`.did`) parser: type definitions, imports and the service.

Spec: IC interface spec 0.66.0, Candid (dfinity/candid spec/Candid.md › Type Structure: Core
Grammar, Syntactic Shorthands, Comments, Services, Functions, Type Definitions, Imports,
Interfaces).

The type grammar and the resolution of (mutually recursive) type names into `Rec` knots live
in `did_syntax.py`; this module adds what makes a file: `<prog> ::= <def>;* <actor>?`, imports,
and the main service, which may be a service constructor taking init arguments.

`import "f.did"` includes the type definitions of another file, and `import service "f.did"`
also merges its main service into ours; files are read through a `loader` callback given the
path relative to the root file's directory (impl), so parsing never touches the filesystem
unless asked to (`load_did`).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from replica_core.candid.did_lexer import Token
from replica_core.candid.did_syntax import (
    Resolver,
    Syntax,
    TypeName,
    TypeParser,
    located_error,
    peel,
    syntax_token,
)
from replica_core.candid.types import CandidType, Service
from replica_core.errors import CandidError

__all__ = [
    "DidFile",
    "Loader",
    "load_did",
    "parse_did",
    "parse_type",
    "parse_types",
]

Loader = Callable[[str], str]
"""Reads an imported `.did` file: given its path (relative to the root file), returns its text."""


@dataclass(frozen=True, slots=True)
class DidFile:
    """A parsed interface description: its named types, its main service and init arguments.

    `service` is None when the file has no main service; `init_args` is None unless the
    service is a service constructor (`service : (init args) -> { ... }`).
    """

    types: dict[str, CandidType]
    service: Service | None
    init_args: tuple[CandidType, ...] | None


# --- files --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Program:
    """One parsed file: definitions, imports, and the main service if any."""

    defs: dict[str, tuple[Syntax, Token]]
    imports: list[tuple[str, bool, Token]]
    init: tuple[Syntax, ...] | None
    actor: Syntax | None


def _parse_program(source: str, origin: str) -> _Program:
    """`<prog> ::= <def>;* <actor>?` with `<actor> ::= service <id>? : (<tuptype> ->)? ...`."""
    parser = TypeParser(source, origin=origin)
    imports: list[tuple[str, bool, Token]] = []
    defs = parser.definitions(imports=imports)
    init: tuple[Syntax, ...] | None = None
    actor: Syntax | None = None
    if parser.accept("service"):
        parser.accept("id")
        parser.expect(":")
        if parser.at("("):
            init = parser.tuptype()
            parser.expect("->", "'->'")
        if parser.at("{"):
            actor = parser.actortype(parser.tok)
        else:
            id_token = parser.expect("id", "a service type or a type name")
            actor = TypeName(str(id_token.value), id_token)
        parser.accept(";")
    parser.expect_end()
    return _Program(defs, imports, init, actor)


def parse_did(source: str, *, loader: Loader | None = None, origin: str = "") -> DidFile:
    """Parse a `.did` interface description into its types, main service and init args.

    `loader` reads imported files (paths relative to the root file's directory); without
    one, an import is an error. A file imported more than once (a diamond) is included
    once. `origin` names the source in error messages.
    """
    defs: dict[str, tuple[Syntax, Token]] = {}
    imported_actors: list[tuple[Syntax, Token]] = []
    included: dict[str, _Program] = {}

    def include(src: str, path: str, stack: tuple[str, ...]) -> _Program:
        program = _parse_program(src, path)
        included[path] = program
        for ipath, is_service, itoken in program.imports:
            if loader is None:
                raise located_error(f"cannot import {ipath!r}: no loader given", itoken)
            target = posixpath.normpath(posixpath.join(posixpath.dirname(path), ipath))
            if target in stack:
                raise located_error(f"import cycle through {target!r}", itoken)
            sub = included.get(target)
            if sub is None:
                try:
                    imported_source = loader(target)
                except OSError as e:
                    raise located_error(f"cannot import {target!r}: {e}", itoken) from None
                sub = include(imported_source, target, (*stack, target))
            if is_service:
                if sub.init is not None:
                    raise located_error(f"{target!r} is a service constructor", itoken)
                if sub.actor is None:
                    raise located_error(f"{target!r} has no main service", itoken)
                imported_actors.append((sub.actor, itoken))
        for name, (body, token) in program.defs.items():
            if name in defs:
                raise located_error(
                    f"type {name!r} is already defined at {defs[name][1].where}", token
                )
            defs[name] = (body, token)
        return program

    try:
        root = include(source, origin, (origin,))
        resolver = Resolver(defs)
        types = resolver.all()
    except RecursionError:
        raise CandidError(f"{origin or 'input'}: type definitions nested too deeply") from None
    parts = [(_service_of(resolver, actor), token) for actor, token in imported_actors]
    if root.actor is not None:
        parts.append((_service_of(resolver, root.actor), syntax_token(root.actor)))
    service: Service | None = None
    if parts:
        methods: dict[str, CandidType] = {}
        for part, token in parts:
            for name, method in part.methods:
                if name in methods:
                    raise located_error(f"method {name!r} is defined by two services", token)
                methods[name] = method
        service = Service(tuple(methods.items()))
    init_args = None if root.init is None else tuple(resolver.type(a) for a in root.init)
    return DidFile(types=types, service=service, init_args=init_args)


def _service_of(resolver: Resolver, actor: Syntax) -> Service:
    resolved = peel(resolver.type(actor))
    if not isinstance(resolved, Service):
        raise located_error("the main service must be a service type", syntax_token(actor))
    return resolved


def load_did(path: str | Path) -> DidFile:
    """Read and parse a `.did` file, reading its imports relative to its directory."""
    path = Path(path)
    base = path.parent

    def loader(relative: str) -> str:
        return (base / relative).read_text(encoding="utf-8")

    try:
        source = path.read_text(encoding="utf-8")
    except OSError as e:
        raise CandidError(f"cannot read {str(path)!r}: {e}") from None
    return parse_did(source, loader=loader, origin=path.name)


def parse_type(text: str, env: Mapping[str, CandidType] | None = None) -> CandidType:
    """Parse one Candid type (`record { a : nat }`); names resolve through `env`."""
    parser = TypeParser(text)
    syntax = parser.datatype()
    parser.expect_end()
    try:
        return Resolver({}, env).type(syntax)
    except RecursionError:
        raise CandidError("type nested too deeply") from None


def parse_types(text: str, env: Mapping[str, CandidType] | None = None) -> tuple[CandidType, ...]:
    """Parse a tuple type `(nat, text)` into its component types; names resolve through `env`."""
    parser = TypeParser(text)
    syntax = parser.tuptype()
    parser.expect_end()
    resolver = Resolver({}, env)
    return tuple(resolver.type(s) for s in syntax)
