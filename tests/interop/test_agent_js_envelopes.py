"""Envelopes signed by @dfinity/agent 3.4.3 decode and authenticate in icbox.

Spec: IC interface spec 0.66.0, HTTPS interface › Request ids, › Authentication
(signatures, delegations and their `targets`, ingress expiry).

One node process (gen_envelopes.mjs) signs call, query and read_state requests through a
real `HttpAgent` for Ed25519, secp256k1, P-256, anonymous and delegated identities.
"""

from __future__ import annotations

from typing import Any

import pytest

from replica_core import cbor
from replica_core.authentication import authenticate, check_target
from replica_core.crypto import bls
from replica_core.envelope import CallContent, QueryContent, ReadStateContent, decode_envelope
from replica_core.errors import AuthenticationError
from replica_core.principal import Principal
from replica_core.request_id import request_id

CANISTER = Principal.from_canister_index(1)
OTHER_CANISTER = Principal.from_canister_index(2)
MS = 1_000_000


def _seed(i: int) -> str:
    return (bytes([i]) * 32).hex()


IDENTITIES: list[dict[str, Any]] = [
    {"name": "ed25519", "kind": "ed25519", "seed": _seed(1)},
    {"name": "secp256k1", "kind": "secp256k1", "seed": _seed(2)},
    {"name": "p256", "kind": "ecdsa"},
    {"name": "anonymous", "kind": "anonymous"},
    {
        "name": "delegation-1",
        "kind": "delegation",
        "root": {"kind": "ed25519", "seed": _seed(3)},
        "links": [{"kind": "secp256k1", "seed": _seed(4)}],
    },
    {
        "name": "delegation-3",
        "kind": "delegation",
        "root": {"kind": "secp256k1", "seed": _seed(5)},
        "links": [
            {"kind": "ed25519", "seed": _seed(6)},
            {"kind": "ecdsa"},
            {"kind": "ed25519", "seed": _seed(7)},
        ],
    },
    {
        "name": "delegation-targets",
        "kind": "delegation",
        "root": {"kind": "ed25519", "seed": _seed(8)},
        "links": [
            {"kind": "ed25519", "seed": _seed(9), "targets": [CANISTER.to_text()]},
            {"kind": "secp256k1", "seed": _seed(10)},
        ],
    },
    {
        "name": "delegation-elsewhere",
        "kind": "delegation",
        "root": {"kind": "ed25519", "seed": _seed(11)},
        "links": [{"kind": "ed25519", "seed": _seed(12), "targets": [OTHER_CANISTER.to_text()]}],
    },
]
KINDS = ("call", "query", "read_state")
CONTENT_TYPES = {"call": CallContent, "query": QueryContent, "read_state": ReadStateContent}


@pytest.fixture(scope="module")
def agent_js(run_node) -> dict[str, Any]:
    payload = {
        "canister_id": CANISTER.to_text(),
        "method_name": "greet",
        "arg": "4449444c0001710568656c6c6f",
        "paths": [["74696d65"], ["726571756573745f737461747573", "00" * 32]],
        "identities": IDENTITIES,
    }
    out = run_node("gen_envelopes.mjs", payload)
    out["by_name"] = {ident["name"]: ident for ident in out["identities"]}
    return out


@pytest.fixture(scope="module")
def root_key_der() -> bytes:
    return bls.der_encode_public_key(bls.public_key(bls.keygen(b"\x07" * 32)))


def _cases(agent_js: dict[str, Any], names: list[str] | None = None) -> list[tuple]:
    return [
        (ident, kind, bytes.fromhex(ident["envelopes"][kind]["body"]))
        for ident in agent_js["identities"]
        if names is None or ident["name"] in names
        for kind in KINDS
    ]


def _now_ns(agent_js: dict[str, Any]) -> int:
    return agent_js["now_ms"] * MS


def _tamper(body: bytes, mutate) -> bytes:
    envelope = cbor.decode(body)
    inner = {k: (dict(v) if isinstance(v, dict) else v) for k, v in dict(envelope).items()}
    mutate(inner)
    return cbor.encode(inner)


def test_agent_js_envelopes_decode_with_the_right_content_kind(agent_js) -> None:
    for ident, kind, body in _cases(agent_js):
        envelope = decode_envelope(body)
        assert isinstance(envelope.content, CONTENT_TYPES[kind]), (ident["name"], kind)
        assert envelope.content.sender.to_text() == ident["sender"]
        if kind != "read_state":
            assert envelope.content.canister_id == CANISTER
            assert envelope.content.method_name == "greet"
            assert envelope.content.arg == bytes.fromhex("4449444c0001710568656c6c6f")
        else:
            assert [list(p) for p in envelope.content.paths] == [
                [b"time"],
                [b"request_status", bytes(32)],
            ]


def test_call_envelopes_carry_the_agent_nonce_and_minute_rounded_expiry(agent_js) -> None:
    for _ident, kind, body in _cases(agent_js):
        content = decode_envelope(body).content
        if kind == "call":
            assert content.nonce is not None and len(content.nonce) == 16
        else:
            assert content.nonce is None
        # agent-js rounds now + 5 min down to a whole minute (or second)
        assert content.ingress_expiry % (1000 * MS) == 0
        assert _now_ns(agent_js) < content.ingress_expiry <= _now_ns(agent_js) + 5 * 60_000 * MS


def test_request_id_equals_agent_js_request_id_of(agent_js) -> None:
    for ident, kind, body in _cases(agent_js):
        envelope = decode_envelope(body)
        expected = ident["envelopes"][kind]["request_id"]
        assert envelope.content.request_id.hex() == expected, (ident["name"], kind)
        # agent-js's requestIdOf over the content as it went on the wire agrees too
        assert ident["envelopes"][kind]["content_request_id"] == expected
        content_map = cbor.decode(body)["content"]
        assert request_id(content_map).hex() == expected


