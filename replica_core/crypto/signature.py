"""Verify a user signature under any DER public key the IC accepts: one dispatch table.

Spec: IC interface spec 0.66.0, Overview › Signatures; HTTPS interface › Authentication.

The scheme is read from the key's DER algorithm identifier (`der.parse_public_key`) and the
matching module verifies. Request and delegation signatures may use Ed25519, ECDSA P-256,
ECDSA secp256k1, WebAuthn or canister signatures; BLS keys only sign certificates and are
refused here. Canister signatures need the root public key (the IC's root of trust); it is
only looked at when a canister-signature key is involved, as in the replica.
"""

from __future__ import annotations

from replica_core.crypto import ecdsa, ed25519, webauthn
from replica_core.crypto.der import KeyScheme, parse_public_key
from replica_core.errors import InvalidSignature

__all__ = ["USER_KEY_SCHEMES", "verify_signature"]

USER_KEY_SCHEMES = frozenset(
    {
        KeyScheme.ED25519,
        KeyScheme.ECDSA_P256,
        KeyScheme.ECDSA_SECP256K1,
        KeyScheme.WEBAUTHN,
        KeyScheme.CANISTER_SIG,
    }
)
"""Schemes a user (sender or delegation) key may use."""


def verify_signature(
    public_key_der: bytes,
    payload: bytes,
    signature: bytes,
    *,
    root_public_key_der: bytes | None = None,
) -> None:
    """Check `signature` on `payload` (domain separator · message) under `public_key_der`.

    Raises `InvalidSignature` naming the scheme and the failed check.
    """
    if not isinstance(signature, bytes):
        raise InvalidSignature(f"signature must be a blob, not {type(signature).__name__}")
    scheme, key = parse_public_key(public_key_der)
    if scheme is KeyScheme.ED25519:
        ed25519.verify(key, payload, signature)
    elif scheme is KeyScheme.ECDSA_P256:
        ecdsa.verify_p256(key, payload, signature)
    elif scheme is KeyScheme.ECDSA_SECP256K1:
        ecdsa.verify_secp256k1(key, payload, signature)
    elif scheme is KeyScheme.WEBAUTHN:
        webauthn.verify_cose(key, payload, signature)
    elif scheme is KeyScheme.CANISTER_SIG:
        if root_public_key_der is None:
            raise InvalidSignature("a canister signature needs the root public key to verify")
        # Imported here: canister signatures pull in certificates and BLS, which plain
        # signature users never need.
        from replica_core.crypto.canister_sig import verify_canister_signature

        verify_canister_signature(public_key_der, payload, signature, root_public_key_der)
    else:
        raise InvalidSignature(f"{scheme} keys cannot sign requests or delegations")
