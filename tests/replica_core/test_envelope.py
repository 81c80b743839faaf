"""Envelope decoding: typed content, request ids from the raw map, every malformed class."""

from __future__ import annotations

import pytest

from replica_core import cbor
from replica_core.crypto.signers import Ed25519Signer, build_envelope, delegate
from replica_core.envelope import (
    MAX_ENVELOPE_SIZE,
    CallContent,
    QueryContent,
    ReadStateContent,
    decode_envelope,
    parse_envelope,
)
from replica_core.errors import MalformedCbor, MalformedEnvelope
from replica_core.principal import Principal
from replica_core.request_id import request_id

CANISTER = Principal.from_canister_index(1)
EXPIRY = 1_700_000_000_000_000_000
SPEC_CONTENT = {
    "request_type": "call",
    "sender": b"\x04",
    "ingress_expiry": 1685570400000000000,
    "canister_id": bytes.fromhex("00000000000004D2"),
    "method_name": "hello",
    "arg": b"DIDL\x00\xfd*",
}


def call(**overrides):
    content = {
        "request_type": "call",
        "canister_id": CANISTER.raw,
        "method_name": "greet",
        "arg": b"DIDL\x00\x00",
        "sender": b"\x04",
        "ingress_expiry": EXPIRY,
    }
    content.update(overrides)
    return {k: v for k, v in content.items() if v is not None}


def body(content, **envelope):
    return cbor.encode({"content": content, **envelope})


def test_spec_call_decodes_with_the_spec_request_id():
    env = decode_envelope(body(SPEC_CONTENT))
    assert isinstance(env.content, CallContent)
    assert env.content.request_id.hex() == (
        "1d1091364d6bb8a6c16b203ee75467d59ead468f523eb058880ae8ec80e2b101"
    )
    assert env.content.sender == Principal.anonymous()
    assert env.content.method_name == "hello" and env.content.nonce is None
    assert env.sender_pubkey is None and env.sender_delegation is None


def test_query_and_read_state_decode_to_their_types():
    q = decode_envelope(body(call(request_type="query", nonce=b"n" * 32))).content
    assert isinstance(q, QueryContent) and q.nonce == b"n" * 32
    rs_content = {
        "request_type": "read_state",
        "sender": b"\x04",
        "ingress_expiry": EXPIRY,
        "paths": [[b"request_status", b"\x01" * 32], [b"time"]],
    }
    rs = decode_envelope(body(rs_content)).content
    assert isinstance(rs, ReadStateContent)
    assert rs.paths == ((b"request_status", b"\x01" * 32), (b"time",))
    assert rs.request_id == request_id(rs_content)


def test_unknown_content_fields_count_in_the_request_id():
    content = call(future_field="x")
    env = decode_envelope(body(content))
    assert env.content.request_id == request_id(content)
    assert env.content.request_id != request_id(call())


def test_signed_envelope_with_delegation_decodes_all_parts():
    sender, session = Ed25519Signer(), Ed25519Signer()
    content = call(sender=sender.principal.raw)
    d = delegate(sender, session.public_key_der, EXPIRY, targets=[CANISTER], permissions="all")
    env = decode_envelope(build_envelope(content, sender, delegations=[d], final_signer=session))
    assert env.sender_pubkey == sender.public_key_der and len(env.sender_sig) == 64
    (link,) = env.sender_delegation
    assert link.delegation.pubkey == session.public_key_der
    assert link.delegation.targets == (CANISTER,) and link.delegation.permissions == "all"
    assert link.signature == d["signature"]


def test_sender_info_is_parsed():
    info = {"info": b"data", "signer": CANISTER.raw, "sig": b"sig"}
    env = decode_envelope(body(call(sender_info=info)))
    assert env.content.sender_info.signer == CANISTER
    assert env.content.sender_info.info == b"data"


def test_envelope_given_as_mapping_and_tuples_is_accepted():
    rs = {
        "request_type": "read_state",
        "sender": b"\x04",
        "ingress_expiry": 1,
        "paths": ((b"time",),),
    }
    env = parse_envelope({"content": rs})
    assert env.content.paths == ((b"time",),)


def test_oversized_body_is_malformed_cbor_naming_the_size():
    with pytest.raises(MalformedCbor, match=f"exceeds the limit of {MAX_ENVELOPE_SIZE}"):
        decode_envelope(body(call(arg=bytes(MAX_ENVELOPE_SIZE))))
    with pytest.raises(MalformedCbor, match="exceeds the limit of 100"):
        decode_envelope(body(call()), max_size=100)


