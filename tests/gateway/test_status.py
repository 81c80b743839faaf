"""`GET /api/v2/status` and CORS."""

from __future__ import annotations

from replica_core import cbor


async def test_status_reports_the_133_byte_der_root_key(client, subnet):
    response = await client.get("/api/v2/status")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/cbor"
    assert response.content.startswith(b"\xd9\xd9\xf7")
    body = cbor.decode(response.content)
    assert body["root_key"] == subnet.root_key and len(body["root_key"]) == 133
    assert body["replica_health_status"] == "healthy"
    assert {"ic_api_version", "impl_version"} <= body.keys()


async def test_cors_preflight_allows_any_origin_and_the_agent_headers(client, counter):
    response = await client.options(
        f"/api/v3/canister/{counter.to_text()}/call",
        headers={
            "origin": "http://app.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "content-type" in response.headers["access-control-allow-headers"].lower()


async def test_cors_header_on_responses_including_errors(client):
    ok = await client.get("/api/v2/status", headers={"origin": "http://app.example"})
    assert ok.headers["access-control-allow-origin"] == "*"
    bad = await client.post(
        "/api/v3/canister/aaaaa-aa/query",
        content=b"junk",
        headers={"origin": "http://app.example", "content-type": "application/cbor"},
    )
    assert bad.status_code == 400 and bad.headers["access-control-allow-origin"] == "*"


async def test_unknown_route_is_404(client):
    assert (await client.get("/api/v9/nothing")).status_code == 404
