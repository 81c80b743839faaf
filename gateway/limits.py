"""Request body size limit: refuse oversized bodies with 413 before anything parses them.

Spec: IC interface spec 0.66.0, HTTPS interface › Request: Call; resource-limits.md (ingress
messages up to 2 MiB). The endpoint handlers apply the exact 2 MiB ingress rule with the
request id in the message (as the replica does); this middleware is the coarse outer guard
(impl) so that no handler ever buffers more than `max_body_size` bytes, whatever the
`Content-Length` claims.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import plain_text

__all__ = ["BodyLimitMiddleware", "too_large_message"]


def too_large_message(size: int | None, limit: int) -> str:
    """The replica's 413 wording (without a request id: the body was not parsed)."""
    shown = f"{size}" if size is not None else f"more than {limit}"
    return (
        f"Request is too large. Message byte size {shown} is larger than the max allowed {limit}."
    )


class BodyLimitMiddleware:
    """Buffers each HTTP request body up to `max_body_size` bytes, answering 413 beyond it."""

    def __init__(self, app: ASGIApp, *, max_body_size: int) -> None:
        if isinstance(max_body_size, bool) or not isinstance(max_body_size, int):
            raise TypeError(f"max_body_size must be an int, not {type(max_body_size).__name__}")
        if max_body_size <= 0:
            raise ValueError(f"max_body_size must be positive, got {max_body_size}")
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_size:
            await plain_text(413, too_large_message(declared, self.max_body_size))(
                scope, receive, send
            )
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_size:
                await plain_text(413, too_large_message(None, self.max_body_size))(
                    scope, receive, send
                )
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
