"""Certificates built by icbox verify in @dfinity/agent 3.4.3's `Certificate.create`.

Spec: IC interface spec 0.66.0, Certification › Certificate, › Delegation (canister ranges),
› Lookup; The system state tree (`/time`, `/canister/<id>/certified_data`,
`/request_status/<id>/{status,reply}`); Canister signatures.

One node process (verify_certificate.mjs) checks every certificate case; each case also runs
through icbox's own `verify_certificate`, and both must agree. agent-js checks `/time`
against its clock (5 minutes either way), and, with a delegation, that the canister is in
`/subnet/<sid>/canister_ranges` of the delegation certificate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest

from replica_core import leb128
from replica_core.certification.certificate import (
    Certificate,
    make_delegation,
    sign_tree,
    verify_certificate,
)
from replica_core.certification.hash_tree import (
    Absent,
    Found,
    Unknown,
    build,
    lookup_path,
    reconstruct,
    witness,
)
from replica_core.crypto import bls
from replica_core.crypto.canister_sig import (
    canister_sig_public_key,
    sign_with_canister,
    verify_canister_signature,
)
from replica_core.errors import InvalidCertificate, InvalidSignature
from replica_core.principal import CanisterRange, Principal

MINUTE_NS = 60 * 1_000_000_000
CANISTER = Principal.from_canister_index(10)
OUTSIDE = Principal.from_canister_index(500)
SUBNET_ID = Principal.self_authenticating(b"subnet-der-key")
RANGES = [CanisterRange.of_indices(0, 99), CanisterRange.of_indices(200, 299)]
RID = bytes(range(32))
OTHER_RID = bytes(range(1, 33))
MISSING_RID = b"\xff" * 32
CERTIFIED_DATA = b"\xcd" * 32
REPLY = bytes.fromhex("4449444c0001710568656c6c6f")


@dataclass(frozen=True, slots=True)
class Case:
    """One certificate, the key/canister agent-js is given, and the expected outcome:
    `refusal` is None for a valid certificate, else a fragment of agent-js's error."""

    name: str
    certificate: bytes
    root_key_der: bytes
    canister: Principal
    refusal: str | None = None

    @property
    def valid(self) -> bool:
        return self.refusal is None


def _state(now_ns: int, reply: bytes = REPLY) -> dict[bytes, Any]:
    return {
        b"time": leb128.encode_unsigned(now_ns),
        b"canister": {
            CANISTER.raw: {b"certified_data": CERTIFIED_DATA, b"module_hash": b"\x01" * 32},
            OUTSIDE.raw: {b"certified_data": b"\x00" * 32},
        },
        b"request_status": {
            RID: {b"status": b"replied", b"reply": reply},
            OTHER_RID: {b"status": b"processing"},
        },
    }


PATHS = [
    [b"time"],
    [b"canister", CANISTER.raw, b"certified_data"],
    [b"request_status", RID, b"status"],
    [b"request_status", RID, b"reply"],
    [b"request_status", OTHER_RID, b"status"],
    [b"request_status", MISSING_RID, b"status"],
    [b"canister", CANISTER.raw, b"module_hash"],
]
WITNESSED = [[b"time"], [b"canister", CANISTER.raw, b"certified_data"], [b"request_status", RID]]
WITNESSED_MISSING = [[b"request_status", MISSING_RID]]


def _tree(now_ns: int, reply: bytes = REPLY) -> Any:
    return witness(build(_state(now_ns, reply)), WITNESSED + WITNESSED_MISSING)


@pytest.fixture(scope="module")
def keys() -> dict[str, bls.KeyPair]:
    return {
        "root": bls.KeyPair.from_seed(b"\x01" * 32),
        "subnet": bls.KeyPair.from_seed(b"\x02" * 32),
        "other": bls.KeyPair.from_seed(b"\x03" * 32),
    }


