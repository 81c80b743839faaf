"""The lexer shared by the Candid `.did` parser, the textual value parser and the test format.

Spec: IC interface spec 0.66.0, Candid (dfinity/candid spec/Candid.md › Type Structure ›
Comments, Names; › Values: `<id>`, `<num>`, `<hexnum>`, `<float>`, `<text>`).

Tokens follow the Rust `candid_parser` lexer (impl): keywords are whole identifiers
(`nat`, `text`… are plain ids resolved by the parser), `true`/`false` are booleans, numbers
keep their digits as text (underscores removed) so the parser decides int, nat or float,
and a `"..."` literal yields its *bytes* — `\\hh` escapes may produce non-UTF-8 bytes, which
only a `blob` accepts; text literals are checked for UTF-8 where they are used. Block comments
nest; a `//` comment runs to the end of the line. Every token carries its line and column
(1-based) so errors can say `line:column`.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from replica_core.errors import CandidError

__all__ = [
    "KEYWORDS",
    "Token",
    "tokenize",
]

KEYWORDS: frozenset[str] = frozenset(
    {
        "blob",
        "composite_query",
        "func",
        "import",
        "null",
        "oneway",
        "opt",
        "principal",
        "query",
        "record",
        "service",
        "type",
        "variant",
        "vec",
    }
)
"""Identifiers the grammar reserves (spec: Names — a keyword used as a name must be quoted)."""

_MASTER = re.compile(
    r"""
    (?P<space>[\ \t\r\n]+)
  | (?P<line_comment>//[^\n]*)
  | (?P<block_comment>/\*)
  | (?P<stray_close>\*/)
  | (?P<text>")
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<hex>0[xX][0-9a-fA-F][_0-9a-fA-F]*)
  | (?P<float>[0-9]+(?:\.[0-9]*)?[eE][+-]?[0-9]+ | [0-9]+\.[0-9]* | \.[0-9]+)
  | (?P<decimal>[0-9][_0-9]*)
  | (?P<punct>->|==|!=|!:|[=(){};,.:])
  | (?P<sign>[+-])
    """,
    re.VERBOSE,
)
"""One alternative per token class, tried in order; the order gives the Rust lexer's longest
match for numbers (a float or hex literal is never cut short into a decimal)."""
_CODEPOINT = re.compile(r"\\u\{([0-9a-fA-F][_0-9a-fA-F]*)\}")
_BYTE = re.compile(r"\\([0-9a-fA-F]{2})")
_SIMPLE_ESCAPES = {"n": b"\n", "r": b"\r", "t": b"\t", "\\": b"\\", '"': b'"', "'": b"'"}


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its value, and where it starts (offset, 1-based line and column).

    Kinds: a punctuation string (`"->"`, `"("`…), a keyword (`"record"`…), `"id"` (value:
    the identifier), `"text"` (value: the literal's bytes), `"bool"` (value: `True`/`False`),
    `"sign"` (`"+"`/`"-"`), `"decimal"`/`"hex"`/`"float"` (value: digits without `_` and
    without the `0x` prefix), and `"eof"`.
    """

    kind: str
    value: object
    offset: int
    line: int
    column: int
    origin: str = ""

    @property
    def where(self) -> str:
        """`line:column` of the token's first character, after `origin:` when there is one."""
        prefix = f"{self.origin}:" if self.origin else ""
        return f"{prefix}{self.line}:{self.column}"


class _Cursor:
    """Maps offsets into the source to line:column."""

    __slots__ = ("line_starts", "origin", "source")

    def __init__(self, source: str, origin: str) -> None:
        self.source = source
        self.origin = origin
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", source)]

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def error(self, offset: int, message: str) -> CandidError:
        line, column = self.position(offset)
        prefix = f"{self.origin}:" if self.origin else ""
        return CandidError(f"{prefix}{line}:{column}: {message}")


def tokenize(source: str, origin: str = "") -> list[Token]:
    """Split `source` into tokens, ending with an `eof` token; raise CandidError on a bad one.

    `origin` (a file name) is recorded in every token and prefixed to error positions.
    """
    cur = _Cursor(source, origin)
    tokens: list[Token] = []
    pos, n = 0, len(source)
    match = _MASTER.match
    while pos < n:
        m = match(source, pos)
        if m is None:
            raise cur.error(pos, f"unexpected character {source[pos]!r}")
        group = m.lastgroup
        text = m.group()
        if group == "space" or group == "line_comment":
            pos = m.end()
            continue
        if group == "block_comment":
            pos = _skip_block_comment(cur, pos)
            continue
        if group == "stray_close":
            raise cur.error(pos, "'*/' without an opening '/*'")
        value: object
        end = m.end()
        if group == "text":
            value, end = _lex_text(cur, pos)
            kind = "text"
        elif group == "word":
            if text in ("true", "false"):
                kind, value = "bool", text == "true"
            elif text in KEYWORDS:
                kind = value = text
            else:
                kind, value = "id", text
        elif group == "punct":
            kind = value = text
        elif group == "sign":
            kind, value = "sign", text
        else:
            assert group is not None
            kind, value = (
                group,
                text.replace("_", "")[2:] if group == "hex" else text.replace("_", ""),
            )
        line, column = cur.position(pos)
        tokens.append(Token(kind, value, pos, line, column, origin))
        pos = end
    line, column = cur.position(n)
    tokens.append(Token("eof", None, n, line, column, origin))
    return tokens


def _skip_block_comment(cur: _Cursor, pos: int) -> int:
    """Skip a (nested) `/* ... */` comment starting at `pos`; return the offset after it."""
    source, depth, i = cur.source, 0, pos
    while i < len(source):
        if source.startswith("/*", i):
            depth += 1
            i += 2
        elif source.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    raise cur.error(pos, "unclosed block comment")


def _lex_text(cur: _Cursor, pos: int) -> tuple[bytes, int]:
    """Lex a `"..."` literal at `pos` into bytes; return them and the offset after the quote."""
    source = cur.source
    out = bytearray()
    i = pos + 1
    while True:
        if i >= len(source):
            raise cur.error(pos, "unclosed text literal")
        c = source[i]
        if c == '"':
            return bytes(out), i + 1
        if c != "\\":
            j = i
            while j < len(source) and source[j] not in '"\\':
                j += 1
            out += source[i:j].encode("utf-8", "surrogatepass")
            i = j
            continue
        m = _CODEPOINT.match(source, i)
        if m:
            code = int(m.group(1).replace("_", ""), 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise cur.error(i, f"unicode escape {m.group()!r} is not a scalar value")
            out += chr(code).encode("utf-8")
            i = m.end()
            continue
        if source.startswith("\\u{", i):
            raise cur.error(i, "malformed unicode escape (expected \\u{hex digits})")
        m = _BYTE.match(source, i)
        if m:
            out.append(int(m.group(1), 16))
            i = m.end()
            continue
        esc = source[i + 1 : i + 2]
        if esc in _SIMPLE_ESCAPES:
            out += _SIMPLE_ESCAPES[esc]
            i += 2
            continue
        raise cur.error(i, f"unknown escape sequence '\\{esc}'")
