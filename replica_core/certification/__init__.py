"""Certification: hash trees, certificates and subnet delegations.

Spec: IC interface spec 0.66.0, Certification.

Re-exports the public names of `hash_tree` and `certificate`; the CBOR helpers of hash
trees (`hash_tree.encode`/`decode`) stay qualified to avoid confusion with certificates.
"""

from __future__ import annotations

from replica_core.certification.certificate import (
    Certificate,
    Delegation,
    RangesForm,
    decode_canister_ranges,
    delegation_ranges,
    encode_canister_ranges,
    lookup,
    make_delegation,
    sign_tree,
    verify_certificate,
)
from replica_core.certification.hash_tree import (
    ABSENT,
    EMPTY,
    LOOKUP_ERROR,
    UNKNOWN,
    Absent,
    Empty,
    Fork,
    Found,
    HashTree,
    Labeled,
    LabeledTree,
    Leaf,
    LookupError,
    LookupResult,
    Pruned,
    Unknown,
    build,
    list_paths,
    lookup_all,
    lookup_path,
    lookup_subtree,
    prune,
    reconstruct,
    well_formed,
    witness,
)

__all__ = [
    "ABSENT",
    "EMPTY",
    "LOOKUP_ERROR",
    "UNKNOWN",
    "Absent",
    "Certificate",
    "Delegation",
    "Empty",
    "Fork",
    "Found",
    "HashTree",
    "Labeled",
    "LabeledTree",
    "Leaf",
    "LookupError",
    "LookupResult",
    "Pruned",
    "RangesForm",
    "Unknown",
    "build",
    "decode_canister_ranges",
    "delegation_ranges",
    "encode_canister_ranges",
    "list_paths",
    "lookup",
    "lookup_all",
    "lookup_path",
    "lookup_subtree",
    "make_delegation",
    "prune",
    "reconstruct",
    "sign_tree",
    "verify_certificate",
    "well_formed",
    "witness",
]
