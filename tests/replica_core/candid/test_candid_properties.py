"""Property tests: generated Candid types and values round-trip; fast path == reference."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replica_core.candid import (
    BOOL,
    FLOAT32,
    FLOAT64,
    INT,
    INT8,
    INT16,
    INT32,
    INT64,
    NAT,
    NAT8,
    NAT16,
    NAT32,
    NAT64,
    NULL,
    PRINCIPAL,
    RESERVED,
    TEXT,
    Opt,
    Record,
    Variant,
    Vec,
    decode,
    decode_with_types,
    encode,
    fastpath,
)
from replica_core.candid.types import CandidType, Prim
from replica_core.principal import Principal

PRIMS = [NULL, BOOL, NAT, INT, NAT8, NAT16, NAT32, NAT64, INT8, INT16, INT32, INT64]
PRIMS += [FLOAT32, FLOAT64, TEXT, RESERVED, PRINCIPAL]
LABELS = st.one_of(
    st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True), st.integers(0, 2**32 - 1)
)


def _fields(children):
    return st.lists(st.tuples(LABELS, children), min_size=0, max_size=5).filter(
        lambda fs: len({Record.of([f]).fields[0].id for f in fs}) == len(fs)
    )


types = st.recursive(
    st.sampled_from(PRIMS),
    lambda children: st.one_of(
        children.map(Opt),
        children.map(Vec),
        _fields(children).map(Record.of),
        _fields(children).filter(bool).map(Variant.of),
    ),
    max_leaves=8,
)

_RANGES = {
    "nat8": (0, 2**8 - 1),
    "nat16": (0, 2**16 - 1),
    "nat32": (0, 2**32 - 1),
    "nat64": (0, 2**64 - 1),
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "nat": (0, 2**100),
    "int": (-(2**100), 2**100),
}


def values(t: CandidType) -> st.SearchStrategy:
    if isinstance(t, Prim):
        if t.name in _RANGES:
            lo, hi = _RANGES[t.name]
            return st.integers(lo, hi)
        if t.name == "float32":
            return st.floats(width=32, allow_nan=False)
        if t.name == "float64":
            return st.floats(allow_nan=False)
        if t.name == "bool":
            return st.booleans()
        if t.name == "text":
            return st.text(max_size=8)
        if t.name == "principal":
            return st.binary(max_size=29).map(Principal)
        return st.none()
    if isinstance(t, Opt):
        return st.one_of(st.just([]), values(t.inner).map(lambda v: [v]))
    if isinstance(t, Vec):
        if t.inner is NAT8:
            return st.binary(max_size=8)
        return st.lists(values(t.inner), max_size=3)
    if isinstance(t, Record):
        return st.fixed_dictionaries({f.label: values(f.type) for f in t.fields})
    assert isinstance(t, Variant)
    return st.one_of(*[values(f.type).map(lambda v, k=f.label: {k: v}) for f in t.fields])


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_round_trip_at_the_type_and_at_the_wire_type(data):
    t = data.draw(types)
    v = data.draw(values(t))
    blob = encode([t], [v])
    assert decode(blob, [t]) == [v]
    wire_types, _ = decode_with_types(blob)
    assert encode(wire_types, decode(blob)) == blob


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fast_path_and_reference_closures_agree(data):
    t = data.draw(types)
    vs = data.draw(st.lists(values(t), max_size=3))
    vec_t = Vec(t)
    fast_bytes = encode([vec_t, t] if vs else [vec_t], [vs, vs[0]] if vs else [vs])
    fast_values = decode(fast_bytes)
    fastpath.set_enabled(False)
    try:
        slow_bytes = encode([vec_t, t] if vs else [vec_t], [vs, vs[0]] if vs else [vs])
        slow_values = decode(slow_bytes)
    finally:
        fastpath.set_enabled(True)
    assert fast_bytes == slow_bytes
    assert fast_values == slow_values


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "id": st.integers(0, 2**64 - 1),
                "name": st.text(max_size=200),
                "owner": st.binary(max_size=29).map(Principal),
                "balance": st.integers(0, 2**80),
                "ok": st.booleans(),
            }
        ),
        max_size=5,
    )
)
def test_generated_vec_record_codec_round_trips(rows):
    t = Vec(Record.of({"id": NAT64, "name": TEXT, "owner": PRINCIPAL, "balance": NAT, "ok": BOOL}))
    blob = encode([t], [rows])
    assert decode(blob, [t]) == [rows]
    by_id = [{t.inner.fields[i].id: r[f.name] for i, f in enumerate(t.inner.fields)} for r in rows]
    assert encode([t], [by_id]) == blob


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=40))
def test_arbitrary_bytes_after_magic_never_raise_anything_but_candid_error(tail):
    from replica_core.errors import CandidError

    try:
        decode_with_types(b"DIDL" + tail)
    except CandidError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_single_byte_corruptions_raise_only_candid_error(data):
    from replica_core.errors import CandidError

    t = data.draw(types)
    blob = bytearray(encode([t], [data.draw(values(t))]))
    i = data.draw(st.integers(4, len(blob) - 1)) if len(blob) > 4 else 4
    if i < len(blob):
        blob[i] = data.draw(st.integers(0, 255))
    for expected in (None, [t]):
        try:
            decode(bytes(blob), expected)
        except CandidError:
            pass
