"""The body size middleware."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gateway.limits import BodyLimitMiddleware


async def echo_size(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(len(await request.body())))


def client(limit: int) -> httpx.AsyncClient:
    app = BodyLimitMiddleware(
        Starlette(routes=[Route("/", echo_size, methods=["POST"])]), max_body_size=limit
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


@pytest.mark.parametrize("bad", [0, -1])
def test_limit_must_be_positive(bad):
    with pytest.raises(ValueError):
        BodyLimitMiddleware(Starlette(), max_body_size=bad)


def test_limit_must_be_an_int():
    with pytest.raises(TypeError):
        BodyLimitMiddleware(Starlette(), max_body_size="10")  # type: ignore[arg-type]


async def test_body_at_the_limit_is_passed_on_whole():
    async with client(10) as c:
        response = await c.post("/", content=b"x" * 10)
    assert (response.status_code, response.text) == (200, "10")


async def test_declared_oversized_body_is_413():
    async with client(10) as c:
        response = await c.post("/", content=b"x" * 11)
    assert response.status_code == 413 and "11 is larger than the max allowed 10" in response.text


async def test_streamed_oversized_body_without_length_is_413():
    async def chunks():
        for _ in range(4):
            yield b"x" * 5

    async with client(10) as c:
        response = await c.post("/", content=chunks())
    assert response.status_code == 413
