"""Candid serialisation: `DIDL`, the type table, the argument types, then the values.

Spec: IC interface spec 0.66.0, Candid (dfinity/candid spec/Candid.md › Binary Format ›
Serialisation, Parameters and Results).

Each type is compiled once into a specialised encoder closure `enc(value, out)` that appends
to a `bytearray` (cached by type object identity); the header (magic, type table, argument
types) is cached per tuple of argument types. Values use the Python representation documented
in `replica_core.candid.types`. A value that does not fit its type raises `CandidError`
naming the type, the value and where it sits (`arg 0 › [3] › .name`).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

from replica_core.candid import fastpath
from replica_core.candid.fastpath import INLINE_PRIMITIVES, generate_record_encoder
from replica_core.candid.subtype import is_null_like
from replica_core.candid.type_table import MAGIC, encode_type_table
from replica_core.candid.types import (
    CandidType,
    Func,
    Opt,
    Prim,
    Rec,
    Record,
    Service,
    Variant,
    Vec,
    unroll,
)
from replica_core.candid.wire import FIXED_WIDTH as _FIXED
from replica_core.candid.wire import SMALL_BYTES as _SMALL
from replica_core.candid.wire import leb_signed, leb_unsigned
from replica_core.errors import CandidError
from replica_core.principal import Principal

__all__ = ["MAGIC", "encode", "encode_type_table", "leb_unsigned"]


Encoder = Callable[[Any, bytearray], None]

_FIXED_CODES = {name: s.format[1:] for name, s in _FIXED.items()}


class _ValueError(CandidError):
    """A value does not fit its type; `path` grows as the error unwinds."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.path: list[str] = []

    def __str__(self) -> str:
        where = " › ".join(reversed(self.path))
        return f"{self.message} (at {where})" if where else self.message


_HELPERS = {"leb": leb_unsigned, "ValueErr": _ValueError}


def _bad(t: CandidType | str, v: Any, why: str = "") -> _ValueError:
    text = repr(v)
    if len(text) > 80:
        text = text[:77] + "..."
    return _ValueError(f"{t} cannot hold {text}{': ' + why if why else ''}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# --- the value encoders ----------------------------------------------------------------

_CACHE_LIMIT = 512
_encoder_cache: dict[int, tuple[CandidType, Encoder]] = {}
_header_cache: dict[tuple[int, ...], tuple[tuple[CandidType, ...], bytes]] = {}
fastpath.register_cache(_encoder_cache.clear)


def _encoder(t: CandidType) -> Encoder:
    hit = _encoder_cache.get(id(t))
    if hit is not None and hit[0] is t:
        return hit[1]
    enc = _Compiler().compile(t)
    if len(_encoder_cache) >= _CACHE_LIMIT:
        _encoder_cache.clear()
    _encoder_cache[id(t)] = (t, enc)
    return enc


def _header(types: tuple[CandidType, ...]) -> bytes:
    key = tuple(map(id, types))
    hit = _header_cache.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], types, strict=True)):
        return hit[1]
    header = encode_type_table(types)
    if len(_header_cache) >= _CACHE_LIMIT:
        _header_cache.clear()
    _header_cache[key] = (types, header)
    return header


def encode(types: Sequence[CandidType], values: Sequence[Any]) -> bytes:
    """Serialise `values` at `types` into a Candid message (`DIDL` …)."""
    types = tuple(types)
    if len(types) != len(values):
        raise CandidError(f"{len(types)} argument types but {len(values)} values")
    try:
        out = bytearray(_header(types))
        for i, (t, v) in enumerate(zip(types, values, strict=True)):
            try:
                _encoder(t)(v, out)
            except _ValueError as e:
                e.path.append(f"arg {i}")
                raise
    except RecursionError:
        raise CandidError("value or type nested too deeply to encode") from None
    return bytes(out)


class _Compiler:
    """Builds encoder closures, tying recursive knots through forwarding cells."""

    def __init__(self) -> None:
        self.memo: dict[int, Encoder] = {}
        self.keep: list[CandidType] = []

    def compile(self, t: CandidType) -> Encoder:
        if isinstance(t, Rec):
            return self._rec(t)
        found = self.memo.get(id(t))
        if found is not None:
            return found
        self.keep.append(t)
        enc = self._build(t)
        self.memo[id(t)] = enc
        return enc

    def _rec(self, t: Rec) -> Encoder:
        found = self.memo.get(id(t))
        if found is not None:
            return found
        unroll(t)  # rejects μx.x
        cell: list[Encoder] = []

        def forward(v: Any, out: bytearray) -> None:
            cell[0](v, out)

        self.memo[id(t)] = forward
        cell.append(self.compile(t.target))
        return forward

    def _build(self, t: CandidType) -> Encoder:
        if isinstance(t, Prim):
            return _primitive(t)
        if isinstance(t, Opt):
            return _opt(self.compile(t.inner))
        if isinstance(t, Vec):
            return self._vec(t)
        if isinstance(t, Record):
            return _record(t, [self.compile(f.type) for f in t.fields])
        if isinstance(t, Variant):
            return _variant(t, [self.compile(f.type) for f in t.fields])
        if isinstance(t, Func):
            return _func(t)
        if isinstance(t, Service):
            return _service(t)
        raise CandidError(f"cannot encode a value of type {t!r}")

    def _vec(self, t: Vec) -> Encoder:
        inner = unroll(t.inner)
        if isinstance(inner, Prim) and inner.name == "nat8":
            return _blob(t)
        if isinstance(inner, Prim) and inner.name in _FIXED:
            return _fixed_vec(t, inner)
        elem = self.compile(t.inner)
        enc_vec = _vec_encoder(t, elem)
        if isinstance(inner, Record) and 0 < len(inner.fields) <= 32 and fastpath.enabled():
            return generate_record_encoder(
                [f.label for f in inner.fields],
                _inline_prims(inner),
                [self.compile(f.type) for f in inner.fields],
                enc_vec,
                _HELPERS,
                vec=True,
            )
        return enc_vec


