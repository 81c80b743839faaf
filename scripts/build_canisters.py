"""Build the Motoko test canisters with the npm `motoko` compilers and write their manifest.

Spec: IC interface spec 0.66.0, Canister interface › Canister module format (the manifest
records, per module, its memory kind, its `ic0` imports and its `canister_*` exports).

Two compiler flavours live side by side in `tests/canisters/node_modules` (npm aliases, pinned
by `tests/canisters/package-lock.json`):

* `core`: `moc-4` = motoko@4.10.0, bundled `mo:core`; wasm64 + enhanced orthogonal persistence.
* `base`: `moc-3` = motoko@3.9.7 (moc 0.13.6), bundled `mo:base`; wasm32, classic stable vars.

Sources are `tests/canisters/<flavour>/<name>.mo`; outputs go to
`tests/canisters/build/<flavour>/<name>.{wasm,did,most}` and `tests/canisters/build/manifest.json`.

Usage (from the repository root)::

    .venv/bin/python scripts/build_canisters.py            # rebuild what is stale
    .venv/bin/python scripts/build_canisters.py --force    # rebuild everything
    .venv/bin/python scripts/build_canisters.py --check    # rebuild into a temp dir, diff

A canister is stale when its source hash, its compiler version or its wasm hash differs from
the manifest, or an output file is missing. `--check` exits 1 when any output would change
(reproducibility check). Modules are read with the replica's own Wasm reader
(`replica_core.execution.wasm_binary.parse_module`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from replica_core.execution.wasm_binary import FuncType, InvalidWasm, parse_module

__all__ = [
    "CANISTERS_DIR",
    "FLAVOURS",
    "Flavour",
    "WasmFormatError",
    "WasmImport",
    "WasmModule",
    "build",
    "check",
    "ensure_compilers",
    "main",
    "read_module",
    "sha256_hex",
]

CANISTERS_DIR = Path(__file__).resolve().parent.parent / "tests" / "canisters"
MANIFEST_NAME = "manifest.json"
OUTPUT_SUFFIXES = (".wasm", ".did", ".most")
NODE_TIMEOUT_S = 600


@dataclass(frozen=True, slots=True)
class Flavour:
    """One compiler flavour: npm alias, pinned package version and bundled library."""

    name: str
    npm_alias: str
    package: str
    version: str
    library: str
    memory: str


FLAVOURS: dict[str, Flavour] = {
    "base": Flavour("base", "moc-3", "motoko", "3.9.7", "base", "wasm32"),
    "core": Flavour("core", "moc-4", "motoko", "4.10.0", "core", "wasm64"),
}


# --- what the manifest records of a module ---------------------------------------------------

WasmFormatError = InvalidWasm
"""The bytes are not a well-formed wasm module (the message says which check failed)."""


@dataclass(frozen=True, slots=True)
class WasmImport:
    """An imported function: `module.name` with its signature, e.g. `(i64, i64) -> ()`."""

    module: str
    name: str
    signature: str


@dataclass(frozen=True, slots=True)
class WasmModule:
    """What the manifest needs from a module."""

    memory: str  # "wasm32" | "wasm64" | "none"
    function_imports: tuple[WasmImport, ...]
    other_imports: tuple[str, ...]  # "module.name" of non-function imports
    exports: tuple[str, ...]
    custom_sections: dict[str, bytes]


def _signature(func: FuncType) -> str:
    return f"({', '.join(func.params)}) -> ({', '.join(func.results)})"


def read_module(wasm: bytes) -> WasmModule:
    """Read memory kind, function imports, exports and custom sections of a wasm module
    (with `replica_core.execution.wasm_binary.parse_module`)."""
    info = parse_module(wasm)
    memories = info.all_memories
    if len(memories) > 1:
        raise WasmFormatError(f"{len(memories)} memories; a canister may have at most one")
    memory = "none" if not memories else "wasm64" if memories[0].is_64 else "wasm32"
    imports = tuple(
        WasmImport(i.module, i.name, _signature(info.types[i.type]))
        for i in info.imports
        if i.kind == "func" and isinstance(i.type, int)
    )
    other_imports = tuple(f"{i.module}.{i.name}" for i in info.imports if i.kind != "func")
    exports = tuple(e.name for e in info.exports)
    return WasmModule(memory, imports, other_imports, exports, info.custom_sections)


# --- building -------------------------------------------------------------------------------


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def _installed_version(flavour: Flavour, root: Path) -> str | None:
    pkg = root / "node_modules" / flavour.npm_alias / "package.json"
    if not pkg.is_file():
        return None
    return str(json.loads(pkg.read_text())["version"])


def ensure_compilers(root: Path = CANISTERS_DIR) -> None:
    """Run `npm ci` in `root` unless every flavour's pinned compiler is installed."""
    if all(_installed_version(f, root) == f.version for f in FLAVOURS.values()):
        return
    print("npm ci (installing the Motoko compilers)", flush=True)
    cmd = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]
    subprocess.run(cmd, cwd=root, check=True, timeout=NODE_TIMEOUT_S)
    for f in FLAVOURS.values():
        if (found := _installed_version(f, root)) != f.version:
            raise SystemExit(f"{f.npm_alias}: expected {f.package}@{f.version}, found {found}")


