"""Generated record encoders and decoders: the codec's fast path for records.

Spec: IC interface spec 0.66.0, Candid (dfinity/candid spec/Candid.md › Binary Format ›
Memory, `M(kv* : record {<fieldtype>*})`).

A record's fields are encoded one after the other, so a record of primitive fields can be
written as one straight-line Python function with each primitive inlined (no call per
field). The source is generated from the type's *shape* only; field labels, helpers and
sub-decoders are passed in as constants of the function's namespace, never spliced into the
source. The closures in `encode.py`/`decoders.py` stay the reference: the generated encoder
falls back to them on any irregular value (so error messages and lenient inputs behave
exactly the same), and tests check both paths produce identical results.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from replica_core.candid.types import Prim
from replica_core.candid.wire import FIXED_WIDTH as _STRUCTS
from replica_core.candid.wire import SMALL_BYTES as _SMALL
from replica_core.errors import CandidError
from replica_core.principal import MAX_PRINCIPAL_LENGTH, Principal

__all__ = [
    "INLINE_PRIMITIVES",
    "enabled",
    "generate_record_decoder",
    "generate_record_encoder",
    "register_cache",
    "set_enabled",
]

INLINE_PRIMITIVES = frozenset(
    {"nat", "nat8", "text", "bool", "null", "reserved", "principal", *_STRUCTS}
)
"""Primitive types whose encoding and decoding are inlined into generated record code."""

_switch = {"enabled": True}
_caches: list[Callable[[], None]] = []


def register_cache(clear: Callable[[], None]) -> None:
    """Register a compiled-codec cache to be cleared when the fast path is switched."""
    _caches.append(clear)


def enabled() -> bool:
    """Whether newly compiled codecs use the generated fast path (tests turn it off to
    check the reference closures give the same results)."""
    return _switch["enabled"]


def set_enabled(on: bool) -> None:
    """Turn the fast path on or off (clearing the caches of compiled codecs)."""
    _switch["enabled"] = on
    for clear in _caches:
        clear()


_PRINCIPAL_HEADERS = [bytes((1, n)) for n in range(MAX_PRINCIPAL_LENGTH + 1)]
_LEB14: list[bytes] = []


def _leb14_table() -> list[bytes]:
    """The 2-byte LEB128 groups (both with continuation bit) of every 14-bit chunk, built
    on first use (about 0.7 MB): lets generated code write nat values without a loop."""
    if not _LEB14:
        _LEB14.extend(bytes((c & 0x7F | 0x80, c >> 7 | 0x80)) for c in range(1 << 14))
    return _LEB14


class _Irregular(Exception):
    """A field value outside the generated code's fast checks: use the reference encoder."""


_BUILTINS = ("int", "str", "dict", "bytes", "len", "list", "tuple")


def _compile(source: str, name: str, namespace: dict[str, Any]) -> Callable[..., Any]:
    """Compile generated source; every namespace name (and a few builtins) becomes a
    keyword-only default argument, so the body reads them as fast locals."""
    names = [*namespace, *_BUILTINS]
    header, body = source.split("\n", 1)
    assert header.startswith(f"def {name}(") and header.endswith("):")
    header = header[:-2] + ", *, " + ", ".join(f"{n}={n}" for n in names) + "):"
    code = compile(header + "\n" + body, f"<candid fastpath {name}>", "exec")
    exec(code, namespace)
    return namespace[name]


# --- encoding --------------------------------------------------------------------------