def _vec_encoder(t: Vec, elem: Encoder) -> Encoder:
    def enc_vec(v: Any, out: bytearray) -> None:
        if not isinstance(v, list | tuple):
            raise _bad(t, v, "expected a list")
        n = len(v)
        out += _SMALL[n] if n < 0x80 else leb_unsigned(n)
        i = 0
        try:
            for i, x in enumerate(v):  # noqa: B007
                elem(x, out)
        except _ValueError as e:
            e.path.append(f"[{i}]")
            raise

    return enc_vec


def _primitive(t: Prim) -> Encoder:
    name = t.name
    if name == "nat":

        def enc_nat(v: Any, out: bytearray) -> None:
            if v.__class__ is not int and not _is_int(v) or v < 0:
                raise _bad(t, v, "expected an int >= 0")
            out += _SMALL[v] if v < 0x80 else leb_unsigned(v)

        return enc_nat
    if name == "int":

        def enc_int(v: Any, out: bytearray) -> None:
            if v.__class__ is not int and not _is_int(v):
                raise _bad(t, v, "expected an int")
            out += leb_signed(v)

        return enc_int
    if name in _FIXED:
        pack = _FIXED[name].pack
        if name.startswith("float"):

            def enc_float(v: Any, out: bytearray) -> None:
                if v.__class__ is not float and (
                    not isinstance(v, int | float) or v is True or v is False
                ):
                    raise _bad(t, v, "expected a float")
                try:
                    out += pack(v)
                except (OverflowError, struct.error):
                    raise _bad(t, v, "out of range") from None

            return enc_float

        def enc_fixed(v: Any, out: bytearray) -> None:
            if v.__class__ is not int and not _is_int(v):
                raise _bad(t, v, "expected an int")
            try:
                out += pack(v)
            except struct.error:
                raise _bad(t, v, "out of range") from None

        return enc_fixed
    if name == "text":

        def enc_text(v: Any, out: bytearray) -> None:
            if v.__class__ is not str and not isinstance(v, str):
                raise _bad(t, v, "expected a str")
            try:
                raw = v.encode("utf-8")
            except UnicodeEncodeError as e:
                raise _bad(t, v, f"not encodable as UTF-8 ({e.reason})") from None
            n = len(raw)
            out += _SMALL[n] if n < 0x80 else leb_unsigned(n)
            out += raw

        return enc_text
    if name == "bool":

        def enc_bool(v: Any, out: bytearray) -> None:
            if v is True:
                out += b"\x01"
            elif v is False:
                out += b"\x00"
            else:
                raise _bad(t, v, "expected a bool")

        return enc_bool
    if name == "null":

        def enc_null(v: Any, out: bytearray) -> None:
            if v is not None:
                raise _bad(t, v, "expected None")

        return enc_null
    if name == "reserved":
        return lambda v, out: None
    if name == "principal":

        def enc_principal(v: Any, out: bytearray) -> None:
            if v.__class__ is not Principal and not isinstance(v, Principal):
                raise _bad(t, v, "expected a Principal")
            raw = v.raw
            out += b"\x01"
            out += _SMALL[len(raw)]
            out += raw

        return enc_principal

    def enc_empty(v: Any, out: bytearray) -> None:
        raise _bad(t, v, "the type empty has no values")

    return enc_empty


def _opt(inner: Encoder) -> Encoder:
    def enc_opt(v: Any, out: bytearray) -> None:
        if v is None or (v.__class__ is list and not v):
            out += b"\x00"
            return
        if not isinstance(v, list | tuple) or len(v) > 1:
            raise _ValueError(f"an opt value is [] or [value], not {v!r:.80}")
        if not v:
            out += b"\x00"
            return
        out += b"\x01"
        try:
            inner(v[0], out)
        except _ValueError as e:
            e.path.append("opt")
            raise

    return enc_opt


def _blob(t: Vec) -> Encoder:
    def enc_blob(v: Any, out: bytearray) -> None:
        if not isinstance(v, bytes | bytearray | memoryview):
            if not isinstance(v, list | tuple):
                raise _bad(t, v, "expected bytes or a list of ints")
            try:
                v = bytes(v)
            except (ValueError, TypeError) as e:
                raise _bad(t, v, f"not a list of nat8 ({e})") from None
        n = len(v)
        out += _SMALL[n] if n < 0x80 else leb_unsigned(n)
        out += v

    return enc_blob


