"""A gateway worker process's app: the stateless half of every request, then the link.

Spec: IC interface spec 0.66.0, HTTPS interface (the same endpoints and answers as
`gateway.app.create_app`). DESIGN.md › Concurrency: stateless gateway workers in front of one
replica-core process.

The worker's stack is the single-process app's, in the same order: CORS, the body limit,
the query and call fast paths, and everything else forwarded. The fast paths run the same
stateless steps the single-process handlers run (`authenticated_query`,
`authenticate_endpoint_call`: CBOR, effective ids, request ids, signatures, delegations,
expiry) and sign query responses with the node key; only what needs replicated state crosses
the link (`gateway.workers.backend`). Other requests (status, read_state, subnet queries,
unknown paths) are forwarded whole and answered by the replica-core process's own app.
If the link is down, requests get 503 and the worker shuts down.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.api.call import CallFastPath, authenticate_endpoint_call
from gateway.api.fast_path import RawResponse, read_body
from gateway.api.query import (
    QueryFastPath,
    authenticated_query,
    cbor_bytes,
    signed_query_body,
)
from gateway.app import CORS_OPTIONS
from gateway.errors import HttpError, plain_text
from gateway.limits import BodyLimitMiddleware
from gateway.workers.link import LinkClosed, ReplicaClient
from gateway.workers.wire import ingress_to_wire, query_to_wire, result_from_wire
from replica_core.clock import SystemClock
from replica_core.envelope import MAX_ENVELOPE_SIZE
from replica_core.keys import SubnetKeys
from replica_core.principal import Principal

__all__ = ["WorkerFront", "WorkerLink", "worker_app"]

_UNAVAILABLE = "The replica core of this icbox is not reachable; try again."


@dataclass
class WorkerFront:
    """`GatewayFront` of a worker: keys derived from the seed the replica core sent."""

    keys: SubnetKeys
    root_key: bytes
    subnet_id: Principal
    clock: Any

    @classmethod
    def from_hello(cls, hello: tuple[bytes, int, bytes, bytes], clock: Any) -> WorkerFront:
        key_seed, num_nodes, root_key, subnet_id = hello
        keys = SubnetKeys.from_seed(key_seed, num_nodes=num_nodes)
        if keys.root.public_key_der != root_key or keys.subnet_id.raw != subnet_id:
            raise RuntimeError("the keys derived from the replica core's seed do not match it")
        return cls(keys, root_key, keys.subnet_id, clock)


class WorkerLink:
    """The worker's connection to the replica core and the front it learnt at start.

    `connect(client)` connects the client's socket; `on_lost()` runs when the replica core
    closes the link; `clock` is the wall clock expiry checks read (injected by tests)."""

    def __init__(
        self,
        connect: Callable[[ReplicaClient], Any],
        on_lost: Callable[[], None],
        clock: Any = None,
    ) -> None:
        self._connect = connect
        self._clock = clock or SystemClock()
        self.client = ReplicaClient(on_lost=on_lost)
        self._front: WorkerFront | None = None

    @property
    def front(self) -> WorkerFront:
        assert self._front is not None, "used before the lifespan started the link"
        return self._front

    async def start(self) -> None:
        await self._connect(self.client)
        self._front = WorkerFront.from_hello(await self.client.request("hello"), self._clock)

    async def request(self, op: str, *args: Any) -> Any:
        try:
            return await self.client.request(op, *args)
        except LinkClosed:
            raise HttpError(503, _UNAVAILABLE) from None


class _CallPath(CallFastPath):
    """Call endpoints (the paths `CallFastPath` serves): authenticate here; admission,
    submission and the wait happen in the replica core."""

    def __init__(self, app: ASGIApp, *, link: WorkerLink) -> None:
        super().__init__(app, subnet=None)  # type: ignore[arg-type]
        self.link = link

    async def answer(
        self, scope: Scope, target: tuple[str, str], content_type: str, body: bytes
    ) -> ASGIApp:
        endpoint, url_id = target
        ingress = authenticate_endpoint_call(endpoint, self.link.front, url_id, content_type, body)
        return RawResponse(*await self.link.request("call", endpoint, ingress_to_wire(ingress)))


class _QueryPath(QueryFastPath):
    """Canister queries (the paths `QueryFastPath` serves): authenticate and sign here; run
    (or hit the query cache) in the replica core."""

    def __init__(self, app: ASGIApp, *, link: WorkerLink) -> None:
        super().__init__(app, subnet=None)  # type: ignore[arg-type]
        self.link = link

    async def answer(self, scope: Scope, target: str, content_type: str, body: bytes) -> ASGIApp:
        front = self.link.front
        query = authenticated_query(front, target, content_type, body)
        result, certified_time = await self.link.request("query", query_to_wire(query))
        return cbor_bytes(signed_query_body(front, query, result_from_wire(result), certified_time))


_FORWARDED_SCOPE_KEYS = (
    "http_version",
    "method",
    "scheme",
    "path",
    "raw_path",
    "query_string",
    "headers",
    "client",
    "server",
)


class _Forward:
    """The innermost app: starts the link in the lifespan; forwards every other request."""

    def __init__(self, link: WorkerLink) -> None:
        self.link = link

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        if body is None:
            return
        request = {key: scope[key] for key in _FORWARDED_SCOPE_KEYS if key in scope}
        request["headers"] = [(bytes(k), bytes(v)) for k, v in scope["headers"]]
        try:
            rendered = await self.link.request("http", request, body)
        except HttpError as e:
            await plain_text(e.status_code, e.message)(scope, receive, send)
            return
        await RawResponse(*rendered)(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.link.start()
                except Exception as e:  # the worker cannot serve without its replica core
                    await send({"type": "lifespan.startup.failed", "message": str(e)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.link.client.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def worker_app(link: WorkerLink, *, max_body_size: int = MAX_ENVELOPE_SIZE) -> ASGIApp:
    """The worker's ASGI app (see the module docstring for the stack)."""
    app: ASGIApp = _Forward(link)
    app = _CallPath(app, link=link)
    app = _QueryPath(app, link=link)
    app = BodyLimitMiddleware(app, max_body_size=max_body_size)
    return CORSMiddleware(app, **CORS_OPTIONS)