def generate_record_encoder(
    labels: list[Any],
    prims: list[Prim | None],
    encoders: list[Callable[[Any, bytearray], None]],
    reference: Callable[[Any, bytearray], None],
    helpers: dict[str, Any],
    *,
    vec: bool = False,
) -> Callable[[Any, bytearray], None]:
    """An encoder for a record (or, with `vec`, a vector of records) whose i-th field
    (`labels[i]`) is the primitive `prims[i]` (inlined) or is written by `encoders[i]`.
    Irregular values are re-encoded by `reference`, which also reports errors. `helpers`
    supplies `leb` (unsigned LEB128) and `ValueErr` (the encoder's error class)."""
    ns: dict[str, Any] = {
        "SMALL": _SMALL,
        "PHDR": _PRINCIPAL_HEADERS,
        "Principal": Principal,
        "Irregular": _Irregular,
        "reference": reference,
        "struct_error": struct.error,
        **helpers,
    }
    n = len(labels)
    ns["T14"] = _leb14_table()
    parts = vec and all(p is not None and p.name != "nat8" for p in prims)
    emit = "app({})" if parts else "out += {}"
    if vec:
        lines = [
            "def enc_vec_record(seq, out):",
            "    if seq.__class__ is not list and seq.__class__ is not tuple:",
            "        return reference(seq, out)",
            "    start = len(out)",
            "    k = len(seq)",
            "    out += SMALL[k] if k < 128 else leb(k)",
            "    parts = []",
            "    app = parts.append",
            "    try:",
            "        for v in seq:",
            f"            if v.__class__ is not dict or len(v) != {n}: raise Irregular",
        ]
        indent = " " * 12
    else:
        lines = [
            "def enc_record(v, out):",
            f"    if v.__class__ is not dict or len(v) != {n}:",
            "        return reference(v, out)",
            "    start = len(out)",
            "    try:",
        ]
        indent = " " * 8
    for i, (label, prim) in enumerate(zip(labels, prims, strict=True)):
        ns[f"K{i}"] = label
        ns[f"E{i}"] = encoders[i]
        lines.append(f"{indent}x = v[K{i}]")
        lines += [indent + s for s in _encode_snippet(i, prim, ns, emit)]
    if parts:
        lines.append("        out += b''.join(parts)")
    lines += [
        "    except (Irregular, ValueErr, KeyError, struct_error, OverflowError,"
        " UnicodeEncodeError):",
        "        del out[start:]",
        "        reference(seq, out)" if vec else "        reference(v, out)",
    ]
    name = "enc_vec_record" if vec else "enc_record"
    return _compile("\n".join(lines) + "\n", name, ns)


def _encode_snippet(i: int, prim: Prim | None, ns: dict[str, Any], emit: str) -> list[str]:
    """Source lines writing field value `x` of primitive type `prim`; `emit` wraps a bytes
    expression into a statement (append to `parts`, or extend `out`)."""
    if prim is None:
        return [f"E{i}(x, out)"]
    name = prim.name
    if name == "nat":
        two = "bytes((m & 127 | 128, m >> 7))"
        return [
            "if x.__class__ is not int or x < 0: raise Irregular",
            "if x < 128: " + emit.format("SMALL[x]"),
            "elif x < 16384: " + emit.format("bytes((x & 127 | 128, x >> 7))"),
            "elif x < 0x40000000000:",
            "    " + emit.format("T14[x & 16383]"),
            "    if x < 0x10000000: m = x >> 14",
            "    else:",
            "        " + emit.format("T14[x >> 14 & 16383]"),
            "        m = x >> 28",
            "    " + emit.format(f"SMALL[m] if m < 128 else {two}"),
            "else: " + emit.format("leb(x)"),
        ]
    if name == "nat8":
        return [
            "if x.__class__ is not int or not 0 <= x < 256: raise Irregular",
            "out.append(x)",
        ]
    if name in _STRUCTS:
        ns[f"P{i}"] = _STRUCTS[name].pack
        check = (
            "if x.__class__ is not float and x.__class__ is not int: raise Irregular"
            if name.startswith("float")
            else "if x.__class__ is not int: raise Irregular"
        )
        return [check, emit.format(f"P{i}(x)")]
    if name == "text":
        return [
            "if x.__class__ is not str: raise Irregular",
            "r = x.encode()",
            "k = len(r)",
            emit.format("SMALL[k] if k < 128 else leb(k)"),
            emit.format("r"),
        ]
    if name == "bool":
        return [
            "if x is True: " + emit.format("b'\\x01'"),
            "elif x is False: " + emit.format("b'\\x00'"),
            "else: raise Irregular",
        ]
    if name == "principal":
        return [
            "if x.__class__ is not Principal: raise Irregular",
            "r = x.raw",
            emit.format("PHDR[len(r)]"),
            emit.format("r"),
        ]
    if name == "null":
        return ["if x is not None: raise Irregular"]
    if name == "reserved":
        return []
    return [f"E{i}(x, out)"]


# --- decoding --------------------------------------------------------------------------