def _compile(flavour: Flavour, sources: list[Path], out_dir: Path) -> dict[str, int]:
    """Compile `sources` in one node process; return build milliseconds per canister."""
    cmd = ["node", str(CANISTERS_DIR / "compile.cjs"), flavour.npm_alias, str(out_dir)]
    proc = subprocess.run(
        cmd + [str(s) for s in sources],
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{flavour.name}: compile.cjs failed:\n{proc.stderr}{proc.stdout}")
    timings: dict[str, int] = {}
    for line in proc.stdout.splitlines():
        record = json.loads(line)
        for warning in record["warnings"]:
            print(f"warning: {flavour.name}/{warning}", file=sys.stderr)
        timings[record["name"]] = record["ms"]
    return timings


def _describe(flavour: Flavour, source: Path, out_dir: Path, build_ms: int) -> dict[str, object]:
    name = source.stem
    wasm = (out_dir / f"{name}.wasm").read_bytes()
    module = read_module(wasm)
    # moc stamps its build id (not a semver) into this section.
    compiler = module.custom_sections.get("icp:private motoko:compiler", b"").decode()
    return {
        "flavour": flavour.name,
        "compiler": f"{flavour.package}@{flavour.version}",
        "moc_build_id": compiler,
        "source": source.relative_to(CANISTERS_DIR).as_posix(),
        "source_sha256": sha256_hex(source.read_bytes()),
        "wasm": f"build/{flavour.name}/{name}.wasm",
        "wasm_sha256": sha256_hex(wasm),
        "wasm_size": len(wasm),
        "did_sha256": sha256_hex((out_dir / f"{name}.did").read_bytes()),
        "memory": module.memory,
        "ic0_imports": {i.name: i.signature for i in module.function_imports},
        "canister_exports": sorted(e for e in module.exports if e.startswith("canister_")),
        "custom_sections": sorted(module.custom_sections),
        "build_ms": build_ms,
    }


def _sources() -> dict[str, tuple[Flavour, Path]]:
    found: dict[str, tuple[Flavour, Path]] = {}
    for flavour in FLAVOURS.values():
        for source in sorted((CANISTERS_DIR / flavour.name).glob("*.mo")):
            found[f"{flavour.name}/{source.stem}"] = (flavour, source)
    return found


def _load_manifest(build_dir: Path) -> dict[str, dict[str, object]]:
    path = build_dir / MANIFEST_NAME
    if not path.is_file():
        return {}
    return dict(json.loads(path.read_text())["canisters"])


def _is_fresh(
    key: str, flavour: Flavour, source: Path, entry: dict[str, object] | None, build_dir: Path
) -> bool:
    if entry is None or entry.get("compiler") != f"{flavour.package}@{flavour.version}":
        return False
    if entry.get("source_sha256") != sha256_hex(source.read_bytes()):
        return False
    out = build_dir / key
    if not all(out.with_suffix(s).is_file() for s in OUTPUT_SUFFIXES):
        return False
    return entry.get("wasm_sha256") == sha256_hex(out.with_suffix(".wasm").read_bytes())


def build(build_dir: Path, *, force: bool = False) -> dict[str, dict[str, object]]:
    """Compile stale (or, with `force`, all) canisters into `build_dir`; write the manifest."""
    sources = _sources()
    old = {} if force else _load_manifest(build_dir)
    stale: dict[str, list[Path]] = {}
    for key, (flavour, source) in sources.items():
        if force or not _is_fresh(key, flavour, source, old.get(key), build_dir):
            stale.setdefault(flavour.name, []).append(source)

    if stale:
        ensure_compilers()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(FLAVOURS)) as pool:
        jobs = {
            name: pool.submit(_compile, FLAVOURS[name], files, build_dir / name)
            for name, files in stale.items()
        }
        timings = {name: job.result() for name, job in jobs.items()}
    elapsed = time.perf_counter() - started

    canisters: dict[str, dict[str, object]] = {}
    for key, (flavour, source) in sources.items():
        if flavour.name in timings and source.stem in timings[flavour.name]:
            out_dir = build_dir / flavour.name
            canisters[key] = _describe(flavour, source, out_dir, timings[flavour.name][source.stem])
        else:
            canisters[key] = old[key]
    for gone in sorted(set(old) - set(sources)):
        for suffix in OUTPUT_SUFFIXES:
            (build_dir / gone).with_suffix(suffix).unlink(missing_ok=True)

    compilers = {
        f.name: {"package": f.package, "version": f.version, "npm_alias": f.npm_alias}
        | {"library": f"mo:{f.library}", "memory": f.memory}
        for f in FLAVOURS.values()
    }
    manifest = {"compilers": compilers, "canisters": canisters}
    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    rebuilt = sum(len(v) for v in stale.values())
    print(f"built {rebuilt} of {len(sources)} canisters in {elapsed:.1f} s", flush=True)
    return canisters


