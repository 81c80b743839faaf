"""The precomputed hash of a replied query response equals the spec's `hash_of_map`.

Spec: IC interface spec 0.66.0, HTTPS interface › Query call signatures (the node signs
`"\\x0Bic-response" · hash_of_map(status, reply, timestamp, request_id)`).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.query_response import replied_hash
from replica_core.request_id import hash_of_map


@settings(max_examples=60)
@given(
    payload=st.binary(max_size=200),
    timestamp=st.integers(min_value=0, max_value=2**64 - 1),
    request_id=st.binary(min_size=32, max_size=32),
)
def test_replied_hash_is_the_representation_independent_hash_of_the_signed_fields(
    payload: bytes, timestamp: int, request_id: bytes
) -> None:
    signed = {
        "status": "replied",
        "reply": {"arg": payload},
        "timestamp": timestamp,
        "request_id": request_id,
    }
    assert replied_hash(payload, timestamp, request_id) == hash_of_map(signed)
