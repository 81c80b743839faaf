"""What crosses the worker link as tuples comes back equal on the other side."""

from __future__ import annotations

import pickle

from hypothesis import given
from hypothesis import strategies as st

from gateway.api.query import AuthenticatedQuery
from gateway.workers.wire import (
    ingress_from_wire,
    ingress_to_wire,
    query_from_wire,
    query_to_wire,
    result_from_wire,
    result_to_wire,
)
from replica_core.errors import Reject, RejectCode
from replica_core.execution.interface import Reply
from replica_core.messages import Ingress
from replica_core.principal import Principal
from replica_core.types import RequestId

principals = st.binary(max_size=29).map(Principal)
ingresses = st.builds(
    Ingress,
    request_id=st.binary(min_size=32, max_size=32).map(RequestId),
    sender=principals,
    receiver=principals,
    method_name=st.text(max_size=20),
    arg=st.binary(max_size=100),
    ingress_expiry=st.integers(0, 2**64 - 1),
    effective_canister_id=st.none() | principals,
)
queries = st.builds(
    AuthenticatedQuery,
    st.binary(min_size=32, max_size=32).map(RequestId),
    principals,
    st.text(max_size=20),
    st.binary(max_size=100),
    principals,
)
results = st.builds(Reply, st.binary(max_size=50)) | st.builds(
    Reject, st.sampled_from(list(RejectCode)), st.text(max_size=40), st.none() | st.text(max_size=8)
)


def _through_pickle(value: object) -> object:
    return pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


@given(ingresses)
def test_an_ingress_survives_the_link(ingress):
    assert ingress_from_wire(_through_pickle(ingress_to_wire(ingress))) == ingress


@given(queries)
def test_an_authenticated_query_survives_the_link(query):
    assert query_from_wire(_through_pickle(query_to_wire(query))) == query


@given(results)
def test_a_query_result_survives_the_link(result):
    assert result_from_wire(_through_pickle(result_to_wire(result))) == result
