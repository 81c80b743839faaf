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


# --- libsodium (the verifier and node signer) against OpenSSL (`cryptography`) -------------


def _openssl_accepts(public_key_raw: bytes, payload: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature as OpenSslInvalid
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(public_key_raw).verify(signature, payload)
    except OpenSslInvalid:
        return False
    return True


def _sodium_accepts(public_key_raw: bytes, payload: bytes, signature: bytes) -> bool:
    try:
        ed25519.verify(public_key_raw, payload, signature)
    except InvalidSignature:
        return False
    return True


def test_libsodium_and_openssl_agree_on_honest_and_tampered_signatures():
    import random

    rng = random.Random(5)
    for i in range(40):
        signer = Ed25519Signer()
        raw = signer.public_key_der[12:]
        payload = PAYLOAD + rng.randbytes(i)
        sig = signer.sign(payload)
        tampered_sig = bytearray(sig)
        tampered_sig[rng.randrange(64)] ^= 1 << rng.randrange(8)
        cases = [
            (raw, payload, sig),
            (raw, payload + b"\x01", sig),
            (raw, payload, bytes(tampered_sig)),
            (Ed25519Signer().public_key_der[12:], payload, sig),
        ]
        for case in cases:
            assert _sodium_accepts(*case) == _openssl_accepts(*case), case


def test_non_canonical_s_is_rejected_by_both():
    # S + L (the group order) verifies the same equation but is not canonical (RFC 8032 5.1.7)
    order = 2**252 + 27742317777372353535851937790883648493
    signer = Ed25519Signer()
    raw = signer.public_key_der[12:]
    sig = signer.sign(PAYLOAD)
    s = int.from_bytes(sig[32:], "little") + order
    malleated = sig[:32] + s.to_bytes(32, "little")
    assert not _openssl_accepts(raw, PAYLOAD, malleated)
    assert not _sodium_accepts(raw, PAYLOAD, malleated)


def test_small_order_public_key_is_rejected():
    # the identity point (y = 1) as public key with signature (R = identity, S = 0): OpenSSL's
    # cofactorless check accepts it for every message; libsodium refuses small-order keys
    identity = (1).to_bytes(32, "little")
    forged = identity + bytes(32)
    assert not _sodium_accepts(identity, PAYLOAD, forged)


def test_node_signature_is_byte_identical_to_openssl_signature():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    for i in range(10):
        key = Ed25519PrivateKey.generate()
        message = PAYLOAD + bytes([i]) * i
        assert ed25519.sign(key, message) == key.sign(message)
