"""Certificates: a hash tree signed with BLS by a subnet, optionally delegated by the root.

Spec: IC interface spec 0.66.0, Certification › Certificate (`verify_cert`), › Delegation
(`check_delegation`, `delegation_key`, scoping by canister ranges), › Encoding of
certificates; The system state tree › Subnet information, › Canister ranges, › Time.

`verify_certificate` raises `InvalidCertificate` naming the first check that failed; it
returns the parsed certificate so callers can look values up in it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from replica_core import cbor, leb128
from replica_core.certification import hash_tree
from replica_core.certification.hash_tree import (
    Found,
    HashTree,
    LabeledTree,
    LookupResult,
    Node,
    Path,
    cbor_bytes,
    from_cbor_obj,
    lookup_all,
    lookup_path,
    reconstruct,
)
from replica_core.crypto import bls
from replica_core.errors import HashTreeError, InvalidCertificate, InvalidPrincipal, MalformedCbor
from replica_core.principal import CanisterRange, Principal

__all__ = [
    "DOMAIN_STATE_ROOT",
    "Certificate",
    "Delegation",
    "RangesForm",
    "decode_canister_ranges",
    "delegation_ranges",
    "encode_canister_ranges",
    "lookup",
    "make_delegation",
    "sign_tree",
    "verify_certificate",
]

DOMAIN_STATE_ROOT = b"\x0dic-state-root"
"""Domain separator of the signed root hash: domain_sep("ic-state-root")."""

# CBOR pieces of an encoded certificate: tag 55799, a map of 2 or 3 entries, text keys.
_CERT_HEAD_2 = cbor.SELF_DESCRIBE_PREFIX + b"\xa2\x64tree"
_CERT_HEAD_3 = cbor.SELF_DESCRIBE_PREFIX + b"\xa3\x64tree"
_SIGNATURE_KEY = b"\x69signature"
_DELEGATION_KEY = b"\x6adelegation\xa2\x69subnet_id"
_CERTIFICATE_KEY = b"\x6bcertificate"

RangesForm = Literal["legacy", "sharded", "any"]
"""Where a delegation's canister ranges are read: `/subnet/<sid>/canister_ranges`
(legacy), `/canister_ranges/<sid>/*` (sharded), or sharded if present else legacy (any)."""


@dataclass(frozen=True, slots=True)
class Delegation:
    """A root-signed certificate (CBOR bytes) revealing a subnet's public key and ranges."""

    subnet_id: Principal
    certificate: bytes


@dataclass(frozen=True, slots=True)
class Certificate:
    """A hash tree, a BLS signature on its root hash, and an optional delegation."""

    tree: HashTree
    signature: bytes
    delegation: Delegation | None = None

    def encode(self) -> bytes:
        """CBOR `55799({tree, signature, ?delegation: {subnet_id, certificate}})`, written
        directly: the same bytes cbor2 gives for that map, in that key order."""
        parts = [
            _CERT_HEAD_3 if self.delegation is not None else _CERT_HEAD_2,
            hash_tree.encode(self.tree),
            _SIGNATURE_KEY,
            cbor_bytes(self.signature),
        ]
        if self.delegation is not None:
            parts += [
                _DELEGATION_KEY,
                cbor_bytes(self.delegation.subnet_id.raw),
                _CERTIFICATE_KEY,
                cbor_bytes(self.delegation.certificate),
            ]
        return b"".join(parts)

    @classmethod
    def decode(cls, data: bytes) -> Certificate:
        """Parse CBOR bytes; any malformed part raises `InvalidCertificate` saying which."""
        try:
            obj = cbor.decode(data)
        except MalformedCbor as e:
            raise InvalidCertificate(f"certificate is not valid CBOR: {e}") from None
        if not isinstance(obj, Mapping):
            raise InvalidCertificate("certificate is not a CBOR map")
        if "tree" not in obj or "signature" not in obj:
            raise InvalidCertificate("certificate lacks the tree or the signature field")
        try:
            tree = from_cbor_obj(obj["tree"])
        except HashTreeError as e:
            raise InvalidCertificate(f"certificate tree is malformed: {e}") from None
        signature = obj["signature"]
        if not isinstance(signature, bytes):
            raise InvalidCertificate("certificate signature is not a byte string")
        delegation = None
        if "delegation" in obj:
            d = obj["delegation"]
            if not isinstance(d, Mapping):
                raise InvalidCertificate("certificate delegation is not a CBOR map")
            subnet_id, inner = d.get("subnet_id"), d.get("certificate")
            if not isinstance(subnet_id, bytes) or not isinstance(inner, bytes):
                raise InvalidCertificate("delegation subnet_id and certificate must be bytes")
            try:
                delegation = Delegation(Principal(subnet_id), inner)
            except InvalidPrincipal as e:
                raise InvalidCertificate(f"delegation subnet_id is invalid: {e}") from None
        return cls(tree, signature, delegation)


