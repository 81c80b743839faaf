"""Reading and writing the WebAssembly binary format, as far as the replica needs it.

Spec: IC interface spec 0.66.0, The System API › WebAssembly module requirements (a canister
module is a WebAssembly binary, or its gzip); WebAssembly core spec 2.0 › Binary format
(sections, types, imports, exports, limits), plus the memory64 proposal (limits flag 0x04).

Two levels:

* `wasm_sections.py` frames the module into `Section`s and back (`read_sections` /
  `write_module`, `split_code_section` / `join_code_section`) and holds the `Reader`; its
  names are re-exported here.
* `parse_module` (this module) reads the sections the replica checks (types, imports,
  functions, tables, memories, globals, exports, start, elements, data, code framing,
  custom sections) into a `ModuleInfo` and cross-checks them. Function bodies are not
  decoded here (that is wasmtime's and the metering pass's job).

Every malformed input raises `InvalidWasm` with a message that says what was wrong and at
which byte offset; no other exception escapes for bad bytes.
"""

from __future__ import annotations

from replica_core.execution.wasm_sections import (
    CODE,
    CUSTOM,
    DATA,
    DATA_COUNT,
    ELEMENT,
    EXPORT,
    FUNCTION,
    GLOBAL,
    GZIP_MAGIC,
    IMPORT,
    MEMORY,
    SECTION_NAMES,
    START,
    TABLE,
    TAG,
    TYPE,
    VALUE_TYPES,
    WASM_MAGIC,
    WASM_VERSION,
    InvalidWasm,
    Reader,
    decompress_if_gzipped,
    join_code_section,
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
    ModuleInfo,
    Section,
    TableType,
)

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

_EXTERNAL_KINDS = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}


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
