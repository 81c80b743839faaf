"""WebAuthn signatures: simulated authenticators (P-256, RSA, Ed25519) and real IC vectors.

The hex vectors are test data from dfinity/ic rs/validator/src/webauthn.rs (a YubiKey P-256
credential and a Windows Hello RSA credential signing the challenge b"hello").
"""

from __future__ import annotations

import base64
import hashlib
import json

import cbor2
import pytest
from webauthn.helpers import decode_credential_public_key, decoded_public_key_to_cryptography

from replica_core import cbor
from replica_core.crypto import webauthn
from replica_core.crypto.delegation import Delegation
from replica_core.crypto.der import wrap_cose_key
from replica_core.crypto.signers import Ed25519Signer, WebAuthnSigner
from replica_core.errors import InvalidSignature

PAYLOAD = b"\x0aic-request" + bytes(range(32))

IC_P256_KEY = bytes.fromhex(
    "305e300c060a2b0601040183b8430101034e00a5010203262001215820b487d183dc4806058eb31a29bede"
    "fd7bcca987b77a381a3684871d8449c183942258202a122cc711a80453678c3032de4b6fff2c86342e82d1"
    "e7adb617c4165c43ce5e"
)
IC_P256_SIG_HELLO = bytes.fromhex(
    "d9d9f7a37261757468656e74696361746f725f646174615825bfabc37432958b063360d3ad6461c9c4735a"
    "e7f8edd46592a5e0f01452b2e4b5010000000170636c69656e745f646174615f6a736f6e58517b2274797"
    "065223a2022776562617574686e2e676574222c20226368616c6c656e6765223a202261475673624738222"
    "c20226f726967696e223a202268747470733a2f2f6578616d706c652e6f7267227d697369676e61747572"
    "6558463044022063627c69661048fb111b13dec2f3675010493c1c276c6a144f44e1fabab01d300220517"
    "d3cbd70658933dab63fd23cf05f7274aea6afad206be04d4ec5e268b471d2"
)
IC_P256_SIG_DELEGATION = bytes.fromhex(
    "d9d9f7a37261757468656e74696361746f725f646174615825bfabc37432958b063360d3ad6461c9c4735a"
    "e7f8edd46592a5e0f01452b2e4b5010000000170636c69656e745f646174615f6a736f6e58997b2274797"
    "065223a2022776562617574686e2e676574222c20226368616c6c656e6765223a2022476d6c6a4c584a6c"
    "6358566c63335174595856306143316b5a57786c5a32463061573975624d7952313366786f724657673077"
    "5069346566504e774b562d7a76486467504868716649536d77677141222c20226f726967696e223a20226"
    "8747470733a2f2f6578616d706c652e6f7267227d697369676e617475726558483046022100d4b7541f3b"
    "1b61dd9c6f818f20f54f8b938fe222d88cca6700fabd82a522f13b022100c636b52dfd679b1f86eeb5fca"
    "ff360e70b57caa9fe186e1e77c42228eca49037"
)
IC_RSA_KEY = bytes.fromhex(
    "30820123300c060a2b0601040183b84301010382011100a401030339010020590100c6b690341eef02719f"
    "6d1dfce2db1f77ac9bd632ba70efcee92bae2073c09927ee3670a6696eec0cee96189ddb448d04ec4e4674"
    "e940af9f905e893b4ce25821ada8b45c6cd11f2ee0cda668c7c2a2a8a56d5e1f23f5ca0bb6e193c1d34ead"
    "16d84cc4b72e26763711fcf49fac3b508715dc9f494ec1379ed5a95c53b9b1edcc027d7013248bbe6d1e14"
    "45912a5a21b27168db7f60aa73253e981c33f54f61c67dbce3d9c10d5f0e6af1c112a65c8ce64a1d01ae1e"
    "31a53e3d4525addcece402f1e62208d42ebde528830f93bebc898901947ec0fb218a96a53968d07e09b8a0"
    "67e5a4c825632e24e450c4c9ef8138dcc91f9f9168a603c13bd4f2f8a0d3ee6b2143010001"
)
IC_RSA_SIG_HELLO = bytes.fromhex(
    "d9d9f7a3697369676e617475726559010001dac0ad9ee89c9b9d3f772bb8dd79bc16839a026bf437862978"
    "9bede8e5e284bce9c59e2c5b2fd5d8daff964d4eec1a43eb6f083595f1ce42c9f78445dba95146e3338680"
    "ca72f7720371d88d56ab6578a67f9791954787d54e4c5687bb0d3379a268dbaa9dc8dd550187953c349e10"
    "e454c0950cfeaf37c5f01ff09a5b581fb81de8bfe9be21a8baa5f96653fce6eaf485d8726e1f620454c145"
    "fa542756e7b606f1ab9439a081bb01fec8be7679c72e2ce110655a36a01bde34be7be9e6270334d9b3f242"
    "ff12852992eeb515b13989245d049500629a5ac38c40f09dd218e8e1a790d3034418b7c3b59a6ac73e91b5"
    "bf4cf7c62d8e6de2dbaf00117045c070636c69656e745f646174615f6a736f6e786a7b2274797065223a2"
    "2776562617574686e2e676574222c226368616c6c656e6765223a2261475673624738222c226f726967696"
    "e223a2268747470733a2f2f6333656634366165616437622e6e67726f6b2e696f222c2263726f73734f72"
    "6967696e223a66616c73657d7261757468656e74696361746f725f6461746158252f8ceaf48dec5b53d9dd"
    "acaaf8b66392ded1691211f24e687badad8049b59ef60500000001"
)