def _fixed_vec(t: Vec, inner: Prim) -> Encoder:
    code = _FIXED_CODES[inner.name]
    elem = _primitive(inner)
    is_float = inner.name.startswith("float")

    def enc_fixed_vec(v: Any, out: bytearray) -> None:
        if not isinstance(v, list | tuple):
            raise _bad(t, v, "expected a list")
        n = len(v)
        out += _SMALL[n] if n < 0x80 else leb_unsigned(n)
        ok = (
            all(x.__class__ is float or (_is_int(x)) for x in v)
            if is_float
            else all(x.__class__ is int for x in v)
        )
        if ok:
            try:
                out += struct.pack(f"<{n}{code}", *v)
                return
            except (struct.error, OverflowError):
                pass
        for i, x in enumerate(v):  # slow path: find and report the offending element
            try:
                elem(x, out)
            except _ValueError as e:
                e.path.append(f"[{i}]")
                raise
        raise AssertionError("unreachable: bulk pack failed but no element is invalid")

    return enc_fixed_vec


def _record(t: Record, encoders: list[Encoder]) -> Encoder:
    if not t.fields:

        def enc_empty_record(v: Any, out: bytearray) -> None:
            if not isinstance(v, dict | list | tuple) or v:
                raise _bad(t, v, "expected an empty dict")

        return enc_empty_record
    steps = [(f.label, f.id, enc) for f, enc in zip(t.fields, encoders, strict=True)]
    n = len(steps)
    is_tuple = t.is_tuple
    known = {f.label for f in t.fields} | {f.id for f in t.fields}

    def slow(v: Any) -> Any:
        if is_tuple and isinstance(v, list | tuple):
            if len(v) != n:
                raise _bad(t, v, f"expected {n} tuple components")
            return dict(enumerate(v))
        if not isinstance(v, dict):
            raise _bad(t, v, "expected a dict")
        for key in v:
            if key not in known:
                raise _bad(t, v, f"unknown field {key!r}")
        full = {}
        for f in t.fields:
            if f.label in v:
                full[f.label] = v[f.label]
            elif f.id in v:
                full[f.label] = v[f.id]
            elif is_null_like(f.type):
                full[f.label] = None if not isinstance(unroll(f.type), Opt) else []
            else:
                raise _bad(t, v, f"missing field {f.label!r}")
        return full

    def enc_record(v: Any, out: bytearray) -> None:
        if v.__class__ is not dict or len(v) != n:
            v = slow(v)
        key: Any = None
        try:
            for key, fid, enc in steps:
                try:
                    x = v[key]
                except KeyError:
                    try:
                        x = v[fid]
                    except KeyError:
                        x = slow(v)[key]
                enc(x, out)
        except _ValueError as e:
            e.path.append(f".{key}")
            raise

    if n > 32 or not fastpath.enabled():
        return enc_record
    return generate_record_encoder(
        [f.label for f in t.fields], _inline_prims(t), encoders, enc_record, _HELPERS
    )


def _inline_prims(t: Record) -> list[Prim | None]:
    return [
        f.type if isinstance(f.type, Prim) and f.type.name in INLINE_PRIMITIVES else None
        for f in t.fields
    ]


def _variant(t: Variant, encoders: list[Encoder]) -> Encoder:
    tags: dict[Any, tuple[bytes, Encoder]] = {}
    for i, (f, enc) in enumerate(zip(t.fields, encoders, strict=True)):
        tags[f.label] = tags[f.id] = (leb_unsigned(i), enc)

    def enc_variant(v: Any, out: bytearray) -> None:
        if not isinstance(v, dict) or len(v) != 1:
            raise _bad(t, v, "expected a dict with exactly one {tag: value} entry")
        ((key, x),) = v.items()
        hit = tags.get(key)
        if hit is None or isinstance(key, bool):
            raise _bad(t, v, f"unknown tag {key!r}")
        out += hit[0]
        try:
            hit[1](x, out)
        except _ValueError as e:
            e.path.append(f".{key}")
            raise

    return enc_variant


def _principal_bytes(p: Principal) -> bytes:
    return b"\x01" + leb_unsigned(len(p.raw)) + p.raw


def _func(t: Func) -> Encoder:
    def enc_func(v: Any, out: bytearray) -> None:
        if (
            not isinstance(v, tuple | list)
            or len(v) != 2
            or not isinstance(v[0], Principal)
            or not isinstance(v[1], str)
        ):
            raise _bad(t, v, "expected (Principal, method_name)")
        raw = v[1].encode("utf-8", "strict")
        out += b"\x01" + _principal_bytes(v[0]) + leb_unsigned(len(raw)) + raw

    return enc_func


def _service(t: Service) -> Encoder:
    def enc_service(v: Any, out: bytearray) -> None:
        if not isinstance(v, Principal):
            raise _bad(t, v, "expected a Principal")
        out += _principal_bytes(v)

    return enc_service
