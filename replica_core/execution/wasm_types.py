"""The records of a parsed WebAssembly module (types, imports, exports, limits, segments).

Spec: WebAssembly core spec 2.0 › Modules (the abstract syntax the binary format encodes),
plus memory64 (64-bit memories and tables); used by IC interface spec 0.66.0, The System
API › WebAssembly module requirements.

Kept apart from `wasm_binary` (which reads and writes the bytes) so that both the
validator and the sandbox can use these names without the reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "DataSegment",
    "Export",
    "FuncType",
    "GlobalType",
    "Import",
    "MemoryType",
    "ModuleInfo",
    "Section",
    "TableType",
]


@dataclass(frozen=True, slots=True)
class Section:
    """One section: its id and content; custom sections carry their name separately.

    For a custom section (`id == 0`) `payload` is the content after the name.
    """

    id: int
    payload: bytes
    name: str | None = None


@dataclass(frozen=True, slots=True)
class FuncType:
    """A function signature as wasm value type names, e.g. `(("i32", "i32"), ("i64",))`."""

    params: tuple[str, ...]
    results: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TableType:
    """A table: element reference type and limits; `is_64` for table64 (memory64 proposal)."""

    element_type: str
    minimum: int
    maximum: int | None
    is_64: bool = False


@dataclass(frozen=True, slots=True)
class MemoryType:
    """A linear memory: limits in 64 KiB pages; `is_64` for memory64, `shared` for threads."""

    minimum: int
    maximum: int | None
    is_64: bool = False
    shared: bool = False


@dataclass(frozen=True, slots=True)
class GlobalType:
    """A global: value type name and mutability."""

    value_type: str
    mutable: bool


@dataclass(frozen=True, slots=True)
class Import:
    """One import; `type` is a type index (func, tag) or the imported entity's type."""

    module: str
    name: str
    kind: str
    type: int | TableType | MemoryType | GlobalType


@dataclass(frozen=True, slots=True)
class Export:
    """One export: its name, kind (`func`, `table`, `memory`, `global`, `tag`) and index."""

    name: str
    kind: str
    index: int


@dataclass(frozen=True, slots=True)
class DataSegment:
    """A data segment: active ones carry their memory and raw offset expression (with `end`)."""

    active: bool
    memory_index: int
    offset_expr: bytes
    size: int


@dataclass(frozen=True, slots=True)
class ModuleInfo:
    """What `parse_module` read from a module (defined entities exclude imported ones)."""

    types: tuple[FuncType, ...]
    imports: tuple[Import, ...]
    functions: tuple[int, ...]  # type index of each defined function
    tables: tuple[TableType, ...]
    memories: tuple[MemoryType, ...]
    globals: tuple[GlobalType, ...]
    exports: tuple[Export, ...]
    start: int | None
    element_count: int
    data_segments: tuple[DataSegment, ...]
    custom: tuple[tuple[str, bytes], ...]  # every custom section in order, duplicates kept
    function_body_sizes: tuple[int, ...]
    code_section_size: int
    sections: tuple[Section, ...] = field(repr=False, default=())

    @property
    def custom_sections(self) -> dict[str, bytes]:
        """Custom sections by name (the last one wins if a name repeats)."""
        return dict(self.custom)

    @property
    def data_count(self) -> int:
        """Number of segments in the data section."""
        return len(self.data_segments)

    @property
    def globals_count(self) -> int:
        """Number of globals defined by the module (imported globals not counted)."""
        return len(self.globals)

    @property
    def imported_functions(self) -> tuple[Import, ...]:
        """The function imports, in function index order."""
        return tuple(i for i in self.imports if i.kind == "func")

    @property
    def function_count(self) -> int:
        """Number of functions in the function index space (imported + defined)."""
        return len(self.imported_functions) + len(self.functions)

    @property
    def all_memories(self) -> tuple[MemoryType, ...]:
        """Imported then defined memories (the memory index space)."""
        imported = tuple(i.type for i in self.imports if isinstance(i.type, MemoryType))
        return imported + self.memories

    @property
    def all_tables(self) -> tuple[TableType, ...]:
        """Imported then defined tables (the table index space)."""
        imported = tuple(i.type for i in self.imports if isinstance(i.type, TableType))
        return imported + self.tables

    @property
    def is_64(self) -> bool:
        """True for a wasm64 module: its (first) memory is a memory64 memory."""
        memories = self.all_memories
        return bool(memories) and memories[0].is_64

    def function_type(self, index: int) -> FuncType:
        """The signature of function `index` in the function index space."""
        imported = self.imported_functions
        if index < len(imported):
            type_index = imported[index].type
        else:
            type_index = self.functions[index - len(imported)]
        assert isinstance(type_index, int)
        return self.types[type_index]
