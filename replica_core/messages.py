"""Messages in flight on the subnet: ingress messages, requests and responses.

Spec: IC interface spec 0.66.0, Abstract behavior › Abstract state (`S.messages`: `CallMessage`
from a user or a canister, `ResponseMessage`), Calls and responses.

All canisters live on this one subnet, so there are no streams: the subnet keeps one FIFO of
messages (`MessageQueue`) in arrival order, which makes the order of execution a pure
function of the batches (determinism). Names (impl): `Ingress` is a user's call after
induction, `Request` a canister's call, `Response` the answer to a `Request`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from replica_core.errors import Reject
from replica_core.execution.interface import Reply
from replica_core.principal import Principal
from replica_core.types import RequestId

__all__ = ["Ingress", "Message", "MessageQueue", "Request", "Response"]


@dataclass(frozen=True, slots=True)
class Ingress:
    """An authenticated user call, inducted into the subnet (`CallMessage` from a user)."""

    request_id: RequestId
    sender: Principal
    receiver: Principal  # the canister, or aaaaa-aa for the management canister
    method_name: str
    arg: bytes
    ingress_expiry: int
    effective_canister_id: Principal | None = None  # for management calls

    @property
    def size(self) -> int:
        """Bytes the ingress induction fee is charged for (impl: method name + argument)."""
        return len(self.method_name.encode()) + len(self.arg)


@dataclass(frozen=True, slots=True)
class Request:
    """A call from one canister to another (`CallMessage` from a canister)."""

    sender: Principal
    receiver: Principal
    method_name: str
    arg: bytes
    cycles: int
    callback_id: int  # the sender's callback waiting for the response
    deadline: int = 0  # best-effort calls: ns after which the caller stops waiting; 0: none

    @property
    def size(self) -> int:
        return len(self.method_name.encode()) + len(self.arg)


@dataclass(frozen=True, slots=True)
class Response:
    """The answer to a `Request`, travelling back to its sender (`ResponseMessage`)."""

    originator: Principal  # who made the call and gets the response
    respondent: Principal
    callback_id: int
    response: Reply | Reject
    refund: int  # cycles returned to the caller
    deadline: int = 0
    deadline_expired: bool = False  # the subnet's SYS_UNKNOWN reject for an expired callback

    @property
    def size(self) -> int:
        if isinstance(self.response, Reply):
            return len(self.response.payload)
        return len(self.response.message.encode())


Message = Ingress | Request | Response


class MessageQueue:
    """The subnet's messages awaiting execution, in arrival order."""

    __slots__ = ("_items",)

    def __init__(self, items: list[Message] | None = None) -> None:
        self._items: deque[Message] = deque(items or ())

    def push(self, message: Message) -> None:
        self._items.append(message)

    def pop(self) -> Message | None:
        return self._items.popleft() if self._items else None

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Message]:
        return iter(self._items)

    def copy(self) -> MessageQueue:
        return MessageQueue(list(self._items))
