"""The WebAssembly binary format's framing: header, sections, gzip, and a primitive reader.

Spec: IC interface spec 0.66.0, The System API › WebAssembly module requirements (a canister
module is a WebAssembly binary, or its gzip); WebAssembly core spec 2.0 › Binary format ›
Values (LEB128 integers, names), Types (value types, limits, plus the memory64 proposal's
flag 0x04), Modules › Sections and section order.

`read_sections` / `write_module` frame a module into `Section`s and back, byte-exactly, so
instrumentation (metering) can rewrite one section and keep the rest untouched;
`split_code_section` / `join_code_section` do the same for function bodies. `Reader` is the
cursor every parser of section contents uses (`wasm_binary.parse_module`). Malformed input
raises `InvalidWasm` naming the check and the byte offset.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from replica_core.errors import IcboxError
from replica_core.execution.wasm_types import Section
from replica_core.leb128 import decode_signed, decode_unsigned, encode_unsigned

__all__ = [
    "CODE",
    "CUSTOM",
    "DATA",
    "DATA_COUNT",
    "ELEMENT",
    "EXPORT",
    "FUNCTION",
    "GLOBAL",
    "GZIP_MAGIC",
    "IMPORT",
    "MEMORY",
    "SECTION_NAMES",
    "START",
    "TABLE",
    "TAG",
    "TYPE",
    "VALUE_TYPES",
    "WASM_MAGIC",
    "WASM_VERSION",
    "InvalidWasm",
    "Reader",
    "decompress_if_gzipped",
    "join_code_section",
    "read_sections",
    "split_code_section",
    "write_module",
]

WASM_MAGIC = b"\x00asm"
WASM_VERSION = b"\x01\x00\x00\x00"
GZIP_MAGIC = b"\x1f\x8b\x08"  # Spec: "starts with 1f 8b 08" ⇒ gzip (RFC 1952, deflate)

# Section ids (core spec 5.5.2; tag = exception-handling proposal).
CUSTOM = 0
TYPE = 1
IMPORT = 2
FUNCTION = 3
TABLE = 4
MEMORY = 5
GLOBAL = 6
EXPORT = 7
START = 8
ELEMENT = 9
CODE = 10
DATA = 11
DATA_COUNT = 12
TAG = 13

SECTION_NAMES: dict[int, str] = {
    CUSTOM: "custom",
    TYPE: "type",
    IMPORT: "import",
    FUNCTION: "function",
    TABLE: "table",
    MEMORY: "memory",
    GLOBAL: "global",
    EXPORT: "export",
    START: "start",
    ELEMENT: "element",
    CODE: "code",
    DATA: "data",
    DATA_COUNT: "data count",
    TAG: "tag",
}

# The order in which non-custom sections must appear (each at most once).
_SECTION_ORDER = (TYPE, IMPORT, FUNCTION, TABLE, MEMORY, TAG, GLOBAL, EXPORT, START, ELEMENT,
                  DATA_COUNT, CODE, DATA)  # fmt: skip
_ORDER_RANK = {sid: rank for rank, sid in enumerate(_SECTION_ORDER)}

VALUE_TYPES: dict[int, str] = {
    0x7F: "i32",
    0x7E: "i64",
    0x7D: "f32",
    0x7C: "f64",
    0x7B: "v128",
    0x70: "funcref",
    0x6F: "externref",
}
_REF_TYPES = {0x70: "funcref", 0x6F: "externref"}


class InvalidWasm(IcboxError, ValueError):
    """The bytes are not a well-formed WebAssembly module (the message says what and where)."""


class Reader:
    """A cursor over bytes with the binary format's primitive readers.

    `where` names the section being read, for error messages; offsets are absolute in the
    module when `base` is the section's start.
    """

    __slots__ = ("base", "data", "pos", "where")

    def __init__(self, data: bytes | memoryview, where: str = "module", base: int = 0) -> None:
        self.data = memoryview(data)
        self.pos = 0
        self.where = where
        self.base = base

    def error(self, what: str) -> InvalidWasm:
        """An `InvalidWasm` for `what` at the current position."""
        return InvalidWasm(f"{what} in {self.where} at offset {self.base + self.pos}")

    @property
    def at_end(self) -> bool:
        """True when every byte has been read."""
        return self.pos >= len(self.data)

    def byte(self) -> int:
        """Read one byte."""
        if self.pos >= len(self.data):
            raise self.error("unexpected end of input")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def read_bytes(self, n: int) -> bytes:
        """Read exactly `n` bytes."""
        if n > len(self.data) - self.pos:
            raise self.error(f"unexpected end of input (need {n} bytes)")
        value = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return value

    def _unsigned(self, bits: int) -> int:
        start = self.pos
        max_len = (bits + 6) // 7
        try:
            value, end = decode_unsigned(self.data[: start + max_len], start)
        except ValueError:
            raise self.error(f"malformed or too long u{bits} LEB128") from None
        if value >> bits:
            raise self.error(f"u{bits} LEB128 out of range")
        self.pos = end
        return value

    def _signed(self, bits: int) -> int:
        start = self.pos
        max_len = (bits + 6) // 7
        try:
            value, end = decode_signed(self.data[: start + max_len], start)
        except ValueError:
            raise self.error(f"malformed or too long s{bits} LEB128") from None
        if not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
            raise self.error(f"s{bits} LEB128 out of range")
        self.pos = end
        return value

    def u32(self) -> int:
        """Read an unsigned LEB128 of at most 32 bits."""
        return self._unsigned(32)

    def u64(self) -> int:
        """Read an unsigned LEB128 of at most 64 bits."""
        return self._unsigned(64)

    def s32(self) -> int:
        """Read a signed LEB128 of at most 32 bits."""
        return self._signed(32)

    def s33(self) -> int:
        """Read a signed LEB128 of at most 33 bits (block types)."""
        return self._signed(33)

    def s64(self) -> int:
        """Read a signed LEB128 of at most 64 bits."""
        return self._signed(64)

    def count(self, what: str) -> int:
        """Read a vector length, rejecting ones the remaining bytes cannot possibly hold."""
        n = self.u32()
        if n > len(self.data) - self.pos:
            raise self.error(f"{what} count {n} exceeds the remaining bytes")
        return n

    def name(self) -> str:
        """Read a length-prefixed UTF-8 name."""
        size = self.u32()
        raw = self.read_bytes(size)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error("name is not valid UTF-8") from None

    def value_type(self) -> str:
        """Read a value type."""
        code = self.byte()
        try:
            return VALUE_TYPES[code]
        except KeyError:
            self.pos -= 1
            raise self.error(f"unknown value type 0x{code:02x}") from None

    def ref_type(self) -> str:
        """Read a reference type."""
        code = self.byte()
        try:
            return _REF_TYPES[code]
        except KeyError:
            self.pos -= 1
            raise self.error(f"unknown reference type 0x{code:02x}") from None

    def limits(self, kind: str) -> tuple[int, int | None, bool, bool]:
        """Read limits: (minimum, maximum, is_64, shared)."""
        flags = self.byte()
        if flags & ~0x07:
            self.pos -= 1
            raise self.error(f"unsupported {kind} limits flags 0x{flags:02x}")
        is_64 = bool(flags & 0x04)
        shared = bool(flags & 0x02)
        read = self.u64 if is_64 else self.u32
        minimum = read()
        maximum = read() if flags & 0x01 else None
        return minimum, maximum, is_64, shared

    def end(self) -> None:
        """Check that nothing is left over."""
        if not self.at_end:
            raise self.error(f"{len(self.data) - self.pos} unexpected trailing bytes")


def decompress_if_gzipped(data: bytes, max_size: int) -> bytes:
    """Return the module itself, or its decompressed content if it starts with `1f 8b 08`.

    As the IC does, the gzip footer's ISIZE is checked against `max_size` first, then at
    most `max_size + 1` bytes are inflated (ISIZE is only the size modulo 2^32 and cannot
    be trusted, so a zip bomb stops there instead of exhausting memory), and finally the
    inflated size must equal ISIZE.
    """
    if not data.startswith(GZIP_MAGIC):
        return data
    if len(data) < 18:  # 10-byte header + empty deflate block + 8-byte footer
        raise InvalidWasm("invalid Wasm module: gzip stream is too short")
    declared_size = int.from_bytes(data[-4:], "little")
    if declared_size > max_size:
        raise InvalidWasm(f"Wasm module is too large, it can be at most {max_size} bytes")
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = decompressor.decompress(data, max_size + 1)
    except zlib.error as e:
        raise InvalidWasm(f"failed to decode compressed Wasm module: {e}") from None
    if len(out) > max_size:
        raise InvalidWasm(f"Wasm module is too large, it can be at most {max_size} bytes")
    if not decompressor.eof:
        raise InvalidWasm("failed to decode compressed Wasm module: truncated gzip stream")
    if decompressor.unused_data:
        raise InvalidWasm("failed to decode compressed Wasm module: trailing bytes after gzip")
    if len(out) != declared_size:
        raise InvalidWasm(
            f"specified uncompressed size {declared_size} does not match extracted size {len(out)}"
        )
    return out


def read_sections(data: bytes) -> list[Section]:
    """Split a module into its sections, checking magic, version, framing and section order."""
    if len(data) < 8:
        raise InvalidWasm("module is shorter than the 8-byte header")
    if data[:4] != WASM_MAGIC:
        raise InvalidWasm("bad magic number (not a WebAssembly binary)")
    if data[4:8] != WASM_VERSION:
        raise InvalidWasm(f"unsupported WebAssembly version {data[4:8].hex()}")
    view = memoryview(data)
    reader = Reader(view)
    reader.pos = 8
    sections: list[Section] = []
    last_rank = -1
    while not reader.at_end:
        offset = reader.pos
        section_id = reader.byte()
        if section_id not in SECTION_NAMES:
            reader.pos = offset
            raise reader.error(f"unknown section id {section_id}")
        size = reader.u32()
        if size > len(data) - reader.pos:
            raise reader.error(
                f"{SECTION_NAMES[section_id]} section size {size} exceeds the module"
            )
        body = view[reader.pos : reader.pos + size]
        body_reader = Reader(body, f"{SECTION_NAMES[section_id]} section", reader.pos)
        reader.pos += size
        if section_id == CUSTOM:
            name = body_reader.name()
            sections.append(Section(CUSTOM, bytes(body[body_reader.pos :]), name))
            continue
        rank = _ORDER_RANK[section_id]
        if rank <= last_rank:
            raise InvalidWasm(
                f"{SECTION_NAMES[section_id]} section at offset {offset} is duplicated or out of order"
            )
        last_rank = rank
        sections.append(Section(section_id, bytes(body)))
    return sections


def write_module(sections: Iterable[Section]) -> bytes:
    """Assemble sections into a module (the inverse of `read_sections`)."""
    out = bytearray(WASM_MAGIC + WASM_VERSION)
    for section in sections:
        payload = section.payload
        if section.id == CUSTOM:
            name = (section.name or "").encode("utf-8")
            payload = encode_unsigned(len(name)) + name + payload
        out.append(section.id)
        out += encode_unsigned(len(payload))
        out += payload
    return bytes(out)


def split_code_section(payload: bytes) -> list[bytes]:
    """Split a code section's payload into function bodies (locals + expression, no size)."""
    reader = Reader(payload, "code section")
    bodies = []
    for _ in range(reader.count("function body")):
        size = reader.u32()
        bodies.append(reader.read_bytes(size))
    reader.end()
    return bodies


def join_code_section(bodies: Iterable[bytes]) -> bytes:
    """Build a code section's payload from function bodies (the inverse of the split)."""
    items = list(bodies)
    out = bytearray(encode_unsigned(len(items)))
    for body in items:
        out += encode_unsigned(len(body))
        out += body
    return bytes(out)
