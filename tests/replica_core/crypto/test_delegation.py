"""Delegation chains: length 0..20 accepted, 21 refused, expiry, signer, cycles, targets,
permissions, and an Internet Identity-style chain rooted in a canister signature."""

from __future__ import annotations

import pytest

from replica_core.crypto import bls
from replica_core.crypto.canister_sig import canister_sig_public_key, sign_with_canister
from replica_core.crypto.delegation import (
    DOMAIN_DELEGATION,
    MAX_DELEGATIONS,
    Delegation,
    SignedDelegation,
    verify_delegation_chain,
)
from replica_core.crypto.signers import EcdsaSigner, Ed25519Signer, WebAuthnSigner
from replica_core.errors import AuthenticationError, InvalidSignature
from replica_core.principal import Principal
from replica_core.request_id import hash_of_map

NOW = 1_700_000_000_000_000_000
LATER = NOW + 3600 * 10**9
C1, C2, C3 = (Principal.from_canister_index(i) for i in (1, 2, 3))


def link(signer, delegatee, *, expiration=LATER, targets=None, permissions=None):
    delegation = Delegation(
        pubkey=delegatee.public_key_der,
        expiration=expiration,
        targets=None if targets is None else tuple(targets),
        permissions=permissions,
    )
    return SignedDelegation(delegation, signer.sign(delegation.signed_payload()))


def chain_of(signers, **kwargs):
    return [link(a, b, **kwargs) for a, b in zip(signers, signers[1:], strict=False)]


def test_representation_hash_is_hash_of_map_with_targets_as_blob_array():
    d = Delegation(pubkey=b"pk", expiration=5, targets=(C1, C2), permissions="queries")
    assert d.representation_hash() == hash_of_map(
        {"pubkey": b"pk", "expiration": 5, "targets": [C1.raw, C2.raw], "permissions": "queries"}
    )
    assert Delegation(b"pk", 5).representation_hash() == hash_of_map(
        {"pubkey": b"pk", "expiration": 5}
    )
    assert d.signed_payload() == DOMAIN_DELEGATION + d.representation_hash()
    assert len(DOMAIN_DELEGATION) == 27


def test_empty_chain_returns_sender_key_unrestricted():
    sender = Ed25519Signer()
    result = verify_delegation_chain(sender.public_key_der, [], NOW)
    assert result.signing_key_der == sender.public_key_der
    assert result.targets is None and result.queries_only is False


def test_chain_of_one_mixed_schemes_and_three_links_return_the_last_key():
    signers = [Ed25519Signer(), EcdsaSigner.p256(), EcdsaSigner.secp256k1(), WebAuthnSigner.p256()]
    result = verify_delegation_chain(signers[0].public_key_der, chain_of(signers[:2]), NOW)
    assert result.signing_key_der == signers[1].public_key_der
    result = verify_delegation_chain(signers[0].public_key_der, chain_of(signers), NOW)
    assert result.signing_key_der == signers[3].public_key_der


def test_chain_of_twenty_is_accepted_and_twenty_one_refused():
    signers = [Ed25519Signer() for _ in range(MAX_DELEGATIONS + 2)]
    chain = chain_of(signers)
    assert len(chain) == 21
    result = verify_delegation_chain(signers[0].public_key_der, chain[:20], NOW)
    assert result.signing_key_der == signers[20].public_key_der
    with pytest.raises(AuthenticationError, match="got 21 delegations, but at most 20"):
        verify_delegation_chain(signers[0].public_key_der, chain, NOW)


def test_expired_link_is_refused_naming_it_and_expiry_equal_to_now_is_fine():
    a, b, c = Ed25519Signer(), Ed25519Signer(), Ed25519Signer()
    chain = [link(a, b), link(b, c, expiration=NOW - 1)]
    with pytest.raises(AuthenticationError, match="delegation 1 expired"):
        verify_delegation_chain(a.public_key_der, chain, NOW)
    verify_delegation_chain(a.public_key_der, [link(a, b, expiration=NOW)], NOW)