@pytest.fixture(scope="module")
def cases(keys) -> list[Case]:
    now = time.time_ns()
    root, subnet = keys["root"], keys["subnet"]
    delegation = make_delegation(root.secret_key, SUBNET_ID, subnet.public_key_der, RANGES, now)
    root_signed = sign_tree(_tree(now), root.secret_key).encode()
    delegated = sign_tree(_tree(now), subnet.secret_key, delegation)
    tampered = Certificate(_tree(now, reply=REPLY + b"\x00"), delegated.signature, delegation)
    stale = sign_tree(_tree(now - 10 * MINUTE_NS), root.secret_key).encode()
    future = sign_tree(_tree(now + 10 * MINUTE_NS), root.secret_key).encode()
    wrong_root = make_delegation(
        keys["other"].secret_key, SUBNET_ID, subnet.public_key_der, RANGES, now
    )
    root_der = root.public_key_der
    return [
        Case("root-signed", root_signed, root_der, CANISTER),
        Case("root-signed-any-canister", root_signed, root_der, OUTSIDE),
        Case("delegated", delegated.encode(), root_der, CANISTER),
        Case(
            "delegated-second-range",
            delegated.encode(),
            root_der,
            Principal.from_canister_index(250),
        ),
        Case("delegated-outside-ranges", delegated.encode(), root_der, OUTSIDE, "canister_ranges"),
        Case("tampered-reply", tampered.encode(), root_der, CANISTER, "Invalid signature"),
        Case(
            "wrong-root-key",
            root_signed,
            keys["other"].public_key_der,
            CANISTER,
            "Invalid signature",
        ),
        Case(
            "subnet-signed-without-delegation",
            sign_tree(_tree(now), subnet.secret_key).encode(),
            root_der,
            CANISTER,
            "Invalid signature",
        ),
        Case(
            "delegation-signed-by-another-root",
            sign_tree(_tree(now), subnet.secret_key, wrong_root).encode(),
            root_der,
            CANISTER,
            "Invalid signature",
        ),
        Case("stale-time", stale, root_der, CANISTER, "in the past"),
        Case("future-time", future, root_der, CANISTER, "in the future"),
    ]


# --- canister signatures (agent-js has no verifier: it checks only the certificate) ------


@pytest.fixture(scope="module")
def canister_sigs(keys) -> dict[str, Any]:
    from replica_core import cbor

    now = time.time_ns()
    root, subnet = keys["root"], keys["subnet"]
    seed, payload = b"anchor-10000", b"\x0aic-request" + RID
    delegation = make_delegation(root.secret_key, SUBNET_ID, subnet.public_key_der, RANGES, now)
    sigs = {
        "root": sign_with_canister(root.secret_key, CANISTER, seed, payload, time_ns=now),
        "delegated": sign_with_canister(
            subnet.secret_key, CANISTER, seed, payload, time_ns=now, delegation=delegation
        ),
    }
    return {
        "seed": seed,
        "payload": payload,
        "public_key": canister_sig_public_key(CANISTER, seed),
        "sigs": sigs,
        "certs": {name: cbor.decode(sig)["certificate"] for name, sig in sigs.items()},
        "trees": {name: cbor.decode(sig)["tree"] for name, sig in sigs.items()},
    }


SIG_CASE_PREFIX = "canister-sig-"


@pytest.fixture(scope="module")
def agent_js(run_node, cases, canister_sigs, keys) -> dict[str, dict[str, Any]]:
    """agent-js's verdicts and lookups by case name; the canister-signature certificates
    ride in the same node process as `canister-sig-<name>`."""
    batch = [(c.name, c.certificate, c.root_key_der, c.canister, PATHS) for c in cases] + [
        (
            SIG_CASE_PREFIX + name,
            cert,
            keys["root"].public_key_der,
            CANISTER,
            [[b"canister", CANISTER.raw, b"certified_data"]],
        )
        for name, cert in canister_sigs["certs"].items()
    ]
    payload = {
        "cases": [
            {
                "certificate": cert.hex(),
                "root_key": root_key.hex(),
                "canister_id": canister.to_text(),
                "paths": [[label.hex() for label in path] for path in paths],
            }
            for _name, cert, root_key, canister, paths in batch
        ]
    }
    results = run_node("verify_certificate.mjs", payload)["results"]
    return {item[0]: r for item, r in zip(batch, results, strict=True)}


