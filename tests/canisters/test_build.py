"""The committed Motoko test canisters match their sources and are loadable canister modules.

Spec: IC interface spec 0.66.0, Canister interface › Canister module format (imports only from
`ic0` with the listed signatures, `canister_*` exports of type `() -> ()`, `icp:` custom
sections); IC interface spec 0.66.0, Canister interface › System API imports.

The modules are built by `scripts/build_canisters.py` (see its docstring); nothing is executed
here: the replica core runs them later.
"""

from __future__ import annotations

import importlib.util
import json
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import wasmtime

CANISTERS_DIR = Path(__file__).resolve().parent
REPO = CANISTERS_DIR.parent.parent
BUILD_DIR = CANISTERS_DIR / "build"
EOP_SECTION = "icp:private enhanced-orthogonal-persistence"
CANISTER_NAMES = ("callee", "caller", "certified", "counter", "heartbeat", "http", "timer", "trap")
FLAVOUR_MEMORY = {"base": "wasm32", "core": "wasm64"}
COMPILERS = {"base": ("moc-3", "3.9.7"), "core": ("moc-4", "4.10.0")}

# The ic0 imports moc-compiled canisters use: name → (wasm64 signature, wasm32 signature).
IC0_TABLE: dict[str, tuple[str | None, str | None]] = runpy.run_path(
    str(CANISTERS_DIR / "moc_imports.py")
)["MOC_IC0_IMPORTS"]

# Exports every Motoko module has (shared/notes/moc-canisters.md).
MOTOKO_EXPORTS = {
    "canister_init",
    "canister_pre_upgrade",
    "canister_post_upgrade",
    "canister_global_timer",
    "canister_update __motoko_async_helper",
}
SYSTEM_EXPORTS = {
    "canister_init",
    "canister_inspect_message",
    "canister_pre_upgrade",
    "canister_post_upgrade",
    "canister_heartbeat",
    "canister_on_low_wasm_memory",
    "canister_global_timer",
}
METHOD_EXPORT = re.compile(r"canister_(update|query|composite_query) (.+)")


