"""The FastAPI application of the IC HTTP interface: routers and middleware, assembled.

Spec: IC interface spec 0.66.0, HTTPS interface.

`create_app(subnet)` wires the endpoint routers (`gateway.api`), the body limit
(`gateway.limits`), CORS (any origin may call the API, as on the IC: browser apps on other
origins use agents directly), and the error conversions (`gateway.errors`); canister
queries and calls, the hottest paths, are answered by pure ASGI layers inside the limit and
CORS (`gateway.api.query.QueryFastPath`, `gateway.api.call.CallFastPath`) without FastAPI's
routing. Its lifespan
starts the subnet's round loop — the only writer of replicated state — as a background
task, and stops it on shutdown; handlers only submit, wait and read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from gateway.api import call_router, query_router, read_state_router, status_router
from gateway.api.call import CallFastPath
from gateway.api.query import QueryFastPath
from gateway.certificates import ScopedDelegations
from gateway.errors import install_exception_handlers
from gateway.limits import BodyLimitMiddleware
from gateway.seam import SubnetSeam
from replica_core.envelope import MAX_ENVELOPE_SIZE

__all__ = ["CORS_OPTIONS", "DEFAULT_SYNC_CALL_TIMEOUT", "create_app"]

CORS_OPTIONS: dict[str, Any] = {
    "allow_origins": ["*"],
    "allow_methods": ["GET", "POST", "OPTIONS"],
    "allow_headers": ["*"],
    "max_age": 7200,
}
"""Starlette `CORSMiddleware` options: any origin may call the API, as on the IC."""

DEFAULT_SYNC_CALL_TIMEOUT = 10.0
"""Seconds a synchronous call waits for its certified outcome before answering 202
(impl: the IC replica's `ingress_message_certificate_timeout_seconds`)."""


def create_app(
    subnet: SubnetSeam,
    *,
    run_rounds: bool = True,
    sync_call_timeout: float = DEFAULT_SYNC_CALL_TIMEOUT,
    max_body_size: int = MAX_ENVELOPE_SIZE,
    cors: bool = True,
) -> FastAPI:
    """The app serving `subnet`. With `run_rounds`, the lifespan runs `subnet.run`; without
    `cors`, the CORS layer is left to whatever serves the app (a gateway worker)."""
    if sync_call_timeout < 0:
        raise ValueError(f"sync_call_timeout must be >= 0, got {sync_call_timeout}")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not run_rounds:
            yield
            return
        stop = asyncio.Event()
        runner = asyncio.create_task(subnet.run(stop), name="icbox-round-loop")
        try:
            yield
        finally:
            stop.set()
            await runner

    app = FastAPI(
        title="icbox",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.subnet = subnet
    app.state.sync_call_timeout = sync_call_timeout
    app.state.delegations = ScopedDelegations.of(subnet.delegation, subnet.keys.root)
    for router in (status_router, call_router, query_router, read_state_router):
        app.include_router(router)
    install_exception_handlers(app)
    # innermost: canister queries and calls skip FastAPI's routing, still inside the limit
    # and CORS
    app.add_middleware(CallFastPath, subnet=subnet)
    app.add_middleware(QueryFastPath, subnet=subnet)
    app.add_middleware(BodyLimitMiddleware, max_body_size=max_body_size)
    if cors:
        app.add_middleware(CORSMiddleware, **CORS_OPTIONS)
    return app
