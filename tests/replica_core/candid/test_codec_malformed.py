"""Candid decoding of hostile input: every malformation is a CandidError, and fast."""

from __future__ import annotations

import re
import time

import pytest

from replica_core.candid import (
    BOOL,
    INT,
    NAT,
    NULL,
    PRINCIPAL,
    RESERVED,
    TEXT,
    Opt,
    Rec,
    Record,
    Vec,
    decode,
    decode_with_types,
    encode,
)
from replica_core.errors import CandidError


def didl(text: str) -> bytes:
    """The official test suite's blob notation: `\\xx` hex escapes, other chars as ASCII."""
    return re.sub(r"\\([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), text).encode("latin-1")


MALFORMED = [
    ("", "empty input"),
    ("DADL\\00\\00", "bad magic"),
    ("DIDL\\00", "missing argument count"),
    ("DIDL\\00\\01\\7d\\80", "truncated LEB128"),
    ("DIDL\\01\\6e\\01\\00", "type index out of range"),
    ("DIDL\\00\\01\\00", "argument type index out of range"),
    ("DIDL\\00\\01\\5e", "unknown opcode"),
    ("DIDL\\01\\7f\\00", "primitive type in the table"),
    ("DIDL\\01\\00\\00", "table entry that is a reference (μx.x)"),
    ("DIDL\\00\\01\\6e\\7f\\00", "constructor opcode in the argument list"),
    ("DIDL\\00\\01\\71\\03\\e2\\28\\a1", "invalid UTF-8"),
    ("DIDL\\00\\01\\71\\07Motoko", "text longer than input"),
    ("DIDL\\01\\6c\\02\\00\\7c\\00\\7e\\01\\00\\2a\\01", "duplicate field ids"),
    ("DIDL\\01\\6c\\02\\01\\7c\\00\\7e\\01\\00\\2a\\01", "unsorted field ids"),
    ("DIDL\\01\\6c\\01\\80\\e4\\97\\d0\\12\\7c\\01\\00\\2a", "field id above 32 bits"),
    ("DIDL\\00\\01\\7e\\02", "bool byte not 0/1"),
    ("DIDL\\01\\6e\\7c\\01\\00\\02\\2a", "opt tag not 0/1"),
    ("DIDL\\00\\01\\7f\\00", "trailing bytes"),
    ("DIDL\\00\\01\\68\\03\\ca\\ff\\ee", "principal without tag byte"),
    ("DIDL\\00\\01\\68\\01\\1e" + "\\00" * 30, "principal longer than 29 bytes"),
    ("DIDL\\01\\6a\\00\\00\\00\\01\\00\\01\\00\\03\\ca\\ff\\ee\\01\\61", "func with opaque tag"),
    ("DIDL\\01\\6a\\01\\71\\01\\7d\\01\\80\\01\\01\\00", "unknown function annotation"),
    (
        "DIDL\\02\\6a\\01\\71\\01\\7d\\00\\69\\02\\04foo\\32\\00\\03foo\\00\\01\\01\\01\\03\\ca\\ff\\ee",
        "unsorted methods",
    ),
    (
        "DIDL\\02\\6e\\7e\\69\\01\\03foo\\00\\01\\01\\01\\03\\ca\\ff\\ee",
        "method of non-function type",
    ),
    ("DIDL\\01\\6b\\01\\00\\7f\\01\\00\\01", "variant index out of range"),
    ("DIDL\\00\\01\\6f", "a value of type empty"),
    ("DIDL\\80\\94\\eb\\dc\\03\\00", "huge type table count"),
    ("DIDL\\00\\80\\94\\eb\\dc\\03", "huge argument count"),
    ("DIDL\\01\\6c\\80\\94\\eb\\dc\\03\\00\\7f\\00\\7f", "huge field count"),
    ("DIDL\\01\\6d\\7e\\01\\00\\80\\94\\eb\\dc\\03\\00\\00\\00", "vec length beyond input"),
    ("DIDL\\01\\67\\80\\94\\eb\\dc\\03\\00\\00", "future type length beyond input"),
    ("DIDL\\01\\67\\00\\01\\00\\80\\94\\eb\\dc\\03\\00\\00", "future value length beyond input"),
]


@pytest.mark.parametrize(("blob", "why"), MALFORMED, ids=[w for _, w in MALFORMED])
def test_malformed_input_raises_candid_error(blob, why):
    with pytest.raises(CandidError):
        decode_with_types(didl(blob))


SPACE_BOMBS = [
    "DIDL\\01\\6d\\7f\\01\\00\\80\\94\\eb\\dc\\03",  # vec null, 10^9 elements
    "DIDL\\01\\6d\\70\\01\\00\\80\\94\\eb\\dc\\03",  # vec reserved
    "DIDL\\04\\6c\\03\\00\\7f\\01\\01\\02\\02\\6c\\01\\00\\70\\6c\\00\\6d\\00\\01\\03\\80\\94\\eb\\dc\\03",
    "DIDL\\02\\6d\\01\\6d\\7f\\01\\00\\05\\ff\\ff\\3f\\ff\\ff\\3f\\ff\\ff\\3f\\ff\\ff\\3f\\ff\\ff\\3f",
    "DIDL\\02\\6d\\01\\6c\\00\\01\\00\\80\\ad\\e2\\04",  # vec record {}, 10^7 elements
]


@pytest.mark.parametrize("blob", SPACE_BOMBS)
def test_space_bombs_are_rejected_fast_by_the_decoding_quota(blob):
    start = time.perf_counter()
    with pytest.raises(CandidError, match="quota"):
        decode(didl(blob))
    assert time.perf_counter() - start < 1.0


def test_doubling_record_bomb_is_rejected_by_static_cost():
    # 23 nested records each holding its successor twice: 2^20 nulls per element.
    parts = ["\\6c\\02\\01\\7f\\02\\7f", "\\6c\\02\\01\\00\\02\\00"]
    parts += [f"\\6c\\02\\00\\{i:02x}\\01\\{i:02x}" for i in range(1, 20)]
    parts += ["\\6e\\14", "\\6d\\15"]
    blob = "DIDL\\17" + "".join(parts) + "\\01\\16\\02\\01\\01"
    with pytest.raises(CandidError, match="quota"):
        decode(didl(blob))


def test_small_zero_sized_vectors_are_fine():
    assert decode(didl("DIDL\\01\\6d\\7f\\01\\00\\e8\\07"), [Vec(NULL)]) == [[None] * 1000]
    assert decode(didl("DIDL\\01\\6d\\7f\\01\\00\\e8\\07"), [Vec(Opt(NAT))]) == [[[]] * 1000]


def test_quota_can_be_lowered_per_call():
    data = encode([Vec(NAT)], [list(range(100))])
    assert len(decode(data, quota=1000)[0]) == 100
    with pytest.raises(CandidError, match="quota"):
        decode(data, quota=50)


def test_empty_recursion_hits_the_depth_limit_not_the_python_stack():
    # μx. record { 0 : x } has no finite value: decoding consumes no bytes per level.
    with pytest.raises(CandidError, match="nesting"):
        decode(didl("DIDL\\01\\6c\\01\\00\\00\\01\\00"))


def test_deeply_nested_value_raises_candid_error():
    opt = Rec("Opt")
    opt.define(Opt(opt))
    data = b"DIDL\x01\x6e\x00\x01\x00" + b"\x01" * 100_000 + b"\x00"
    with pytest.raises(CandidError):
        decode(data, [opt])


def test_deeply_nested_type_table_raises_candid_error():
    n = 20_000
    table = b"".join(b"\x6e" + bytes([0x80 | ((i + 1) & 0x7F), (i + 1) >> 7]) for i in range(n - 1))
    table += b"\x6e\x7f"
    data = b"DIDL" + bytes([0x80 | (n & 0x7F), n >> 7]) + table + b"\x01\x00" + b"\x00"
    with pytest.raises(CandidError):
        decode(data)


def test_moderately_deep_linked_list_decodes():
    lst = Rec("list")
    lst.define(Opt(Record.of({"head": NAT, "tail": lst})))
    value: list = []
    for i in range(150):
        value = [{"head": i, "tail": value}]
    assert decode(encode([lst], [value]), [lst]) == [value]


@pytest.mark.parametrize("t", [NAT, INT, TEXT, BOOL, PRINCIPAL, RESERVED, Vec(TEXT)])
def test_every_truncation_of_a_valid_message_is_rejected(t):
    samples = {
        "nat": 2**70,
        "int": -(2**70),
        "text": "héllo",
        "bool": True,
        "principal": None,
        "reserved": None,
    }
    from replica_core.principal import Principal

    value = samples.get(getattr(t, "name", ""), ["a", "bc"])
    if t is PRINCIPAL:
        value = Principal.from_canister_index(7)
    data = encode([t, NAT], [value, 1])
    for cut in range(len(data)):
        with pytest.raises(CandidError):
            decode(data[:cut], [t, NAT])


def test_non_bytes_input_is_rejected():
    with pytest.raises(CandidError, match="bytes"):
        decode("DIDL")  # type: ignore[arg-type]
