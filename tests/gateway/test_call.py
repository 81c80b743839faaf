"""Update calls over HTTP: /api/v2 (async), /api/v3 and /api/v4 (sync), the subnet form."""

from __future__ import annotations

import asyncio

import pytest

from replica_core import cbor
from replica_core.certification.certificate import lookup, verify_certificate
from replica_core.certification.hash_tree import Found
from replica_core.crypto.signers import Ed25519Signer, delegate
from replica_core.envelope import MAX_INGRESS_PAYLOAD
from replica_core.principal import Principal
from replica_core.request_id import request_id
from tests.gateway.conftest import MGMT, SEC, Agent, mgmt_arg, mgmt_result

NAT_1 = b"DIDL\x00\x01}\x01"
NAT_2 = b"DIDL\x00\x01}\x02"


async def test_sync_v4_call_replies_with_certificate_of_request_status(agent, counter):
    assert await agent.update(counter, "inc") == NAT_1


async def test_sync_v3_call_certificate_scopes_delegation_with_flat_ranges(agent, counter):
    response, rid = await agent.call(counter, "inc", version="v3")
    cert = agent.certificate(response, counter, ranges="legacy")
    assert lookup(cert, [b"request_status", rid, b"reply"]) == Found(NAT_1)
    assert cbor.decode(response.content)["status"] == "replied"


async def test_async_v2_call_is_accepted_with_202_and_polled_through_read_state(agent, counter):
    response, rid = await agent.call(counter, "inc", version="v2")
    assert response.status_code == 202 and response.content == b""
    for _ in range(500):
        poll = await agent.read_state(counter, [[b"request_status", rid]], version="v2")
        cert = agent.certificate(poll, counter, ranges="legacy")
        if lookup(cert, [b"request_status", rid, b"status"]) == Found(b"replied"):
            break
        await asyncio.sleep(0.01)
    assert lookup(cert, [b"request_status", rid, b"reply"]) == Found(NAT_1)


async def test_resubmitting_a_completed_call_returns_its_certificate_without_rerunning(
    agent, counter
):
    content = agent.call_content(counter, "inc")
    body = agent.envelope(content)
    url = f"/api/v4/canister/{counter.to_text()}/call"
    first = agent.certificate(await agent.post(url, body), counter)
    second = agent.certificate(await agent.post(url, body), counter)
    rid = request_id(content)
    for cert in (first, second):
        assert lookup(cert, [b"request_status", rid, b"reply"]) == Found(NAT_1)
    assert await agent.update(counter, "inc") == NAT_2


async def test_canister_reject_is_certified_in_the_request_status(agent, counter):
    response, rid = await agent.call(counter, "no_such_method")
    cert = agent.certificate(response, counter)
    assert lookup(cert, [b"request_status", rid, b"status"]) == Found(b"rejected")
    assert lookup(cert, [b"request_status", rid, b"error_code"]) == Found(b"IC0536")


async def test_unknown_canister_is_a_non_replicated_rejection(agent):
    unknown = Principal.from_canister_index(4242)
    response, _ = await agent.call(unknown, "inc")
    body = cbor.decode(response.content)
    assert response.status_code == 200
    assert body["status"] == "non_replicated_rejection"
    assert (body["reject_code"], body["error_code"]) == (3, "IC0301")
    assert "not found" in body["reject_message"]


async def test_v2_rejection_before_execution_has_no_status_field(agent):
    response, _ = await agent.call(Principal.from_canister_index(4242), "inc", version="v2")
    body = cbor.decode(response.content)
    assert response.status_code == 200 and "status" not in body
    assert body["error_code"] == "IC0301"


async def test_stopped_canister_is_rejected_before_execution(agent, counter):
    await agent.update(
        MGMT, "stop_canister", mgmt_arg("stop_canister", {"canister_id": counter}), ecid=counter
    )
    response, _ = await agent.call(counter, "inc")
    body = cbor.decode(response.content)
    assert (body["status"], body["error_code"]) == ("non_replicated_rejection", "IC0508")


async def test_management_call_from_non_controller_is_rejected(agent, counter, client, subnet):
    stranger = Agent(client, subnet)
    arg = mgmt_arg("stop_canister", {"canister_id": counter})
    response, _ = await stranger.call(MGMT, "stop_canister", arg, ecid=counter)
    body = cbor.decode(response.content)
    assert (body["reject_code"], body["error_code"]) == (5, "IC0512")


