"""Signature schemes of user requests and certificates, one module per scheme.

Spec: IC interface spec 0.66.0, Overview › Signatures.

Re-exports the entry points of request authentication; the scheme modules (`ed25519`,
`ecdsa`, `webauthn`, `canister_sig`, `bls`) and `delegation`, `der`, `signers` stay qualified.
"""

from __future__ import annotations

from replica_core.crypto.der import KeyScheme, parse_public_key
from replica_core.crypto.signature import verify_signature

__all__ = ["KeyScheme", "parse_public_key", "verify_signature"]