def _load_build_script() -> ModuleType:
    path = REPO / "scripts" / "build_canisters.py"
    spec = importlib.util.spec_from_file_location("icbox_build_canisters", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module while being created
    spec.loader.exec_module(module)
    return module


build_canisters = _load_build_script()
MANIFEST: dict[str, Any] = json.loads((BUILD_DIR / "manifest.json").read_text())
ENTRIES: dict[str, dict[str, Any]] = MANIFEST["canisters"]
KEYS = sorted(ENTRIES)


@pytest.fixture(scope="module")
def modules() -> dict[str, wasmtime.Module]:
    """Every committed module, compiled once by wasmtime (memory64 on for the wasm64 ones)."""
    config = wasmtime.Config()
    config.wasm_memory64 = True  # on by default in wasmtime 50; explicit for the wasm64 modules
    engine = wasmtime.Engine(config)
    return {key: wasmtime.Module(engine, _wasm(key)) for key in KEYS}


def _wasm(key: str) -> bytes:
    return (CANISTERS_DIR / ENTRIES[key]["wasm"]).read_bytes()


def _signature(func: wasmtime.FuncType) -> str:
    params = ", ".join(str(p) for p in func.params)
    results = ", ".join(str(r) for r in func.results)
    return f"({params}) -> ({results})"


def test_manifest_lists_exactly_the_sources_of_both_flavours():
    sources = {
        f"{p.parent.name}/{p.stem}"
        for f in FLAVOUR_MEMORY
        for p in (CANISTERS_DIR / f).glob("*.mo")
    }
    expected = {f"{flavour}/{name}" for flavour in FLAVOUR_MEMORY for name in CANISTER_NAMES}
    assert sources == expected
    assert set(ENTRIES) == expected


def test_manifest_pins_the_compilers_of_the_lockfile():
    lock = json.loads((CANISTERS_DIR / "package-lock.json").read_text())
    for flavour, (alias, version) in COMPILERS.items():
        assert lock["packages"][f"node_modules/{alias}"]["version"] == version
        assert MANIFEST["compilers"][flavour]["version"] == version
        assert MANIFEST["compilers"][flavour]["npm_alias"] == alias
    for key, entry in ENTRIES.items():
        assert entry["compiler"] == f"motoko@{COMPILERS[entry['flavour']][1]}", key


@pytest.mark.parametrize("key", KEYS)
def test_manifest_hashes_match_sources_and_outputs(key):
    entry = ENTRIES[key]
    source = (CANISTERS_DIR / entry["source"]).read_bytes()
    wasm = _wasm(key)
    did = (BUILD_DIR / key).with_suffix(".did").read_bytes()
    assert entry["source"] == f"{key}.mo"
    assert build_canisters.sha256_hex(source) == entry["source_sha256"], "source changed: rebuild"
    assert build_canisters.sha256_hex(wasm) == entry["wasm_sha256"]
    assert len(wasm) == entry["wasm_size"]
    assert build_canisters.sha256_hex(did) == entry["did_sha256"]


@pytest.mark.parametrize("key", KEYS)
def test_module_compiles_in_wasmtime_and_imports_only_ic0_functions(key, modules):
    module = modules[key]
    imports = {}
    for imp in module.imports:
        assert imp.module == "ic0", f"{imp.module}.{imp.name}"
        assert isinstance(imp.type, wasmtime.FuncType), f"ic0.{imp.name} is not a function"
        imports[imp.name] = _signature(imp.type)
    assert imports == ENTRIES[key]["ic0_imports"]  # the manifest's reader agrees with wasmtime


@pytest.mark.parametrize("key", KEYS)
def test_ic0_imports_are_in_the_moc_import_table_with_matching_signatures(key):
    entry = ENTRIES[key]
    column = 0 if entry["memory"] == "wasm64" else 1
    for name, signature in entry["ic0_imports"].items():
        assert name in IC0_TABLE, f"ic0.{name} is not in the table"
        assert IC0_TABLE[name][column] == signature, f"ic0.{name}: {signature}"


@pytest.mark.parametrize("key", KEYS)
def test_memory_kind_and_persistence_section_follow_the_flavour(key, modules):
    entry = ENTRIES[key]
    module = modules[key]
    memories = [e.type for e in module.exports if isinstance(e.type, wasmtime.MemoryType)]
    assert len(memories) == 1
    assert entry["memory"] == FLAVOUR_MEMORY[entry["flavour"]]
    parsed = build_canisters.read_module(_wasm(key))
    assert parsed.memory == entry["memory"]
    if entry["flavour"] == "core":
        assert memories[0].is_64
        assert EOP_SECTION in parsed.custom_sections
    else:
        assert not memories[0].is_64
        assert EOP_SECTION not in parsed.custom_sections
    assert sorted(parsed.custom_sections) == entry["custom_sections"]


@pytest.mark.parametrize("key", KEYS)
def test_canister_exports_are_unit_functions_with_unique_method_names(key, modules):
    module = modules[key]
    exports = {e.name: e.type for e in module.exports if e.name.startswith("canister_")}
    assert sorted(exports) == ENTRIES[key]["canister_exports"]
    assert MOTOKO_EXPORTS <= set(exports)
    methods: list[str] = []
    for name, typ in exports.items():
        assert isinstance(typ, wasmtime.FuncType) and _signature(typ) == "() -> ()", name
        if name not in SYSTEM_EXPORTS:
            match = METHOD_EXPORT.fullmatch(name)
            assert match, f"{name} is not a valid canister_ export"
            methods.append(match.group(2))
    assert len(methods) == len(set(methods))


@pytest.mark.parametrize("key", KEYS)
def test_icp_custom_sections_are_public_or_private(key):
    parsed = build_canisters.read_module(_wasm(key))
    icp = [n for n in parsed.custom_sections if n.startswith("icp:")]
    assert all(re.fullmatch(r"icp:(public|private) \S+", n) for n in icp), icp
    assert len(icp) <= 16
    assert "icp:private candid:service" in icp
    service = parsed.custom_sections["icp:private candid:service"].decode()
    assert service == (BUILD_DIR / key).with_suffix(".did").read_text()


def test_heartbeat_exports_canister_heartbeat_only_in_the_heartbeat_canister():
    for key, entry in ENTRIES.items():
        has = "canister_heartbeat" in entry["canister_exports"]
        assert has == key.endswith("/heartbeat"), key


def _service_without_argument_names(did: str) -> str:
    # Candid argument names are documentation; moc 0.13 omits them, moc 4.x keeps them.
    head, _, service = did.partition("service : {")
    return (
        head
        + "service : {"
        + re.sub(r"(?<=[(,] )[a-z_][a-z0-9_]*: |(?<=\()[a-z_][a-z0-9_]*: ", "", service)
    )


@pytest.mark.parametrize("name", CANISTER_NAMES)
def test_both_flavours_have_the_same_candid_interface(name):
    base = (BUILD_DIR / "base" / name).with_suffix(".did").read_text()
    core = (BUILD_DIR / "core" / name).with_suffix(".did").read_text()
    assert _service_without_argument_names(base) == _service_without_argument_names(core)


def test_reader_rejects_bytes_that_are_not_a_wasm_module():
    with pytest.raises(build_canisters.WasmFormatError, match="magic"):
        build_canisters.read_module(b"\x00asn\x01\x00\x00\x00")
    with pytest.raises(build_canisters.WasmFormatError, match="version 02000000"):
        build_canisters.read_module(b"\x00asm\x02\x00\x00\x00")
    truncated = _wasm("base/counter")[:100]
    with pytest.raises(build_canisters.WasmFormatError, match="exceeds the module"):
        build_canisters.read_module(truncated)


def _compilers_installed() -> bool:
    return shutil.which("node") is not None and all(
        (CANISTERS_DIR / "node_modules" / alias / "package.json").is_file()
        for alias, _ in COMPILERS.values()
    )


@pytest.mark.skipif(not _compilers_installed(), reason="run `npm ci` in tests/canisters")
def test_compiling_again_reproduces_the_committed_bytes(tmp_path):
    # One small canister per flavour (a full `--check` takes about a minute).
    procs = {
        flavour: subprocess.Popen(
            ["node", str(CANISTERS_DIR / "compile.cjs"), alias, str(tmp_path / flavour)]
            + [str(CANISTERS_DIR / flavour / "heartbeat.mo")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for flavour, (alias, _) in COMPILERS.items()
    }
    for flavour, proc in procs.items():
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        for suffix in (".wasm", ".did", ".most"):
            fresh = (tmp_path / flavour / "heartbeat").with_suffix(suffix).read_bytes()
            assert fresh == (BUILD_DIR / flavour / "heartbeat").with_suffix(suffix).read_bytes()