def _ours_verifies(case: Case) -> bool:
    try:
        verify_certificate(
            case.certificate,
            case.root_key_der,
            effective_canister_id=case.canister,
            now=time.time_ns(),
            max_age_ns=5 * MINUTE_NS,
        )
    except InvalidCertificate:
        return False
    return True


def test_agent_js_verifies_exactly_the_valid_certificates(cases, agent_js) -> None:
    verdicts = {c.name: agent_js[c.name]["verified"] for c in cases}
    assert verdicts == {c.name: c.valid for c in cases}, {
        c.name: agent_js[c.name]["error"] for c in cases
    }


def test_icbox_verifier_agrees_with_agent_js(cases, agent_js) -> None:
    for case in cases:
        assert _ours_verifies(case) == agent_js[case.name]["verified"], case.name


def test_agent_js_refuses_each_invalid_certificate_for_the_expected_reason(cases, agent_js) -> None:
    for case in cases:
        if case.refusal is not None:
            assert case.refusal in agent_js[case.name]["error"], case.name


def _status(result: Any) -> str:
    if isinstance(result, Found):
        return "Found"
    if isinstance(result, Absent):
        return "Absent"
    if isinstance(result, Unknown):
        return "Unknown"
    return "Error"


def test_agent_js_lookups_return_our_values(cases, agent_js) -> None:
    for case in cases:
        if not case.valid:
            continue
        cert = Certificate.decode(case.certificate)
        lookups = agent_js[case.name]["lookups"]
        for path, theirs in zip(PATHS, lookups, strict=True):
            ours = lookup_path(path, cert.tree)
            assert theirs["status"] == _status(ours), (case.name, path)
            if isinstance(ours, Found):
                assert theirs["value"] == ours.value.hex(), (case.name, path)
        found = {tuple(p): r["value"] for p, r in zip(PATHS, lookups, strict=True)}
        assert found[(b"request_status", RID, b"reply")] == REPLY.hex()
        assert found[(b"request_status", RID, b"status")] == b"replied".hex()
        assert found[(b"canister", CANISTER.raw, b"certified_data")] == CERTIFIED_DATA.hex()


def test_witness_proves_absence_and_hides_the_rest(agent_js) -> None:
    """A requested but missing request id is Absent; unrequested ones are Unknown."""
    statuses = [r["status"] for r in agent_js["root-signed"]["lookups"]]
    by_path = dict(zip((tuple(p) for p in PATHS), statuses, strict=True))
    assert by_path[(b"request_status", MISSING_RID, b"status")] == "Absent"
    assert by_path[(b"request_status", OTHER_RID, b"status")] == "Unknown"
    assert by_path[(b"canister", CANISTER.raw, b"module_hash")] == "Unknown"


def test_canister_signature_verifies_in_icbox(canister_sigs, keys) -> None:
    for sig in canister_sigs["sigs"].values():
        verify_canister_signature(
            canister_sigs["public_key"], canister_sigs["payload"], sig, keys["root"].public_key_der
        )
        with pytest.raises(InvalidSignature):
            verify_canister_signature(
                canister_sigs["public_key"],
                canister_sigs["payload"] + b"\x00",
                sig,
                keys["root"].public_key_der,
            )
        with pytest.raises(InvalidSignature):
            verify_canister_signature(
                canister_sig_public_key(CANISTER, b"another seed"),
                canister_sigs["payload"],
                sig,
                keys["root"].public_key_der,
            )


def test_canister_signature_certificate_verifies_in_agent_js(canister_sigs, agent_js) -> None:
    from replica_core.certification.hash_tree import from_cbor_obj

    for name in canister_sigs["certs"]:
        result = agent_js[SIG_CASE_PREFIX + name]
        assert result["verified"], (name, result["error"])
        sig_tree_root = reconstruct(from_cbor_obj(canister_sigs["trees"][name]))
        assert result["lookups"] == [{"status": "Found", "value": sig_tree_root.hex()}]
