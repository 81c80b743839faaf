"""The `icp` CLI 1.5.0 (Rust ic-agent; npm `@icp-sdk/icp-cli-linux-x64`) against a live
`icbox start`, given as a network by URL (`-n <url> -k fetch`).

Spec: IC interface spec 0.66.0, HTTPS interface; The IC management canister
(`install_code`, `canister_status` as the IC answers it today: the CLI decodes
`memory_metrics.log_memory_store_size` and `settings.log_memory_limit`).

`icp canister create` pays through the cycles ledger canister, which icbox does not host,
so the canister is created with a provisional call signed here (the CLI's identity as a
controller); the CLI then installs, calls, queries, reads status and upgrades it.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from replica_core import cbor
from replica_core.candid import decode, encode
from replica_core.certification.certificate import lookup, verify_certificate
from replica_core.certification.hash_tree import Found
from replica_core.crypto.signers import Ed25519Signer, build_envelope
from replica_core.management.candid_types import arg_types, result_types
from replica_core.principal import Principal
from replica_core.request_id import request_id

INTEROP_DIR = Path(__file__).resolve().parent
ICP = INTEROP_DIR / "node_modules" / "@icp-sdk" / "icp-cli-linux-x64" / "bin" / "icp"
COUNTER = INTEROP_DIR.parent / "canisters" / "build" / "core" / "counter.wasm"
CREATE = "provisional_create_canister_with_cycles"


class Cli:
    """The `icp` binary with its own HOME (identities) and the live network flags."""

    def __init__(self, home: Path, url: str) -> None:
        self.env = {**os.environ, "HOME": str(home), "RUST_BACKTRACE": "0", "NO_COLOR": "1"}
        self.home, self.network = home, ["-n", url, "-k", "fetch"]

    def run(self, *args: str, network: bool = True) -> str:
        command = [str(ICP), *args, *(self.network if network else [])]
        result = subprocess.run(
            command, cwd=self.home, env=self.env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, f"{' '.join(args)}:\n{result.stderr[-3000:]}"
        return result.stdout if result.stdout.strip() else result.stderr  # status lines


def create_canister(url: str, controller: Principal) -> Principal:
    """A provisional creation signed by a fresh key, with `controller` as a controller."""
    signer = Ed25519Signer()
    settings = {"controllers": [[controller, signer.principal]]}
    content = {
        "request_type": "call",
        "sender": signer.principal.raw,
        "ingress_expiry": time.time_ns() + 60 * 10**9,
        "canister_id": b"",
        "method_name": CREATE,
        "arg": encode(arg_types(CREATE), [{"amount": [10**13], "settings": [settings]}]),
    }
    ecid = Principal.from_canister_index(0)
    response = httpx.post(
        f"{url}/api/v4/canister/{ecid.to_text()}/call",
        content=build_envelope(content, signer),
        headers={"content-type": "application/cbor"},
        timeout=20,
    )
    root_key = cbor.decode(httpx.get(f"{url}/api/v2/status").content)["root_key"]
    cert = verify_certificate(cbor.decode(response.content)["certificate"], root_key)
    reply = lookup(cert, [b"request_status", request_id(content), b"reply"])
    assert isinstance(reply, Found), reply
    return decode(reply.value, result_types(CREATE))[0]["canister_id"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def deployed(live_icbox: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not ICP.exists():
        pytest.skip("the icp CLI is not installed (npm @icp-sdk/icp-cli-linux-x64)")
    cli = Cli(tmp_path_factory.mktemp("icp_home"), live_icbox.url)
    cli.run("identity", "new", "live", "--storage", "plaintext", "--output-seed",
            str(cli.home / "seed.txt"), network=False)  # fmt: skip
    cli.run("identity", "default", "live", network=False)
    principal = Principal.from_text(cli.run("identity", "principal", network=False).strip())
    cid = create_canister(live_icbox.url, principal)
    installed = cli.run("canister", "install", cid.to_text(), "--wasm", str(COUNTER), "-y")
    return {"cli": cli, "cid": cid.to_text(), "principal": principal, "installed": installed}


def test_install_by_principal_succeeds(deployed: dict) -> None:
    assert "installed successfully" in deployed["installed"]


def test_update_call_and_query_return_candid_text(deployed: dict) -> None:
    cli, cid = deployed["cli"], deployed["cid"]
    assert cli.run("canister", "call", cid, "inc", "()").strip() == "(1 : nat)"
    assert cli.run("canister", "call", cid, "get", "()", "--query").strip() == "(1 : nat)"


def test_status_decodes_the_full_canister_status_record(deployed: dict) -> None:
    cli, cid = deployed["cli"], deployed["cid"]
    report = cli.run("canister", "status", cid)
    assert "Status: Running" in report
    assert f"controller: {deployed['principal'].to_text()}" in report
    assert "Log memory limit: 4_096" in report
    assert "Module hash: 0x" in report


def test_upgrade_keeping_wasm_memory_keeps_the_counter(deployed: dict) -> None:
    cli, cid = deployed["cli"], deployed["cid"]
    before = cli.run("canister", "call", cid, "get", "()", "--query").strip()
    cli.run("canister", "install", cid, "--wasm", str(COUNTER), "-m", "upgrade",
            "--wasm-memory-persistence", "keep", "-y")  # fmt: skip
    assert cli.run("canister", "call", cid, "get", "()", "--query").strip() == before