@pytest.fixture(scope="module", params=["p256", "rsa", "ed25519"])
def authenticator(request) -> WebAuthnSigner:
    return getattr(WebAuthnSigner, request.param)()


def _blob(signer: WebAuthnSigner, cdj: bytes, auth_data: bytes | None = None) -> bytes:
    auth_data = signer.authenticator_data if auth_data is None else auth_data
    return cbor.encode(
        {
            "authenticator_data": auth_data,
            "client_data_json": cdj.decode(),
            "signature": signer.sign_assertion(auth_data, cdj),
        }
    )


def test_real_yubikey_p256_assertion_from_the_ic_verifies():
    webauthn.verify(IC_P256_KEY, b"hello", IC_P256_SIG_HELLO)


def test_real_windows_hello_rsa_assertion_from_the_ic_verifies():
    webauthn.verify(IC_RSA_KEY, b"hello", IC_RSA_SIG_HELLO)


def test_real_assertion_over_a_delegation_uses_the_delegation_domain_separator():
    payload = Delegation(pubkey=b"\x01\x02\x03", expiration=0).signed_payload()
    assert payload.startswith(b"\x1aic-request-auth-delegation")
    webauthn.verify(IC_P256_KEY, payload, IC_P256_SIG_DELEGATION)


def test_real_assertion_for_another_challenge_is_rejected_naming_the_challenge():
    with pytest.raises(InvalidSignature, match="Challenge in webauthn is 0x68656c6c6f"):
        webauthn.verify(IC_P256_KEY, b"hellO", IC_P256_SIG_HELLO)


def test_simulated_authenticator_signature_verifies(authenticator):
    webauthn.verify(authenticator.public_key_der, PAYLOAD, authenticator.sign(PAYLOAD))


def test_client_data_json_as_bytes_and_untagged_cbor_are_accepted(authenticator):
    cdj = authenticator.client_data_json(PAYLOAD)
    blob = cbor.encode(
        {
            "authenticator_data": authenticator.authenticator_data,
            "client_data_json": cdj,
            "signature": authenticator.sign_assertion(authenticator.authenticator_data, cdj),
        },
        self_describe=False,
    )
    webauthn.verify(authenticator.public_key_der, PAYLOAD, blob)


def test_tampered_authenticator_data_is_rejected(authenticator):
    blob = cbor2.loads(authenticator.sign(PAYLOAD)[3:])
    blob["authenticator_data"] = blob["authenticator_data"][:-1] + b"\x02"
    with pytest.raises(InvalidSignature, match="WebAuthn signature verification failed"):
        webauthn.verify(authenticator.public_key_der, PAYLOAD, cbor.encode(blob))


def test_padded_challenge_is_tolerated_and_non_base64url_is_rejected():
    signer = WebAuthnSigner.p256()
    padded = base64.urlsafe_b64encode(PAYLOAD).decode()
    assert padded.endswith("=")
    cdj = json.dumps({"type": "webauthn.get", "challenge": padded, "origin": "x"}).encode()
    webauthn.verify(signer.public_key_der, PAYLOAD, _blob(signer, cdj))
    bad = "+/" + padded[2:]
    cdj = json.dumps({"type": "webauthn.get", "challenge": bad, "origin": "x"}).encode()
    with pytest.raises(InvalidSignature, match="not base64url"):
        webauthn.verify(signer.public_key_der, PAYLOAD, _blob(signer, cdj))


