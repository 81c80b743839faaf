"""CBOR response bodies of the IC HTTP interface.

Spec: IC interface spec 0.66.0, HTTPS interface › Overview (every response body is CBOR with
the self-describe tag 55799, content type `application/cbor`).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from replica_core import cbor

__all__ = ["CONTENT_TYPE_CBOR", "CborResponse"]

CONTENT_TYPE_CBOR = "application/cbor"


class CborResponse(Response):
    """A response whose body is `55799(content)`."""

    media_type = CONTENT_TYPE_CBOR

    def render(self, content: Any) -> bytes:
        return cbor.encode(content, self_describe=True)
