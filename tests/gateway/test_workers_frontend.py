"""A gateway worker (its app, the link, the replica core's backend) answers exactly as the
single-process app: same statuses, headers and bodies, for good and bad requests alike.

Both run in this process here: the worker app talks to a `ReplicaBackend` over a real Unix
socket pair, on the same subnet the single-process app serves (whose lifespan runs rounds).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.app import create_app
from gateway.workers.backend import ReplicaBackend
from gateway.workers.frontend import WorkerLink, worker_app
from gateway.workers.link import ReplicaClient
from replica_core import cbor
from replica_core.certification.certificate import lookup
from replica_core.certification.hash_tree import Found
from replica_core.principal import Principal
from replica_core.request_id import request_id
from replica_core.subnet import Subnet
from tests.gateway.conftest import ANY_ECID, CBOR_HEADERS, MGMT, SEC, Agent


class _Worker:
    def __init__(self, client: httpx.AsyncClient, link: WorkerLink, backend: ReplicaBackend):
        self.client = client
        self.link = link
        self.backend = backend
        self.lost = asyncio.Event()


@pytest.fixture
async def worker(subnet: Subnet) -> AsyncIterator[_Worker]:
    backend = ReplicaBackend(
        subnet,
        create_app(subnet, run_rounds=False, sync_call_timeout=5.0, cors=False),
        key_seed=subnet.config.key_seed,
        num_nodes=subnet.config.num_nodes,
    )
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    closed = await backend.serve(ours)

    async def connect(client: ReplicaClient) -> None:
        await client.connect(theirs)

    holder: list[_Worker] = []
    link = WorkerLink(connect, lambda: holder[0].lost.set(), clock=subnet.clock)
    await link.start()
    transport = httpx.ASGITransport(app=worker_app(link))
    async with httpx.AsyncClient(transport=transport, base_url="http://icbox") as c:
        holder.append(_Worker(c, link, backend))
        yield holder[0]
    link.client.close()
    await asyncio.wait_for(closed, 5)
    await asyncio.wait_for(holder[0].lost.wait(), 5)


async def _same(
    agent: Agent,
    worker: _Worker,
    method: str,
    url: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Send the request to the single-process app and to the worker; they must agree."""
    headers = CBOR_HEADERS if headers is None else headers
    single = await agent.client.request(method, url, content=body, headers=headers)
    via_worker = await worker.client.request(method, url, content=body, headers=headers)
    assert via_worker.status_code == single.status_code, (via_worker.text, single.text)
    assert list(via_worker.headers.items()) == list(single.headers.items())
    assert via_worker.content == single.content
    return via_worker


async def test_worker_answers_queries_with_the_same_node_signed_body(agent, worker, counter):
    await agent.update(counter, "inc")
    content = agent.content(
        "query", canister_id=counter.raw, method_name="get", arg=b"DIDL\x00\x00"
    )
    body = agent.envelope(content)
    for version in ("v2", "v3"):
        response = await _same(
            agent, worker, "POST", f"/api/{version}/canister/{counter}/query", body
        )
        assert cbor.decode(response.content)["status"] == "replied"
    missing = agent.content("query", canister_id=counter.raw, method_name="nope", arg=b"")
    response = await _same(
        agent, worker, "POST", f"/api/v3/canister/{counter}/query", agent.envelope(missing)
    )
    assert cbor.decode(response.content)["status"] == "rejected"


async def test_worker_executes_sync_and_async_calls(agent, worker, counter):
    for version in ("v3", "v4"):
        content = agent.call_content(counter, "inc")
        url = f"/api/{version}/canister/{counter}/call"
        response = await worker.client.post(
            url, content=agent.envelope(content), headers=CBOR_HEADERS
        )
        ranges = "legacy" if version == "v3" else "sharded"
        cert = agent.certificate(response, counter, ranges=ranges)
        status = lookup(cert, [b"request_status", request_id(content), b"status"])
        assert status == Found(b"replied")
    content = agent.call_content(counter, "inc")
    response = await worker.client.post(
        f"/api/v2/canister/{counter}/call", content=agent.envelope(content), headers=CBOR_HEADERS
    )
    assert response.status_code == 202
    reply = await agent.update(counter, "get")
    assert reply == b"DIDL\x00\x01}\x03"  # three increments, the async one included


async def test_worker_creates_canisters_through_the_subnet_endpoint(agent, worker, subnet):
    method = "provisional_create_canister_with_cycles"
    from replica_core.management.candid_types import encode_arg

    content = agent.call_content(MGMT, method, encode_arg(method, {"amount": [10**12]}))
    response = await worker.client.post(
        f"/api/v4/subnet/{subnet.subnet_id}/call",
        content=agent.envelope(content),
        headers=CBOR_HEADERS,
    )
    assert cbor.decode(response.content)["status"] == "replied"


async def test_worker_refuses_bad_requests_like_the_single_process_app(agent, worker, counter):
    unknown = Principal.from_canister_index(4242)
    good = agent.call_content(counter, "inc")
    expired = dict(
        agent.call_content(counter, "inc"), ingress_expiry=agent.subnet.clock.now() - SEC
    )
    other = Agent(agent.client, agent.subnet)
    forged = agent.call_content(counter, "inc")
    forged_body = other.envelope(forged)  # signed by another key than the sender's
    cases = [
        ("POST", f"/api/v3/canister/{counter}/call", b"\xff\x00", CBOR_HEADERS),
        (
            "POST",
            f"/api/v3/canister/{counter}/call",
            agent.envelope(good),
            {"content-type": "text/plain"},
        ),
        (
            "POST",
            f"/api/v3/canister/{unknown}/call",
            agent.envelope(agent.call_content(unknown, "inc")),
            None,
        ),
        (
            "POST",
            f"/api/v4/canister/{ANY_ECID}/call",
            agent.envelope(agent.call_content(counter, "inc")),
            None,
        ),
        ("POST", f"/api/v3/canister/{counter}/call", agent.envelope(expired), None),
        ("POST", f"/api/v3/canister/{counter}/call", forged_body, None),
        ("POST", "/api/v3/canister/not-a-principal/call", agent.envelope(good), None),
        (
            "POST",
            f"/api/v2/canister/{unknown}/call",
            agent.envelope(agent.call_content(unknown, "x")),
            None,
        ),
        ("POST", f"/api/v3/canister/{counter}/query", agent.envelope(good), None),  # call as query
        ("POST", f"/api/v3/canister/{counter}/call", b"\x00" * (6 * 1024 * 1024), None),  # 413
        ("GET", "/api/v2/status", b"", {}),
        ("GET", "/nothing/here", b"", {"origin": "https://app.example"}),
        ("POST", f"/api/v3/canister/{counter}/read_state", agent.envelope(good), None),
        (
            "OPTIONS",
            f"/api/v3/canister/{counter}/call",
            b"",
            {"origin": "https://app.example", "access-control-request-method": "POST"},
        ),
    ]
    for method, url, body, headers in cases:
        response = await _same(agent, worker, method, url, body, headers)
        assert response.status_code != 500, (url, response.text)


async def test_worker_answers_503_once_the_replica_core_is_gone(agent, worker, counter):
    worker.backend.close()
    await asyncio.wait_for(worker.lost.wait(), 5)
    content = agent.call_content(counter, "inc")
    response = await worker.client.post(
        f"/api/v3/canister/{counter}/call", content=agent.envelope(content), headers=CBOR_HEADERS
    )
    assert response.status_code == 503
    assert "not reachable" in response.text
    status = await worker.client.get("/api/v2/status")
    assert status.status_code == 503
