"""Authentication: verify_envelope (anonymous, signed, delegated, sender_info) and expiry."""

from __future__ import annotations

import pytest

from replica_core.authentication import (
    DOMAIN_SENDER_INFO,
    MAX_INGRESS_TTL_NS,
    PERMITTED_DRIFT_AT_VALIDATOR_NS,
    authenticate,
    check_target,
)
from replica_core.crypto import bls
from replica_core.crypto.canister_sig import canister_sig_public_key, sign_with_canister
from replica_core.crypto.signers import (
    EcdsaSigner,
    Ed25519Signer,
    WebAuthnSigner,
    build_envelope,
    delegate,
)
from replica_core.envelope import decode_envelope
from replica_core.errors import AuthenticationError, InvalidSignature
from replica_core.principal import Principal
from replica_core.request_id import DOMAIN_IC_REQUEST, request_id

NOW = 1_700_000_000_000_000_000
EXPIRY = NOW + 60 * 10**9
LATER = NOW + 3600 * 10**9
CANISTER = Principal.from_canister_index(1)
OTHER = Principal.from_canister_index(2)
ROOT = bls.KeyPair.from_seed(b"root" * 8)


def content(request_type="call", sender=b"\x04", **overrides):
    base = {"request_type": request_type, "sender": sender, "ingress_expiry": EXPIRY}
    if request_type == "read_state":
        base["paths"] = [[b"time"]]
    else:
        base |= {"canister_id": CANISTER.raw, "method_name": "m", "arg": b"DIDL\x00\x00"}
    return base | overrides


def auth(body, now=NOW):
    return authenticate(decode_envelope(body), now, root_public_key_der=ROOT.public_key_der)


@pytest.mark.parametrize(
    "make", [Ed25519Signer, EcdsaSigner.p256, EcdsaSigner.secp256k1, WebAuthnSigner.p256]
)
def test_signed_request_of_each_scheme_authenticates_its_sender(make):
    signer = make()
    result = auth(build_envelope(content(sender=signer.principal.raw), signer))
    assert result.sender == signer.principal and result.targets is None


def test_anonymous_request_without_signature_is_accepted():
    result = auth(build_envelope(content(), None))
    assert result.sender == Principal.anonymous() and result.targets is None


@pytest.mark.parametrize("field", ["sender_pubkey", "sender_sig", "sender_delegation"])
def test_anonymous_request_with_any_signature_field_is_refused(field):
    from replica_core import cbor

    value = [] if field == "sender_delegation" else b"x"
    body = cbor.encode({"content": content(), field: value})
    with pytest.raises(AuthenticationError, match="not allowed for the anonymous user"):
        auth(body)


def test_non_anonymous_sender_without_signature_is_refused():
    signer = Ed25519Signer()
    with pytest.raises(AuthenticationError, match="Missing signature from user"):
        auth(build_envelope(content(sender=signer.principal.raw), None))


def test_sender_not_derived_from_the_public_key_is_refused():
    signer, other = Ed25519Signer(), Ed25519Signer()
    with pytest.raises(AuthenticationError, match="does not match the public key"):
        auth(build_envelope(content(sender=other.principal.raw), signer))


def test_signature_over_another_request_is_refused():
    signer = Ed25519Signer()
    body = build_envelope(content(sender=signer.principal.raw), signer)
    env = decode_envelope(body)
    forged = decode_envelope(
        build_envelope(content(sender=signer.principal.raw, arg=b"DIDL\x00\x01"), signer)
    )
    from dataclasses import replace

    with pytest.raises(InvalidSignature, match="Invalid signature: Ed25519"):
        authenticate(replace(forged, sender_sig=env.sender_sig), NOW, root_public_key_der=b"unused")


def test_request_signature_covers_domain_separator_and_request_id():
    signer = Ed25519Signer()
    c = content(sender=signer.principal.raw)
    env = decode_envelope(build_envelope(c, signer))
    assert env.sender_sig == signer.sign(DOMAIN_IC_REQUEST + request_id(c))


def test_delegated_request_is_signed_by_the_last_key_and_limited_to_targets():
    user, session = Ed25519Signer(), Ed25519Signer()
    d = delegate(user, session.public_key_der, LATER, targets=[CANISTER, OTHER])
    result = auth(
        build_envelope(
            content(sender=user.principal.raw), user, delegations=[d], final_signer=session
        )
    )
    assert result.sender == user.principal
    assert result.targets == frozenset({CANISTER, OTHER})
    check_target(result, OTHER)
    with pytest.raises(AuthenticationError, match="is not one of the delegation targets"):
        check_target(result, Principal.from_canister_index(3))


def test_delegated_request_signed_by_the_first_key_is_refused():
    user, session = Ed25519Signer(), Ed25519Signer()
    d = delegate(user, session.public_key_der, LATER)
    with pytest.raises(InvalidSignature, match="Invalid signature"):
        auth(build_envelope(content(sender=user.principal.raw), user, delegations=[d]))


