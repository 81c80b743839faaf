"""Signature verification rates of icbox's request authentication.

Setup: one key per scheme, payload `"\\x0aic-request" · 32-byte request id`; each case is
verified `N` times per run, the median of `RUNS` runs is reported as verifies/s and as a
ratio against raw `cryptography` Ed25519 verification (key object preloaded) measured in
the same process. The delegation case verifies a 3-link Ed25519 chain plus the request
signature by the last key (4 signature checks), as `authenticate` does.

Run: .venv/bin/python bench/signature_bench.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from replica_core.crypto.delegation import Delegation, SignedDelegation, verify_delegation_chain
from replica_core.crypto.signature import verify_signature
from replica_core.crypto.signers import EcdsaSigner, Ed25519Signer, WebAuthnSigner

N = 500
RUNS = 5
PAYLOAD = b"\x0aic-request" + bytes(range(32))
NOW = 1_700_000_000_000_000_000


def rate(fn: Callable[[], None]) -> float:
    fn()  # warm up
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        for _ in range(N):
            fn()
        times.append(time.perf_counter() - start)
    return N / statistics.median(times)


def main() -> None:
    raw_key = Ed25519PrivateKey.generate()
    raw_public, raw_sig = raw_key.public_key(), raw_key.sign(PAYLOAD)
    baseline = rate(lambda: raw_public.verify(raw_sig, PAYLOAD))

    cases: dict[str, Callable[[], None]] = {}
    for name, signer in [
        ("Ed25519 (DER)", Ed25519Signer()),
        ("ECDSA P-256", EcdsaSigner.p256()),
        ("ECDSA secp256k1", EcdsaSigner.secp256k1()),
        ("WebAuthn P-256", WebAuthnSigner.p256()),
        ("WebAuthn RSA-2048", WebAuthnSigner.rsa()),
        ("WebAuthn Ed25519", WebAuthnSigner.ed25519()),
    ]:
        der, sig = signer.public_key_der, signer.sign(PAYLOAD)
        cases[name] = lambda der=der, sig=sig: verify_signature(der, PAYLOAD, sig)

    keys = [Ed25519Signer() for _ in range(4)]
    chain = []
    for a, b in zip(keys, keys[1:], strict=False):
        d = Delegation(b.public_key_der, NOW + 10**12)
        chain.append(SignedDelegation(d, a.sign(d.signed_payload())))
    request_sig = keys[-1].sign(PAYLOAD)

    def delegated() -> None:
        result = verify_delegation_chain(keys[0].public_key_der, chain, NOW)
        verify_signature(result.signing_key_der, PAYLOAD, request_sig)

    cases["3-link delegation + request (4 sigs)"] = delegated

    print(f"{'case':40} {'verifies/s':>12} {'vs raw Ed25519':>15}")
    print(f"{'raw cryptography Ed25519 (baseline)':40} {baseline:12,.0f} {1:15.2f}")
    for name, fn in cases.items():
        r = rate(fn)
        print(f"{name:40} {r:12,.0f} {r / baseline:15.2f}")


if __name__ == "__main__":
    main()
