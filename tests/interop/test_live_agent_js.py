"""@dfinity/agent 3.4.3 against a live `icbox start`: deploy, call, query, status, upgrade.

Spec: IC interface spec 0.66.0, HTTPS interface (v3 synchronous calls, v2 calls with
read_state polling, node-signed queries verified by the agent, read_state of canister
paths) and The IC management canister (provisional creation, install_code, canister_status,
upgrade with `wasm_memory_persistence = keep`).

One node process (`live_agent_js.mjs`) runs every flow with three identities (Ed25519,
secp256k1, a two-link delegation chain) and reports each step; the tests check the steps.
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
    return run_flows(run_node, live_icbox, "live_agent_js.mjs")


def test_fetch_root_key_returns_the_key_icbox_printed(flows: dict, live_icbox: Any) -> None:
    assert bytes.fromhex(flows["root_key"]) == live_icbox.root_key


@pytest.mark.parametrize("identity", IDENTITIES)
def test_canister_is_created_and_installed_through_the_management_canister(
    flows: dict, identity: str
) -> None:
    record = flows["identities"][identity]
    Principal.from_text(ok(record, "create"))
    assert ok(record, "install") is True


@pytest.mark.parametrize("identity", IDENTITIES)
def test_sync_update_calls_and_verified_query_see_each_other(flows: dict, identity: str) -> None:
    record = flows["identities"][identity]
    assert (ok(record, "inc1"), ok(record, "inc2"), ok(record, "get")) == ("1", "2", "2")


@pytest.mark.parametrize("identity", IDENTITIES)
def test_canister_status_reports_the_caller_as_controller_and_the_module_hash(
    flows: dict, identity: str
) -> None:
    record = flows["identities"][identity]
    status = ok(record, "canister_status")
    assert status["status"] == "running"
    assert status["controllers"] == [record["principal"]]
    assert status["module_hash"] == hashlib.sha256(CORE_COUNTER.read_bytes()).hexdigest()
    assert int(status["cycles"]) > 0


@pytest.mark.parametrize("identity", IDENTITIES)
def test_canister_status_request_reads_certified_paths(
    flows: dict, identity: str, live_icbox: Any
) -> None:
    record = flows["identities"][identity]
    paths = ok(record, "read_state_status")
    assert paths["controllers"] == [record["principal"]]
    assert paths["module_hash"] == hashlib.sha256(CORE_COUNTER.read_bytes()).hexdigest()
    assert paths["subnet_id"] == live_icbox.subnet_id
    assert paths["node_count"] >= 1
    assert paths["time_ms"] > 0
    assert "inc: () -> (nat);" in paths["candid"]


@pytest.mark.parametrize("identity", IDENTITIES)
def test_upgrade_keeping_wasm_memory_preserves_the_counter(flows: dict, identity: str) -> None:
    record = flows["identities"][identity]
    assert ok(record, "upgrade") is True
    assert ok(record, "get_after_upgrade") == "2"


def test_async_call_answers_202_and_polling_finds_the_certified_reply(flows: dict) -> None:
    result = ok(flows, "async_call_polling")
    assert result == {"http_status": 202, "value": "3"}


def test_canisters_created_with_effective_id_aaaaa_aa_verify_against_the_root_key(
    flows: dict,
) -> None:
    check_created_on_management_id(ok(flows, "create_on_management_id"))


def test_base_flavour_counter_deploys_calls_and_upgrades(flows: dict) -> None:
    record = ok(flows, "base_flavour")
    assert (ok(record, "inc1"), ok(record, "inc2"), ok(record, "get")) == ("1", "2", "2")
    assert ok(record, "upgrade") is True
    assert ok(record, "get_after_upgrade") == "2"
