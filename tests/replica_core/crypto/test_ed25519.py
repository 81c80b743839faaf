"""Ed25519 request signatures: DER and raw keys, wrong message/key/length rejected."""

from __future__ import annotations

import pytest

from replica_core.crypto import ed25519
from replica_core.crypto.signers import EcdsaSigner, Ed25519Signer
from replica_core.errors import InvalidSignature

PAYLOAD = b"\x0aic-request" + bytes(range(32))


@pytest.fixture(scope="module")
def signer() -> Ed25519Signer:
    return Ed25519Signer()


def test_signature_over_payload_verifies_with_der_and_raw_key(signer):
    sig = signer.sign(PAYLOAD)
    ed25519.verify(signer.public_key_der, PAYLOAD, sig)
    ed25519.verify(signer.public_key_der[12:], PAYLOAD, sig)


def test_icp_py_core_identity_signature_verifies():
    from icp_identity import Identity

    identity = Identity()
    _, sig = identity.sign(PAYLOAD)
    ed25519.verify(identity.der_pubkey, PAYLOAD, sig)


def test_modified_payload_is_rejected(signer):
    sig = signer.sign(PAYLOAD)
    with pytest.raises(InvalidSignature, match="Ed25519 signature verification failed"):
        ed25519.verify(signer.public_key_der, PAYLOAD + b"\x00", sig)


def test_signature_by_another_key_is_rejected(signer):
    with pytest.raises(InvalidSignature, match="verification failed"):
        ed25519.verify(signer.public_key_der, PAYLOAD, Ed25519Signer().sign(PAYLOAD))


@pytest.mark.parametrize("length", [0, 63, 65])
def test_signature_of_wrong_length_is_rejected(signer, length):
    with pytest.raises(InvalidSignature, match=f"{length} bytes, expected 64"):
        ed25519.verify(signer.public_key_der, PAYLOAD, bytes(length))


def test_non_ed25519_key_is_rejected():
    with pytest.raises(InvalidSignature, match="expected an Ed25519 public key"):
        ed25519.verify(EcdsaSigner.p256().public_key_der, PAYLOAD, bytes(64))
