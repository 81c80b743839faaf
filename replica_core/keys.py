"""Key material of the subnet: the root key, the subnet's BLS key and the node keys.

Spec: IC interface spec 0.66.0, Certification › Delegation (the root key signs a delegation
to the subnet key, which signs the state tree) and Certified state › `/subnet/<sid>/node`
(node Ed25519 public keys, DER per RFC 8410).

Everything is derived deterministically from one seed (impl), so a replica restarted with the
same seed (persisted next issue) has the same ids and keys and its old certificates still
verify. Ids: the subnet id and node ids are self-authenticating principals of their public
keys, as on the IC.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from replica_core.crypto import ed25519
from replica_core.crypto.bls import KeyPair
from replica_core.principal import Principal

__all__ = ["NodeKey", "SubnetKeys"]


def _derive(seed: bytes, purpose: str) -> bytes:
    return hashlib.sha256(b"icbox-key-derivation\x00" + purpose.encode() + b"\x00" + seed).digest()


@dataclass(frozen=True, slots=True)
class NodeKey:
    """One node's Ed25519 key: its id and DER public key."""

    node_id: Principal
    public_key_der: bytes
    private_key: Ed25519PrivateKey

    def sign(self, message: bytes) -> bytes:
        # libsodium: the same deterministic signature as `private_key.sign`, in ~60% the time
        return ed25519.sign(self.private_key, message)


@dataclass(frozen=True, slots=True)
class SubnetKeys:
    """The root key pair, the subnet key pair, the subnet id and the node keys."""

    root: KeyPair
    subnet: KeyPair
    subnet_id: Principal
    nodes: tuple[NodeKey, ...]

    @classmethod
    def from_seed(cls, seed: bytes, *, num_nodes: int = 1) -> SubnetKeys:
        """Derive all keys from `seed` (any length; the same seed gives the same keys)."""
        root = KeyPair.from_seed(_derive(seed, "root"))
        subnet = KeyPair.from_seed(_derive(seed, "subnet"))
        nodes = []
        for i in range(num_nodes):
            private = Ed25519PrivateKey.from_private_bytes(_derive(seed, f"node/{i}"))
            der = private.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            nodes.append(NodeKey(Principal.self_authenticating(der), der, private))
        return cls(root, subnet, Principal.self_authenticating(subnet.public_key_der), tuple(nodes))
