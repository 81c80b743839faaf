"""Reading and writing the WebAssembly binary format, as far as the replica needs it.

Spec: IC interface spec 0.66.0, The System API › WebAssembly module requirements (a canister
module is a WebAssembly binary, or its gzip); WebAssembly core spec 2.0 › Binary format
(sections, types, imports, exports, limits), plus the memory64 proposal (limits flag 0x04).

Two levels:

* `read_sections` / `write_module` frame the module into `Section`s and back, byte-exactly,
  so instrumentation (metering) can rewrite one section and keep the rest untouched.
* `parse_module` reads the sections the replica checks (types, imports, functions, tables,
  memories, globals, exports, start, elements, data, code framing, custom sections) into a
  `ModuleInfo`. Function bodies are not decoded here (that is wasmtime's and the metering
  pass's job); `split_code_section` / `join_code_section` give access to them.

Every malformed input raises `InvalidWasm` with a message that says what was wrong and at
which byte offset; no other exception escapes for bad bytes.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from replica_core.errors import IcboxError
from replica_core.execution.wasm_types import (
    DataSegment,
    Export,
    FuncType,
    GlobalType,
    Import,
    MemoryType,
    ModuleInfo,
    Section,
    TableType,
)
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
    "DataSegment",
    "Export",
    "FuncType",
    "GlobalType",
    "Import",
    "InvalidWasm",
    "MemoryType",
    "ModuleInfo",
    "Reader",
    "Section",
    "TableType",
    "decompress_if_gzipped",
    "join_code_section",
    "parse_module",
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
_EXTERNAL_KINDS = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}
_U32_MAX = (1 << 32) - 1
_U64_MAX = (1 << 64) - 1


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


def _skip_const_expr(reader: Reader) -> None:
    """Skip a constant expression (up to and including its `end`)."""
    while True:
        opcode = reader.byte()
        if opcode == 0x0B:  # end
            return
        if opcode == 0x41:  # i32.const
            reader.s32()
        elif opcode == 0x42:  # i64.const
            reader.s64()
        elif opcode == 0x43:  # f32.const
            reader.read_bytes(4)
        elif opcode == 0x44:  # f64.const
            reader.read_bytes(8)
        elif opcode in (0x23, 0xD2):  # global.get, ref.func
            reader.u32()
        elif opcode == 0xD0:  # ref.null heaptype
            reader.byte()
        elif opcode in (0x6A, 0x6B, 0x6C, 0x7C, 0x7D, 0x7E):  # extended-const arithmetic
            pass
        elif opcode == 0xFD:  # v128.const
            if reader.u32() != 12:
                raise reader.error("non-constant SIMD instruction in constant expression")
            reader.read_bytes(16)
        else:
            reader.pos -= 1
            raise reader.error(f"opcode 0x{opcode:02x} not allowed in a constant expression")


def _table_type(reader: Reader) -> TableType:
    element_type = reader.ref_type()
    minimum, maximum, is_64, shared = reader.limits("table")
    if shared:
        raise reader.error("tables cannot be shared")
    return TableType(element_type, minimum, maximum, is_64)


def _memory_type(reader: Reader) -> MemoryType:
    minimum, maximum, is_64, shared = reader.limits("memory")
    return MemoryType(minimum, maximum, is_64, shared)


def _global_type(reader: Reader) -> GlobalType:
    value_type = reader.value_type()
    mutability = reader.byte()
    if mutability not in (0, 1):
        raise reader.error(f"bad global mutability 0x{mutability:02x}")
    return GlobalType(value_type, bool(mutability))


def _read_types(reader: Reader) -> list[FuncType]:
    types = []
    for _ in range(reader.count("type")):
        form = reader.byte()
        if form != 0x60:
            reader.pos -= 1
            raise reader.error(f"unsupported type form 0x{form:02x} (expected func 0x60)")
        params = tuple(reader.value_type() for _ in range(reader.count("parameter")))
        results = tuple(reader.value_type() for _ in range(reader.count("result")))
        types.append(FuncType(params, results))
    return types


def _read_imports(reader: Reader) -> list[Import]:
    imports = []
    for _ in range(reader.count("import")):
        module = reader.name()
        name = reader.name()
        kind_code = reader.byte()
        desc: int | TableType | MemoryType | GlobalType
        if kind_code == 0:
            desc = reader.u32()
        elif kind_code == 1:
            desc = _table_type(reader)
        elif kind_code == 2:
            desc = _memory_type(reader)
        elif kind_code == 3:
            desc = _global_type(reader)
        elif kind_code == 4:
            if reader.byte() != 0:
                raise reader.error("bad tag attribute")
            desc = reader.u32()
        else:
            reader.pos -= 1
            raise reader.error(f"unknown import kind 0x{kind_code:02x}")
        imports.append(Import(module, name, _EXTERNAL_KINDS[kind_code], desc))
    return imports


def _read_exports(reader: Reader) -> list[Export]:
    exports = []
    for _ in range(reader.count("export")):
        name = reader.name()
        kind_code = reader.byte()
        if kind_code not in _EXTERNAL_KINDS:
            reader.pos -= 1
            raise reader.error(f"unknown export kind 0x{kind_code:02x}")
        exports.append(Export(name, _EXTERNAL_KINDS[kind_code], reader.u32()))
    return exports


def _read_code_sizes(reader: Reader) -> list[int]:
    sizes = []
    for _ in range(reader.count("function body")):
        size = reader.u32()
        reader.read_bytes(size)
        sizes.append(size)
    return sizes


def _read_data_segments(reader: Reader) -> list[DataSegment]:
    segments = []
    for _ in range(reader.count("data segment")):
        flags = reader.u32()
        if flags not in (0, 1, 2):
            raise reader.error(f"unknown data segment flags {flags}")
        memory_index = reader.u32() if flags == 2 else 0
        offset_expr = b""
        if flags != 1:
            start = reader.pos
            _skip_const_expr(reader)
            offset_expr = bytes(reader.data[start : reader.pos])
        size = reader.u32()
        reader.read_bytes(size)
        segments.append(DataSegment(flags != 1, memory_index, offset_expr, size))
    return segments


def parse_module(data: bytes) -> ModuleInfo:
    """Read the module-level structure of a (decompressed) WebAssembly binary.

    Checks framing and the encodings of every section read; cross-checks that the function
    and code sections agree, that type indices exist, and that exports are unique.
    Instruction-level validity of function bodies is left to wasmtime.
    """
    sections = read_sections(data)
    types: list[FuncType] = []
    imports: list[Import] = []
    functions: list[int] = []
    tables: list[TableType] = []
    memories: list[MemoryType] = []
    globals_: list[GlobalType] = []
    exports: list[Export] = []
    start: int | None = None
    element_count = 0
    data_segments: list[DataSegment] = []
    declared_data_count: int | None = None
    custom: list[tuple[str, bytes]] = []
    body_sizes: list[int] = []
    code_section_size = 0
    for section in sections:
        reader = Reader(section.payload, f"{SECTION_NAMES[section.id]} section")
        if section.id == CUSTOM:
            assert section.name is not None
            custom.append((section.name, section.payload))
            continue
        if section.id == TYPE:
            types = _read_types(reader)
        elif section.id == IMPORT:
            imports = _read_imports(reader)
        elif section.id == FUNCTION:
            functions = [reader.u32() for _ in range(reader.count("function"))]
        elif section.id == TABLE:
            tables = [_table_type(reader) for _ in range(reader.count("table"))]
        elif section.id == MEMORY:
            memories = [_memory_type(reader) for _ in range(reader.count("memory"))]
        elif section.id == TAG:
            for _ in range(reader.count("tag")):
                reader.byte()
                reader.u32()
        elif section.id == GLOBAL:
            for _ in range(reader.count("global")):
                globals_.append(_global_type(reader))
                _skip_const_expr(reader)
        elif section.id == EXPORT:
            exports = _read_exports(reader)
        elif section.id == START:
            start = reader.u32()
        elif section.id == ELEMENT:
            element_count = reader.count("element segment")
            reader.pos = len(section.payload)  # segment contents are validated by wasmtime
        elif section.id == DATA_COUNT:
            declared_data_count = reader.u32()
        elif section.id == CODE:
            code_section_size = len(section.payload)
            body_sizes = _read_code_sizes(reader)
        elif section.id == DATA:
            data_segments = _read_data_segments(reader)
        reader.end()
    info = ModuleInfo(
        types=tuple(types),
        imports=tuple(imports),
        functions=tuple(functions),
        tables=tuple(tables),
        memories=tuple(memories),
        globals=tuple(globals_),
        exports=tuple(exports),
        start=start,
        element_count=element_count,
        data_segments=tuple(data_segments),
        custom=tuple(custom),
        function_body_sizes=tuple(body_sizes),
        code_section_size=code_section_size,
        sections=tuple(sections),
    )
    _cross_check(info, declared_data_count)
    return info


def _cross_check(info: ModuleInfo, declared_data_count: int | None) -> None:
    if len(info.functions) != len(info.function_body_sizes):
        raise InvalidWasm(
            f"function and code section have inconsistent lengths "
            f"({len(info.functions)} functions, {len(info.function_body_sizes)} bodies)"
        )
    if declared_data_count is not None and declared_data_count != info.data_count:
        raise InvalidWasm(
            f"data count section says {declared_data_count} segments, "
            f"data section has {info.data_count}"
        )
    type_count = len(info.types)
    for i in info.imports:
        if i.kind in ("func", "tag") and not (isinstance(i.type, int) and i.type < type_count):
            raise InvalidWasm(f"import '{i.module}'.'{i.name}' uses unknown type {i.type}")
    for index, type_index in enumerate(info.functions):
        if type_index >= type_count:
            raise InvalidWasm(f"function {index} uses unknown type {type_index}")
    seen: set[str] = set()
    limits = {
        "func": info.function_count,
        "table": len(info.all_tables),
        "memory": len(info.all_memories),
        "global": sum(1 for i in info.imports if i.kind == "global") + len(info.globals),
        "tag": None,
    }
    for export in info.exports:
        if export.name in seen:
            raise InvalidWasm(f"duplicate export name '{export.name}'")
        seen.add(export.name)
        limit = limits[export.kind]
        if limit is not None and export.index >= limit:
            raise InvalidWasm(
                f"export '{export.name}' refers to unknown {export.kind} {export.index}"
            )
    if info.start is not None and info.start >= info.function_count:
        raise InvalidWasm(f"start function {info.start} does not exist")
