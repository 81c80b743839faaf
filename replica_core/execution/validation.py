"""Canister module validation: the rules a module must meet before `install_code` accepts it.

Spec: IC interface spec 0.66.0, The System API › WebAssembly module requirements, with the
limits of resource-limits.md (functions, globals, exports, custom sections, code size).

`validate_module` takes the module exactly as given to `install_code` (a Wasm binary or its
gzip), checks every rule, and returns a `ValidatedModule`: what the rest of the replica
needs to know about the module (pointer width, exported methods, system entry points,
`icp:` metadata, module hash) plus the decompressed bytes. The first violated rule raises
`InvalidModule`, whose message uses the IC replica's wording where the replica has one
(`dfinity/ic`: rs/embedders/src/wasm_utils/{decoding,validation}.rs and
rs/types/wasm_types/src/errors.rs), so clients see familiar errors.

Order of checks (impl): decode (gzip, framing, sizes) → imports → exports → data →
globals → functions → memories → code section size → custom sections → wasmtime validation
(last: it catches everything instruction-level, with wasmtime's message).
Not checked here: the per-function instruction limit (1,000,000) and complexity, which need
an instruction decoder (the metering pass has one).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field

import wasmtime

from replica_core.errors import IcboxError
from replica_core.execution.engine import make_engine
from replica_core.execution.ic0 import IC0_MODULE, imports_for
from replica_core.execution.wasm_binary import (
    GZIP_MAGIC,
    WASM_MAGIC,
    InvalidWasm,
    decompress_if_gzipped,
    parse_module,
)
from replica_core.execution.wasm_types import FuncType, ModuleInfo
from replica_core.leb128 import decode_signed
from replica_core.types import Hash

__all__ = [
    "DEFAULT_LIMITS",
    "SYSTEM_ENTRY_POINTS",
    "InvalidModule",
    "ValidatedModule",
    "ValidationLimits",
    "validate_module",
]

WASM_PAGE_SIZE = 64 * 1024

# The exports the spec gives a meaning to; all must have type () -> ().
SYSTEM_ENTRY_POINTS: frozenset[str] = frozenset(
    {
        "canister_init",
        "canister_inspect_message",
        "canister_pre_upgrade",
        "canister_post_upgrade",
        "canister_heartbeat",
        "canister_global_timer",
        "canister_on_low_wasm_memory",
    }
)
_METHOD_PREFIXES = {
    "canister_update ": "update",
    "canister_query ": "query",
    "canister_composite_query ": "composite_query",
}
# Export names the IC replica reserves for its own instrumentation (impl, as in dfinity/ic);
# our metering pass may use the same names, so a canister must not.
_RESERVED_EXPORTS = frozenset(
    {
        "canister counter_instructions",
        "canister counter_dirty_pages",
        "canister counter_accessed_pages",
        "canister_start",
        "stable_memory",
        "stable_bytemap_memory",
    }
)
_DEBUG_NAMES = {
    "i32": "I32",
    "i64": "I64",
    "f32": "F32",
    "f64": "F64",
    "v128": "V128",
    "funcref": "FuncRef",
    "externref": "ExternRef",
}
_GLOBAL_TYPES = frozenset({"i32", "i64", "f32", "f64", "v128"})


@dataclass(frozen=True, slots=True)
class ValidationLimits:
    """The limits a module is checked against (resource-limits.md; the IC's defaults)."""

    max_module_size: int = 100 * 1024 * 1024  # "Wasm module size: 100 MiB"
    max_code_section_size: int = 10 * 1024 * 1024  # "code section: 10 MiB"
    max_functions: int = 50_000  # "> 50,000 functions"
    max_globals: int = 1_000  # "> 1,000 globals"
    max_custom_sections: int = 16  # "> 16 exported custom sections"
    max_custom_sections_size: int = 1024 * 1024  # "icp: names + contents > 1 MiB"
    max_exported_methods: int = 1_000  # "> 1,000 exported canister_update|query|... functions"
    max_exported_method_name_lengths: int = 20_000  # "sum of <name> lengths > 20,000"
    max_wasm64_memory: int = 6 * 1024 * 1024 * 1024  # "Wasm heap: 6 GiB (wasm64)"


DEFAULT_LIMITS = ValidationLimits()


class InvalidModule(IcboxError, ValueError):
    """The canister module breaks a rule of the spec; the message says which (IC wording)."""


@dataclass(frozen=True, slots=True)
class ValidatedModule:
    """A canister module that passed validation, and what the replica needs to know of it."""

    wasm: bytes  # the decompressed Wasm binary
    module_hash: Hash  # SHA-256 of the module as given to install_code (gzip if gzipped)
    is_64: bool  # pointer width I = i64 (memory64 module)
    update_methods: frozenset[str]
    query_methods: frozenset[str]
    composite_query_methods: frozenset[str]
    system_entry_points: frozenset[str]  # exported members of SYSTEM_ENTRY_POINTS
    public_metadata: dict[str, bytes]  # `icp:public <name>` sections, by <name>
    private_metadata: dict[str, bytes]  # `icp:private <name>` sections, by <name>
    info: ModuleInfo = field(repr=False, compare=False)

    def exports_method(self, name: str) -> bool:
        """True if `name` is exported as an update, query or composite query method."""
        return (
            name in self.update_methods
            or name in self.query_methods
            or name in self.composite_query_methods
        )


@functools.cache
def _validation_engine() -> wasmtime.Engine:
    return make_engine()


def validate_module(
    module: bytes,
    *,
    limits: ValidationLimits = DEFAULT_LIMITS,
    engine: wasmtime.Engine | None = None,
) -> ValidatedModule:
    """Check a canister module (as given to `install_code`) against every rule of the spec.

    `engine` should be the sandbox's engine (`make_engine()`), so the module is validated
    with the configuration it will run under; by default a shared one is used.
    """
    wasm = _decode(module, limits)
    try:
        info = parse_module(wasm)
    except InvalidWasm as e:
        raise InvalidModule(f"Failed to decode wasm module: {e}") from None
    _check_imports(info)
    methods = _check_exports(info, limits)
    _check_data(info)
    _check_globals(info, limits)
    _check_functions(info, limits)
    _check_memories(info, limits)
    _check_code_section(info, limits)
    public, private = _check_custom_sections(info, limits)
    _check_with_wasmtime(wasm, engine or _validation_engine())
    exported = {e.name for e in info.exports if e.kind == "func"}
    return ValidatedModule(
        wasm=wasm,
        module_hash=Hash(hashlib.sha256(module).digest()),
        is_64=info.is_64,
        update_methods=frozenset(methods["update"]),
        query_methods=frozenset(methods["query"]),
        composite_query_methods=frozenset(methods["composite_query"]),
        system_entry_points=frozenset(exported & SYSTEM_ENTRY_POINTS),
        public_metadata=public,
        private_metadata=private,
        info=info,
    )


def _decode(module: bytes, limits: ValidationLimits) -> bytes:
    """The Wasm binary inside `module` (RFC 1952 gzip if it starts with `1f 8b 08`)."""
    too_large = f"Wasm module is too large, it can be at most {limits.max_module_size} bytes"
    if module.startswith(WASM_MAGIC):
        if len(module) > limits.max_module_size:
            raise InvalidModule(f"Failed to decode wasm module: {too_large}")
        return module
    if module.startswith(GZIP_MAGIC):
        try:
            return decompress_if_gzipped(module, limits.max_module_size)
        except InvalidWasm as e:
            raise InvalidModule(f"Failed to decode wasm module: {e}") from None
    raise InvalidModule("Failed to decode wasm module: unsupported canister module format")


def _debug_types(types: tuple[str, ...]) -> str:
    """Value types as the IC's messages print them (Rust Debug of wasmparser's ValType)."""
    return "[" + ", ".join(_DEBUG_NAMES.get(t, t) for t in types) + "]"


def _check_signature(
    name: str, actual: FuncType, params: tuple[str, ...], results: tuple[str, ...]
) -> None:
    prefix = "Wasm module has an invalid function signature."
    if actual.params != params:
        raise InvalidModule(
            f"{prefix} Expected input params {_debug_types(params)} for '{name}', "
            f"got {_debug_types(actual.params)}."
        )
    if actual.results != results:
        raise InvalidModule(
            f"{prefix} Expected return type {_debug_types(results)} for '{name}', "
            f"got {_debug_types(actual.results)}."
        )


def _check_imports(info: ModuleInfo) -> None:
    """Imports: only functions, only from `ic0`, only names the spec lists for this width."""
    prefix = "Wasm module has an invalid import section."
    available = imports_for(info.is_64)
    for imp in info.imports:
        if imp.kind == "func":
            assert isinstance(imp.type, int)
            row = available.get(imp.name)
            if row is None:
                raise InvalidModule(
                    f"{prefix} Module imports function '{imp.name}' from '{imp.module}' "
                    "that is not exported by the runtime."
                )
            if imp.module != IC0_MODULE:
                raise InvalidModule(
                    f'{prefix} Module imports function "{imp.name}" from "{imp.module}", '
                    f'expected to be imported from one of ["{IC0_MODULE}"] instead.'
                )
            params, results = (
                (row.params64, row.results64) if info.is_64 else (row.params32, row.results32)
            )
            _check_signature(imp.name, info.types[imp.type], params, results)
        elif imp.kind == "global":
            raise InvalidModule(f"{prefix} Importing globals is not allowed.")
        elif imp.kind == "tag":
            raise InvalidModule(f"{prefix} Importing tags is not allowed.")
        else:
            # (impl) the spec allows imports only from ic0, which exports only functions.
            raise InvalidModule(
                f"{prefix} Module imports {imp.kind} '{imp.name}' from '{imp.module}' "
                "that is not exported by the runtime."
            )


def _check_exports(info: ModuleInfo, limits: ValidationLimits) -> dict[str, list[str]]:
    """Exports: reserved names, `canister_` names, () -> () entry points, method limits."""
    prefix = "Wasm module has an invalid export section."
    methods: dict[str, list[str]] = {kind: [] for kind in _METHOD_PREFIXES.values()}
    seen: set[str] = set()
    name_lengths = 0
    for export in info.exports:
        if export.name in _RESERVED_EXPORTS:
            raise InvalidModule(f"{prefix} Exporting reserved symbol {export.name} not allowed.")
        if not export.name.startswith("canister_"):
            continue
        if export.kind != "func":
            raise InvalidModule(
                f"{prefix} Exporting reserved {export.kind} '{export.name}' "
                'with "canister_" prefix'
            )
        method_kind = next(
            (kind for p, kind in _METHOD_PREFIXES.items() if export.name.startswith(p)), None
        )
        if method_kind is not None:
            method = export.name.split(" ", 1)[1]
            if method in seen:
                raise InvalidModule(
                    f"Duplicate function '{method}' exported multiple times with different "
                    "call types: update, query, or composite_query."
                )
            seen.add(method)
            methods[method_kind].append(method)
            name_lengths += len(method.encode("utf-8"))
        elif export.name not in SYSTEM_ENTRY_POINTS:
            raise InvalidModule(
                f"{prefix} Exporting reserved function '{export.name}' with \"canister_\" prefix"
            )
        _check_signature(export.name, info.function_type(export.index), (), ())
    if len(seen) > limits.max_exported_methods:
        raise InvalidModule(
            "The number of exported functions called `canister_update <name>`, "
            "`canister_query <name>`, or `canister_composite_query <name>` is "
            f"{len(seen)} which exceeds {limits.max_exported_methods}."
        )
    if name_lengths > limits.max_exported_method_name_lengths:
        raise InvalidModule(
            "The sum of `<name>` lengths in exported functions called `canister_update <name>`, "
            "`canister_query <name>`, or `canister_composite_query <name>` is "
            f"{name_lengths} which exceeds the allowed limit of "
            f"{limits.max_exported_method_name_lengths}."
        )
    return methods


def _describe_const_expr(expr: bytes) -> str:
    names = {0x41: "I32Const", 0x42: "I64Const", 0x23: "GlobalGet", 0xD0: "RefNull"}
    opcode = expr[0] if expr else None
    return names.get(opcode, f"opcode 0x{opcode:02x}") if opcode is not None else "empty"


def _is_single_const(expr: bytes, opcode: int) -> bool:
    """True if `expr` is exactly `<opcode> <LEB128 immediate> end`."""
    if not expr or expr[0] != opcode:
        return False
    try:
        _, end = decode_signed(expr, 1)
    except ValueError:
        return False
    return expr[end:] == b"\x0b"


def _check_data(info: ModuleInfo) -> None:
    """Active data segments' offsets must be one `i32.const` (wasm32) / `i64.const` (wasm64).

    (impl, as the IC replica: its orthogonal-persistence instrumentation needs constant
    offsets.)
    """
    width, opcode = ("64", 0x42) if info.is_64 else ("32", 0x41)
    for segment in info.data_segments:
        if not segment.active:
            continue
        expr = segment.offset_expr
        if not _is_single_const(expr, opcode):
            raise InvalidModule(
                "Wasm module has an invalid data section. Invalid offset expression in data "
                f"segment for {width}bit memory: {_describe_const_expr(expr)}"
            )


def _check_globals(info: ModuleInfo, limits: ValidationLimits) -> None:
    """At most `max_globals` defined globals, each of a numeric or vector type."""
    if info.globals_count > limits.max_globals:
        raise InvalidModule(
            f"Wasm module defined {info.globals_count} globals which exceeds the maximum "
            f"number allowed {limits.max_globals}."
        )
    for global_type in info.globals:
        if global_type.value_type not in _GLOBAL_TYPES:
            raise InvalidModule(
                "Wasm module has an invalid global section. Unsupported global type: "
                f"{_debug_types((global_type.value_type,))[1:-1]}"
            )


def _check_functions(info: ModuleInfo, limits: ValidationLimits) -> None:
    """At most `max_functions` defined functions."""
    if len(info.functions) > limits.max_functions:
        raise InvalidModule(
            f"Wasm module defined {len(info.functions)} functions which exceeds the maximum "
            f"number allowed {limits.max_functions}."
        )


def _check_memories(info: ModuleInfo, limits: ValidationLimits) -> None:
    """At most one memory (imported or defined); a wasm64 maximum within the heap limit."""
    memories = info.all_memories
    if len(memories) > 1:
        raise InvalidModule(
            f"Wasm module has an invalid memory section. Module declares {len(memories)} "
            "memories, at most one memory is allowed."
        )
    if memories and memories[0].is_64 and memories[0].maximum is not None:
        allowed = limits.max_wasm64_memory // WASM_PAGE_SIZE
        if memories[0].maximum > allowed:
            raise InvalidModule(
                f"Wasm module declared a maximum memory size of {memories[0].maximum} Wasm "
                f"pages which exceeds the maximum allowed {allowed}."
            )


def _check_code_section(info: ModuleInfo, limits: ValidationLimits) -> None:
    """The code section is at most `max_code_section_size` bytes."""
    if info.code_section_size > limits.max_code_section_size:
        raise InvalidModule(
            f"Wasm module code section size of {info.code_section_size} exceeds the maximum "
            f"allowed size of {limits.max_code_section_size}."
        )


def _check_custom_sections(
    info: ModuleInfo, limits: ValidationLimits
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """`icp:` sections: `icp:public <name>` / `icp:private <name>`, unique names, limits."""
    prefix = "Wasm module has an invalid custom section."
    public: dict[str, bytes] = {}
    private: dict[str, bytes] = {}
    total = 0
    for section_name, payload in info.custom:
        if not section_name.startswith("icp:"):
            continue
        if section_name.startswith("icp:public "):
            name, target = section_name.removeprefix("icp:public "), public
        elif section_name.startswith("icp:private "):
            name, target = section_name.removeprefix("icp:private "), private
        elif section_name in ("icp:public", "icp:private"):
            raise InvalidModule(
                f"{prefix} 'icp:' section names must have a space after the public/private scope"
            )
        else:
            raise InvalidModule(
                f"{prefix} Invalid custom section: Custom section '{section_name}' has no "
                "public/private scope defined."
            )
        if name in public or name in private:
            raise InvalidModule(f"{prefix} Invalid custom section: name {name} already exists")
        total += len(payload) + len(name.encode("utf-8"))
        if total > limits.max_custom_sections_size:
            raise InvalidModule(
                f"{prefix} Invalid custom sections: total size of the custom sections exceeds "
                f"the maximum allowed: size {total} bytes, allowed "
                f"{limits.max_custom_sections_size} bytes"
            )
        target[name] = payload
        if len(public) + len(private) > limits.max_custom_sections:
            raise InvalidModule(
                f"Wasm module defined {len(public) + len(private)} custom sections which "
                f"exceeds the maximum number allowed {limits.max_custom_sections}."
            )
    return public, private


def _check_with_wasmtime(wasm: bytes, engine: wasmtime.Engine) -> None:
    """wasmtime's own validation, under the replica's engine configuration."""
    try:
        wasmtime.Module.validate(engine, wasm)
    except wasmtime.WasmtimeError as e:
        message = str(e).strip()
        raise InvalidModule(
            "Wasmtime failed to validate wasm module "
            f"wasmtime::Module::validate() failed with {message}"
        ) from None
