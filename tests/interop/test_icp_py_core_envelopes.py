"""Envelopes signed by the Python client icp-py-core 2.3.1 decode and authenticate in icbox.

Spec: IC interface spec 0.66.0, HTTPS interface › Request ids, › Authentication.

The requests are built by icp-py-core's own `Agent` (update / query / read_state_raw) with
a capturing client in place of HTTP; its `sign_request` is wrapped to record the request id
it computes. Identities: `Identity()` (Ed25519), `Identity(type="secp256k1")`,
`Identity(type="p256")`, `Identity(anonymous=True)` and `DelegateIdentity` (1 and 2 links;
icp-py-core has no API to create delegations, so they are signed with its own
`Identity.sign` over `"\\x1Aic-request-auth-delegation" · to_request_id(delegation)`).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from icp_agent import agent as icp_agent_module
from icp_agent.agent import Agent, to_request_id
from icp_identity import DelegateIdentity, Identity

from replica_core import cbor
from replica_core.authentication import authenticate
from replica_core.crypto import bls
from replica_core.envelope import CallContent, QueryContent, ReadStateContent, decode_envelope
from replica_core.errors import AuthenticationError
from replica_core.principal import Principal

CANISTER = Principal.from_canister_index(5)
ARG = bytes.fromhex("4449444c0001710568656c6c6f")
DOMAIN_DELEGATION = b"\x1aic-request-auth-delegation"
CONTENT_TYPES = {"call": CallContent, "query": QueryContent, "read_state": ReadStateContent}


class _Captured(Exception):
    """Raised by the capturing client once the agent has handed over its request body."""


class CapturingClient:
    """Stands in for icp_agent's HTTP `Client`: keeps each body, answers nothing."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}

    def _keep(self, kind: str, data: bytes) -> None:
        self.bodies[kind] = bytes(data)
        raise _Captured(kind)

    def call(self, canister_id: Any, data: bytes) -> None:
        self._keep("call", data)

    def query(self, canister_id: Any, data: bytes, timeout: Any = None) -> None:
        self._keep("query", data)

    def read_state(self, canister_id: Any, data: bytes) -> None:
        self._keep("read_state", data)


def _delegate(root: Identity, keys: list[Identity], expiration_ns: int) -> DelegateIdentity:
    """A DelegateIdentity: root → keys[0] → … → keys[-1], each link signed by its delegator."""
    links, signer = [], root
    for key in keys:
        delegation = {"pubkey": key.der_pubkey, "expiration": expiration_ns}
        _, signature = signer.sign(DOMAIN_DELEGATION + to_request_id(delegation))
        links.append({"delegation": delegation, "signature": signature})
        signer = key
    return DelegateIdentity(keys[-1], {"delegations": links, "publicKey": root.der_pubkey})


def _key(i: int, key_type: str = "ed25519") -> Identity:
    return Identity(privkey=(bytes([i]) * 32).hex(), type=key_type)


def _identities(now_ns: int) -> dict[str, Any]:
    later = now_ns + 10 * 60 * 1_000_000_000
    return {
        "ed25519": _key(1),
        "secp256k1": _key(2, "secp256k1"),
        "p256": _key(3, "p256"),
        "anonymous": Identity(anonymous=True),
        "delegate-1": _delegate(_key(4), [_key(5, "secp256k1")], later),
        "delegate-2": _delegate(_key(6, "secp256k1"), [_key(7), _key(8, "p256")], later),
    }


@pytest.fixture(scope="module")
def signed() -> dict[str, Any]:
    """{identity name: {"sender": Principal, kind: (body, request id)}} from icp-py-core."""
    now_ns = time.time_ns()
    out: dict[str, Any] = {"now_ns": now_ns, "identities": {}}
    recorded: list[bytes] = []
    original = icp_agent_module.sign_request

    def recording_sign_request(req: dict, iden: Any) -> tuple[bytes, bytes]:
        rid, body = original(req, iden)
        recorded.append(rid)
        return rid, body

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(icp_agent_module, "sign_request", recording_sign_request)
        for name, identity in _identities(now_ns).items():
            client = CapturingClient()
            nonce = (lambda: b"\x07" * 16) if name == "ed25519" else None
            agent = Agent(identity, client, nonce_factory=nonce)
            envelopes: dict[str, Any] = {"sender": Principal(identity.sender().bytes)}
            for kind, send in (
                ("call", lambda a=agent: a.update(CANISTER.to_text(), "greet", ARG)),
                ("query", lambda a=agent: a.query(CANISTER.to_text(), "greet", ARG)),
                ("read_state", lambda a=agent: a.read_state_raw(CANISTER.to_text(), [[b"time"]])),
            ):
                recorded.clear()
                with pytest.raises(_Captured):
                    send()
                (rid,) = recorded
                envelopes[kind] = (client.bodies[kind], rid)
            out["identities"][name] = envelopes
    return out


