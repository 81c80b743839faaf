"""Motoko counter canisters through `Subnet`: update calls, queries, upgrade and reinstall.

Spec: IC interface spec 0.66.0, IC method install_code (upgrade with
`wasm_memory_persistence`, reinstall), Abstract behavior › Call message execution.
"""

from __future__ import annotations

import hashlib

import pytest

from replica_core.errors import Reject, RejectCode
from replica_core.subnet import SandboxExecutor
from tests.replica_core.subnet_fixtures import FLAVOURS, make_subnet, shared_executor, wasm

UPGRADE_KEEP = {"upgrade": [{"wasm_memory_persistence": [{"keep": None}]}]}
UPGRADE_PLAIN = {"upgrade": [{}]}


@pytest.fixture(scope="module")
def executor() -> SandboxExecutor:
    return shared_executor()


def _counter_at_three(executor, flavour):
    subnet, client = make_subnet(executor)
    cid = client.deploy(flavour, "counter")
    replies = [client.call(flavour, "counter", cid, "inc") for _ in range(3)]
    assert replies == [(1,), (2,), (3,)]
    return subnet, client, cid


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_three_increments_are_seen_by_the_get_query(executor, flavour):
    _, client, cid = _counter_at_three(executor, flavour)
    assert client.query(flavour, "counter", cid, "get") == (3,)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_upgrade_keeps_the_count_and_reinstall_resets_it(executor, flavour):
    subnet, client, cid = _counter_at_three(executor, flavour)
    mode = UPGRADE_KEEP if flavour == "core" else UPGRADE_PLAIN
    assert client.install(cid, wasm(flavour, "counter"), mode) == ()
    assert client.query(flavour, "counter", cid, "get") == (3,)
    assert client.call(flavour, "counter", cid, "inc") == (4,)
    status = client.canister_status(cid)
    assert status["status"] == {"running": None}
    assert status["module_hash"] == [hashlib.sha256(wasm(flavour, "counter")).digest()]
    assert client.install(cid, wasm(flavour, "counter"), {"reinstall": None}) == ()
    assert client.query(flavour, "counter", cid, "get") == (0,)
    assert client.call(flavour, "counter", cid, "inc") == (1,)


def test_upgrading_an_eop_canister_without_keep_is_rejected_and_state_survives(executor):
    _, client, cid = _counter_at_three(executor, "core")
    for mode in (UPGRADE_PLAIN, {"upgrade": []}):
        reject = client.install(cid, wasm("core", "counter"), mode)
        assert isinstance(reject, Reject)
        assert (reject.code, reject.error_code) == (RejectCode.CANISTER_ERROR, "IC0504")
        assert reject.message == (
            "Missing upgrade option: Enhanced orthogonal persistence requires the "
            "`wasm_memory_persistence` upgrade option."
        )
    assert client.query("core", "counter", cid, "get") == (3,)


def test_keep_on_a_classic_canister_is_rejected(executor):
    _, client, cid = _counter_at_three(executor, "base")
    reject = client.install(cid, wasm("base", "counter"), UPGRADE_KEEP)
    assert isinstance(reject, Reject)
    assert "requires that the new canister module supports enhanced orthogonal persistence" in (
        reject.message
    )
    assert client.query("base", "counter", cid, "get") == (3,)
