"""Seams real clients exposed in the query path: the signed timestamp and `list_canisters`.

Spec: IC interface spec 0.66.0, HTTPS interface › Query call signatures (the node signs
the response with a timestamp), › Effective subnet id (`/api/v3/subnet/<esid>/query` is
`list_canisters` only); The IC management canister › IC method `list_canisters`.
"""

from __future__ import annotations

import random

import httpx

from gateway.app import create_app
from replica_core import cbor
from replica_core.candid import decode, encode
from replica_core.crypto.signers import Ed25519Signer
from replica_core.management.candid_types import result_types
from replica_core.principal import Principal
from replica_core.store.memory import MemoryStore
from replica_core.subnet import FakeClock, Subnet, SubnetConfig
from tests.gateway.conftest import MGMT, Agent, mgmt_arg, mgmt_result

LIST = "list_canisters"
EMPTY_ARG = encode([], [])


async def subnet_query(agent: Agent, method: str = LIST, *, esid: Principal | None = None):
    content = agent.content("query", canister_id=MGMT.raw, method_name=method, arg=EMPTY_ARG)
    sid = (esid or agent.subnet.subnet_id).to_text()
    response = await agent.post(f"/api/v3/subnet/{sid}/query", agent.envelope(content))
    return response


def listed_ranges(response: httpx.Response) -> list[tuple[Principal, Principal]]:
    body = cbor.decode(response.content)
    assert body["status"] == "replied", body
    (result,) = decode(body["reply"]["arg"], result_types(LIST))
    return [(r["start"], r["end"]) for r in result["canisters"]]


async def test_query_signature_timestamp_is_the_certified_state_time(executor) -> None:
    clock = FakeClock()
    subnet = Subnet(MemoryStore(), clock, random.Random(1), executor=executor)
    subnet.tick()
    certified = subnet.certified_time
    clock.advance(30)  # wall time moves on; no round certifies a newer state
    app = create_app(subnet, run_rounds=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://icbox") as client:
        agent = Agent(client, subnet)
        response, _ = await agent.query(Principal.from_canister_index(7), "get")
    (signature,) = cbor.decode(response.content)["signatures"]
    assert signature["timestamp"] == certified != clock.now()


async def test_subnet_query_list_canisters_returns_the_ranges_of_existing_canisters(
    agent: Agent,
) -> None:
    first = await agent.create_canister()
    second = await agent.create_canister()
    response = await subnet_query(agent)
    assert response.status_code == 200
    assert listed_ranges(response) == [(first, second)]


async def test_list_canisters_to_aaaaa_aa_accepts_any_effective_canister_id(agent: Agent) -> None:
    created = await agent.create_canister()
    response, _ = await agent.query(MGMT, LIST, EMPTY_ARG)  # ecid = aaaaa-aa
    assert listed_ranges(response) == [(created, created)]


async def test_list_canisters_as_an_update_call_is_refused_before_execution(
    agent: Agent,
) -> None:
    await agent.create_canister()
    response, _ = await agent.call(MGMT, LIST, EMPTY_ARG, ecid=Principal.from_canister_index(0))
    body = cbor.decode(response.content)
    assert body["status"] == "non_replicated_rejection"
    assert "only be called by subnet admins via query calls" in body["reject_message"]


async def test_list_canisters_refuses_a_caller_who_is_not_a_configured_subnet_admin(
    executor,
) -> None:
    admin_key = Ed25519Signer()
    config = SubnetConfig(subnet_admins=(admin_key.principal,))
    subnet = Subnet(MemoryStore(), FakeClock(), random.Random(2), config, executor=executor)
    app = create_app(subnet, run_rounds=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://icbox") as client:
        stranger = Agent(client, subnet)
        admin = Agent(client, subnet, admin_key)
        refused = cbor.decode((await subnet_query(stranger)).content)
        allowed = await subnet_query(admin)
    assert refused["status"] == "rejected" and refused["error_code"] == "IC0406"
    assert "is not a subnet admin" in refused["reject_message"]
    assert listed_ranges(allowed) == []


async def test_subnet_query_for_another_method_is_a_400(agent: Agent) -> None:
    response = await subnet_query(agent, "canister_status")
    assert response.status_code == 400


async def test_canister_status_reports_the_log_store_fields_current_clients_require(
    agent: Agent, counter: Principal
) -> None:
    """The icp CLI (ic-management-canister-types 0.7.1) fails to decode a canister_status
    reply without `memory_metrics.log_memory_store_size` and `settings.log_memory_limit`."""
    arg = mgmt_arg("canister_status", {"canister_id": counter})
    payload = await agent.update(MGMT, "canister_status", arg, ecid=counter)
    status = mgmt_result("canister_status", payload)
    assert status["settings"]["log_memory_limit"] == 4096
    assert status["memory_metrics"]["log_memory_store_size"] >= 0
