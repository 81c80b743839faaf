"""The replica-core process's side of the worker links: answers what the workers ask.

Spec: none (impl). DESIGN.md › Concurrency. A worker (`gateway.workers.frontend`) does all
the stateless work of a request — HTTP, CBOR, request ids, signatures, delegations, expiry,
node signatures of query responses — and asks this process only for what needs replicated
state (the values travel as the tuples of `gateway.workers.wire`):

- `("call", endpoint, ingress)`: admission, submission and, for the synchronous endpoints,
  the wait for the certified outcome (`gateway.api.call.finish_call`); the answer is the
  HTTP response as `(status, headers, body)`.
- `("query", query)`: run an authenticated query on the certified state
  (`gateway.api.query.run_query`); the answer is `(Reply | Reject, certified_time)`. A hit
  in the query cache is answered straight from the frame callback, without a task.
- `("http", request, body)`: any other request, served by this process's own app — the same
  `create_app` routes a single-process `icbox start` serves; the answer is the response.
- `("hello",)`: what a worker needs to derive its keys: `(key_seed, num_nodes, root_key,
  subnet_id)`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Scope

from gateway.api.call import finish_call
from gateway.api.query import cached_query_result, run_query
from gateway.errors import HttpError, client_error
from gateway.seam import SubnetSeam
from gateway.workers.link import FrameProtocol
from gateway.workers.wire import ingress_from_wire, query_from_wire, result_to_wire
from replica_core.errors import InvalidRequest

__all__ = ["Rendered", "ReplicaBackend", "render"]

log = logging.getLogger("icbox.workers")

Rendered = tuple[int, list[tuple[bytes, bytes]], bytes]
"""An HTTP response as it crosses the link: status, raw headers, body."""


def _rendered(response: Response) -> Rendered:
    return response.status_code, list(response.raw_headers), bytes(response.body)


async def render(app: ASGIApp, scope: Scope, body: bytes) -> Rendered:
    """Run the ASGI `app` on one buffered request; its whole response."""
    status = 500
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # like a client that stays connected: never returns
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", ())]
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))

    await app(scope, receive, send)
    return status, headers, b"".join(chunks)


class ReplicaBackend:
    """Serves worker links for `subnet`; `app` is the single-process app, created with
    `run_rounds=False` (this process runs the round loop itself) and `cors=False` (the
    worker's stack has the CORS layer)."""

    def __init__(self, subnet: SubnetSeam, app: Any, *, key_seed: bytes, num_nodes: int) -> None:
        self.subnet = subnet
        self.app = app
        self._hello = (key_seed, num_nodes, subnet.root_key, subnet.subnet_id.raw)
        self._tasks: set[asyncio.Task[None]] = set()
        self._links: set[FrameProtocol] = set()

    async def serve(self, sock: Any) -> asyncio.Future[None]:
        """Answer requests arriving on the connected Unix socket `sock`; the returned future
        completes when the worker closes its end."""
        loop = asyncio.get_running_loop()
        closed: asyncio.Future[None] = loop.create_future()
        protocol: FrameProtocol

        def lost(exc: Exception | None) -> None:
            self._links.discard(protocol)
            if not closed.done():
                closed.set_result(None)

        def factory() -> FrameProtocol:
            nonlocal protocol
            protocol = FrameProtocol(lambda message: self._dispatch(protocol, message), lost)
            self._links.add(protocol)
            return protocol

        await loop.create_unix_connection(factory, sock=sock)
        return closed

    def close(self) -> None:
        """Close every worker link (the workers then stop)."""
        for protocol in list(self._links):
            if protocol.transport is not None:
                protocol.transport.close()

    def _dispatch(self, protocol: FrameProtocol, message: tuple[int, str, tuple[Any, ...]]) -> None:
        msg_id, op, args = message
        if op == "query":
            query = query_from_wire(args[0])
            hit = cached_query_result(self.subnet, query)
            if hit is not None:  # answered from the frame callback, without a task
                protocol.send((msg_id, True, (result_to_wire(hit[0]), hit[1])))
                return
            args = (query,)
        task = asyncio.get_running_loop().create_task(self._answer(protocol, msg_id, op, args))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(
        self, protocol: FrameProtocol, msg_id: int, op: str, args: tuple[Any, ...]
    ) -> None:
        try:
            value = await self._run(op, args)
        except Exception as e:  # an icbox bug: log it, the worker answers 500
            log.exception("replica core failed on %s", op)
            protocol.send((msg_id, False, f"{type(e).__name__}: {e}"))
            return
        protocol.send((msg_id, True, value))

    async def _run(self, op: str, args: tuple[Any, ...]) -> Any:
        if op == "call":
            endpoint, ingress = args[0], ingress_from_wire(args[1])
            try:
                response = await finish_call(endpoint, self.subnet, self.app.state, ingress)
            except (HttpError, InvalidRequest) as e:
                response = client_error(e)
            return _rendered(response)
        if op == "query":  # a miss in the query cache (`_dispatch` answered the hits)
            result, certified_time = await run_query(self.subnet, args[0])
            return result_to_wire(result), certified_time
        if op == "http":
            request, body = args
            return await render(self.app, _scope(request), body)
        if op == "hello":
            return self._hello
        raise ValueError(f"unknown operation {op!r}")


def _scope(request: dict[str, Any]) -> Scope:
    """The ASGI scope of a forwarded request (`request`: the fields the worker sends)."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "root_path": "",
        "state": {},
    }
    scope.update(request)
    return scope
