"""WebAssembly binary reading/writing: framing, module structure, gzip decoding."""

import gzip
from pathlib import Path

import pytest
import wasmtime
from hypothesis import given, settings
from hypothesis import strategies as st

from replica_core.execution.wasm_binary import (
    CODE,
    CUSTOM,
    DATA,
    TYPE,
    InvalidWasm,
    Section,
    decompress_if_gzipped,
    join_code_section,
    parse_module,
    read_sections,
    split_code_section,
    write_module,
)
from replica_core.execution.wasm_types import (
    DataSegment,
    Export,
    FuncType,
    GlobalType,
    Import,
    MemoryType,
    TableType,
)

BUILD = Path(__file__).resolve().parents[2] / "canisters" / "build"
HEADER = b"\x00asm\x01\x00\x00\x00"

RICH = wasmtime.wat2wasm(
    """(module
      (import "ic0" "msg_reply" (func $reply))
      (import "ic0" "msg_reply_data_append" (func (param i32 i32)))
      (memory 1 10)
      (table 2 funcref)
      (global (mut i32) (i32.const 5))
      (global i64 (i64.const -1))
      (func $f (call $reply))
      (func (export "canister_update go") (call $f))
      (start $f)
      (data (i32.const 0) "hi")
      (data "passive")
      (elem (i32.const 0) $f)
      (@custom "icp:public candid:service" "service : {}")
    )"""
)


def test_read_then_write_sections_is_byte_exact():
    sections = read_sections(RICH)
    assert write_module(sections) == RICH
    assert [s.id for s in sections if s.id != CUSTOM] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]


def test_custom_section_payload_excludes_its_name():
    custom = [s for s in read_sections(RICH) if s.id == CUSTOM]
    assert custom[0] == Section(CUSTOM, b"service : {}", "icp:public candid:service")


def test_write_module_frames_custom_sections_with_their_name():
    module = write_module([Section(CUSTOM, b"\x01\x02", "abc")])
    assert module == HEADER + b"\x00\x06\x03abc\x01\x02"
    assert read_sections(module) == [Section(CUSTOM, b"\x01\x02", "abc")]


def test_parse_module_reads_every_module_field():
    info = parse_module(RICH)
    assert info.types == (FuncType((), ()), FuncType(("i32", "i32"), ()))
    assert info.imports == (
        Import("ic0", "msg_reply", "func", 0),
        Import("ic0", "msg_reply_data_append", "func", 1),
    )
    assert info.functions == (0, 0)
    assert info.function_count == 4
    assert info.tables == (TableType("funcref", 2, None, False),)
    assert info.memories == (MemoryType(1, 10, False, False),)
    assert info.globals == (GlobalType("i32", True), GlobalType("i64", False))
    assert info.globals_count == 2
    assert info.exports == (Export("canister_update go", "func", 3),)
    assert info.start == 2
    assert info.element_count == 1
    assert info.data_segments == (
        DataSegment(True, 0, b"\x41\x00\x0b", 2),
        DataSegment(False, 0, b"", 7),
    )
    assert info.data_count == 2
    assert info.custom_sections["icp:public candid:service"] == b"service : {}"
    assert info.function_body_sizes == (4, 4)
    assert info.function_type(1) == FuncType(("i32", "i32"), ())
    assert info.function_type(3) == FuncType((), ())
    assert info.is_64 is False


def test_memory64_and_table64_limits_are_read_with_their_flag():
    wasm = wasmtime.wat2wasm("(module (memory i64 1 100) (table i64 1 funcref))")
    info = parse_module(wasm)
    assert info.memories == (MemoryType(1, 100, True, False),)
    assert info.tables == (TableType("funcref", 1, None, True),)
    assert info.is_64 is True


def test_imported_memory_decides_pointer_width():
    info = parse_module(wasmtime.wat2wasm('(module (import "env" "memory" (memory i64 1)))'))
    assert info.memories == () and info.all_memories == (MemoryType(1, None, True, False),)
    assert info.is_64 is True


