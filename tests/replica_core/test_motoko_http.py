"""Motoko HTTP canister through `Subnet`: `http_request` queries and the update upgrade.

Spec: IC interface spec 0.66.0 (query calls); HTTP Gateway Protocol (`http_request`,
`http_request_update`, the `upgrade` flag), with the Candid types of the canister's
`http.did` (`HttpRequest`, `HttpResponse`, `HeaderField`).
"""

from __future__ import annotations

import pytest

from replica_core.subnet import SandboxExecutor
from tests.replica_core.subnet_fixtures import FLAVOURS, did, make_subnet, shared_executor

PAGE = (
    b"<!doctype html><html><head><title>icbox</title></head>"
    b"<body><h1>Hello from icbox</h1></body></html>"
)


@pytest.fixture(scope="module")
def executor() -> SandboxExecutor:
    return shared_executor()


def _get(client, flavour, cid, url: str, method: str = "GET") -> dict:
    request = {"method": method, "url": url, "headers": [], "body": b"", "certificate_version": [2]}
    (response,) = client.query(flavour, "http", cid, "http_request", request)
    response["headers"] = [(h[0], h[1]) for h in response["headers"]]
    return response  # type: ignore[no-any-return]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_http_did_declares_the_gateway_types(flavour):
    types = did(flavour, "http").types
    assert {"HttpRequest", "HttpResponse", "HeaderField", "HttpUpdateRequest"} <= set(types)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_root_is_served_as_html_with_its_headers(executor, flavour):
    _, client = make_subnet(executor)
    cid = client.deploy(flavour, "http")
    response = _get(client, flavour, cid, "/")
    assert response == {
        "status_code": 200,
        "headers": [("content-type", "text/html; charset=utf-8"), ("x-icbox-test", "http.mo")],
        "body": PAGE,
        "upgrade": [],
    }


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_unknown_path_is_404_with_the_url_in_the_body(executor, flavour):
    _, client = make_subnet(executor)
    cid = client.deploy(flavour, "http")
    response = _get(client, flavour, cid, "/missing")
    assert (response["status_code"], response["body"]) == (404, b"not found: /missing")


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_post_asks_for_upgrade_and_the_update_call_counts_hits(executor, flavour):
    _, client = make_subnet(executor)
    cid = client.deploy(flavour, "http")
    assert _get(client, flavour, cid, "/hits")["body"] == b"0"
    assert _get(client, flavour, cid, "/form", "POST")["upgrade"] == [True]
    update = {"method": "POST", "url": "/form", "headers": [], "body": b"x=1"}
    (response,) = client.call(flavour, "http", cid, "http_request_update", update)
    assert (response["status_code"], response["body"]) == (200, b"POST /form hits=1")
    hits = _get(client, flavour, cid, "/hits")
    assert (hits["status_code"], hits["body"]) == (200, b"1")
    assert ("content-type", "text/plain; charset=utf-8") in hits["headers"]