def test_every_agent_js_identity_authenticates_as_its_principal(agent_js, root_key_der) -> None:
    names = [i["name"] for i in IDENTITIES if i["name"] != "delegation-elsewhere"]
    for ident, kind, body in _cases(agent_js, names):
        auth = authenticate(
            decode_envelope(body), _now_ns(agent_js), root_public_key_der=root_key_der
        )
        assert auth.sender.to_text() == ident["sender"], (ident["name"], kind)
        if ident["kind"] == "anonymous":
            assert auth.sender == Principal.anonymous()
        elif ident["kind"] != "delegation":
            assert auth.sender == Principal.self_authenticating(bytes.fromhex(ident["public_key"]))


def test_delegation_chain_links_match_what_agent_js_sent(agent_js) -> None:
    ident = agent_js["by_name"]["delegation-3"]
    envelope = decode_envelope(bytes.fromhex(ident["envelopes"]["call"]["body"]))
    assert envelope.sender_delegation is not None
    assert len(envelope.sender_delegation) == 3 == len(ident["delegations"])
    for ours, theirs in zip(envelope.sender_delegation, ident["delegations"], strict=True):
        assert ours.delegation.pubkey.hex() == theirs["pubkey"]
        assert ours.delegation.expiration == int(theirs["expiration"])


def test_tampered_signature_is_refused(agent_js, root_key_der) -> None:
    def flip_sig(env: dict) -> None:
        sig = bytearray(env["sender_sig"])
        sig[-1] ^= 0x01
        env["sender_sig"] = bytes(sig)

    signed = [i["name"] for i in IDENTITIES if i["kind"] != "anonymous"]
    for _ident, _kind, body in _cases(agent_js, signed):
        with pytest.raises(AuthenticationError):
            authenticate(
                decode_envelope(_tamper(body, flip_sig)),
                _now_ns(agent_js),
                root_public_key_der=root_key_der,
            )


def test_tampered_arg_changes_the_request_id_and_is_refused(agent_js, root_key_der) -> None:
    def change_arg(env: dict) -> None:
        env["content"]["arg"] = bytes.fromhex("4449444c0001710568656c6c70")

    signed = [i["name"] for i in IDENTITIES if i["kind"] != "anonymous"]
    for ident in agent_js["identities"]:
        if ident["name"] not in signed:
            continue
        for kind in ("call", "query"):
            tampered = decode_envelope(
                _tamper(bytes.fromhex(ident["envelopes"][kind]["body"]), change_arg)
            )
            assert tampered.content.request_id.hex() != ident["envelopes"][kind]["request_id"]
            with pytest.raises(AuthenticationError):
                authenticate(tampered, _now_ns(agent_js), root_public_key_der=root_key_der)


def test_anonymous_envelope_with_a_foreign_signature_is_refused(agent_js, root_key_der) -> None:
    signer = agent_js["by_name"]["ed25519"]["envelopes"]["call"]["body"]
    foreign = cbor.decode(bytes.fromhex(signer))

    def add_sig(env: dict) -> None:
        env["sender_pubkey"] = foreign["sender_pubkey"]
        env["sender_sig"] = foreign["sender_sig"]

    body = bytes.fromhex(agent_js["by_name"]["anonymous"]["envelopes"]["call"]["body"])
    with pytest.raises(AuthenticationError):
        authenticate(
            decode_envelope(_tamper(body, add_sig)),
            _now_ns(agent_js),
            root_public_key_der=root_key_der,
        )


def test_expired_agent_js_envelope_is_refused(agent_js, root_key_der) -> None:
    ident = agent_js["by_name"]["ed25519"]
    envelope = decode_envelope(bytes.fromhex(ident["envelopes"]["call"]["body"]))
    later = envelope.content.ingress_expiry + 1
    with pytest.raises(AuthenticationError, match="ingress_expiry"):
        authenticate(envelope, later, root_public_key_der=root_key_der)


def test_delegation_targets_admit_the_target_and_refuse_another_canister(
    agent_js, root_key_der
) -> None:
    ident = agent_js["by_name"]["delegation-targets"]
    for kind in KINDS:
        envelope = decode_envelope(bytes.fromhex(ident["envelopes"][kind]["body"]))
        auth = authenticate(envelope, _now_ns(agent_js), root_public_key_der=root_key_der)
        assert auth.targets == frozenset({CANISTER})
        check_target(auth, CANISTER)
        with pytest.raises(AuthenticationError):
            check_target(auth, OTHER_CANISTER)


def test_call_to_a_canister_outside_the_delegation_targets_is_refused(
    agent_js, root_key_der
) -> None:
    ident = agent_js["by_name"]["delegation-elsewhere"]
    for kind in ("call", "query"):
        envelope = decode_envelope(bytes.fromhex(ident["envelopes"][kind]["body"]))
        with pytest.raises(AuthenticationError, match="target"):
            authenticate(envelope, _now_ns(agent_js), root_public_key_der=root_key_der)
    # read_state names no canister: authentication passes, the touched canister is checked
    envelope = decode_envelope(bytes.fromhex(ident["envelopes"]["read_state"]["body"]))
    auth = authenticate(envelope, _now_ns(agent_js), root_public_key_der=root_key_der)
    check_target(auth, OTHER_CANISTER)
    with pytest.raises(AuthenticationError):
        check_target(auth, CANISTER)
