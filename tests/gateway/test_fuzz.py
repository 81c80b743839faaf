"""Bad input never gets a 5xx: random and mutated bodies on every endpoint get a client
error (or a CBOR reject), and the service keeps serving (spec: HTTPS interface › errors —
4xx for client errors; the issue: never a 500 for client input)."""

from __future__ import annotations

import random
from typing import Any

from replica_core import cbor
from replica_core.principal import Principal

from .conftest import ANY_ECID, CBOR_HEADERS

SUBNET_PLACEHOLDER = "SUBNET"
ENDPOINTS = [
    "/api/v2/canister/{c}/call",
    "/api/v3/canister/{c}/call",
    "/api/v4/canister/{c}/call",
    "/api/v2/canister/{c}/query",
    "/api/v3/canister/{c}/query",
    "/api/v2/canister/{c}/read_state",
    "/api/v3/canister/{c}/read_state",
    "/api/v4/subnet/{s}/call",
    "/api/v3/subnet/{s}/query",
    "/api/v2/subnet/{s}/read_state",
    "/api/v3/subnet/{s}/read_state",
]
CONTENT_FIELDS = [
    "request_type",
    "sender",
    "ingress_expiry",
    "nonce",
    "canister_id",
    "method_name",
    "arg",
    "paths",
    "sender_info",
]
WEIRD_VALUES: list[Any] = [
    None,
    True,
    -1,
    0,
    2**64,
    2**70,
    1.5,
    "",
    "call",
    "query",
    "read_state",
    "x" * 300,
    b"",
    b"\x04",
    b"\x00" * 30,
    b"\xff" * 64,
    [],
    [[]],
    [[b"request_status", b"\x01" * 32]],
    [[b"canister", b"\x00" * 10, b"controllers"]],
    [b"time"],
    {},
    {"a": 1},
]


def random_value(rng: random.Random) -> Any:
    return rng.choice(WEIRD_VALUES)


def random_content(rng: random.Random, good: dict[str, Any]) -> dict[str, Any]:
    content = dict(good)
    for _ in range(rng.randint(1, 3)):
        field = rng.choice(CONTENT_FIELDS)
        if rng.random() < 0.3:
            content.pop(field, None)
        else:
            content[field] = random_value(rng)
    return content


PAYLOAD_FIELDS = ["canister_id", "method_name", "arg", "paths", "request_type", "nonce"]
PAYLOAD_VALUES: list[Any] = [
    b"DIDL\x00\x00",
    b"DIDL\x00\x01\x7d\x05",
    b"DIDL",
    b"not candid",
    "inc",
    "get",
    "install_code",
    "provisional_create_canister_with_cycles",
    "canister_status",
    "raw_rand",
    "no_such_method",
    b"",
    b"\x00" * 10,
    [[b"time"]],
    [[b"subnet"]],
    [[b"canister_ranges"]],
    [[b"request_status", b"\x02" * 32, b"reply"]],
    [[b"canister", b"\x00" * 10, b"certified_data"]],
    [[b"canister", b"\x00" * 10, b"metadata", b"\xff\xfe"]],
    "call",
    "query",
    "read_state",
]


def authenticated_body(rng: random.Random, agent: Any, good: dict[str, Any]) -> bytes:
    """A properly authenticated request (signed, or anonymous) whose payload is odd, so it
    gets past authentication into routing, admission and execution."""
    content = dict(good)
    for _ in range(rng.randint(1, 3)):
        content[rng.choice(PAYLOAD_FIELDS)] = rng.choice(PAYLOAD_VALUES)
    if rng.random() < 0.5:
        content["sender"] = Principal.anonymous().raw
        return cbor.encode({"content": content})
    return agent.envelope(content)


def random_body(rng: random.Random, good_content: dict[str, Any], signed: bytes) -> bytes:
    kind = rng.randrange(6)
    if kind == 0:  # raw garbage
        return rng.randbytes(rng.randint(0, 64))
    if kind == 1:  # a valid signed envelope with a few bytes flipped
        body = bytearray(signed)
        for _ in range(rng.randint(1, 4)):
            body[rng.randrange(len(body))] ^= 1 << rng.randrange(8)
        return bytes(body)
    if kind == 2:  # truncated
        return signed[: rng.randrange(len(signed))]
    if kind == 3:  # envelope with mutated content, unsigned
        return cbor.encode({"content": random_content(rng, good_content)})
    if kind == 4:  # envelope with random top-level fields
        env: dict[str, Any] = {"content": good_content}
        for name in ("sender_pubkey", "sender_sig", "sender_delegation"):
            if rng.random() < 0.6:
                env[name] = random_value(rng)
        return cbor.encode(env)
    return cbor.encode(random_value(rng))  # not a map at all


async def test_random_and_mutated_bodies_never_get_a_server_error(agent, subnet, counter):
    rng = random.Random(20261125)
    good = agent.call_content(counter, "inc")
    signed = agent.envelope(good)
    principals = [counter, ANY_ECID, Principal.management_canister(), Principal.anonymous()]
    statuses: set[int] = set()
    for i in range(600):
        template = ENDPOINTS[i % len(ENDPOINTS)]
        url = template.format(c=rng.choice(principals).to_text(), s=subnet.subnet_id.to_text())
        if rng.random() < 0.5:
            body = authenticated_body(rng, agent, agent.call_content(counter, "inc"))
        else:
            body = random_body(rng, good, signed)
        response = await agent.client.post(url, content=body, headers=CBOR_HEADERS)
        statuses.add(response.status_code)
        assert response.status_code < 500, (url, response.status_code, response.text)
    assert statuses <= {200, 202, 400, 403, 404, 413}, statuses
    assert {200, 400} <= statuses, statuses  # both rejections and answers were reached
    # and the service still serves a good request
    assert (await agent.client.get("/api/v2/status")).status_code == 200
    assert await agent.update(counter, "inc")


async def test_bad_urls_get_client_errors(agent, counter):
    for url in [
        "/api/v3/canister/not-a-principal/call",
        "/api/v3/canister//query",
        "/api/v9/canister/aaaaa-aa/call",
        "/api/v3/subnet/aaaaa-aa/read_state",
        "/api/v2/canister/" + "a" * 200 + "/read_state",
    ]:
        response = await agent.client.post(url, content=b"\xa0", headers=CBOR_HEADERS)
        assert 400 <= response.status_code < 500, (url, response.status_code)