def check(build_dir: Path) -> list[str]:
    """Rebuild everything into a temp dir; return how it differs from `build_dir`."""
    committed = _load_manifest(build_dir)
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="icbox-canisters-") as tmp:
        fresh = build(Path(tmp), force=True)
        for key in sorted(set(committed) | set(fresh)):
            if key not in committed or key not in fresh:
                problems.append(f"{key}: only in {'fresh' if key in fresh else 'committed'} build")
                continue
            for field in sorted(set(committed[key]) | set(fresh[key])):
                if field != "build_ms" and committed[key].get(field) != fresh[key].get(field):
                    problems.append(f"{key}: {field} differs")
            for suffix in OUTPUT_SUFFIXES:
                a, b = (build_dir / key).with_suffix(suffix), (Path(tmp) / key).with_suffix(suffix)
                if not a.is_file() or a.read_bytes() != b.read_bytes():
                    problems.append(f"{key}{suffix}: committed file differs from a fresh build")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="fail if a fresh build differs")
    mode.add_argument("--force", action="store_true", help="rebuild every canister")
    args = parser.parse_args(argv)
    if shutil.which("node") is None:
        print("node is not installed (apt-get install nodejs npm)", file=sys.stderr)
        return 2
    build_dir = CANISTERS_DIR / "build"
    if args.check:
        problems = check(build_dir)
        for problem in problems:
            print(problem, file=sys.stderr)
        print("reproducible" if not problems else f"{len(problems)} difference(s)")
        return 1 if problems else 0
    build(build_dir, force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