async def test_wrong_effective_canister_id_is_400(agent, counter):
    response, _ = await agent.call(counter, "inc", ecid=Principal.from_canister_index(9))
    assert response.status_code == 400
    assert "does not match effective canister id in URL" in response.text


async def test_management_call_routed_by_its_argument_canister_id(agent, counter):
    arg = mgmt_arg("stop_canister", {"canister_id": counter})
    response, _ = await agent.call(
        MGMT, "stop_canister", arg, ecid=Principal.from_canister_index(9)
    )
    assert response.status_code == 400 and "does not match" in response.text


async def test_create_canister_is_accepted_on_the_subnet_call_endpoint(agent, subnet):
    method = "provisional_create_canister_with_cycles"
    content = agent.call_content(MGMT, method, mgmt_arg(method, {}))
    response = await agent.post(
        f"/api/v4/subnet/{subnet.subnet_id.to_text()}/call", agent.envelope(content)
    )
    body = cbor.decode(response.content)
    assert body["status"] == "replied"
    cert = verify_certificate(
        body["certificate"], subnet.root_key, effective_subnet_id=subnet.subnet_id
    )
    rid = request_id(content)
    assert lookup(cert, [b"request_status", rid, b"status"]) == Found(b"replied")


@pytest.mark.parametrize("version", ["v3", "v4"])
async def test_create_canister_addressed_to_aaaaa_aa_is_certified_by_the_root(
    agent, subnet, version
):
    """Agents that name no canister send `provisional_create_canister_with_cycles` with the
    effective id aaaaa-aa; no delegation can cover it, so the root signs the certificate
    itself (as local replicas, whose only subnet is the root, always do)."""
    method = "provisional_create_canister_with_cycles"
    content = agent.call_content(MGMT, method, mgmt_arg(method, {"amount": [10**12]}))
    response = await agent.post(f"/api/{version}/canister/aaaaa-aa/call", agent.envelope(content))
    body = cbor.decode(response.content)
    assert body["status"] == "replied"
    decoded = cbor.decode(body["certificate"])
    assert "delegation" not in decoded
    cert = verify_certificate(body["certificate"], subnet.root_key, effective_canister_id=MGMT)
    reply = lookup(cert, [b"request_status", request_id(content), b"reply"])
    assert isinstance(reply, Found)
    created = mgmt_result(method, reply.value)["canister_id"]
    assert subnet.canister(created) is not None


async def test_async_create_on_aaaaa_aa_is_polled_with_a_root_signed_read_state(agent, subnet):
    method = "provisional_create_canister_with_cycles"
    content = agent.call_content(MGMT, method, mgmt_arg(method, {}))
    response = await agent.post("/api/v2/canister/aaaaa-aa/call", agent.envelope(content))
    assert response.status_code == 202
    rid = request_id(content)
    for _ in range(200):
        polled = await agent.read_state(MGMT, [[b"request_status", rid]], version="v2")
        cert = agent.certificate(polled, MGMT, ranges="legacy")
        if lookup(cert, [b"request_status", rid, b"status"]) == Found(b"replied"):
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the creation was not replied")
    assert "delegation" not in cbor.decode(cbor.decode(polled.content)["certificate"])


async def test_other_effective_ids_keep_the_subnet_delegation(agent, counter):
    response, _ = await agent.call(counter, "inc", version="v3")
    assert "delegation" in cbor.decode(cbor.decode(response.content)["certificate"])


async def test_subnet_call_endpoint_refuses_other_methods(agent, subnet, counter):
    content = agent.call_content(counter, "inc")
    response = await agent.post(
        f"/api/v4/subnet/{subnet.subnet_id.to_text()}/call", agent.envelope(content)
    )
    assert response.status_code == 400


# --- bad input from a raw client ---------------------------------------------------------


async def test_malformed_cbor_is_400_and_service_keeps_serving(agent, counter):
    url = f"/api/v4/canister/{counter.to_text()}/call"
    response = await agent.post(url, b"\xd9\xd9\xf7\xa1\x01")
    assert response.status_code == 400
    assert response.text.startswith("Failed to deserialize cbor request")
    assert await agent.update(counter, "inc") == NAT_1


async def test_envelope_without_content_is_400(agent, counter):
    url = f"/api/v3/canister/{counter.to_text()}/call"
    response = await agent.post(url, cbor.encode({"sender_sig": b"x"}))
    assert response.status_code == 400
    assert response.text.startswith("Could not parse body as call message")


