"""Compiled Candid value decoders that coerce a wire type to an expected type.

Spec: IC interface spec 0.66.0, Candid (dfinity/candid spec/Candid.md › Binary Format ›
Memory, Deserialisation; Upgrading and Subtyping › Coercion).

For each pair (wire type, expected type) a closure `dec(buf, pos, ctx) -> (value, pos)` is
built once. It reads a value of the wire type and returns it coerced to the expected type, so
decoding and coercion happen in one pass. When a coercion does not exist the closure raises
`Mismatch`; an `opt` decoder catches it, skips the wire value and yields `[]` (the spec's
"goes to null" rule). Malformed bytes raise a plain `CandidError`, which nothing catches.

Self-metering (the spec's note on deserialisation cost, as the Rust decoder does): `ctx` is
`[budget, depth]`. Each value has a static cost (1 per node, records add their fields);
vectors charge `length × element cost` before decoding, a present `opt` charges its content,
and a pass through a recursive type charges its target and counts nesting depth. Exceeding the
budget or `MAX_RECURSION_DEPTH` raises `CandidError`, so space bombs fail fast.
"""

from __future__ import annotations

from typing import Any

from replica_core.candid import fastpath
from replica_core.candid.fastpath import INLINE_PRIMITIVES, generate_record_decoder
from replica_core.candid.subtype import is_null_like, is_subtype
from replica_core.candid.types import (
    NAT,
    NULL,
    PRINCIPAL,
    RESERVED,
    CandidType,
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
from replica_core.candid.wire import (
    Decoder,
    bulk_vec_decoder,
    new_principal,
    primitive_decoder,
    read_func,
    read_leb,
    read_principal_bytes,
    read_sleb,
    read_text,
    slow_principal,
)
from replica_core.errors import CandidError

__all__ = ["MAX_RECURSION_DEPTH", "Decoder", "DecoderCompiler", "Mismatch"]


MAX_RECURSION_DEPTH = 200
"""(impl) How many times one value may pass through recursive types (stack protection)."""


class Mismatch(CandidError):
    """A wire value has no coercion to the expected type (recoverable under `opt`)."""


def _charge(ctx: list[int], cost: int) -> None:
    ctx[0] -= cost
    if ctx[0] < 0:
        raise CandidError("decoding cost exceeds the quota (a value of excessive size)")


class DecoderCompiler:
    """Builds and memoises decoders per (wire type, expected type) pair."""

    def __init__(self) -> None:
        self.memo: dict[tuple[int, int], Decoder] = {}
        self.costs: dict[int, int] = {}
        self.keep: list[CandidType] = []

    # --- static cost ---------------------------------------------------------------

    def cost(self, t: CandidType) -> int:
        """Static number of value nodes in a value of `t`, not counting under opt/vec/rec."""
        if isinstance(t, Rec | Opt | Vec | Prim | Func | Service | FutureType):
            return 1
        found = self.costs.get(id(t))
        if found is not None:
            return found
        self.keep.append(t)
        fields = t.fields if isinstance(t, Record | Variant) else ()
        inner = [self.cost(f.type) for f in fields]
        total = 1 + (sum(inner) if isinstance(t, Record) else max(inner, default=0))
        self.costs[id(t)] = total
        return total

    # --- compilation ---------------------------------------------------------------

    def compile(self, wt: CandidType, et: CandidType) -> Decoder:
        key = (id(wt), id(et))
        found = self.memo.get(key)
        if found is not None:
            return found
        self.keep += (wt, et)
        if isinstance(wt, Rec) or isinstance(et, Rec):
            return self._rec(key, wt, et)
        dec = self._build(wt, et)
        self.memo[key] = dec
        return dec

    def skipper(self, wt: CandidType) -> Decoder:
        """Decodes (and validates) a value at its own wire type."""
        return self.compile(wt, wt)

    def _rec(self, key: tuple[int, int], wt: CandidType, et: CandidType) -> Decoder:
        cell: list[Decoder] = []
        wu = unroll(wt)
        cost = self.cost(wu)
        limit = MAX_RECURSION_DEPTH

        def forward(b: bytes, pos: int, ctx: list[int]) -> tuple[Any, int]:
            ctx[0] -= cost
            if ctx[0] < 0:
                _charge(ctx, 0)
            depth = ctx[1] = ctx[1] + 1
            if depth > limit:
                raise CandidError(f"value nesting exceeds {limit} levels of recursive types")
            try:
                return cell[0](b, pos, ctx)
            finally:
                ctx[1] -= 1

        self.memo[key] = forward
        cell.append(self.compile(wu, unroll(et)))
        return forward

    def _build(self, wt: CandidType, et: CandidType) -> Decoder:
        if isinstance(wt, Prim) and wt is et:
            return primitive_decoder(wt)
        if et is RESERVED:
            skip = self.skipper(wt)

            def dec_reserved(b: bytes, pos: int, ctx: list[int]) -> tuple[Any, int]:
                return None, skip(b, pos, ctx)[1]

            return dec_reserved
        if isinstance(wt, Prim) and wt.name == "empty":
            return _fail("cannot decode a value of type empty (it has none)")
        if isinstance(wt, FutureType):
            return self._future(wt, et)
        if isinstance(et, Opt):
            return self._opt(wt, et)
        if isinstance(wt, Prim):
            if wt is et:
                return primitive_decoder(wt)
            if wt is NAT and et.__class__ is Prim and et.name == "int":
                return primitive_decoder(NAT)
            return _mismatch(wt, et)
        if isinstance(wt, Vec) and isinstance(et, Vec):
            return self._vec(wt, et)
        if isinstance(wt, Record) and isinstance(et, Record):
            return self._record(wt, et)
        if isinstance(wt, Variant) and isinstance(et, Variant):
            return self._variant(wt, et)
        if isinstance(wt, Func) and isinstance(et, Func):
            return _func(wt, et)
        if isinstance(wt, Service) and (isinstance(et, Service) or et is PRINCIPAL):
            return _service(wt, et)
        return _mismatch(wt, et)

    def _future(self, wt: FutureType, et: CandidType) -> Decoder:
        def skip_future(b: bytes, pos: int, ctx: list[int]) -> tuple[Any, int]:
            m, pos = read_leb(b, pos)
            n, pos = read_leb(b, pos)
            if n:
                raise CandidError("future value carries references, which are not supported")
            if pos + m > len(b):
                raise CandidError("future value overruns the input")
            return None, pos + m

        if wt is et:
            return skip_future
        if isinstance(et, Opt):

            def dec_future_opt(b: bytes, pos: int, ctx: list[int]) -> tuple[Any, int]:
                return [], skip_future(b, pos, ctx)[1]

            return dec_future_opt
        return _mismatch(wt, et)

    def _opt(self, wt: CandidType, et: Opt) -> Decoder:
        if wt is NULL or wt is RESERVED:
            return lambda b, pos, ctx: ([], pos)
        if isinstance(wt, Opt):
            inner = self.compile(wt.inner, et.inner)
            skip_inner = self.skipper(wt.inner)
            cost = self.cost(unroll(wt.inner))

            def dec_opt(b: bytes, pos: int, ctx: list[int]) -> tuple[Any, int]:
                tag = b[pos]
                pos += 1
                if tag == 0:
                    return [], pos
                if tag != 1:
                    raise CandidError(f"opt value has tag {tag}, not 0 or 1")
                ctx[0] -= cost
                if ctx[0] < 0:
                    _charge(ctx, 0)
                try:
                    v, end = inner(b, pos, ctx)
                except Mismatch:
                    return [], skip_inner(b, pos, ctx)[1]
                return [v], end

            return dec_opt
        # A non-optional wire value is read at the content type; failing that, null.
        inner = self.compile(wt, et.inner)
        skip = self.skipper(wt)

        def dec_into_opt(b: bytes, pos: int, ctx: list[int]) -> tuple[Any, int]:
            try:
                v, end = inner(b, pos, ctx)
            except Mismatch:
                return [], skip(b, pos, ctx)[1]
            return [v], end

        return dec_into_opt

    def _vec(self, wt: Vec, et: Vec) -> Decoder:
        wi, ei = unroll(wt.inner), unroll(et.inner)
        if isinstance(wi, Prim) and wi is ei:
            bulk = bulk_vec_decoder(wi)
            if bulk is not None:
                return bulk
        elem = self.compile(wt.inner, et.inner)
        cost = self.cost(wi)
        zero_size = _min_size(wi) == 0
        if (
            isinstance(wi, Record)
            and isinstance(ei, Record)
            and 0 < len(wi.fields) <= 64
            and fastpath.enabled()
        ):
            parts = self._record_parts(wi, ei)
            if isinstance(parts, tuple):
                return generate_record_decoder(
                    *parts, *self._helpers(), vec_cost=cost, check_length=not zero_size
                )

        def dec_vec(b: bytes, pos: int, ctx: list[int]) -> tuple[Any, int]:
            x = b[pos]
            if x < 0x80:
                n = x
                pos += 1
            else:
                n, pos = read_leb(b, pos)
            if not zero_size and n > len(b) - pos:
                raise CandidError(f"vec of {n} elements overruns the input")
            ctx[0] -= n * cost
            if ctx[0] < 0:
                _charge(ctx, 0)
            out = []
            append = out.append
            for _ in range(n):
                v, pos = elem(b, pos, ctx)
                append(v)
            return out, pos

        return dec_vec

    def _record(self, wt: Record, et: Record) -> Decoder:
        parts = self._record_parts(wt, et)
        if not isinstance(parts, tuple):
            return parts
        inline, defaults = parts
        if len(inline) > 64 or not fastpath.enabled():
            return _record_decoder([(k, d) for k, _, d in inline], defaults)
        return generate_record_decoder(inline, defaults, *self._helpers())

    @staticmethod
    def _helpers() -> tuple[Any, ...]:
        return (read_leb, read_sleb, read_text, new_principal, slow_principal)

    def _record_parts(
        self, wt: Record, et: Record
    ) -> tuple[list[tuple[Any, Prim | None, Decoder]], list[tuple[Any, Any]]] | Decoder:
        """The steps (key or None, primitive to inline, decoder) of a record coercion and
        the defaults of expected fields absent from the wire, or a mismatch decoder."""
        expected = {f.id: f for f in et.fields}
        inline: list[tuple[Any, Prim | None, Decoder]] = []
        for wf in wt.fields:
            ef = expected.pop(wf.id, None)
            prim = wf.type if isinstance(wf.type, Prim) else None
            if ef is None:
                dec = self.skipper(wf.type)
            else:
                dec = self.compile(wf.type, ef.type)
                if ef.type is not wf.type:
                    prim = None
            if prim is not None and prim.name not in INLINE_PRIMITIVES:
                prim = None
            inline.append((None if ef is None else ef.label, prim, dec))
        defaults: list[tuple[Any, Any]] = []
        for ef in expected.values():
            if not is_null_like(ef.type):
                return _mismatch(wt, et, f"field {ef.label!r} is missing and not optional")
            defaults.append((ef.label, [] if isinstance(unroll(ef.type), Opt) else None))
        return inline, defaults

    def _variant(self, wt: Variant, et: Variant) -> Decoder:
        expected = {f.id: f for f in et.fields}
        cases: list[tuple[Any, Decoder] | None] = []
        for wf in wt.fields:
            ef = expected.get(wf.id)
            cases.append(None if ef is None else (ef.label, self.compile(wf.type, ef.type)))
        n = len(cases)
        wire_labels = [wf.label for wf in wt.fields]

        def dec_variant(b: bytes, pos: int, ctx: list[int]) -> tuple[Any, int]:
            i, pos = read_leb(b, pos)
            if i >= n:
                raise CandidError(f"variant index {i} out of range for {n} tags")
            case = cases[i]
            if case is None:
                raise Mismatch(f"variant tag {wire_labels[i]!r} is not in the expected type")
            v, pos = case[1](b, pos, ctx)
            return {case[0]: v}, pos

        return dec_variant


def _record_decoder(steps: list[tuple[Any, Decoder]], defaults: list[tuple[Any, Any]]) -> Decoder:
    def dec_record(b: bytes, pos: int, ctx: list[int]) -> tuple[Any, int]:
        d: dict[Any, Any] = {}
        for key, dec in steps:
            v, pos = dec(b, pos, ctx)
            if key is not None:
                d[key] = v
        for key, v in defaults:
            d[key] = [] if v == [] else None
        return d, pos

    return dec_record


def _fail(message: str) -> Decoder:
    def fail(b: bytes, pos: int, ctx: list[int]) -> tuple[Any, int]:
        raise CandidError(message)

    return fail


def _mismatch(wt: CandidType, et: CandidType, why: str = "") -> Decoder:
    message = f"wire type {wt} does not coerce to {et}{': ' + why if why else ''}"

    def mismatch(b: bytes, pos: int, ctx: list[int]) -> tuple[Any, int]:
        raise Mismatch(message)

    return mismatch


def _min_size(t: CandidType) -> int:
    """0 when a value of wire type `t` may occupy no bytes at all (null, reserved, records
    of such), else 1."""
    if isinstance(t, Prim):
        return 0 if t.name in ("null", "reserved") else 1
    if isinstance(t, Record):
        return 0 if all(_min_size_shallow(f.type) == 0 for f in t.fields) else 1
    return 1


def _min_size_shallow(t: CandidType) -> int:
    t = unroll(t)
    if isinstance(t, Record):
        return 0  # conservatively zero-sized (recursion through records is possible)
    return _min_size(t)


def _func(wt: Func, et: Func) -> Decoder:
    if wt is et or is_subtype(wt, et):
        return lambda b, pos, ctx: read_func(b, pos)
    message = f"function type {wt} is not a subtype of {et}"

    def dec_func_mismatch(b: bytes, pos: int, ctx: list[int]) -> tuple[Any, int]:
        read_func(b, pos)
        raise Mismatch(message)

    return dec_func_mismatch


def _service(wt: Service, et: CandidType) -> Decoder:
    ok = wt is et or is_subtype(wt, et)
    message = f"service type {wt} is not a subtype of {et}"

    def dec_service(b: bytes, pos: int, ctx: list[int]) -> tuple[Any, int]:
        raw, pos = read_principal_bytes(b, pos, "service")
        if not ok:
            raise Mismatch(message)
        return new_principal(raw), pos

    return dec_service