@pytest.mark.parametrize("missing", ["type", "challenge", "origin"])
def test_client_data_without_type_challenge_or_origin_is_rejected(missing):
    signer = WebAuthnSigner.p256()
    fields = json.loads(signer.client_data_json(PAYLOAD))
    del fields[missing]
    with pytest.raises(InvalidSignature, match=f"no string field '{missing}'"):
        webauthn.verify(signer.public_key_der, PAYLOAD, _blob(signer, json.dumps(fields).encode()))


def test_client_data_type_origin_and_short_authenticator_data_are_not_checked_like_the_ic():
    signer = WebAuthnSigner.p256()
    cdj = signer.client_data_json(PAYLOAD, type_="webauthn.create")
    webauthn.verify(signer.public_key_der, PAYLOAD, _blob(signer, cdj, auth_data=b"\x00" * 5))


def test_client_data_that_is_not_json_is_rejected():
    signer = WebAuthnSigner.p256()
    with pytest.raises(InvalidSignature, match="ClientDataJSON parsing failed"):
        webauthn.verify(signer.public_key_der, PAYLOAD, _blob(signer, b"not json"))


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"\xff", "CBOR parsing failed"),
        (cbor.encode([1, 2]), "not a CBOR map"),
        (cbor.encode({"authenticator_data": b"", "client_data_json": "{}"}), "'signature'"),
        (
            cbor.encode({"authenticator_data": 5, "client_data_json": "{}", "signature": b""}),
            "'authenticator_data' is missing or not a blob",
        ),
    ],
)
def test_malformed_signature_blob_is_rejected(blob, message):
    with pytest.raises(InvalidSignature, match=message):
        webauthn.verify(WebAuthnSigner.p256().public_key_der, PAYLOAD, blob)


def test_our_cose_keys_decode_to_the_same_key_as_py_webauthn(authenticator):
    ours = webauthn.load_cose_key(authenticator.cose_key)
    theirs = decoded_public_key_to_cryptography(
        decode_credential_public_key(authenticator.cose_key)
    )
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    spki = (Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert ours.public_bytes(*spki) == theirs.public_bytes(*spki)


@pytest.mark.parametrize(
    ("cose", "message"),
    [
        ({1: 2, 3: -35, -1: 2, -2: bytes(48), -3: bytes(48)}, "unsupported COSE public key"),
        ({3: -7, -1: 1}, "kty"),
        ({1: 2, 3: -7, -1: 2, -2: bytes(32), -3: bytes(32)}, "crv .* must be 1"),
        ({1: 2, 3: -7, -1: 1, -2: bytes(31), -3: bytes(32)}, "32-byte blobs"),
        ({1: 3, 3: -257, -1: b"\x01" * 128, -2: b"\x01\x00\x01"}, "modulus of 1017 bits"),
        ({1: 1, 3: -8, -1: 7, -2: bytes(32)}, "must be 6"),
        ({1: 2, 3: -7, 4: ["verify"], -1: 1, -2: bytes(32), -3: bytes(32)}, "key_ops"),
    ],
)
def test_unsupported_or_malformed_cose_keys_are_rejected(cose, message):
    with pytest.raises(InvalidSignature, match=message):
        webauthn.verify(wrap_cose_key(cbor2.dumps(cose)), PAYLOAD, b"")


def test_ed25519_webauthn_signature_must_be_64_bytes():
    signer = WebAuthnSigner.ed25519()
    cdj = signer.client_data_json(PAYLOAD)
    blob = cbor.encode(
        {"authenticator_data": b"a" * 37, "client_data_json": cdj.decode(), "signature": b"x"}
    )
    with pytest.raises(InvalidSignature, match="1 bytes, not 64"):
        webauthn.verify(signer.public_key_der, PAYLOAD, blob)


def test_plain_key_is_not_a_webauthn_key():
    with pytest.raises(InvalidSignature, match="expected a DER-wrapped COSE"):
        webauthn.verify(Ed25519Signer().public_key_der, PAYLOAD, b"")


def test_signed_bytes_are_authenticator_data_then_client_data_hash():
    sig = webauthn.decode_signature(IC_P256_SIG_HELLO)
    assert sig.signed_bytes() == (
        sig.authenticator_data + hashlib.sha256(sig.client_data_json).digest()
    )
