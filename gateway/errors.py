"""HTTP status choices of the gateway: the one place that turns errors into responses.

Spec: IC interface spec 0.66.0, HTTPS interface › Request: Call (pre-processing rejections),
› Errors (4xx for client errors, 5xx for server errors; only 429 is worth retrying).

Two kinds of failure reach a client, as in ic-hs and the IC replica
(`dfinity/ic` rs/http_endpoints/public):

* `HttpError` — the request is not acceptable as HTTP: malformed CBOR or envelope, bad
  signature, expired, wrong effective id, forbidden path, too large. A status code and a
  plain-text body (the replica's wording where it has one). `InvalidRequest` from the replica
  core (`MalformedCbor`, `MalformedEnvelope`, `AuthenticationError`) becomes a 400.
* a `Reject` before execution (canister not found, stopped, out of cycles,
  `canister_inspect_message` refused, management admission): HTTP 200 with a CBOR body —
  `{reject_code, reject_message, error_code}` at `/api/v2/.../call`, the same plus
  `status: "non_replicated_rejection"` at the synchronous endpoints.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import PlainTextResponse, Response

from replica_core.errors import InvalidRequest, MalformedCbor, MalformedEnvelope, Reject

__all__ = [
    "CONTENT_TYPE_TEXT",
    "HttpError",
    "client_error",
    "install_exception_handlers",
    "invalid_request",
    "plain_text",
    "reject_body",
]

CONTENT_TYPE_TEXT = "text/plain; charset=utf-8"

_log = logging.getLogger("icbox.gateway")


class HttpError(Exception):
    """A request the gateway refuses with `status_code` and a plain-text `message`."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message

    def __repr__(self) -> str:
        return f"HttpError({self.status_code}, {self.message!r})"


def plain_text(status_code: int, message: str) -> Response:
    """A plain-text response, as the replica sends for every 4xx/5xx."""
    return PlainTextResponse(message, status_code=status_code, media_type=CONTENT_TYPE_TEXT)


def invalid_request(error: InvalidRequest, what: str) -> HttpError:
    """The 400 for a request the replica core refused; `what` names the expected body
    ("call message", "query", "read request").

    Undecodable CBOR gets the replica's "Failed to deserialize cbor request"; a valid CBOR
    item that is not a valid envelope gets "Could not parse body as <what>"; failed
    authentication (signature, sender, delegation, expiry) keeps the validator's message.
    """
    if isinstance(error, MalformedCbor):
        return HttpError(400, f"Failed to deserialize cbor request: {error}")
    if isinstance(error, MalformedEnvelope):
        return HttpError(400, f"Could not parse body as {what}: {error}")
    return HttpError(400, str(error))


def reject_body(reject: Reject, *, synchronous: bool) -> dict[str, Any]:
    """The CBOR map of a rejection before execution (sync endpoints add the status)."""
    body: dict[str, Any] = {
        "reject_code": int(reject.code),
        "reject_message": reject.message,
    }
    if reject.error_code is not None:
        body["error_code"] = reject.error_code
    if synchronous:
        body["status"] = "non_replicated_rejection"
    return body


def client_error(exc: HttpError | InvalidRequest) -> Response:
    """The plain-text response to a request the gateway refuses: `HttpError`'s status and
    message, or 400 for an `InvalidRequest` from the replica core."""
    if isinstance(exc, HttpError):
        return plain_text(exc.status_code, exc.message)
    return plain_text(400, str(exc))


async def _client_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HttpError | InvalidRequest)
    return client_error(exc)


async def _unexpected(request: Request, exc: Exception) -> Response:
    _log.exception("unexpected error serving %s %s", request.method, request.url.path)
    return plain_text(500, f"Unexpected error: {type(exc).__name__}: {exc}")


def install_exception_handlers(app: FastAPI) -> None:
    """Register the conversions above on `app` (an unexpected exception is a logged 500)."""
    app.add_exception_handler(HttpError, _client_error)
    app.add_exception_handler(InvalidRequest, _client_error)
    app.add_exception_handler(Exception, _unexpected)