def test_call_to_a_canister_outside_the_targets_is_refused():
    user, session = Ed25519Signer(), Ed25519Signer()
    d = delegate(user, session.public_key_der, LATER, targets=[OTHER])
    body = build_envelope(
        content(sender=user.principal.raw), user, delegations=[d], final_signer=session
    )
    with pytest.raises(AuthenticationError, match=f"Canister {CANISTER} is not one of"):
        auth(body)


def test_queries_only_delegation_refuses_calls_but_allows_queries_and_read_state():
    user, session = Ed25519Signer(), Ed25519Signer()
    d = delegate(user, session.public_key_der, LATER, permissions="queries")
    for kind in ("query", "read_state"):
        c = content(kind, sender=user.principal.raw)
        auth(build_envelope(c, user, delegations=[d], final_signer=session))
    c = content("call", sender=user.principal.raw)
    with pytest.raises(AuthenticationError, match='permissions "queries" cannot authorize'):
        auth(build_envelope(c, user, delegations=[d], final_signer=session))


def test_expired_delegation_is_refused():
    user, session = Ed25519Signer(), Ed25519Signer()
    d = delegate(user, session.public_key_der, NOW - 1)
    c = content(sender=user.principal.raw)
    with pytest.raises(AuthenticationError, match="sender delegation has expired"):
        auth(build_envelope(c, user, delegations=[d], final_signer=session))


def test_ingress_expiry_window_is_now_to_five_minutes_plus_drift():
    signer = Ed25519Signer()
    latest = NOW + MAX_INGRESS_TTL_NS + PERMITTED_DRIFT_AT_VALIDATOR_NS
    for expiry in (NOW, latest):
        auth(build_envelope(content(sender=signer.principal.raw, ingress_expiry=expiry), signer))
    for expiry in (NOW - 1, latest + 1):
        body = build_envelope(content(sender=signer.principal.raw, ingress_expiry=expiry), signer)
        with pytest.raises(AuthenticationError, match="ingress_expiry not within expected range"):
            auth(body)


def test_anonymous_call_must_respect_expiry_but_anonymous_query_and_read_state_need_not():
    with pytest.raises(AuthenticationError, match="ingress_expiry"):
        auth(build_envelope(content("call", ingress_expiry=NOW - 1), None))
    for kind in ("query", "read_state"):
        for expiry in (0, NOW + 10 * MAX_INGRESS_TTL_NS):
            auth(build_envelope(content(kind, ingress_expiry=expiry), None))


def test_expiry_applies_to_signed_read_state():
    signer = Ed25519Signer()
    c = content("read_state", sender=signer.principal.raw, ingress_expiry=NOW - 1)
    with pytest.raises(AuthenticationError, match="ingress_expiry"):
        auth(build_envelope(c, signer))


# --- sender_info --------------------------------------------------------------------------

II = Principal.from_canister_index(7)
SEED = b"anchor-10000"


class CanisterSigner:
    """A canister-signature identity (as Internet Identity issues) signing via the root key."""

    public_key_der = canister_sig_public_key(II, SEED)
    principal = Principal.self_authenticating(public_key_der)

    def sign(self, payload: bytes) -> bytes:
        return sign_with_canister(ROOT.secret_key, II, SEED, payload, time_ns=NOW)


def sender_info(info=b"verified email", signer=II):
    sig = CanisterSigner().sign(DOMAIN_SENDER_INFO + info)
    return {"info": info, "signer": signer.raw, "sig": sig}


def test_canister_signed_request_with_sender_info_is_accepted_and_reported():
    signer = CanisterSigner()
    c = content(sender=signer.principal.raw, sender_info=sender_info())
    result = auth(build_envelope(c, signer))
    assert result.sender == signer.principal
    assert result.sender_info.info == b"verified email" and result.sender_info.signer == II


def test_sender_info_with_wrong_signer_or_signature_is_refused():
    signer = CanisterSigner()
    c = content(sender=signer.principal.raw, sender_info=sender_info(signer=CANISTER))
    with pytest.raises(AuthenticationError, match="is not the signing canister"):
        auth(build_envelope(c, signer))
    bad = sender_info() | {"info": b"forged"}
    c = content(sender=signer.principal.raw, sender_info=bad)
    with pytest.raises(InvalidSignature, match="Invalid sender_info signature"):
        auth(build_envelope(c, signer))


def test_sender_info_with_a_plain_key_or_anonymous_sender_is_refused():
    signer = Ed25519Signer()
    c = content(sender=signer.principal.raw, sender_info=sender_info())
    with pytest.raises(AuthenticationError, match="only allowed when sender_pubkey is a canister"):
        auth(build_envelope(c, signer))
    with pytest.raises(AuthenticationError, match="sender_info is not allowed for the anonymous"):
        auth(build_envelope(content(sender_info=sender_info()), None))
