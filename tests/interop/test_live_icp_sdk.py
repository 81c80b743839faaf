"""@icp-sdk/core 6.1.0 against a live `icbox start`: the same flows as agent-js on the
current endpoints, plus the subnet endpoints.

Spec: IC interface spec 0.66.0, HTTPS interface (v4 synchronous calls whose certificate
delegation is scoped by the sharded `/canister_ranges/<sid>`, v3 queries and read_state,
`/api/v4/subnet/<esid>/call` for creation, `/api/v3/subnet/<esid>/query` for
`list_canisters`, `/api/v3/subnet/<esid>/read_state`); The IC management canister.

One node process (`live_icp_sdk.mjs`) runs every flow with Ed25519, secp256k1 and a
delegation-chain identity and reports each step; the tests check the steps.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from replica_core.principal import Principal
from tests.interop.live_common import (
    CORE_COUNTER,
    IDENTITIES,
    check_created_on_management_id,
    ok,
    run_flows,
)


@pytest.fixture(scope="module")
def flows(run_node: Any, live_icbox: Any) -> dict[str, Any]:
    return run_flows(run_node, live_icbox, "live_icp_sdk.mjs")


def test_fetch_root_key_returns_the_key_icbox_printed(flows: dict, live_icbox: Any) -> None:
    assert bytes.fromhex(flows["root_key"]) == live_icbox.root_key


@pytest.mark.parametrize("identity", IDENTITIES)
def test_subnet_of_a_canister_is_read_from_the_certificate_delegation(
    flows: dict, identity: str, live_icbox: Any
) -> None:
    assert ok(flows, f"subnet_of_{identity}") == live_icbox.subnet_id


@pytest.mark.parametrize("identity", IDENTITIES)
def test_canister_is_created_on_the_subnet_endpoint_and_installed(
    flows: dict, identity: str
) -> None:
    record = flows["identities"][identity]
    Principal.from_text(ok(record, "create"))
    assert ok(record, "install") is True


@pytest.mark.parametrize("identity", IDENTITIES)
def test_v4_sync_calls_and_v3_verified_queries_see_each_other(flows: dict, identity: str) -> None:
    record = flows["identities"][identity]
    assert (ok(record, "inc1"), ok(record, "inc2"), ok(record, "get")) == ("1", "2", "2")


@pytest.mark.parametrize("identity", IDENTITIES)
def test_canister_status_and_certified_paths_agree(
    flows: dict, identity: str, live_icbox: Any
) -> None:
    record = flows["identities"][identity]
    module_hash = hashlib.sha256(CORE_COUNTER.read_bytes()).hexdigest()
    status = ok(record, "canister_status")
    paths = ok(record, "read_state_status")
    assert status["status"] == "running" and status["module_hash"] == module_hash
    assert status["controllers"] == paths["controllers"] == [record["principal"]]
    assert paths["module_hash"] == module_hash
    assert paths["subnet_id"] == live_icbox.subnet_id and paths["node_count"] >= 1
    assert "get: () -> (nat) query;" in paths["candid"]


@pytest.mark.parametrize("identity", IDENTITIES)
def test_upgrade_keeping_wasm_memory_preserves_the_counter(flows: dict, identity: str) -> None:
    record = flows["identities"][identity]
    assert ok(record, "upgrade") is True
    assert ok(record, "get_after_upgrade") == "2"


def test_async_call_answers_202_and_v3_polling_finds_the_certified_reply(flows: dict) -> None:
    assert ok(flows, "async_call_polling") == {"http_status": 202, "value": "3"}


def test_subnet_status_reads_time_public_key_and_node_keys(flows: dict) -> None:
    status = ok(flows, "subnet_status")
    assert status["time_ms"] > 0 and status["node_count"] >= 1
    assert bytes.fromhex(status["public_key"])[:3] == b"\x30\x81\x82"  # BLS key, DER
    # the legacy /subnet/<sid>/canister_ranges path is served at v3 only for the root subnet
    assert status["legacy_canister_ranges"] is None


def test_canisters_created_with_effective_id_aaaaa_aa_verify_against_the_root_key(
    flows: dict,
) -> None:
    check_created_on_management_id(ok(flows, "create_on_management_id"))


def test_sharded_canister_ranges_cover_the_created_canisters(flows: dict) -> None:
    ranges = [
        (Principal.from_text(a), Principal.from_text(b)) for a, b in ok(flows, "canister_ranges")
    ]
    for record in flows["identities"].values():
        cid = Principal.from_text(record["canister_id"])
        assert any(lo <= cid <= hi for lo, hi in ranges)


def test_list_canisters_on_the_subnet_query_endpoint_lists_every_created_canister(
    flows: dict,
) -> None:
    ranges = [
        (Principal.from_text(a), Principal.from_text(b)) for a, b in ok(flows, "list_canisters")
    ]
    for record in [*flows["identities"].values(), ok(flows, "base_flavour")]:
        cid = Principal.from_text(record["canister_id"])
        assert any(lo <= cid <= hi for lo, hi in ranges)


def test_base_flavour_counter_deploys_calls_and_upgrades(flows: dict) -> None:
    record = ok(flows, "base_flavour")
    assert (ok(record, "inc1"), ok(record, "inc2"), ok(record, "get")) == ("1", "2", "2")
    assert ok(record, "upgrade") is True
    assert ok(record, "get_after_upgrade") == "2"
