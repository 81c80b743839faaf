"""Shared by the live flow tests: the flow scripts' input and reading their steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

BUILD = Path(__file__).resolve().parents[1] / "canisters" / "build"
CORE_COUNTER = BUILD / "core" / "counter.wasm"
BASE_COUNTER = BUILD / "base" / "counter.wasm"
IDENTITIES = ("ed25519", "secp256k1", "delegation")


def run_flows(run_node: Any, live_icbox: Any, script: str) -> dict[str, Any]:
    """Run a `live_*.mjs` flow script against the live icbox: it deploys the moc counter
    (core flavour, upgraded with `keep`; base flavour too) and reports every step."""
    result = run_node(
        script,
        {
            "url": live_icbox.url,
            "wasm": str(CORE_COUNTER),
            "base_wasm": str(BASE_COUNTER),
            "upgrade_mode": "keep",
            "cycles": str(10**13),
        },
    )
    assert "fatal" not in result, result["fatal"]
    return result


def ok(record: dict[str, Any], name: str) -> Any:
    """The value of a flow step that must have succeeded (its error otherwise)."""
    entry = record[name]
    assert entry["ok"], f"{name}: {entry['error']}"
    return entry["value"]


def check_created_on_management_id(result: dict[str, Any]) -> None:
    """The `create_on_management_id` flow: a canister created synchronously and one created
    with a v2 call polled at aaaaa-aa, both verified against the root key by the agent."""
    assert result["async_status"] == 202
    assert result["sync"] != result["async"]
    for created in (result["sync"], result["async"]):
        assert created.endswith("-cai")
