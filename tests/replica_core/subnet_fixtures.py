"""A client's view of a `Subnet` with the real sandbox: management calls, ingress, queries.

`Client` drives a subnet exactly as the gateway would: every call is an `Ingress` (to a
canister or to `aaaaa-aa` with its effective canister id), its result is read from the
certified ingress history after a round, and queries go through `Subnet.query`. Candid
arguments and replies are encoded at the types of the canister's `.did` file (or of
`ic.did` for the management canister). One `SandboxExecutor` (module cache) is shared by
every subnet of the test session: compiling a moc module is the slow part.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from replica_core.candid import decode, encode
from replica_core.candid.did import DidFile, load_did
from replica_core.candid.types import Func, unroll
from replica_core.errors import Reject
from replica_core.execution.interface import Reply
from replica_core.ingress_history import IngressState, IngressStatus
from replica_core.management.candid_types import decode_result, encode_arg
from replica_core.management_context import Executor
from replica_core.messages import Ingress
from replica_core.principal import Principal
from replica_core.store.memory import MemoryStore
from replica_core.subnet import FakeClock, SandboxExecutor, Subnet, SubnetConfig
from replica_core.types import RequestId

BUILD = Path(__file__).resolve().parents[1] / "canisters" / "build"
FLAVOURS = ("core", "base")
USER = Principal.self_authenticating(b"\x30\x2a" + b"m" * 42)
SEC = 1_000_000_000
MANAGEMENT = Principal.management_canister()


@cache
def wasm(flavour: str, name: str) -> bytes:
    """The compiled test canister `build/<flavour>/<name>.wasm`."""
    return (BUILD / flavour / f"{name}.wasm").read_bytes()


@cache
def did(flavour: str, name: str) -> DidFile:
    return load_did(BUILD / flavour / f"{name}.did")


@cache
def manifest() -> dict[str, Any]:
    return json.loads((BUILD / "manifest.json").read_text())  # type: ignore[no-any-return]


def method_func(flavour: str, name: str, method: str) -> Func:
    service = did(flavour, name).service
    assert service is not None
    t = service.method(method)
    assert t is not None, f"{flavour}/{name} has no method {method}"
    t = unroll(t)
    assert isinstance(t, Func)
    return t


@dataclass(frozen=True)
class Execution:
    """One execution the sandbox reported: whose, which entry point, how many instructions."""

    canister_id: Principal
    kind: str
    method: str
    instructions: int
    trapped: bool
    calls: tuple[tuple[str, int, int], ...] = ()  # (method name, argument bytes, cycles)
    reply_size: int | None = None


@cache
def shared_executor() -> SandboxExecutor:
    """One executor (compiled and validated modules) for every subnet of the session."""
    return SandboxExecutor()


class RecordingExecutor:
    """The subnet's executor, also recording every execution's reported instructions.

    It delegates to `shared_executor()` (so compiled and validated modules are shared).
    """

    def __init__(self) -> None:
        self.base = shared_executor()
        self.executions: list[Execution] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.base, name)

    def validated(self, wasm: bytes) -> Any:
        return self.base.validated(wasm)

    def compile(self, wasm: bytes) -> Any:
        return self.base.compile(wasm)

    def initial_state(self, module: Any, env: Any, **kwargs: Any) -> Any:
        outcome = self.base.initial_state(module, env, **kwargs)
        self._record(env.canister_id, "start", "", outcome)
        return outcome

    def execute(self, module: Any, state: Any, call: Any, env: Any) -> Any:
        outcome = self.base.execute(module, state, call, env)
        self._record(env.canister_id, call.kind.value, call.method_name, outcome)
        return outcome

    def _record(self, cid: Principal, kind: str, method: str, outcome: Any) -> None:
        calls = tuple((c.method_name, len(c.arg), c.cycles) for c in outcome.calls)
        reply = outcome.response
        self.executions.append(
            Execution(
                cid,
                kind,
                method,
                outcome.instructions,
                outcome.trap is not None,
                calls,
                len(reply.payload) if isinstance(reply, Reply) else None,
            )
        )

    def take(self, canister_id: Principal | None = None) -> list[Execution]:
        """The executions recorded since the last `take` (of one canister, or all)."""
        taken: list[Execution] = []
        kept: list[Execution] = []
        for e in self.executions:
            (taken if canister_id in (None, e.canister_id) else kept).append(e)
        self.executions = kept
        return taken


_nonce = itertools.count()


def ingress(
    now: int,
    receiver: Principal,
    method: str,
    arg: bytes,
    *,
    sender: Principal,
    effective: Principal | None = None,
    expiry_s: int = 240,
) -> Ingress:
    """An ingress message with a fresh request id, expiring `expiry_s` seconds after `now`."""
    rid = RequestId(hashlib.sha256(f"{receiver}/{method}/{next(_nonce)}".encode()).digest())
    return Ingress(rid, sender, receiver, method, arg, now + expiry_s * SEC, effective)


@dataclass
class Outcome:
    """The terminal status of a call as a client sees it."""

    status: IngressStatus

    @property
    def replied(self) -> bool:
        return self.status.state is IngressState.REPLIED

    @property
    def reject(self) -> Reject:
        assert self.status.state is IngressState.REJECTED, self.status
        assert self.status.reject is not None
        return self.status.reject


class Client:
    """A user calling canisters and `aaaaa-aa` on one subnet."""

    def __init__(self, subnet: Subnet, clock: FakeClock, sender: Principal = USER) -> None:
        self.subnet, self.clock, self.sender = subnet, clock, sender
        self.sent: list[Ingress] = []

    # --- raw ingress ------------------------------------------------------------------

    def submit(
        self,
        receiver: Principal,
        method: str,
        arg: bytes,
        *,
        effective: Principal | None = None,
        sender: Principal | None = None,
    ) -> Ingress:
        msg = ingress(
            self.clock.now(),
            receiver,
            method,
            arg,
            sender=sender or self.sender,
            effective=effective,
        )
        self.subnet.submit(msg)
        self.sent.append(msg)
        return msg

    def status(self, msg: Ingress) -> IngressStatus:
        status = self.subnet.request_status(msg.request_id)
        assert status is not None, "request unknown"
        return status

    def settle(self, msg: Ingress, max_rounds: int = 20) -> Outcome:
        """Run rounds until the request is terminal."""
        for _ in range(max_rounds):
            self.subnet.tick()
            status = self.subnet.request_status(msg.request_id)
            if status is not None and status.state.is_terminal:
                return Outcome(status)
        raise AssertionError(f"request not terminal after {max_rounds} rounds")

    # --- management canister ------------------------------------------------------------

    def management(
        self, method: str, arg: dict[str, Any] | None, *, sender: Principal | None = None
    ) -> Any:
        """Call `aaaaa-aa` by ingress; the decoded reply value, or the `Reject`."""
        raw = encode_arg(method, arg)
        effective = arg.get("canister_id") if arg else None
        out = self.settle(self.submit(MANAGEMENT, method, raw, effective=effective, sender=sender))
        if not out.replied:
            return out.reject
        assert out.status.reply is not None
        return decode_result(method, out.status.reply)

    def management_query(self, method: str, arg: dict[str, Any]) -> Any:
        result = self.subnet.query(MANAGEMENT, method, encode_arg(method, arg), self.sender)
        if isinstance(result, Reject):
            return result
        return decode_result(method, result.payload)

    def create(self, cycles: int = 10**14, **settings: Any) -> Principal:
        raw_settings = {k: [v] for k, v in settings.items()}
        result = self.management(
            "provisional_create_canister_with_cycles",
            {
                "amount": [cycles],
                "settings": [raw_settings] if raw_settings else [],
                "specified_id": [],
                "sender_canister_version": [],
            },
        )
        assert not isinstance(result, Reject), result
        return result["canister_id"]  # type: ignore[no-any-return]

    def install(
        self,
        canister_id: Principal,
        module: bytes,
        mode: dict[str, Any] | None = None,
        arg: bytes = b"DIDL\x00\x00",
    ) -> Any:
        return self.management(
            "install_code",
            {
                "mode": mode or {"install": None},
                "canister_id": canister_id,
                "wasm_module": module,
                "arg": arg,
                "sender_canister_version": [],
            },
        )

    def deploy(self, flavour: str, name: str, cycles: int = 10**14) -> Principal:
        cid = self.create(cycles)
        result = self.install(cid, wasm(flavour, name))
        assert result == (), result
        return cid

    def canister_status(self, canister_id: Principal) -> Any:
        return self.management("canister_status", {"canister_id": canister_id})

    # --- canister methods -----------------------------------------------------------------

    def call(
        self, flavour: str, name: str, canister_id: Principal, method: str, *args: Any
    ) -> tuple[Any, ...] | Reject:
        """An update call by ingress; the decoded reply values, or the `Reject`."""
        out = self.settle(self.submit_call(flavour, name, canister_id, method, *args))
        if not out.replied:
            return out.reject
        assert out.status.reply is not None
        return tuple(decode(out.status.reply, method_func(flavour, name, method).rets))

    def submit_call(
        self, flavour: str, name: str, canister_id: Principal, method: str, *args: Any
    ) -> Ingress:
        func = method_func(flavour, name, method)
        return self.submit(canister_id, method, encode(func.args, list(args)))

    def query(
        self, flavour: str, name: str, canister_id: Principal, method: str, *args: Any
    ) -> tuple[Any, ...] | Reject:
        func = method_func(flavour, name, method)
        result = self.subnet.query(canister_id, method, encode(func.args, list(args)), self.sender)
        if isinstance(result, Reject):
            return result
        assert isinstance(result, Reply)
        return tuple(decode(result.payload, func.rets))


def make_subnet(
    executor: Executor, *, seed: int = 1, config: SubnetConfig | None = None
) -> tuple[Subnet, Client]:
    clock = FakeClock()
    subnet = Subnet(MemoryStore(), clock, random.Random(seed), config, executor=executor)
    return subnet, Client(subnet, clock)