def test_module_without_memory_is_not_64_bit():
    assert parse_module(HEADER).is_64 is False


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00as", "shorter than the 8-byte header"),
        (b"\x00asx\x01\x00\x00\x00", "bad magic"),
        (b"\x00asm\x02\x00\x00\x00", "unsupported WebAssembly version"),
        (HEADER + b"\x0e\x00", "unknown section id 14"),
        (HEADER + b"\x01\x05\x00", "exceeds the module"),
        (HEADER + b"\x01\x80\x80\x80\x80\x80\x00", "too long u32"),
        (HEADER + b"\x01\x01\x00\x01\x01\x00", "duplicated or out of order"),
        (HEADER + b"\x03\x01\x00\x01\x01\x00", "duplicated or out of order"),
        (HEADER + b"\x00\x02\x05a", "unexpected end of input"),
        (HEADER + b"\x00\x02\x01\xff", "not valid UTF-8"),
    ],
)
def test_malformed_framing_raises_invalid_wasm(data, message):
    with pytest.raises(InvalidWasm, match=message):
        read_sections(data)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (Section(TYPE, b"\x01\x5f\x00\x00"), "unsupported type form 0x5f"),
        (Section(TYPE, b"\x01\x60\x01\x01\x00"), "unknown value type 0x01"),
        (Section(TYPE, b"\x01\x60\x00\x00\x00"), "unexpected trailing bytes"),
        (Section(TYPE, b"\x05\x60"), "type count 5 exceeds the remaining bytes"),
        (Section(CODE, b"\x01\x02\x00\x0b"), "inconsistent lengths"),
        (Section(DATA, b"\x01\x07"), "unknown data segment flags"),
    ],
)
def test_malformed_sections_raise_invalid_wasm(section, message):
    with pytest.raises(InvalidWasm, match=message):
        parse_module(write_module([section]))


def test_export_of_missing_function_is_rejected():
    module = write_module([Section(7, b"\x01\x01f\x00\x05")])
    with pytest.raises(InvalidWasm, match="refers to unknown func 5"):
        parse_module(module)


def test_code_section_splits_into_bodies_and_joins_back():
    code = next(s for s in read_sections(RICH) if s.id == CODE)
    bodies = split_code_section(code.payload)
    assert len(bodies) == 2
    assert join_code_section(bodies) == code.payload


def test_non_gzip_module_is_returned_unchanged():
    assert decompress_if_gzipped(RICH, 10) is RICH


def test_gzip_module_is_decompressed():
    assert decompress_if_gzipped(gzip.compress(RICH), 1 << 20) == RICH


def test_gzip_declaring_too_large_size_is_rejected_before_inflating():
    with pytest.raises(InvalidWasm, match="it can be at most 100 bytes"):
        decompress_if_gzipped(gzip.compress(bytes(1000)), 100)


def test_zip_bomb_with_forged_size_stops_at_the_limit():
    bomb = gzip.compress(bytes(32 << 20), compresslevel=9)
    forged = bomb[:-4] + (100).to_bytes(4, "little")  # footer claims 100 bytes
    assert len(forged) < 64 << 10
    with pytest.raises(InvalidWasm, match="it can be at most 1048576 bytes"):
        decompress_if_gzipped(forged, 1 << 20)


def test_gzip_with_wrong_declared_size_is_rejected():
    data = gzip.compress(RICH)
    forged = data[:-4] + (len(RICH) - 1).to_bytes(4, "little")
    with pytest.raises(InvalidWasm, match="incorrect length check|does not match extracted size"):
        decompress_if_gzipped(forged, 1 << 20)


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda d: d[:12], "too short"),
        (lambda d: d[:-12] + d[-8:], "failed to decode compressed"),
        (lambda d: d + b"junk", "it can be at most"),  # the footer is read from the end
        (lambda d: d + b"junk" + d[-4:], "trailing bytes after gzip"),
        (lambda d: d[:10] + b"\xff" * 20 + d[-8:], "failed to decode compressed"),
    ],
)
def test_broken_gzip_raises_invalid_wasm(mangle, message):
    with pytest.raises(InvalidWasm, match=message):
        decompress_if_gzipped(mangle(gzip.compress(RICH)), 1 << 20)


@settings(max_examples=200)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_after_header_raise_only_invalid_wasm(tail):
    try:
        parse_module(HEADER + tail)
    except InvalidWasm:
        pass


@pytest.mark.skipif(not BUILD.is_dir(), reason="no Motoko builds in tests/canisters/build")
def test_motoko_modules_round_trip_and_parse():
    paths = sorted(BUILD.rglob("*.wasm"))
    assert paths
    for path in paths:
        wasm = path.read_bytes()
        sections = read_sections(wasm)  # moc pads section sizes, so compare sections
        assert read_sections(write_module(sections)) == sections, path
        info = parse_module(wasm)
        assert info.start is not None, path
        assert "icp:private candid:service" in info.custom_sections, path
