"""read_state: path permissions per endpoint, full subtrees, scoped delegations."""

from __future__ import annotations

from replica_core import cbor
from replica_core.certification.certificate import Certificate, lookup, verify_certificate
from replica_core.certification.hash_tree import Absent, Found, Unknown
from replica_core.principal import Principal
from tests.gateway.conftest import Agent


def delegation_tree(response):
    cert = Certificate.decode(cbor.decode(response.content)["certificate"])
    assert cert.delegation is not None
    return Certificate.decode(cert.delegation.certificate)


async def test_time_is_always_in_the_certificate(agent, counter):
    cert = agent.certificate(await agent.read_state(counter, [[b"time"]]), counter)
    assert isinstance(lookup(cert, [b"time"]), Found)
    cert = agent.certificate(await agent.read_state(counter, []), counter)
    assert isinstance(lookup(cert, [b"time"]), Found)


async def test_canister_module_hash_and_controllers_are_readable(agent, counter):
    paths = [[b"canister", counter.raw, b"module_hash"], [b"canister", counter.raw, b"controllers"]]
    cert = agent.certificate(await agent.read_state(counter, paths), counter)
    assert isinstance(lookup(cert, paths[0]), Found)
    controllers = lookup(cert, paths[1])
    assert isinstance(controllers, Found)
    assert agent.principal.raw in cbor.decode(controllers.value)


async def test_canister_path_of_another_canister_is_400(agent, counter):
    other = Principal.from_canister_index(9)
    response = await agent.read_state(counter, [[b"canister", other.raw, b"module_hash"]])
    assert response.status_code == 400 and "does not match" in response.text


async def test_certified_data_is_not_readable(agent, counter):
    response = await agent.read_state(counter, [[b"canister", counter.raw, b"certified_data"]])
    assert response.status_code == 404 and response.text == "Invalid path requested."


async def test_unknown_path_is_404(agent, counter):
    response = await agent.read_state(counter, [[b"no_such_thing"]])
    assert response.status_code == 404


async def test_request_status_is_readable_only_by_its_sender(agent, counter, client, subnet):
    response, rid = await agent.call(counter, "inc")
    assert response.status_code == 200
    stranger = Agent(client, subnet)
    denied = await stranger.read_state(counter, [[b"request_status", rid]])
    assert denied.status_code == 403
    assert denied.text == "The user tries to access Request ID not signed by the caller."
    cert = agent.certificate(await agent.read_state(counter, [[b"request_status", rid]]), counter)
    assert lookup(cert, [b"request_status", rid, b"status"]) == Found(b"replied")


async def test_request_status_of_unknown_request_is_absent(agent, counter):
    rid = bytes(32)
    cert = agent.certificate(await agent.read_state(counter, [[b"request_status", rid]]), counter)
    assert isinstance(lookup(cert, [b"request_status", rid, b"status"]), Absent)


async def test_two_request_ids_in_one_request_are_400(agent, counter):
    paths = [[b"request_status", bytes(32)], [b"request_status", b"\x01" * 32]]
    response = await agent.read_state(counter, paths)
    assert response.status_code == 400 and "More than one non-unique request ID" in response.text


async def test_short_request_id_is_400(agent, counter):
    response = await agent.read_state(counter, [[b"request_status", b"\x01" * 5]])
    assert response.status_code == 400


async def test_more_than_1000_paths_are_400(agent, counter):
    response = await agent.read_state(counter, [[b"time"]] * 1001)
    assert response.status_code == 400 and "Too many paths" in response.text


async def test_private_metadata_only_for_controllers(agent, counter, client, subnet):
    path = [b"canister", counter.raw, b"metadata", b"candid:service"]
    cert = agent.certificate(await agent.read_state(counter, [path]), counter)
    assert isinstance(lookup(cert, path), Found)
    stranger = Agent(client, subnet)
    denied = await stranger.read_state(counter, [path])
    assert denied.status_code == 403 and "controllers" in denied.text


async def test_subnet_node_keys_and_public_key_are_readable(agent, counter, subnet):
    sid = subnet.subnet_id.raw
    cert = agent.certificate(await agent.read_state(counter, [[b"subnet", sid]]), counter)
    assert isinstance(lookup(cert, [b"subnet", sid, b"public_key"]), Found)
    node_id = subnet.keys.nodes[0].node_id.raw
    assert isinstance(lookup(cert, [b"subnet", sid, b"node", node_id, b"public_key"]), Found)


async def test_v3_hides_subnet_canister_ranges_and_v2_shows_them(agent, counter, subnet):
    sid = subnet.subnet_id.raw
    path = [b"subnet", sid, b"canister_ranges"]
    v3 = agent.certificate(await agent.read_state(counter, [[b"subnet", sid]]), counter)
    assert isinstance(lookup(v3, path), Unknown)
    response = await agent.read_state(counter, [[b"subnet", sid]], version="v2")
    v2 = agent.certificate(response, counter, ranges="legacy")
    assert isinstance(lookup(v2, path), Found)
    denied = await agent.read_state(counter, [path])
    assert denied.status_code == 404


async def test_delegation_is_scoped_per_endpoint_version(agent, counter, subnet):
    sid = subnet.subnet_id.raw
    flat, tree = [b"subnet", sid, b"canister_ranges"], [b"canister_ranges", sid]
    v2 = delegation_tree(await agent.read_state(counter, [[b"time"]], version="v2"))
    v3 = delegation_tree(await agent.read_state(counter, [[b"time"]], version="v3"))
    assert isinstance(lookup(v2, flat), Found) and not isinstance(lookup(v2, tree), Found)
    assert not isinstance(lookup(v3, flat), Found)
    assert any(
        isinstance(lookup(v3, [*tree, r.start.raw]), Found) for r in subnet.config.canister_ranges
    )


async def test_subnet_metrics_only_at_the_subnet_endpoint(agent, counter, subnet):
    sid = subnet.subnet_id
    path = [b"subnet", sid.raw, b"metrics"]
    response = await agent.read_state(sid, [path], kind="subnet")
    body = cbor.decode(response.content)
    cert = verify_certificate(body["certificate"], subnet.root_key, effective_subnet_id=sid)
    assert isinstance(lookup(cert, path), Found)
    assert (await agent.read_state(counter, [path])).status_code == 404


async def test_canister_ranges_only_at_subnet_endpoints(agent, counter, subnet):
    sid = subnet.subnet_id
    path = [b"canister_ranges", sid.raw]
    ok = await agent.read_state(sid, [path], kind="subnet", version="v2")
    assert ok.status_code == 200
    assert (await agent.read_state(counter, [path])).status_code == 404


async def test_subnet_endpoint_of_another_subnet_is_400(agent):
    other = Principal.from_canister_index(3)
    response = await agent.read_state(other, [[b"time"]], kind="subnet")
    assert response.status_code == 400


async def test_anonymous_read_state_may_carry_any_expiry(client, subnet, counter):
    anon = Agent(client, subnet, signer=None)
    content = anon.content("read_state", paths=[[b"time"]])
    content["ingress_expiry"] = 1
    response = await anon.post(
        f"/api/v3/canister/{counter.to_text()}/read_state", anon.envelope(content)
    )
    assert response.status_code == 200


async def test_malformed_read_state_is_400(agent, counter):
    content = agent.content("read_state", paths=b"not paths")
    response = await agent.post(
        f"/api/v3/canister/{counter.to_text()}/read_state", agent.envelope(content)
    )
    assert response.status_code == 400
    assert response.text.startswith("Could not parse body as read request")
