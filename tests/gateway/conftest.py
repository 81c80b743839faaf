"""Gateway test fixtures: a real `Subnet` (in-memory store, fake clock) behind the app,
called in-process through `httpx.ASGITransport`, and a tiny agent that signs envelopes."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from replica_core import cbor
from replica_core.certification.certificate import Certificate, lookup, verify_certificate
from replica_core.certification.hash_tree import Found
from replica_core.crypto.signers import Ed25519Signer, build_envelope
from replica_core.management.candid_types import decode_result as mgmt_result
from replica_core.management.candid_types import encode_arg as mgmt_arg
from replica_core.principal import Principal
from replica_core.request_id import request_id
from replica_core.store.memory import MemoryStore
from replica_core.subnet import FakeClock, SandboxExecutor, Subnet

SEC = 1_000_000_000
MGMT = Principal.management_canister()
ANY_ECID = Principal.from_canister_index(0)  # any id in the subnet ranges, for creation
COUNTER_WASM = (
    Path(__file__).resolve().parents[1] / "canisters" / "build" / "base" / "counter.wasm"
).read_bytes()
CBOR_HEADERS = {"content-type": "application/cbor"}


@dataclass
class Agent:
    """Builds, signs and posts requests like an IC agent; `signer=None` is anonymous."""

    client: httpx.AsyncClient
    subnet: Subnet
    signer: Ed25519Signer | None = field(default_factory=Ed25519Signer)
    nonce: int = 0

    @property
    def principal(self) -> Principal:
        return self.signer.principal if self.signer else Principal.anonymous()

    def content(self, request_type: str, **fields: Any) -> dict[str, Any]:
        self.nonce += 1
        content = {
            "request_type": request_type,
            "sender": self.principal.raw,
            "ingress_expiry": self.subnet.clock.now() + 120 * SEC,
            "nonce": self.nonce.to_bytes(8, "big"),
        }
        content.update(fields)
        return content

    def call_content(self, cid: Principal, method: str, arg: bytes = b"DIDL\x00\x00") -> dict:
        return self.content("call", canister_id=cid.raw, method_name=method, arg=arg)

    def envelope(self, content: dict[str, Any], **kwargs: Any) -> bytes:
        return build_envelope(content, self.signer, **kwargs)

    async def post(self, url: str, body: bytes, headers: dict | None = None) -> httpx.Response:
        return await self.client.post(url, content=body, headers=headers or CBOR_HEADERS)

    async def call(
        self,
        cid: Principal,
        method: str,
        arg: bytes = b"DIDL\x00\x00",
        *,
        version: str = "v4",
        ecid: Principal | None = None,
    ) -> tuple[httpx.Response, bytes]:
        content = self.call_content(cid, method, arg)
        url = f"/api/{version}/canister/{(ecid or cid).to_text()}/call"
        return await self.post(url, self.envelope(content)), request_id(content)

    async def query(
        self, cid: Principal, method: str, arg: bytes = b"DIDL\x00\x00", *, version: str = "v3"
    ) -> tuple[httpx.Response, dict[str, Any]]:
        content = self.content("query", canister_id=cid.raw, method_name=method, arg=arg)
        response = await self.post(
            f"/api/{version}/canister/{cid.to_text()}/query", self.envelope(content)
        )
        return response, content

    async def read_state(
        self,
        ecid: Principal,
        paths: Sequence[Sequence[bytes]],
        *,
        version: str = "v3",
        kind: str = "canister",
    ) -> httpx.Response:
        content = self.content("read_state", paths=[list(p) for p in paths])
        return await self.post(
            f"/api/{version}/{kind}/{ecid.to_text()}/read_state", self.envelope(content)
        )

    def certificate(
        self, response: httpx.Response, ecid: Principal | None = None, ranges: str = "sharded"
    ) -> Certificate:
        """The verified certificate of a read_state or synchronous call response; `ranges`
        is the form the endpoint's delegation must scope `ecid` with."""
        assert response.status_code == 200, response.text
        body = cbor.decode(response.content)
        return verify_certificate(
            body["certificate"], self.subnet.root_key, effective_canister_id=ecid, ranges=ranges
        )

    async def update(
        self,
        cid: Principal,
        method: str,
        arg: bytes = b"DIDL\x00\x00",
        ecid: Principal | None = None,
    ) -> bytes:
        """A v4 call that must be replied; returns the reply payload."""
        response, rid = await self.call(cid, method, arg, ecid=ecid)
        cert = self.certificate(response, ecid or cid)
        status = lookup(cert, [b"request_status", rid, b"status"])
        assert status == Found(b"replied"), (
            status,
            lookup(cert, [b"request_status", rid, b"reject_message"]),
        )
        reply = lookup(cert, [b"request_status", rid, b"reply"])
        assert isinstance(reply, Found)
        return reply.value

    async def create_canister(self, cycles: int = 10**13) -> Principal:
        method = "provisional_create_canister_with_cycles"
        payload = await self.update(
            MGMT, method, mgmt_arg(method, {"amount": [cycles]}), ecid=ANY_ECID
        )
        return mgmt_result(method, payload)["canister_id"]

    async def install(self, cid: Principal, wasm: bytes = COUNTER_WASM) -> None:
        arg = mgmt_arg(
            "install_code",
            {"mode": {"install": None}, "canister_id": cid, "wasm_module": wasm, "arg": b""},
        )
        await self.update(MGMT, "install_code", arg, ecid=cid)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def executor() -> SandboxExecutor:
    """One executor (compiled-module cache) for every test's subnet: compile counter once."""
    return SandboxExecutor()


@pytest.fixture
def subnet(clock: FakeClock, executor: SandboxExecutor) -> Subnet:
    return Subnet(MemoryStore(), clock, random.Random(7), executor=executor)


@pytest.fixture
async def client(subnet: Subnet) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(subnet, sync_call_timeout=5.0)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://icbox") as c:
            yield c


@pytest.fixture
def agent(client: httpx.AsyncClient, subnet: Subnet) -> Agent:
    return Agent(client, subnet)


@pytest.fixture
async def counter(agent: Agent) -> Principal:
    """A counter canister installed by `agent` (its controller)."""
    cid = await agent.create_canister()
    await agent.install(cid)
    return cid