def test_link_signed_by_the_wrong_key_is_refused_naming_its_index():
    a, b, c, mallory = (Ed25519Signer() for _ in range(4))
    chain = [link(a, b), link(mallory, c)]
    with pytest.raises(InvalidSignature, match="Invalid delegation: delegation 1: Ed25519"):
        verify_delegation_chain(a.public_key_der, chain, NOW)


def test_tampered_delegation_fields_break_the_signature():
    a, b = Ed25519Signer(), Ed25519Signer()
    good = link(a, b, targets=[C1])
    widened = Delegation(good.delegation.pubkey, good.delegation.expiration, (C1, C2))
    with pytest.raises(InvalidSignature, match="delegation 0"):
        verify_delegation_chain(a.public_key_der, [SignedDelegation(widened, good.signature)], NOW)


@pytest.mark.parametrize("shape", ["self", "cycle"])
def test_repeated_public_key_is_refused(shape):
    a, b = Ed25519Signer(), Ed25519Signer()
    chain = [link(a, a)] if shape == "self" else [link(a, b), link(b, a)]
    with pytest.raises(AuthenticationError, match="contains at least one cycle"):
        verify_delegation_chain(a.public_key_der, chain, NOW)


def test_targets_are_intersected_along_the_chain():
    a, b, c, d = (Ed25519Signer() for _ in range(4))
    chain = [link(a, b, targets=[C1, C2]), link(b, c), link(c, d, targets=[C2, C3])]
    assert verify_delegation_chain(a.public_key_der, chain, NOW).targets == frozenset({C2})
    disjoint = [link(a, b, targets=[C1]), link(b, c, targets=[C3])]
    assert verify_delegation_chain(a.public_key_der, disjoint, NOW).targets == frozenset()


def test_more_than_1000_targets_are_refused_before_any_signature_check():
    a, b = Ed25519Signer(), Ed25519Signer()
    many = tuple(Principal.from_canister_index(i) for i in range(1001))
    chain = [SignedDelegation(Delegation(b.public_key_der, LATER, many), b"not checked")]
    with pytest.raises(AuthenticationError, match="at most 1000 targets .* has 1001"):
        verify_delegation_chain(a.public_key_der, chain, NOW)
    ok = link(a, b, targets=many[:1000])
    assert len(verify_delegation_chain(a.public_key_der, [ok], NOW).targets) == 1000


def test_queries_permission_marks_the_chain_queries_only_and_all_does_not():
    a, b, c = Ed25519Signer(), Ed25519Signer(), Ed25519Signer()
    result = verify_delegation_chain(
        a.public_key_der, [link(a, b, permissions="queries"), link(b, c, permissions="all")], NOW
    )
    assert result.queries_only is True
    result = verify_delegation_chain(a.public_key_der, [link(a, b, permissions="all")], NOW)
    assert result.queries_only is False


def test_unknown_permissions_value_invalidates_the_chain():
    a, b = Ed25519Signer(), Ed25519Signer()
    with pytest.raises(AuthenticationError, match="permissions 'updates'"):
        verify_delegation_chain(a.public_key_der, [link(a, b, permissions="updates")], NOW)


def test_internet_identity_chain_from_a_canister_signature_verifies_with_the_root_key():
    root = bls.KeyPair.from_seed(b"root" * 8)
    ii = Principal.from_canister_index(7)
    user_key = canister_sig_public_key(ii, b"anchor-10000")
    session = Ed25519Signer()
    delegation = Delegation(session.public_key_der, LATER, (C1,))
    signature = sign_with_canister(
        root.secret_key, ii, b"anchor-10000", delegation.signed_payload(), time_ns=NOW
    )
    chain = [SignedDelegation(delegation, signature)]
    result = verify_delegation_chain(user_key, chain, NOW, root_public_key_der=root.public_key_der)
    assert result.signing_key_der == session.public_key_der
    assert result.targets == frozenset({C1})
    with pytest.raises(InvalidSignature, match="needs the root public key"):
        verify_delegation_chain(user_key, chain, NOW)
    other_root = bls.KeyPair.from_seed(b"other" * 8)
    with pytest.raises(InvalidSignature, match="delegation 0: canister signature"):
        verify_delegation_chain(user_key, chain, NOW, root_public_key_der=other_root.public_key_der)