async def test_query_content_sent_to_call_endpoint_is_400(agent, counter):
    content = agent.content("query", canister_id=counter.raw, method_name="get", arg=b"DIDL\0\0")
    response = await agent.post(
        f"/api/v4/canister/{counter.to_text()}/call", agent.envelope(content)
    )
    assert response.status_code == 400 and "request_type" in response.text


async def test_non_cbor_content_type_is_400(agent, counter):
    body = agent.envelope(agent.call_content(counter, "inc"))
    response = await agent.post(
        f"/api/v4/canister/{counter.to_text()}/call", body, {"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.text == "Unexpected content-type, expected application/cbor."


async def test_wrong_signature_is_400(agent, counter):
    content = agent.call_content(counter, "inc")
    body = cbor.decode(agent.envelope(content))
    body["sender_sig"] = bytes(64)
    response = await agent.post(f"/api/v4/canister/{counter.to_text()}/call", cbor.encode(body))
    assert response.status_code == 400 and "Invalid signature" in response.text


async def test_expired_ingress_is_rejected_with_400(agent, counter, subnet):
    content = agent.call_content(counter, "inc")
    content["ingress_expiry"] = subnet.clock.now() - SEC
    response = await agent.post(
        f"/api/v4/canister/{counter.to_text()}/call", agent.envelope(content)
    )
    assert (
        response.status_code == 400 and "ingress_expiry not within expected range" in response.text
    )


async def test_far_future_ingress_expiry_is_rejected_with_400(agent, counter, subnet):
    content = agent.call_content(counter, "inc")
    content["ingress_expiry"] = subnet.clock.now() + 3600 * SEC
    response = await agent.post(
        f"/api/v4/canister/{counter.to_text()}/call", agent.envelope(content)
    )
    assert response.status_code == 400 and "ingress_expiry" in response.text


async def test_delegation_to_another_canister_is_rejected_with_400(agent, counter, subnet):
    session = Ed25519Signer()
    link = delegate(
        agent.signer,
        session.public_key_der,
        subnet.clock.now() + 600 * SEC,
        targets=[Principal.from_canister_index(77)],
    )
    content = agent.call_content(counter, "inc")
    body = agent.envelope(content, delegations=[link], final_signer=session)
    response = await agent.post(f"/api/v4/canister/{counter.to_text()}/call", body)
    assert response.status_code == 400 and "delegation targets" in response.text


async def test_delegation_to_the_canister_is_accepted(agent, counter, subnet):
    session = Ed25519Signer()
    link = delegate(
        agent.signer, session.public_key_der, subnet.clock.now() + 600 * SEC, targets=[counter]
    )
    content = agent.call_content(counter, "inc")
    body = agent.envelope(content, delegations=[link], final_signer=session)
    response = await agent.post(f"/api/v4/canister/{counter.to_text()}/call", body)
    cert = agent.certificate(response, counter)
    assert lookup(cert, [b"request_status", request_id(content), b"reply"]) == Found(NAT_1)


async def test_ingress_over_2_mib_is_413_naming_the_request(agent, counter):
    content = agent.call_content(counter, "set", b"DIDL" + bytes(MAX_INGRESS_PAYLOAD))
    response = await agent.post(
        f"/api/v4/canister/{counter.to_text()}/call", agent.envelope(content)
    )
    assert response.status_code == 413
    assert response.text.startswith(f"Request {request_id(content).hex()} is too large.")


async def test_body_far_over_the_limit_is_413_before_parsing(agent, counter):
    response = await agent.post(
        f"/api/v4/canister/{counter.to_text()}/call", bytes(4 * MAX_INGRESS_PAYLOAD)
    )
    assert response.status_code == 413 and "too large" in response.text
    assert await agent.update(counter, "inc") == NAT_1


async def test_invalid_principal_in_url_is_400(agent):
    response = await agent.post("/api/v4/canister/not-a-principal/call", b"")
    assert response.status_code == 400


async def test_anonymous_call_is_accepted(client, subnet, counter):
    anon = Agent(client, subnet, signer=None)
    assert await anon.update(counter, "inc") == NAT_1


async def test_call_headers_are_cbor(agent, counter):
    response, _ = await agent.call(counter, "inc")
    assert response.headers["content-type"] == "application/cbor"
    assert response.content.startswith(b"\xd9\xd9\xf7")
