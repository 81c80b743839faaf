"""Composite queries through `Subnet.query`: call graphs, callbacks, limits, refusals."""

from __future__ import annotations

from replica_core.composite_query import (
    INSTRUCTION_OVERHEAD_PER_QUERY_CALL,
    MAX_CALL_DEPTH_COMPOSITE_QUERY,
    CompositeQueryEngine,
)
from replica_core.errors import Reject, RejectCode
from replica_core.execution.interface import Reply
from replica_core.ingress_history import IngressState
from tests.replica_core.gaps_fixtures import MGMT, USER, call, fwd_arg, install, make_subnet


def test_composite_query_calls_a_query_and_its_reply_callback_sees_the_call_contexts_state():
    subnet = make_subnet()
    a, b = install(subnet), install(subnet)
    out = subnet.query(a, "fwd", fwd_arg(b, "pong"), USER)
    # R, the counter the composite query incremented before calling (kept for its callback),
    # then the callee's reply.
    assert out == Reply(b"R\x01pong")
    # Nothing is persisted: the next query starts from the certified state again.
    assert subnet.query(a, "fwd", fwd_arg(b, "pong"), USER) == Reply(b"R\x01pong")


def test_composite_query_may_call_composite_queries_until_the_depth_limit():
    subnet = make_subnet()
    a = install(subnet)
    out = subnet.query(a, "deep", a.raw, USER)
    assert isinstance(out, Reply)
    # Depths 1..6 run; the call from depth 6 is rejected (IC0525, CANISTER_ERROR) in its
    # reject callback, and every level above replies "R" + counter + the payload below.
    depth_reject = b"J\x05Composite query call exceeded the maximum call depth."
    assert out.payload == b"R\x00" * (MAX_CALL_DEPTH_COMPOSITE_QUERY - 1) + depth_reject


def test_composite_query_calling_an_update_method_gets_a_reject():
    subnet = make_subnet()
    a, b = install(subnet), install(subnet)
    out = subnet.query(a, "fwd", fwd_arg(b, "upd"), USER)
    assert isinstance(out, Reply)
    assert out.payload.startswith(b"J\x05")
    assert b"has no query method 'upd'" in out.payload


def test_composite_query_may_call_canister_status_but_not_other_management_methods():
    subnet = make_subnet()
    a = install(subnet)
    allowed = subnet.query(a, "fwd", fwd_arg(MGMT, "canister_status"), USER)
    refused = subnet.query(a, "fwd", fwd_arg(MGMT, "raw_rand"), USER)
    assert isinstance(allowed, Reply) and isinstance(refused, Reply)
    # canister_status was dispatched (and refused its empty argument as bad Candid) ...
    assert allowed.payload.startswith(b"J\x04") and b"candid" in allowed.payload.lower()
    # ... raw_rand never reaches the management canister.
    assert refused.payload == b"J\x04Composite query cannot call ic00 method raw_rand"


def test_composite_query_method_called_by_ingress_is_rejected_in_replicated_mode():
    subnet = make_subnet()
    a, b = install(subnet), install(subnet)
    status = call(subnet, a, "fwd", fwd_arg(b, "pong"))
    assert status.state is IngressState.REJECTED
    assert status.reject.error_code == "IC0527"
    assert status.reject.code is RejectCode.CANISTER_ERROR
    assert status.reject.message == "Composite query cannot be called in replicated mode"


def test_composite_query_called_by_a_canister_is_rejected_in_replicated_mode():
    subnet = make_subnet()
    a, b = install(subnet), install(subnet)
    status = call(subnet, a, "fwd_upd", fwd_arg(b, "fwd"))
    assert status.state is IngressState.REPLIED
    assert status.reply.startswith(b"J\x05Composite query cannot be called in replicated mode")


def test_the_whole_call_graph_shares_one_instruction_limit():
    subnet = make_subnet()
    a = install(subnet)
    info = subnet.executor.validated
    engine = CompositeQueryEngine(
        subnet._certified.canisters,
        subnet._run_query,
        subnet._management_query,
        lambda c: info(c.module.wasm),
        subnet.config.fees,
        graph_instruction_limit=3 * INSTRUCTION_OVERHEAD_PER_QUERY_CALL,
    )
    out = engine.query(a, "deep", a.raw, USER)
    assert isinstance(out, Reject)
    assert out.error_code == "IC0526" and out.code is RejectCode.CANISTER_ERROR
    assert "Query call graph exceeded the instruction limit" in out.message


def test_a_plain_query_still_runs_through_the_engine_with_method_checks():
    subnet = make_subnet()
    a = install(subnet)
    assert subnet.query(a, "pong", b"", USER) == Reply(b"pong")
    missing = subnet.query(a, "nope", b"", USER)
    assert isinstance(missing, Reject) and missing.error_code == "IC0536"
