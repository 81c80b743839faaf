"""Principals: icbox's textual/binary forms agree with @dfinity/principal 3.4.3.

Spec: IC interface spec 0.66.0, Overview › Principals and › Textual representation.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from replica_core.errors import InvalidPrincipal
from replica_core.principal import Principal

VALID_BYTES = [
    b"",
    b"\x04",
    b"\x00" * 8 + b"\x01\x01",
    (2).to_bytes(8, "big") + b"\x01\x01",
    (2**64 - 1).to_bytes(8, "big") + b"\x01\x01",
    b"\xaa",
    bytes(range(29)),
    b"\xff" * 29,
    hashlib.sha224(b"some key").digest() + b"\x02",
    bytes(range(1, 17)),
]
INVALID_TEXTS = [
    "",
    "RYJL3-tyaaa-aaaaa-aaaba-cai",  # uppercase
    "ryjl3-tyaaa-aaaaa-aaaba-caa",  # wrong checksum
    "ryjl3tyaaaaaaaaaaabacai",  # no dashes
    "ryjl3-tyaaa-aaaaa-aaaba-ca1",  # '1' is not base32
    "ryjl-3tyaaa-aaaaa-aaaba-cai",  # wrong grouping
    "aaaaa-aa-",
]


def _der_keys() -> list[bytes]:
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return [
        ed25519.Ed25519PrivateKey.from_private_bytes(bytes([i]) * 32)
        .public_key()
        .public_bytes(*spki)
        for i in range(1, 4)
    ] + [
        ec.derive_private_key(7 + i, curve).public_key().public_bytes(*spki)
        for i, curve in enumerate((ec.SECP256K1(), ec.SECP256R1()))
    ]


@pytest.fixture(scope="module")
def agent_js(run_node) -> dict[str, Any]:
    valid_texts = [Principal(raw).to_text() for raw in VALID_BYTES]
    payload = {
        "texts": valid_texts + INVALID_TEXTS,
        "bytes": [raw.hex() for raw in VALID_BYTES],
        "der_keys": [der.hex() for der in _der_keys()],
    }
    return run_node("gen_principals.mjs", payload)


def test_our_text_parses_in_agent_js_to_the_same_bytes(agent_js) -> None:
    for raw, out in zip(VALID_BYTES, agent_js["from_text"][: len(VALID_BYTES)], strict=True):
        assert out == {"bytes": raw.hex(), "text": Principal(raw).to_text()}


def test_agent_js_text_of_bytes_parses_in_icbox_to_the_same_bytes(agent_js) -> None:
    for raw, out in zip(VALID_BYTES, agent_js["from_bytes"], strict=True):
        assert Principal.from_text(out["text"]).raw == raw
        assert Principal(raw).to_text() == out["text"]


def test_invalid_texts_are_refused_by_both(agent_js) -> None:
    refused_by_agent_js = agent_js["from_text"][len(VALID_BYTES) :]
    assert len(refused_by_agent_js) == len(INVALID_TEXTS)
    for text, out in zip(INVALID_TEXTS, refused_by_agent_js, strict=True):
        assert "error" in out, f"agent-js accepted {text!r}"
        with pytest.raises(InvalidPrincipal):
            Principal.from_text(text)


def test_self_authenticating_ids_of_the_same_der_key_agree(agent_js) -> None:
    for der, out in zip(_der_keys(), agent_js["self_authenticating"], strict=True):
        ours = Principal.self_authenticating(der)
        assert ours.raw.hex() == out["bytes"]
        assert ours.to_text() == out["text"]
        assert ours.is_self_authenticating


def test_anonymous_and_management_canister_agree(agent_js) -> None:
    assert agent_js["anonymous"] == {
        "bytes": Principal.anonymous().raw.hex(),
        "text": Principal.anonymous().to_text(),
    }
    assert agent_js["management_canister"] == {
        "bytes": Principal.management_canister().raw.hex(),
        "text": Principal.management_canister().to_text(),
    }
