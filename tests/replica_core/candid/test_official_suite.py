"""The official Candid test suite (dfinity/candid `test/*.test.did`) run against our codec.

Spec: IC interface spec 0.66.0, Candid (dfinity/candid spec/Candid.md; test format in
dfinity/candid test/README.md).

Each `assert` of the ported files under `official/` is one pytest case, named
`<file>:<line>`. Inputs are binary (`blob "DIDL…"`, decoded with the annotated types) or
textual (`"(1, 2)"`, parsed with the same types by `text_parse`):

* `assert <in> : (T)`        the input decodes/parses at the types;
* `assert <in> !: (T)`       it does not (our codec must raise `CandidError`, nothing else);
* `assert <a> == <b> : (T)`  both succeed and give equal Python values;
* `assert <a> != <b> : (T)`  both succeed and give different values.

Whenever an input decodes, we also check the encoder: `encode(types, value)` must decode back
to the same value (the suite itself does not test encoding, as the binary form is not
canonical). Cases we cannot pass are listed in `SKIPPED` with the reason.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from replica_core.candid.decode import decode
from replica_core.candid.did_lexer import Token
from replica_core.candid.did_syntax import Resolver, TypeParser
from replica_core.candid.encode import encode
from replica_core.candid.text_parse import parse_args
from replica_core.candid.types import CandidType
from replica_core.errors import CandidError

OFFICIAL = Path(__file__).parent / "official"

SKIPPED: dict[str, str] = {}
"""`file:line` of an assertion we cannot pass → the precise reason.

Entries that are codec bugs run as non-strict xfails, so a fix shows up as XPASS in the
`-ra` summary (time to delete the entry); any other entry is skipped outright.
"""


def _case(a: Assertion) -> object:
    reason = SKIPPED.get(a.where)
    if reason is None:
        return pytest.param(a, id=a.where)
    if reason.startswith("codec bug"):
        return pytest.param(a, id=a.where, marks=pytest.mark.xfail(reason=reason, strict=False))
    return pytest.param(a, id=a.where, marks=pytest.mark.skip(reason=reason))


@dataclass(frozen=True)
class Input:
    """A test input: binary Candid (`blob`) or a textual argument list (`text`)."""

    kind: str
    data: bytes | str


@dataclass(frozen=True)
class Assertion:
    """One `assert` line of a `.test.did` file."""

    where: str
    left: Input
    right: Input | None
    types: tuple[CandidType, ...]
    passes: bool
    desc: str
    env: dict[str, CandidType]


def parse_test_file(path: Path) -> list[Assertion]:
    """Parse `<def>;* <test>;*` (test/README.md) into assertions with resolved types."""
    parser = TypeParser(path.read_text(encoding="utf-8"), origin=path.name)
    resolver = Resolver(parser.definitions())
    env = resolver.all()
    assertions: list[Assertion] = []

    def read_input() -> Input:
        if parser.accept("blob"):
            token = parser.expect("text", "the blob of a binary input")
            assert isinstance(token.value, bytes)
            return Input("blob", token.value)
        return Input("text", parser.text_value(parser.expect("text", "a test input")))

    while not parser.at("eof"):
        keyword: Token = parser.expect("id", "'assert'")
        if keyword.value != "assert":
            raise parser.error("expected 'assert'", keyword)
        left = read_input()
        op = parser.take()
        right = None
        if op.kind in ("==", "!="):
            right = read_input()
            parser.expect(":")
        elif op.kind not in (":", "!:"):
            raise parser.error("expected ':', '!:', '==' or '!='", op)
        types = tuple(resolver.type(t) for t in parser.tuptype())
        desc = parser.text_value(parser.take()) if parser.at("text") else ""
        assertions.append(
            Assertion(
                where=f"{path.name}:{keyword.line}",
                left=left,
                right=right,
                types=types,
                passes=op.kind in (":", "=="),
                desc=desc,
                env=env,
            )
        )
        if not parser.accept(";"):
            break
    parser.expect_end()
    return assertions


ASSERTIONS = [a for f in sorted(OFFICIAL.glob("*.test.did")) for a in parse_test_file(f)]


def same(a: Any, b: Any) -> bool:
    """Python equality, made strict on types (`True` is not `1`), with NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def read(inp: Input, assertion: Assertion) -> list[Any]:
    """Decode (blob) or parse (text) an input at the assertion's types."""
    if inp.kind == "blob":
        assert isinstance(inp.data, bytes)
        return decode(inp.data, assertion.types)
    assert isinstance(inp.data, str)
    return parse_args(inp.data, assertion.types, env=assertion.env)[1]


def check_encoder(values: list[Any], assertion: Assertion) -> None:
    """Our encoder must produce bytes that decode back to the same values at the same types."""
    encoded = encode(assertion.types, values)
    again = decode(encoded, assertion.types)
    assert same(again, values), f"round trip through encode gave {again!r}, not {values!r}"


@pytest.mark.parametrize("assertion", [_case(a) for a in ASSERTIONS])
def test_official_candid_assertion(assertion: Assertion) -> None:
    if assertion.right is None:
        if assertion.passes:
            check_encoder(read(assertion.left, assertion), assertion)
        else:
            with pytest.raises(CandidError):
                read(assertion.left, assertion)
        return
    left = read(assertion.left, assertion)
    right = read(assertion.right, assertion)
    if assertion.passes:
        assert same(left, right), f"{assertion.desc}: {left!r} != {right!r}"
    else:
        assert not same(left, right), f"{assertion.desc}: {left!r} == {right!r}"
    check_encoder(left, assertion)
    check_encoder(right, assertion)


def test_suite_is_fully_ported():
    """Every upstream file is here and every assertion was parsed (counts from upstream)."""
    counts = {}
    for a in ASSERTIONS:
        name = a.where.split(":")[0]
        counts[name] = counts.get(name, 0) + 1
    expected_files = {
        "construct.test.did",
        "overshoot.test.did",
        "prim.test.did",
        "reference.test.did",
        "spacebomb.test.did",
        "subtypes.test.did",
    }
    assert set(counts) == expected_files
    for name in expected_files:
        text = re.sub(r"/\*.*?\*/", "", (OFFICIAL / name).read_text(encoding="utf-8"), flags=re.S)
        live = [ln for ln in text.splitlines() if ln.lstrip().startswith("assert ")]
        assert counts[name] == len(live), name


def test_skip_list_names_existing_assertions():
    where = {a.where for a in ASSERTIONS}
    assert set(SKIPPED) <= where
    assert all(reason.strip() for reason in SKIPPED.values())
