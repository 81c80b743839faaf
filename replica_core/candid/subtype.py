"""Candid subtyping `t1 <: t2`, decided coinductively over (possibly recursive) types.

Spec: IC interface spec 0.66.0, Candid (dfinity/candid spec/Candid.md › Upgrading and
Subtyping › Rules).

The decoder needs this for function and service references, whose values coerce only when
the wire type is a subtype of the expected type (Candid spec › Coercion › References).
Recursive types are handled by assuming a pair holds while it is being checked (the
greatest fixed point, as the Rust and Motoko implementations do).
"""

from __future__ import annotations

from replica_core.candid.types import (
    EMPTY,
    INT,
    NAT,
    NULL,
    PRINCIPAL,
    RESERVED,
    CandidType,
    Field,
    Func,
    Opt,
    Prim,
    Record,
    Service,
    Variant,
    Vec,
    unroll,
)

__all__ = ["is_null_like", "is_subtype"]


def is_null_like(t: CandidType) -> bool:
    """`null <: t`: true for null, reserved and every option type."""
    t = unroll(t)
    return t is NULL or t is RESERVED or isinstance(t, Opt)


def is_subtype(t1: CandidType, t2: CandidType) -> bool:
    """Decide `t1 <: t2` by the rules of the Candid spec."""
    return _sub(t1, t2, set())


def _sub(t1: CandidType, t2: CandidType, assumed: set[tuple[int, int]]) -> bool:
    t1 = unroll(t1)
    t2 = unroll(t2)
    if t1 is t2:
        return True
    if t2 is RESERVED or t1 is EMPTY:
        return True
    # Every type is a subtype of an option type (spec: the opt rules, including the
    # two "unusual" ones that keep subtyping transitive).
    if isinstance(t2, Opt):
        return True
    if isinstance(t1, Prim) or isinstance(t2, Prim):
        if t1 == t2:
            return True
        if t1 is NAT and t2 is INT:
            return True
        return t2 is PRINCIPAL and isinstance(t1, Service)
    key = (id(t1), id(t2))
    if key in assumed:
        return True
    assumed.add(key)
    if isinstance(t1, Vec) and isinstance(t2, Vec):
        return _sub(t1.inner, t2.inner, assumed)
    if isinstance(t1, Record) and isinstance(t2, Record):
        return _record_sub(t1.fields, t2.fields, assumed)
    if isinstance(t1, Variant) and isinstance(t2, Variant):
        expected = {f.id: f.type for f in t2.fields}
        return all(f.id in expected and _sub(f.type, expected[f.id], assumed) for f in t1.fields)
    if isinstance(t1, Func) and isinstance(t2, Func):
        if set(t1.modes) != set(t2.modes):
            return False
        # Arguments are contravariant, results covariant, both as tuple records.
        return _record_sub(_tuple_fields(t2.args), _tuple_fields(t1.args), assumed) and (
            _record_sub(_tuple_fields(t1.rets), _tuple_fields(t2.rets), assumed)
        )
    if isinstance(t1, Service) and isinstance(t2, Service):
        have = dict(t1.methods)
        return all(name in have and _sub(have[name], mt, assumed) for name, mt in t2.methods)
    return False


def _tuple_fields(types: tuple[CandidType, ...]) -> tuple[Field, ...]:
    return tuple(Field(i, None, t) for i, t in enumerate(types))


def _record_sub(
    f1: tuple[Field, ...], f2: tuple[Field, ...], assumed: set[tuple[int, int]]
) -> bool:
    have = {f.id: f.type for f in f1}
    for f in f2:
        if f.id in have:
            if not _sub(have[f.id], f.type, assumed):
                return False
        elif not is_null_like(f.type):
            return False
    return True
