"""Motoko certified-data canister through `Subnet`: certified_data in the state tree, and
the data certificate a query sees.

Spec: IC interface spec 0.66.0, Certified data (`ic0.certified_data_set`,
`ic0.data_certificate_*` in non-replicated queries only), Certification › The system
state tree (`/canister/<id>/certified_data`), Certificate validation (delegations).
"""

from __future__ import annotations

import pytest

from replica_core.certification import lookup, verify_certificate
from replica_core.certification.certificate import Certificate
from replica_core.certification.hash_tree import Found, reconstruct
from replica_core.errors import Reject
from replica_core.subnet import SandboxExecutor
from tests.replica_core.subnet_fixtures import FLAVOURS, make_subnet, shared_executor

BLOB = bytes(range(32))


@pytest.fixture(scope="module")
def executor() -> SandboxExecutor:
    return shared_executor()


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_certified_data_is_in_the_certified_state_tree_after_the_round(executor, flavour):
    subnet, client = make_subnet(executor)
    cid = client.deploy(flavour, "certified")
    assert client.call(flavour, "certified", cid, "set", BLOB) == ()
    assert subnet.canister(cid).certified_data == BLOB
    path = [b"canister", cid.raw, b"certified_data"]
    cert = Certificate.decode(subnet.data_certificate(cid))
    verify_certificate(cert, subnet.root_key, effective_canister_id=cid)
    assert lookup(cert, path) == Found(BLOB)
    # The witness is of the committed state: its root is what the store recorded.
    certified = subnet.store.get_certified()
    assert certified is not None and reconstruct(cert.tree) == certified.root_hash


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_get_certificate_query_returns_a_verifiable_certificate_of_the_data(executor, flavour):
    subnet, client = make_subnet(executor)
    cid = client.deploy(flavour, "certified")
    client.call(flavour, "certified", cid, "set", b"hello icbox")
    ((raw,),) = client.query(flavour, "certified", cid, "get_certificate")
    cert = verify_certificate(raw, subnet.root_key, effective_canister_id=cid)
    assert cert.delegation is not None and cert.delegation.subnet_id == subnet.subnet_id
    assert lookup(cert, [b"canister", cid.raw, b"certified_data"]) == Found(b"hello icbox")
    assert isinstance(lookup(cert, [b"time"]), Found)
    assert client.query(flavour, "certified", cid, "get") == (b"hello icbox",)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_no_data_certificate_in_replicated_execution(executor, flavour):
    _, client = make_subnet(executor)
    cid = client.deploy(flavour, "certified")
    # A query method called by ingress runs replicated: no certificate is present.
    assert client.call(flavour, "certified", cid, "get_certificate") == ([],)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_certified_data_longer_than_32_bytes_traps_and_keeps_the_old_data(executor, flavour):
    subnet, client = make_subnet(executor)
    cid = client.deploy(flavour, "certified")
    client.call(flavour, "certified", cid, "set", BLOB)
    reject = client.call(flavour, "certified", cid, "set", bytes(33))
    assert isinstance(reject, Reject) and reject.error_code == "IC0504"
    assert reject.message.endswith(
        "Canister violated contract: ic0_certified_data_set failed because the passed data "
        "must be no larger than 32 bytes. Found 33 bytes."
    )
    assert subnet.canister(cid).certified_data == BLOB
    assert client.query(flavour, "certified", cid, "get") == (BLOB,)