def test_a_two_mib_argument_fits():
    env = decode_envelope(body(call(arg=bytes(2 * 1024 * 1024))))
    assert len(env.content.arg) == 2 * 1024 * 1024


def test_non_cbor_is_malformed_cbor():
    with pytest.raises(MalformedCbor):
        decode_envelope(b"\xd9\xd9\xf7\xff")


@pytest.mark.parametrize(
    ("envelope", "message"),
    [
        ([1], "envelope must be a map"),
        ({}, "envelope is missing the required field 'content'"),
        ({"content": 5}, "content must be a map"),
        ({"content": call(request_type="update")}, "unknown request_type 'update'"),
        ({"content": call(request_type=None)}, "missing the required field 'request_type'"),
        ({"content": call(sender=None)}, "missing the required field 'sender'"),
        ({"content": call(ingress_expiry=None)}, "missing the required field 'ingress_expiry'"),
        ({"content": call(ingress_expiry="soon")}, "content.ingress_expiry must be a nat"),
        ({"content": call(ingress_expiry=-1)}, "content.ingress_expiry must be a nat"),
        ({"content": call(ingress_expiry=1 << 64)}, "below 2\\^64"),
        ({"content": call(nonce=b"x" * 33)}, "Nonce in request is too big: got 33 bytes"),
        ({"content": call(nonce="abc")}, "content.nonce must be a blob"),
        ({"content": call(sender=b"x" * 30)}, "content.sender is not a valid principal"),
        ({"content": call(canister_id=b"x" * 30)}, "content.canister_id is not a valid"),
        ({"content": call(canister_id=None)}, "'canister_id'"),
        ({"content": call(method_name=b"greet")}, "content.method_name must be text"),
        ({"content": call(arg="DIDL")}, "content.arg must be a blob"),
        ({"content": {**call(), "extra": None}}, "cannot be hashed into a request id"),
        ({"content": call(extra=True)}, "cannot be hashed"),
        ({"content": call(sender_info={"info": b""})}, "sender_info is missing .*'signer'"),
        ({"content": call(), "sender_pubkey": "k"}, "sender_pubkey must be a blob"),
        ({"content": call(), "sender_sig": 1}, "sender_sig must be a blob"),
        ({"content": call(), "sender_delegation": {}}, "sender_delegation must be an array"),
        ({"content": call(), "sender_delegation": [{}]}, "sender_delegation\\[0\\] is missing"),
        (
            {"content": call(), "sender_delegation": [{"delegation": {}, "signature": b""}]},
            "sender_delegation\\[0\\].delegation is missing the required field 'pubkey'",
        ),
        (
            {
                "content": call(),
                "sender_delegation": [
                    {"delegation": {"pubkey": b"", "expiration": 1, "targets": [b"x" * 30]}}
                ],
            },
            "targets\\[0\\] is not a valid principal",
        ),
        (
            {
                "content": call(),
                "sender_delegation": [
                    {"delegation": {"pubkey": b"", "expiration": 1, "permissions": 1}}
                ],
            },
            "permissions must be text",
        ),
    ],
)
def test_malformed_envelopes_are_rejected_naming_the_field(envelope, message):
    with pytest.raises(MalformedEnvelope, match=message):
        decode_envelope(cbor.encode(envelope))


def read_state(paths):
    return {"request_type": "read_state", "sender": b"\x04", "ingress_expiry": 1, "paths": paths}


@pytest.mark.parametrize(
    ("paths", "message"),
    [
        (None, "missing the required field 'paths'"),
        (b"time", "content.paths must be an array of paths"),
        ([b"time"], "content.paths\\[0\\] must be an array of blobs"),
        ([["time"]], "content.paths\\[0\\]\\[0\\] must be a blob"),
        ([[b"x"]] * 1001, "Too many paths in read state request: got 1001"),
        ([[b"x"] * 128], "too deep: got 128 labels"),
    ],
)
def test_malformed_read_state_paths_are_rejected(paths, message):
    content = read_state(paths)
    if paths is None:
        del content["paths"]
    with pytest.raises(MalformedEnvelope, match=message):
        decode_envelope(body(content))


def test_path_limits_themselves_are_accepted():
    env = decode_envelope(body(read_state([[b"x"] * 127] + [[b"y"]] * 999)))
    assert len(env.content.paths) == 1000