def lookup(cert: Certificate, path: Path) -> LookupResult:
    """The spec's `lookup(path, cert)`: `lookup_path` on the certificate's tree."""
    return lookup_path(path, cert.tree)


def sign_tree(tree: HashTree, secret_key: int, delegation: Delegation | None = None) -> Certificate:
    """Certify a tree: BLS-sign `"\\x0dic-state-root" · reconstruct(tree)`."""
    return Certificate(
        tree, bls.sign(secret_key, DOMAIN_STATE_ROOT + reconstruct(tree)), delegation
    )


# --- canister ranges -----------------------------------------------------------------


def encode_canister_ranges(ranges: Sequence[CanisterRange]) -> bytes:
    """CBOR `55799([* [principal principal]])` of closed ranges."""
    return cbor.encode([[r.start.raw, r.end.raw] for r in ranges])


def decode_canister_ranges(blob: bytes) -> list[CanisterRange]:
    """Parse a canister ranges blob; malformed input raises `InvalidCertificate`."""
    try:
        obj = cbor.decode(blob)
    except MalformedCbor as e:
        raise InvalidCertificate(f"canister ranges are not valid CBOR: {e}") from None
    if not isinstance(obj, list | tuple):
        raise InvalidCertificate("canister ranges are not a CBOR array")
    out: list[CanisterRange] = []
    for item in obj:
        if (
            not isinstance(item, list | tuple)
            or len(item) != 2
            or not all(isinstance(p, bytes) for p in item)
        ):
            raise InvalidCertificate("a canister range is not a pair of principals")
        try:
            out.append(CanisterRange(Principal(item[0]), Principal(item[1])))
        except InvalidPrincipal as e:
            raise InvalidCertificate(f"invalid canister range: {e}") from None
    return out


def delegation_ranges(
    delegation_tree: HashTree, subnet_id: Principal, form: RangesForm
) -> list[CanisterRange]:
    """The canister ranges a delegation certificate grants to `subnet_id`."""
    sid = subnet_id.raw
    if form in ("sharded", "any"):
        shards = lookup_all([b"canister_ranges", sid], delegation_tree)
        if shards or form == "sharded":
            return [r for shard in shards for r in decode_canister_ranges(shard)]
    found = lookup_path([b"subnet", sid, b"canister_ranges"], delegation_tree)
    if not isinstance(found, Found):
        return []
    return decode_canister_ranges(found.value)


# --- verification --------------------------------------------------------------------


def _parse(cert: Certificate | bytes, what: str) -> Certificate:
    if isinstance(cert, Certificate):
        return cert
    try:
        return Certificate.decode(cert)
    except InvalidCertificate as e:
        raise InvalidCertificate(f"{what}: {e}") from None


def _check_signature(cert: Certificate, public_key: bytes, what: str) -> None:
    message = DOMAIN_STATE_ROOT + reconstruct(cert.tree)
    if not bls.verify(public_key, message, cert.signature):
        raise InvalidCertificate(f"{what} signature does not verify")


