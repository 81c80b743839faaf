"""Certificates built by icbox pass icp-py-core 2.3.1's certificate checks and lookups.

Spec: IC interface spec 0.66.0, Certification › Certificate, › Delegation (canister ranges,
sharded `/canister_ranges/<sid>/<shard>` form), › Lookup; The system state tree.

icp-py-core verifies BLS through the SWIG `blst` binding, which is not on PyPI; this module
gives it a small stand-in named `blst` backed by pyblst (the same pairing check), and points
its `IC_ROOT_KEY` at the test root key, so `assert_certificate_valid` runs its own
delegation, canister-range and signature logic on our certificates.
"""

from __future__ import annotations

import sys
import time
import types
from typing import Any

import cbor2
import pyblst
import pytest
from icp_certificate import certificate as icp_cert_module
from icp_certificate.certificate import Certificate as IcpCertificate

from replica_core import leb128
from replica_core.certification.certificate import DOMAIN_STATE_ROOT, make_delegation, sign_tree
from replica_core.certification.hash_tree import build, reconstruct, witness
from replica_core.crypto import bls
from replica_core.principal import CanisterRange, Principal

CANISTER = Principal.from_canister_index(42)
OUTSIDE = Principal.from_canister_index(4242)
SUBNET_ID = Principal.self_authenticating(b"icp-py-core subnet")
RID = b"\x5a" * 32
REPLY = bytes.fromhex("4449444c0001710568656c6c6f")
CERTIFIED_DATA = b"\x42" * 32
BLST_SUCCESS = 0
G2_GENERATOR = pyblst.BlstP2Element.uncompress(
    bytes.fromhex(
        "93e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e"
        "024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8"
    )
)


class _P1Affine:
    """`blst.P1_Affine` stand-in: a compressed G1 signature, with min-sig `core_verify`."""

    def __init__(self, compressed: bytes) -> None:
        self.point = pyblst.BlstP1Element.uncompress(compressed)

    def core_verify(
        self, pk: _P2Affine, hash_or_encode: bool, msg: bytes, dst: bytes, aug: Any
    ) -> int:
        h = pyblst.BlstP1Element.hash_to_group(msg, dst)
        ok = pyblst.final_verify(
            pyblst.miller_loop(self.point, G2_GENERATOR), pyblst.miller_loop(h, pk.point)
        )
        return BLST_SUCCESS if ok else 1


class _P2Affine:
    """`blst.P2_Affine` stand-in: a compressed G2 public key."""

    def __init__(self, compressed: bytes) -> None:
        self.point = pyblst.BlstP2Element.uncompress(compressed)


class _Pairing:
    def __init__(self, *args: Any) -> None:
        raise RuntimeError("the pyblst stand-in only implements core_verify")


@pytest.fixture(scope="module")
def keys() -> dict[str, bls.KeyPair]:
    return {
        "root": bls.KeyPair.from_seed(b"\x21" * 32),
        "subnet": bls.KeyPair.from_seed(b"\x22" * 32),
    }


@pytest.fixture(scope="module")
def icp_with_blst(keys) -> Any:
    """icp_certificate with a pyblst-backed `blst` and the test root key."""
    shim = types.ModuleType("blst")
    shim.P1_Affine, shim.P2_Affine, shim.Pairing = _P1Affine, _P2Affine, _Pairing
    shim.BLST_SUCCESS = BLST_SUCCESS
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(sys.modules, "blst", shim)
        mp.setattr(icp_cert_module, "IC_ROOT_KEY", keys["root"].public_key_der)
        yield icp_cert_module


@pytest.fixture(scope="module")
def certificates(keys) -> dict[str, Any]:
    now = time.time_ns()
    state = {
        b"time": leb128.encode_unsigned(now),
        b"canister": {CANISTER.raw: {b"certified_data": CERTIFIED_DATA}},
        b"request_status": {RID: {b"status": b"replied", b"reply": REPLY}},
    }
    tree = witness(
        build(state),
        [[b"time"], [b"canister", CANISTER.raw, b"certified_data"], [b"request_status", RID]],
    )
    ranges = [CanisterRange.of_indices(0, 99), CanisterRange.of_indices(1000, 1999)]
    delegation = make_delegation(
        keys["root"].secret_key, SUBNET_ID, keys["subnet"].public_key_der, ranges, now
    )
    return {
        "now": now,
        "tree": tree,
        "root-signed": sign_tree(tree, keys["root"].secret_key).encode(),
        "delegated": sign_tree(tree, keys["subnet"].secret_key, delegation).encode(),
        "wrong-key": sign_tree(tree, keys["subnet"].secret_key).encode(),
    }


def _icp(cert: bytes) -> IcpCertificate:
    return IcpCertificate(cbor2.loads(cert))


@pytest.mark.parametrize("name", ["root-signed", "delegated"])
def test_icp_py_core_lookups_return_our_values(certificates, name) -> None:
    cert = _icp(certificates[name])
    assert cert.lookup_time() == certificates["now"]
    assert cert.lookup_request_status(RID) == b"replied"
    assert cert.lookup_reply(RID) == REPLY
    assert cert.lookup([b"canister", CANISTER.raw, b"certified_data"]) == CERTIFIED_DATA
    assert cert.root_hash() == reconstruct(certificates["tree"])


def test_icp_py_core_extracts_the_delegated_subnet_key_and_signed_message(
    certificates, keys
) -> None:
    materials = _icp(certificates["delegated"]).verify_cert(
        CANISTER.raw, backend="return_materials"
    )
    assert materials["der_public_key"] == keys["subnet"].public_key_der
    assert materials["bls_public_key"] == keys["subnet"].public_key
    assert materials["message"] == DOMAIN_STATE_ROOT + reconstruct(certificates["tree"])


@pytest.mark.parametrize("name", ["root-signed", "delegated"])
def test_icp_py_core_accepts_our_certificates(icp_with_blst, certificates, name) -> None:
    cert = _icp(certificates[name])
    cert.assert_certificate_valid(CANISTER.raw)
    cert.assert_certificate_valid(Principal.from_canister_index(1500).raw)
    cert.verify_cert_timestamp(5 * 60 * 1_000_000_000)


def test_icp_py_core_refuses_a_canister_outside_the_sharded_ranges(
    icp_with_blst, certificates
) -> None:
    with pytest.raises(Exception, match="CertificateNotAuthorized"):
        _icp(certificates["delegated"]).assert_certificate_valid(OUTSIDE.raw)


def test_icp_py_core_refuses_a_certificate_signed_with_the_wrong_key(
    icp_with_blst, certificates
) -> None:
    with pytest.raises(Exception, match="[Ss]ignature"):
        _icp(certificates["wrong-key"]).assert_certificate_valid(CANISTER.raw)
