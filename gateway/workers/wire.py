"""How requests and results cross the worker link: plain tuples, not pickled dataclasses.

Spec: none (impl). Pickling a dataclass costs ~6 µs each way (its class is looked up and its
state set field by field); a tuple of bytes, ints and strings ~0.5 µs. These are the values
on the hot paths: the authenticated `Ingress` of a call, the `AuthenticatedQuery` of a
query, and the query's `Reply | Reject`.
"""

from __future__ import annotations

from typing import Any

from gateway.api.query import AuthenticatedQuery
from replica_core.errors import Reject, RejectCode
from replica_core.execution.interface import Reply
from replica_core.messages import Ingress
from replica_core.principal import Principal
from replica_core.types import RequestId

__all__ = [
    "ingress_from_wire",
    "ingress_to_wire",
    "query_from_wire",
    "query_to_wire",
    "result_from_wire",
    "result_to_wire",
]


def ingress_to_wire(ingress: Ingress) -> tuple[Any, ...]:
    effective = ingress.effective_canister_id
    return (
        bytes(ingress.request_id),
        ingress.sender.raw,
        ingress.receiver.raw,
        ingress.method_name,
        ingress.arg,
        ingress.ingress_expiry,
        None if effective is None else effective.raw,
    )


def ingress_from_wire(wire: tuple[Any, ...]) -> Ingress:
    rid, sender, receiver, method, arg, expiry, effective = wire
    return Ingress(
        request_id=RequestId(rid),
        sender=Principal(sender),
        receiver=Principal(receiver),
        method_name=method,
        arg=arg,
        ingress_expiry=expiry,
        effective_canister_id=None if effective is None else Principal(effective),
    )


def query_to_wire(query: AuthenticatedQuery) -> tuple[Any, ...]:
    return (
        bytes(query.request_id),
        query.canister_id.raw,
        query.method_name,
        query.arg,
        query.sender.raw,
    )


def query_from_wire(wire: tuple[Any, ...]) -> AuthenticatedQuery:
    rid, canister, method, arg, sender = wire
    return AuthenticatedQuery(RequestId(rid), Principal(canister), method, arg, Principal(sender))


def result_to_wire(result: Reply | Reject) -> tuple[Any, ...]:
    if isinstance(result, Reply):
        return (result.payload,)
    return (int(result.code), result.message, result.error_code)


def result_from_wire(wire: tuple[Any, ...]) -> Reply | Reject:
    if len(wire) == 1:
        return Reply(wire[0])
    code, message, error_code = wire
    return Reject(RejectCode(code), message, error_code)