def verify_certificate(
    cert: Certificate | bytes,
    root_public_key_der: bytes,
    *,
    effective_canister_id: Principal | None = None,
    effective_subnet_id: Principal | None = None,
    ranges: RangesForm = "legacy",
    now: int | None = None,
    max_age_ns: int | None = None,
) -> Certificate:
    """Verify a certificate (`verify_cert` with `check_delegation`) and its scope.

    With a delegation: the delegation certificate must carry no delegation, verify under
    the root key and reveal `/subnet/<sid>/public_key`; an `effective_canister_id` must lie
    in the delegation's ranges (read per `ranges`), an `effective_subnet_id` must equal
    the delegation's subnet. With `max_age_ns` (and `now`), `/time` must be no older than
    that and no further in the future than that (client policy; spec suggests ~5 minutes).
    """
    cert = _parse(cert, "certificate")
    root_key = bls.der_decode_public_key(root_public_key_der)
    key = root_key
    d = cert.delegation
    if d is not None:
        key, inner = _delegation_key(d.certificate, d.subnet_id, root_key)
        if effective_canister_id is not None:
            granted = delegation_ranges(inner.tree, d.subnet_id, ranges)
            if not any(effective_canister_id in r for r in granted):
                raise InvalidCertificate(
                    f"canister {effective_canister_id} not in delegation ranges of subnet "
                    f"{d.subnet_id}"
                )
        if effective_subnet_id is not None and effective_subnet_id != d.subnet_id:
            raise InvalidCertificate(
                f"subnet {effective_subnet_id} does not match delegation subnet {d.subnet_id}"
            )
    _check_signature(cert, key, "certificate")
    if max_age_ns is not None:
        _check_time(cert, now, max_age_ns)
    return cert


@functools.lru_cache(maxsize=64)
def _delegation_key(
    certificate: bytes, subnet_id: Principal, root_key: bytes
) -> tuple[bytes, Certificate]:
    """The spec's `check_delegation` and `delegation_key`: (subnet key, delegation cert).

    (impl) Memoised: a subnet's delegation is the same bytes in every certificate it
    issues, and this is a pure function of its arguments (failures are not cached).
    """
    inner = _parse(certificate, "delegation certificate")
    if inner.delegation is not None:
        raise InvalidCertificate("delegation certificate has a delegation")
    _check_signature(inner, root_key, "delegation certificate")
    found = lookup(inner, [b"subnet", subnet_id.raw, b"public_key"])
    if not isinstance(found, Found):
        raise InvalidCertificate(f"subnet public key not found for subnet {subnet_id}")
    try:
        return bls.der_decode_public_key(found.value), inner
    except InvalidCertificate as e:
        raise InvalidCertificate(f"subnet public key of {subnet_id}: {e}") from None


def _check_time(cert: Certificate, now: int | None, max_age_ns: int) -> None:
    if now is None:
        raise ValueError("checking certificate freshness needs `now`")
    found = lookup(cert, [b"time"])
    if not isinstance(found, Found):
        raise InvalidCertificate("certificate has no /time")
    try:
        time, used = leb128.decode_unsigned(found.value)
    except (ValueError, IndexError) as e:
        raise InvalidCertificate(f"certificate /time is not LEB128: {e}") from None
    if used != len(found.value):
        raise InvalidCertificate("certificate /time has trailing bytes")
    if time < now - max_age_ns:
        raise InvalidCertificate(
            f"certificate is older than {max_age_ns} ns (time {time}, now {now})"
        )
    if time > now + max_age_ns:
        raise InvalidCertificate(
            f"certificate time is more than {max_age_ns} ns in the future (time {time}, now {now})"
        )


# --- building delegations --------------------------------------------------------------


def make_delegation(
    root_sk: int,
    subnet_id: Principal,
    subnet_pk_der: bytes,
    ranges: Sequence[CanisterRange],
    time_ns: int,
    *,
    subnet_type: str | None = "application",
) -> Delegation:
    """A root-signed delegation to a subnet, revealing its key, type and ranges.

    The tree holds `/time`, `/subnet/<sid>/public_key`, `/subnet/<sid>/type` (unless
    None), `/subnet/<sid>/canister_ranges` (legacy) and `/canister_ranges/<sid>/<first>`
    (one shard holding every range), so either ranges form verifies.
    """
    sid = subnet_id.raw
    blob = encode_canister_ranges(ranges)
    subnet: dict[bytes, Node] = {b"public_key": subnet_pk_der, b"canister_ranges": blob}
    if subnet_type is not None:
        subnet[b"type"] = subnet_type.encode()
    data: dict[bytes, Node] = {
        b"time": leb128.encode_unsigned(time_ns),
        b"subnet": {sid: subnet},
    }
    if ranges:
        data[b"canister_ranges"] = {sid: {ranges[0].start.raw: blob}}
    cert = sign_tree(LabeledTree(data).tree, root_sk)
    return Delegation(subnet_id, cert.encode())