def generate_record_decoder(
    steps: list[tuple[Any, Prim | None, Callable[..., tuple[Any, int]]]],
    defaults: list[tuple[Any, Any]],
    read_leb: Callable[..., tuple[int, int]],
    read_sleb: Callable[..., tuple[int, int]],
    read_text: Callable[..., tuple[str, int]],
    new_principal: Callable[[bytes], Principal],
    slow_principal: Callable[..., tuple[Any, int]],
    *,
    vec_cost: int | None = None,
    check_length: bool = True,
) -> Callable[[bytes, int, list[int]], tuple[Any, int]]:
    """A decoder for a record read field by field in wire order: each step is (key or None
    to drop the value, primitive to inline or None, decoder to call). With `vec_cost`, a
    decoder for a vector of such records, charging `vec_cost` per element to the budget;
    `check_length` rejects lengths above the remaining input (records of non-zero size)."""
    ns: dict[str, Any] = {
        "read_leb": read_leb,
        "read_sleb": read_sleb,
        "read_text": read_text,
        "new_principal": new_principal,
        "slow_principal": slow_principal,
        "CandidError": CandidError,
        "MAXP": MAX_PRINCIPAL_LENGTH,
        "new": object.__new__,
        "set_raw": Principal.raw.__set__,  # type: ignore[attr-defined]
        "Principal": Principal,
    }
    if vec_cost is None:
        lines = ["def dec_record(b, pos, ctx):"]
        indent = "    "
    else:
        lines = [
            "def dec_record(b, pos, ctx):",
            "    n = b[pos]",
            "    if n < 128: pos += 1",
            "    else: n, pos = read_leb(b, pos)",
        ]
        if check_length:
            lines.append(
                "    if n > len(b) - pos: raise CandidError(f'vec of {n} records overruns the input')"
            )
        lines += [
            f"    ctx[0] -= n * {int(vec_cost)}",
            "    if ctx[0] < 0: raise CandidError("
            "'decoding cost exceeds the quota (a value of excessive size)')",
            "    result = []",
            "    append = result.append",
            "    for _ in range(n):",
        ]
        indent = "        "
    out_items = []
    for i, (key, prim, dec) in enumerate(steps):
        ns[f"D{i}"] = dec
        target = f"v{i}" if key is not None else "_"
        lines += [indent + s for s in _decode_snippet(i, target, prim, ns)]
        if key is not None:
            ns[f"K{i}"] = key
            out_items.append(f"K{i}: v{i}")
    for j, (key, value) in enumerate(defaults):
        ns[f"DK{j}"] = key
        ns[f"DV{j}"] = value
        out_items.append(f"DK{j}: ([] if DV{j} == [] else None)")
    record = "{" + ", ".join(out_items) + "}"
    if vec_cost is None:
        lines.append(f"    return {record}, pos")
    else:
        lines += [f"        append({record})", "    return result, pos"]
    return _compile("\n".join(lines) + "\n", "dec_record", ns)


def _decode_snippet(i: int, target: str, prim: Prim | None, ns: dict[str, Any]) -> list[str]:
    name = prim.name if prim is not None else ""
    if name == "nat":
        return [
            f"{target} = b[pos]",
            f"if {target} < 128: pos += 1",
            f"else: {target}, pos = read_leb(b, pos)",
        ]
    if name == "nat8":
        return [f"{target} = b[pos]", "pos += 1"]
    if name in _STRUCTS:
        s = _STRUCTS[name]
        ns[f"U{i}"] = s.unpack_from
        return [f"{target} = U{i}(b, pos)[0]", f"pos += {s.size}"]
    if name == "text":
        return [
            "k = b[pos]",
            "if k < 128: pos += 1",
            "else: k, pos = read_leb(b, pos)",
            "end = pos + k",
            "if end > len(b): raise CandidError('text overruns the input')",
            f"{target} = str(b[pos:end], 'utf-8')",
            "pos = end",
        ]
    if name == "bool":
        return [
            "k = b[pos]",
            "if k > 1: raise CandidError(f'bool byte is {k}, not 0 or 1')",
            f"{target} = k == 1",
            "pos += 1",
        ]
    if name in ("null", "reserved"):
        return [f"{target} = None"]
    if name == "principal":
        return [
            "k = b[pos + 1]",
            "end = pos + 2 + k",
            "if b[pos] == 1 and k <= MAXP and end <= len(b):",
            f"    {target} = new(Principal)",
            f"    set_raw({target}, b[pos + 2:end])",
            "    pos = end",
            f"else: {target}, pos = slow_principal(b, pos, ctx)",
        ]
    if name == "int":
        return [f"{target}, pos = read_sleb(b, pos)"]
    return [f"{target}, pos = D{i}(b, pos, ctx)"]
