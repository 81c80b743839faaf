"""Canister signatures: a canister "signs" by certifying a hash tree root as its data.

Spec: IC interface spec 0.66.0, Signatures › Canister signatures (public key DER with OID
1.3.6.1.4.1.56387.1.2, signature CBOR `55799({certificate, tree})`, verification);
Certification › Delegation (scoping by canister ranges).

`verify_canister_signature` raises `InvalidSignature` naming the failed check; certificate
and hash-tree errors are converted here. The builders (`signature_tree`,
`encode_canister_signature`, `sign_with_canister`) serve tests and canisters that issue
signatures (Internet Identity).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from replica_core import cbor, leb128
from replica_core.certification.certificate import (
    Certificate,
    Delegation,
    sign_tree,
    verify_certificate,
)
from replica_core.certification.hash_tree import (
    Found,
    HashTree,
    LabeledTree,
    Node,
    build,
    from_cbor_obj,
    lookup_path,
    reconstruct,
    to_cbor_obj,
    well_formed,
    witness,
)
from replica_core.crypto import der
from replica_core.errors import HashTreeError, InvalidCertificate, InvalidSignature, MalformedCbor
from replica_core.principal import Principal

__all__ = [
    "ALGORITHM_ID",
    "canister_sig_public_key",
    "encode_canister_signature",
    "parse_canister_sig_public_key",
    "sig_path",
    "sign_with_canister",
    "signature_tree",
    "verify_canister_signature",
]

ALGORITHM_ID = bytes.fromhex("300c060a2b0601040183b8430102")
"""(derived) DER AlgorithmIdentifier: SEQUENCE { OID 1.3.6.1.4.1.56387.1.2 }, no parameters."""

# --- public key ----------------------------------------------------------------------


def canister_sig_public_key(canister_id: Principal, seed: bytes) -> bytes:
    """The DER public key of `canister_id` with `seed`: BIT STRING `|id| · id · seed`."""
    return der.wrap_canister_sig_key(canister_id.raw, seed)


def parse_canister_sig_public_key(public_key_der: bytes) -> tuple[Principal, bytes]:
    """The signing canister and the seed inside a canister-signature DER public key.

    The AlgorithmIdentifier must be exactly `ALGORITHM_ID` (no parameters, not even NULL).
    """
    if not isinstance(public_key_der, bytes):
        raise InvalidSignature("canister signature public key must be bytes")
    algorithm, key = der.split_spki(public_key_der)
    if der.encode_tlv(der.TAG_SEQUENCE, algorithm) != ALGORITHM_ID:
        raise InvalidSignature("public key algorithm is not the canister signature OID")
    canister_id, seed = der.split_canister_sig_key(key)
    return Principal(canister_id), seed


# --- verification ---------------------------------------------------------------------


def sig_path(seed: bytes, payload: bytes) -> list[bytes]:
    """The path `["sig", SHA-256(seed), SHA-256(payload)]` holding the empty leaf."""
    return [b"sig", hashlib.sha256(seed).digest(), hashlib.sha256(payload).digest()]


def _decode_signature(signature: bytes) -> tuple[bytes, HashTree]:
    try:
        obj = cbor.decode(signature)
    except MalformedCbor as e:
        raise InvalidSignature(f"canister signature is not valid CBOR: {e}") from None
    if not isinstance(obj, Mapping):
        raise InvalidSignature("canister signature is not a CBOR map")
    certificate, tree = obj.get("certificate"), obj.get("tree")
    if not isinstance(certificate, bytes):
        raise InvalidSignature("canister signature lacks a certificate byte string")
    if tree is None:
        raise InvalidSignature("canister signature lacks a tree")
    try:
        return certificate, from_cbor_obj(tree)
    except HashTreeError as e:
        raise InvalidSignature(f"canister signature tree is malformed: {e}") from None


def verify_canister_signature(
    public_key_der: bytes, payload: bytes, signature: bytes, root_public_key_der: bytes
) -> None:
    """Check a canister signature over `payload` (domain separator · message).

    The certificate must verify under the root key (a delegation must cover the signing
    canister and reveal a subnet type other than `cloud_engine`), its
    `/canister/<id>/certified_data` must be the root of the signature tree, and that
    well-formed tree must hold the empty leaf at `sig/<h(seed)>/<h(payload)>`.
    """
    canister_id, seed = parse_canister_sig_public_key(public_key_der)
    cert_bytes, tree = _decode_signature(signature)
    try:
        cert = verify_certificate(
            cert_bytes, root_public_key_der, effective_canister_id=canister_id, ranges="any"
        )
    except InvalidCertificate as e:
        raise InvalidSignature(f"canister signature certificate: {e}") from None
    if cert.delegation is not None:
        _check_subnet_type(cert.delegation)
    certified = lookup_path([b"canister", canister_id.raw, b"certified_data"], cert.tree)
    if certified != Found(reconstruct(tree)):
        raise InvalidSignature(
            f"certified_data of canister {canister_id} is not the signature tree's root hash"
        )
    if not well_formed(tree):
        raise InvalidSignature("canister signature tree is not well formed")
    if lookup_path(sig_path(seed, payload), tree) != Found(b""):
        raise InvalidSignature(
            "canister signature tree has no empty leaf at sig/<h(seed)>/<h(payload)>"
        )


def _check_subnet_type(d: Delegation) -> None:
    inner = Certificate.decode(d.certificate)  # already parsed once by verify_certificate
    found = lookup_path([b"subnet", d.subnet_id.raw, b"type"], inner.tree)
    if not isinstance(found, Found):
        raise InvalidSignature(f"delegation certificate lacks the type of subnet {d.subnet_id}")
    if found.value == b"cloud_engine":
        raise InvalidSignature(f"subnet {d.subnet_id} is a cloud_engine subnet")


# --- building signatures ----------------------------------------------------------------


def signature_tree(entries: Iterable[tuple[bytes, bytes]]) -> LabeledTree:
    """The tree `sig/<h(seed)>/<h(payload)> → ""` for (seed, payload) pairs.

    A canister puts its root hash into its certified data, then hands out signatures
    with `witness(tree, [sig_path(seed, payload)])` as their tree.
    """
    by_seed: dict[bytes, dict[bytes | str, Node]] = {}
    for seed, payload in entries:
        _, seed_hash, payload_hash = sig_path(seed, payload)
        by_seed.setdefault(seed_hash, {})[payload_hash] = b""
    return LabeledTree({b"sig": dict(by_seed)})


def encode_canister_signature(certificate: bytes, tree: HashTree) -> bytes:
    """CBOR `55799({certificate, tree})`, the signature format."""
    return cbor.encode({"certificate": certificate, "tree": to_cbor_obj(tree)})


def sign_with_canister(
    secret_key: int,
    canister_id: Principal,
    seed: bytes,
    payload: bytes,
    *,
    time_ns: int = 0,
    delegation: Delegation | None = None,
) -> bytes:
    """A canister signature of `payload`, certified with `secret_key`.

    `secret_key` is the root key (no `delegation`) or the subnet key of `delegation`. The
    certificate reveals `/time` and `/canister/<id>/certified_data` = root of the
    signature tree.
    """
    sig_tree = signature_tree([(seed, payload)])
    state = build(
        {
            b"time": leb128.encode_unsigned(time_ns),
            b"canister": {canister_id.raw: {b"certified_data": sig_tree.root_hash}},
        }
    )
    cert = sign_tree(state, secret_key, delegation)
    return encode_canister_signature(cert.encode(), witness(sig_tree, [sig_path(seed, payload)]))
