"""ECDSA P-256 / secp256k1 with SHA-256: raw r·s signatures, high S accepted like the IC."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from replica_core.crypto import ecdsa
from replica_core.crypto.der import KeyScheme
from replica_core.crypto.signers import EcdsaSigner, Ed25519Signer
from replica_core.errors import InvalidSignature

PAYLOAD = b"\x0aic-request" + bytes(range(32))
CURVES = {
    "p256": (EcdsaSigner.p256, ecdsa.verify_p256, ecdsa.P256_ORDER),
    "secp256k1": (EcdsaSigner.secp256k1, ecdsa.verify_secp256k1, ecdsa.SECP256K1_ORDER),
}


@pytest.fixture(scope="module", params=sorted(CURVES))
def curve(request):
    make, verify_curve, order = CURVES[request.param]
    return make(), verify_curve, order


def test_raw_r_s_signature_verifies_under_der_key(curve):
    signer, verify_curve, _ = curve
    sig = signer.sign(PAYLOAD)
    assert len(sig) == 64
    ecdsa.verify(signer.public_key_der, PAYLOAD, sig)
    verify_curve(signer.public_key_der, PAYLOAD, sig)


def test_raw_compressed_and_uncompressed_points_are_accepted(curve):
    signer, verify_curve, _ = curve
    sig = signer.sign(PAYLOAD)
    public = signer.private_key.public_key()
    for fmt in (PublicFormat.CompressedPoint, PublicFormat.UncompressedPoint):
        verify_curve(public.public_bytes(Encoding.X962, fmt), PAYLOAD, sig)


def test_high_s_signature_is_accepted_as_the_replica_does(curve):
    signer, verify_curve, order = curve
    sig = signer.sign(PAYLOAD)
    s = int.from_bytes(sig[32:], "big")
    flipped = sig[:32] + (order - s).to_bytes(32, "big")
    verify_curve(signer.public_key_der, PAYLOAD, sig)
    verify_curve(signer.public_key_der, PAYLOAD, flipped)


def test_modified_payload_is_rejected(curve):
    signer, verify_curve, _ = curve
    with pytest.raises(InvalidSignature, match="ECDSA signature verification failed"):
        verify_curve(signer.public_key_der, PAYLOAD + b"!", signer.sign(PAYLOAD))


def test_der_encoded_signature_is_rejected_as_the_ic_wants_r_s(curve):
    signer, verify_curve, _ = curve
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    der_sig = signer.private_key.sign(PAYLOAD, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature, match="expected 64"):
        verify_curve(signer.public_key_der, PAYLOAD, der_sig)


@pytest.mark.parametrize("which", ["r", "s"])
def test_zero_or_out_of_range_r_s_is_rejected(curve, which):
    signer, verify_curve, order = curve
    sig = signer.sign(PAYLOAD)
    for bad in (0, order):
        bad_bytes = bad.to_bytes(32, "big")
        forged = bad_bytes + sig[32:] if which == "r" else sig[:32] + bad_bytes
        with pytest.raises(InvalidSignature, match=r"outside \[1, n-1\]"):
            verify_curve(signer.public_key_der, PAYLOAD, forged)


def test_key_of_the_other_curve_is_rejected():
    p256 = EcdsaSigner.p256()
    with pytest.raises(InvalidSignature, match="expected a ecdsa_secp256k1 public key"):
        ecdsa.verify_secp256k1(p256.public_key_der, PAYLOAD, p256.sign(PAYLOAD))


def test_point_not_on_curve_is_rejected():
    with pytest.raises(InvalidSignature, match="invalid P-256 public key"):
        ecdsa.verify_p256(b"\x04" + bytes(64), PAYLOAD, bytes(64))


def test_non_ecdsa_der_key_and_unnamed_raw_curve_are_rejected():
    with pytest.raises(InvalidSignature, match="expected an ECDSA public key"):
        ecdsa.verify(Ed25519Signer().public_key_der, PAYLOAD, bytes(64))
    with pytest.raises(InvalidSignature, match="needs its curve named"):
        ecdsa.load_public_key(b"\x04" + bytes(64))
    assert ecdsa.load_public_key(EcdsaSigner.p256().public_key_der)[0] is KeyScheme.ECDSA_P256


def test_icp_py_core_secp256k1_identity_signature_verifies():
    from icp_identity import Identity

    identity = Identity(type="secp256k1")
    _, sig = identity.sign(PAYLOAD)
    ecdsa.verify(identity.der_pubkey, PAYLOAD, sig)