@pytest.fixture(scope="module")
def root_key_der() -> bytes:
    return bls.der_encode_public_key(bls.public_key(bls.keygen(b"\x08" * 32)))


def _cases(signed: dict[str, Any]) -> list[tuple[str, str, bytes, bytes]]:
    return [
        (name, kind, *envelopes[kind])
        for name, envelopes in signed["identities"].items()
        for kind in CONTENT_TYPES
    ]


def test_icp_py_core_envelopes_decode_with_the_right_content(signed) -> None:
    for name, kind, body, _rid in _cases(signed):
        content = decode_envelope(body).content
        assert isinstance(content, CONTENT_TYPES[kind]), (name, kind)
        assert content.sender == signed["identities"][name]["sender"]
        if kind == "read_state":
            assert content.paths == ((b"time",),)
        else:
            assert (content.canister_id, content.method_name, content.arg) == (
                CANISTER,
                "greet",
                ARG,
            )
        assert content.nonce == (b"\x07" * 16 if name == "ed25519" else None)


def test_request_id_equals_icp_py_core_request_id(signed) -> None:
    for name, kind, body, rid in _cases(signed):
        assert decode_envelope(body).content.request_id == rid, (name, kind)


def test_every_icp_py_core_identity_authenticates_as_its_sender(signed, root_key_der) -> None:
    for name, kind, body, _rid in _cases(signed):
        auth = authenticate(
            decode_envelope(body), signed["now_ns"], root_public_key_der=root_key_der
        )
        assert auth.sender == signed["identities"][name]["sender"], (name, kind)
    assert signed["identities"]["anonymous"]["sender"] == Principal.anonymous()


def test_anonymous_envelope_with_null_signature_fields_is_accepted(signed, root_key_der) -> None:
    """icp-py-core sends `sender_pubkey: null, sender_sig: null` for the anonymous identity
    (the IC replica reads null as absent); icbox must treat them as absent too."""
    body, _rid = signed["identities"]["anonymous"]["call"]
    raw = cbor.decode(body)
    assert raw["sender_pubkey"] is None and raw["sender_sig"] is None
    envelope = decode_envelope(body)
    assert envelope.sender_pubkey is None and envelope.sender_sig is None
    auth = authenticate(envelope, signed["now_ns"], root_public_key_der=root_key_der)
    assert auth.sender == Principal.anonymous()


def test_tampered_icp_py_core_signature_is_refused(signed, root_key_der) -> None:
    for name, _kind, body, _rid in _cases(signed):
        if name == "anonymous":
            continue
        envelope = dict(cbor.decode(body))
        envelope["sender_sig"] = bytes([envelope["sender_sig"][0] ^ 1]) + envelope["sender_sig"][1:]
        with pytest.raises(AuthenticationError):
            authenticate(
                decode_envelope(cbor.encode(envelope)),
                signed["now_ns"],
                root_public_key_der=root_key_der,
            )


def test_tampered_icp_py_core_delegation_is_refused(signed, root_key_der) -> None:
    body, _rid = signed["identities"]["delegate-2"]["call"]
    envelope = dict(cbor.decode(body))
    first = dict(envelope["sender_delegation"][0])
    first["delegation"] = {
        **first["delegation"],
        "expiration": first["delegation"]["expiration"] + 1,
    }
    envelope["sender_delegation"] = [first, *envelope["sender_delegation"][1:]]
    with pytest.raises(AuthenticationError):
        authenticate(
            decode_envelope(cbor.encode(envelope)),
            signed["now_ns"],
            root_public_key_der=root_key_der,
        )
