"""The management canister's Candid helpers: a caller's encoding is what the method decodes."""

from __future__ import annotations

from replica_core.candid import decode, encode
from replica_core.management.candid_types import (
    arg_types,
    decode_arg,
    decode_result,
    encode_arg,
    encode_result,
    result_types,
)
from replica_core.principal import Principal

CID = Principal.from_canister_index(3)


def test_encode_arg_is_the_inverse_of_decode_arg_for_a_record_argument():
    raw = encode_arg("canister_status", {"canister_id": CID})
    assert raw == encode(arg_types("canister_status"), [{"canister_id": CID}])
    assert decode_arg("canister_status", raw) == {"canister_id": CID}


def test_a_method_without_argument_encodes_the_empty_argument_list():
    assert arg_types("raw_rand") == ()
    assert encode_arg("raw_rand") == b"DIDL\x00\x00"
    assert decode_arg("raw_rand", encode_arg("raw_rand", {"ignored": 1})) is None


def test_decode_result_reads_the_one_result_value_or_unit():
    created = encode_result("provisional_create_canister_with_cycles", {"canister_id": CID})
    assert decode_result("provisional_create_canister_with_cycles", created) == {"canister_id": CID}
    assert result_types("start_canister") == ()
    assert decode_result("start_canister", encode_result("start_canister")) == ()
    assert decode(encode_result("start_canister"), ()) == []
