"""The pure-ASGI call fast path answers exactly as the FastAPI call routes it bypasses."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.api.call import CallFastPath
from gateway.app import create_app
from replica_core import cbor
from replica_core.certification.certificate import lookup
from replica_core.certification.hash_tree import Found
from replica_core.principal import Principal
from replica_core.request_id import request_id
from replica_core.subnet import Subnet
from tests.gateway.conftest import CBOR_HEADERS, SEC, Agent


@pytest.fixture
async def routed(subnet: Subnet) -> AsyncIterator[httpx.AsyncClient]:
    """The same app on the same subnet without `CallFastPath`: calls reach the routes
    (the `client` fixture's app runs the round loop for both)."""
    app = create_app(subnet, run_rounds=False, sync_call_timeout=5.0)
    assert any(m.cls is CallFastPath for m in app.user_middleware)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not CallFastPath]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://icbox") as c:
        yield c


async def _both(
    agent: Agent, routed: httpx.AsyncClient, url: str, body: bytes, headers: dict | None = None
) -> tuple[httpx.Response, httpx.Response]:
    headers = CBOR_HEADERS if headers is None else headers
    via_route = await routed.post(url, content=body, headers=headers)
    via_fast = await agent.client.post(url, content=body, headers=headers)
    assert via_fast.status_code == via_route.status_code
    assert list(via_fast.headers.items()) == list(via_route.headers.items())
    return via_fast, via_route


@pytest.mark.parametrize("version", ["v3", "v4"])
async def test_sync_call_success_matches_the_route(agent, routed, counter, version):
    content = agent.call_content(counter, "inc")
    url = f"/api/{version}/canister/{counter.to_text()}/call"
    fast, route = await _both(agent, routed, url, agent.envelope(content))
    assert fast.status_code == 200
    ranges = "legacy" if version == "v3" else "sharded"
    rid = request_id(content)
    for response in (fast, route):
        cert = agent.certificate(response, counter, ranges=ranges)
        assert cbor.decode(response.content)["status"] == "replied"
        assert lookup(cert, [b"request_status", rid, b"reply"]) == Found(b"DIDL\x00\x01}\x01")


async def test_async_call_acceptance_and_rejection_match_the_route(agent, routed, counter):
    url = f"/api/v2/canister/{counter.to_text()}/call"
    fast, route = await _both(
        agent, routed, url, agent.envelope(agent.call_content(counter, "inc"))
    )
    assert fast.status_code == 202 and fast.content == route.content == b""
    unknown = Principal.from_canister_index(4242)
    body = agent.envelope(agent.call_content(unknown, "inc"))
    fast, route = await _both(agent, routed, f"/api/v2/canister/{unknown.to_text()}/call", body)
    assert fast.status_code == 200 and fast.content == route.content
    assert "status" not in cbor.decode(fast.content)


async def test_client_errors_and_rejections_match_the_route(agent, routed, counter, subnet):
    url = f"/api/v3/canister/{counter.to_text()}/call"
    good = agent.envelope(agent.call_content(counter, "inc"))
    unknown = Principal.from_canister_index(4242)
    expired = agent.call_content(counter, "inc")
    expired["ingress_expiry"] = subnet.clock.now() - SEC
    other = Principal.from_canister_index(4243).to_text()
    cases = [
        (url, good, {"content-type": "text/plain"}, 400),  # content type
        (url, good, {}, 400),  # no content type
        (url, b"\xff\x00", None, 400),  # not CBOR
        (url, cbor.encode({"content": 1}), None, 400),  # not an envelope
        ("/api/v3/canister/not-a-principal/call", good, None, 400),  # URL id
        (f"/api/v4/canister/{other}/call", good, None, 400),  # effective id mismatch
        (url, agent.envelope(expired), None, 400),  # expiry
        (  # non-replicated rejection: HTTP 200 with a CBOR reject
            f"/api/v3/canister/{unknown.to_text()}/call",
            agent.envelope(agent.call_content(unknown, "inc")),
            None,
            200,
        ),
        (  # subnet call to another subnet
            f"/api/v4/subnet/{unknown.to_text()}/call",
            good,
            None,
            400,
        ),
    ]
    for case_url, body, headers, status in cases:
        fast, route = await _both(agent, routed, case_url, body, headers)
        assert fast.status_code == status, (case_url, fast.text)
        assert fast.content == route.content, (case_url, fast.content, route.content)


async def test_other_methods_on_call_paths_still_reach_the_router(agent, routed, counter):
    url = f"/api/v3/canister/{counter.to_text()}/call"
    fast = await agent.client.get(url)
    route = await routed.get(url)
    assert fast.status_code == route.status_code == 405
    assert fast.content == route.content
