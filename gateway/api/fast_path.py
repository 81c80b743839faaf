"""A pure-ASGI fast path for hot endpoints, shared by the call and query endpoints.

Spec: none (impl). FastAPI's routing, request objects, dependency solving and exception
middleware cost a noticeable part of each request; a `FastPath` answers the endpoints it
matches itself and hands everything else to the app. It answers exactly as the routes do:
the subclass calls the same handler the route calls, `HttpError` and `InvalidRequest` become
the plain-text responses the app's exception handlers make, and any other exception goes up
to the app's 500 handler. Install it inside the body limit and CORS middleware, which still
apply.
"""

from __future__ import annotations

from typing import Any

from starlette._utils import get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.errors import HttpError, client_error
from gateway.seam import SubnetSeam
from replica_core.errors import InvalidRequest

__all__ = ["FastPath", "RawResponse", "read_body"]


class RawResponse:
    """A response given as status, raw headers and body, sent as it is (no `Response`
    object: the fast paths' answers, and responses that crossed a worker link)."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None if the client disconnected first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class FastPath:
    """Serve `POST` requests whose route path `match` accepts with `answer`."""

    def __init__(self, app: ASGIApp, *, subnet: SubnetSeam) -> None:
        self.app = app
        self.subnet = subnet

    def match(self, route_path: str) -> Any | None:
        """What `answer` needs from the path, or None to pass the request on."""
        raise NotImplementedError

    async def answer(self, scope: Scope, target: Any, content_type: str, body: bytes) -> ASGIApp:
        """The response (an ASGI app) to the matched request; may raise `HttpError` or
        `InvalidRequest`."""
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        target = self.match(get_route_path(scope))
        if target is None:
            await self.app(scope, receive, send)
            return
        content_type = ""
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
                break
        body = await read_body(receive)
        if body is None:
            return
        try:
            response = await self.answer(scope, target, content_type, body)
        except (HttpError, InvalidRequest) as e:
            response = client_error(e)
        await response(scope, receive, send)
