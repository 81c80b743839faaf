"""The baseline of `bench/http_bench.py`: a bare FastAPI app that echoes a POSTed body.

Spec: none (impl). It does what every icbox endpoint must do at least (one FastAPI route,
read the whole body, answer with a body of the same size) and nothing else, so the ratio
icbox / echo measured in the same run shows what the IC HTTP interface itself costs.

    .venv/bin/python -m uvicorn bench.echo_app:app --port 8001 --no-access-log
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import Response

__all__ = ["app"]

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.post("/api/v3/canister/{effective_canister_id}/{endpoint}")
async def echo(effective_canister_id: str, endpoint: str, request: Request) -> Response:
    """Answer with the request body, as CBOR."""
    return Response(await request.body(), media_type="application/cbor")
