"""Query calls: node-signed responses agents can verify with the published node keys."""

from __future__ import annotations

from cryptography.hazmat.primitives.serialization import load_der_public_key

from replica_core import cbor
from replica_core.certification.certificate import lookup
from replica_core.certification.hash_tree import Found
from replica_core.principal import Principal
from replica_core.request_id import hash_of_map, request_id
from tests.gateway.conftest import MGMT, Agent, mgmt_arg

NAT_0 = b"DIDL\x00\x01}\x00"


async def node_key(agent, counter, subnet, node_id: bytes) -> bytes:
    """The node's DER key, read from `/subnet/<sid>/node/<nid>/public_key` (as agent-js)."""
    sid = subnet.subnet_id.raw
    response = await agent.read_state(counter, [[b"subnet", sid]])
    cert = agent.certificate(response, counter)
    found = lookup(cert, [b"subnet", sid, b"node", node_id, b"public_key"])
    assert isinstance(found, Found)
    return found.value


def verify_node_signature(body: dict, content: dict, der: bytes) -> None:
    (sig,) = body["signatures"]
    signed = {k: v for k, v in body.items() if k != "signatures"}
    signed |= {"timestamp": sig["timestamp"], "request_id": request_id(content)}
    load_der_public_key(der).verify(sig["signature"], b"\x0bic-response" + hash_of_map(signed))


async def test_query_reply_is_signed_by_a_published_node_key(agent, counter, subnet):
    response, content = await agent.query(counter, "get")
    body = cbor.decode(response.content)
    assert response.status_code == 200
    assert body["status"] == "replied" and body["reply"] == {"arg": NAT_0}
    der = await node_key(agent, counter, subnet, body["signatures"][0]["identity"])
    verify_node_signature(body, content, der)


async def test_v2_query_endpoint_answers_the_same(agent, counter):
    response, _ = await agent.query(counter, "get", version="v2")
    assert cbor.decode(response.content)["reply"] == {"arg": NAT_0}


async def test_query_reject_is_signed_with_error_code(agent, counter, subnet):
    response, content = await agent.query(counter, "no_such_method")
    body = cbor.decode(response.content)
    assert body["status"] == "rejected" and body["error_code"] == "IC0536"
    assert body["reject_code"] == 5
    der = await node_key(agent, counter, subnet, body["signatures"][0]["identity"])
    verify_node_signature(body, content, der)


async def test_query_to_unknown_canister_is_a_signed_reject(agent):
    unknown = Principal.from_canister_index(4242)
    response, _ = await agent.query(unknown, "get")
    body = cbor.decode(response.content)
    assert (body["status"], body["error_code"]) == ("rejected", "IC0301")


async def test_query_with_wrong_effective_canister_id_is_400(agent, counter):
    content = agent.content("query", canister_id=counter.raw, method_name="get", arg=b"DIDL\0\0")
    other = Principal.from_canister_index(9)
    response = await agent.post(
        f"/api/v3/canister/{other.to_text()}/query", agent.envelope(content)
    )
    assert response.status_code == 400


async def test_management_query_is_routed_by_canister_id(agent, counter):
    arg = mgmt_arg("canister_status", {"canister_id": counter})
    content = agent.content("query", canister_id=MGMT.raw, method_name="canister_status", arg=arg)
    response = await agent.post(
        f"/api/v3/canister/{counter.to_text()}/query", agent.envelope(content)
    )
    body = cbor.decode(response.content)
    assert response.status_code == 200 and body["status"] in ("replied", "rejected")


async def test_subnet_query_only_serves_list_canisters(agent, subnet, counter):
    content = agent.content("query", canister_id=counter.raw, method_name="get", arg=b"DIDL\0\0")
    response = await agent.post(
        f"/api/v3/subnet/{subnet.subnet_id.to_text()}/query", agent.envelope(content)
    )
    assert response.status_code == 400


async def test_anonymous_query_may_carry_any_expiry(client, subnet, counter):
    anon = Agent(client, subnet, signer=None)
    content = anon.content("query", canister_id=counter.raw, method_name="get", arg=b"DIDL\0\0")
    content["ingress_expiry"] = 1
    response = await anon.post(
        f"/api/v3/canister/{counter.to_text()}/query", anon.envelope(content)
    )
    assert cbor.decode(response.content)["status"] == "replied"
