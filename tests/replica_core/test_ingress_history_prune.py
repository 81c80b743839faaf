"""IngressHistory.prune: terminal entries become `done` after expiry, `done` ones are dropped
PURGE_DELAY_NS later, in-flight ones stay — the same result as scanning every entry."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from replica_core.ingress_history import (
    PURGE_DELAY_NS,
    IngressHistory,
    IngressState,
    IngressStatus,
)
from replica_core.principal import Principal
from replica_core.types import RequestId

USER = Principal.anonymous()
STATES = [IngressState.RECEIVED, IngressState.PROCESSING, IngressState.REPLIED]


def _reference_prune(entries: dict, now: int) -> dict:
    out = {}
    for rid, e in entries.items():
        if e.state is IngressState.DONE:
            if not now > e.ingress_expiry + PURGE_DELAY_NS:
                out[rid] = e
        elif e.state.is_terminal and now > e.ingress_expiry:
            out[rid] = IngressStatus(IngressState.DONE, e.sender, e.receiver, e.ingress_expiry, now)
        else:
            out[rid] = e
    return out


ops = st.lists(
    st.tuples(st.integers(0, 7), st.sampled_from(STATES), st.integers(0, 10), st.integers(0, 6)),
    max_size=25,
)


@settings(max_examples=80, deadline=None)
@given(ops)
def test_prune_matches_a_scan_of_every_entry(steps):
    history = IngressHistory()
    reference: dict = {}
    now = 0
    for i, state, expiry, advance in steps:
        rid = RequestId(bytes([i]) * 32)
        current = history.get(rid)
        if current is None or not current.state.is_terminal:
            status = IngressStatus(state, USER, USER, expiry * PURGE_DELAY_NS // 3, now)
            history.set(rid, status)
            reference[rid] = status
        now += advance * PURGE_DELAY_NS // 4
        dropped = history.prune(now)
        expected = _reference_prune(reference, now)
        assert set(dropped) == set(reference) - set(expected)
        assert history.entries == expected
        reference = expected


def test_history_loaded_from_a_store_is_pruned_too():
    rid = RequestId(b"\x01" * 32)
    replied = IngressStatus(IngressState.REPLIED, USER, USER, 10, 5, b"r")
    history = IngressHistory({rid: replied})
    history.prune(11)
    assert history.get(rid) == replace(replied, state=IngressState.DONE, time=11, reply=None)
    assert history.prune(11 + PURGE_DELAY_NS + 1) == [rid]
