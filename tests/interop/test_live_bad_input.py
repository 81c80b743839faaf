"""Bad requests from a raw HTTP client against a live `icbox start`: each gets the IC's
error, and the service keeps serving.

Spec: IC interface spec 0.66.0, HTTPS interface › Request: Call (400 for requests that
fail to decode or authenticate, 413 for oversized bodies, 200 + CBOR reject for a call the
subnet refuses), › Authentication (signatures, `ingress_expiry` window, delegation
`targets`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from replica_core import cbor
from replica_core.crypto.signers import Ed25519Signer, build_envelope, delegate
from replica_core.principal import Principal

SEC = 1_000_000_000
CBOR = {"content-type": "application/cbor"}
UNKNOWN = Principal.from_canister_index(0xABCDE)
EMPTY_ARG = b"DIDL\x00\x00"


@pytest.fixture(scope="module")
def client(live_icbox: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_icbox.url, headers=CBOR, timeout=20) as c:
        yield c


def call_content(signer: Ed25519Signer, *, expiry_s: float = 120, **fields: Any) -> dict:
    content = {
        "request_type": "call",
        "sender": signer.principal.raw,
        "ingress_expiry": time.time_ns() + int(expiry_s * SEC),
        "nonce": time.time_ns().to_bytes(8, "big"),
        "canister_id": UNKNOWN.raw,
        "method_name": "inc",
        "arg": EMPTY_ARG,
    }
    content.update(fields)
    return content


def post_call(client: httpx.Client, body: bytes, ecid: Principal = UNKNOWN) -> httpx.Response:
    return client.post(f"/api/v4/canister/{ecid.to_text()}/call", content=body)


def test_malformed_cbor_is_a_400(client: httpx.Client) -> None:
    response = post_call(client, b"\xd9\xd9\xf7\xa1\x67content")
    assert response.status_code == 400 and response.text


def test_wrong_signature_is_a_400(client: httpx.Client) -> None:
    signer, other = Ed25519Signer(), Ed25519Signer()
    envelope = cbor.decode(build_envelope(call_content(signer), signer))
    envelope["sender_sig"] = other.sign(b"\x0aic-request" + b"\x00" * 32)
    response = post_call(client, cbor.encode(envelope))
    assert response.status_code == 400
    assert "signature" in response.text.lower()


@pytest.mark.parametrize("expiry_s", [-60, 3600], ids=["expired", "far_future"])
def test_ingress_expiry_outside_the_window_is_a_400(client: httpx.Client, expiry_s: int) -> None:
    signer = Ed25519Signer()
    response = post_call(client, build_envelope(call_content(signer, expiry_s=expiry_s), signer))
    assert response.status_code == 400
    assert "ingress_expiry" in response.text


def test_delegation_restricted_to_another_canister_is_a_400(client: httpx.Client) -> None:
    root, session = Ed25519Signer(), Ed25519Signer()
    other = Principal.from_canister_index(1)
    link = delegate(root, session.public_key_der, time.time_ns() + 300 * SEC, targets=[other])
    content = call_content(root)
    body = build_envelope(content, root, delegations=[link], final_signer=session)
    response = post_call(client, body)
    assert response.status_code == 400
    assert "target" in response.text.lower()


def test_oversized_body_is_a_413(client: httpx.Client) -> None:
    signer = Ed25519Signer()
    content = call_content(signer, arg=b"\x00" * (4 * 1024 * 1024))
    response = post_call(client, build_envelope(content, signer))
    assert response.status_code == 413


def test_call_to_an_unknown_canister_is_a_signed_off_reject(client: httpx.Client) -> None:
    signer = Ed25519Signer()
    response = post_call(client, build_envelope(call_content(signer), signer))
    assert response.status_code == 200
    body = cbor.decode(response.content)
    assert body["status"] == "non_replicated_rejection"
    assert body["reject_code"] == 3 and body["error_code"] == "IC0301"


def test_service_keeps_serving_after_bad_input(client: httpx.Client, live_icbox: Any) -> None:
    status = cbor.decode(client.get("/api/v2/status").content)
    assert status["root_key"] == live_icbox.root_key
    signer = Ed25519Signer()
    content = {
        "request_type": "read_state",
        "sender": signer.principal.raw,
        "ingress_expiry": time.time_ns() + 60 * SEC,
        "paths": [[b"time"]],
    }
    response = client.post(
        f"/api/v3/canister/{UNKNOWN.to_text()}/read_state", content=build_envelope(content, signer)
    )
    assert response.status_code == 200
    assert "certificate" in cbor.decode(response.content)
