#!/usr/bin/env node
// Compile Motoko sources with one of the npm `motoko` compilers installed here.
//
//   node compile.cjs <moc-3|moc-4> <out-dir> <file.mo> [<file.mo> ...]
//
// moc-3 = motoko@3.9.7 (moc 0.13.6, bundled mo:base, wasm32, classic persistence);
// moc-4 = motoko@4.10.0 (bundled mo:core, wasm64, enhanced orthogonal persistence).
//
// `require('motoko')` returns a compiler object working on a virtual file system:
// `mo.loadPackage(json)` installs the bundled library (packages/latest/{base,core}.json)
// under the `mo:` prefix, `mo.write(path, text)` adds a source and `mo.wasm(path)` returns
// `{ wasm: Uint8Array, candid: string, stable: string }` (or throws with the diagnostics).
// Each source is written to the virtual path `<basename>`, so the output does not depend
// on where the file lives on disk. The compiler keeps global counters (fresh names that end
// up in the code, data and name sections), so each file gets a freshly loaded compiler
// instance: otherwise a file's bytes would depend on what was compiled before it. For every input this writes `<out-dir>/<name>.wasm`,
// `<name>.did` (Candid service) and `<name>.most` (stable types), and prints one JSON line
// per file: {"name", "ms" (load + check + compile), "wasm_size", "warnings"}.
'use strict';

const fs = require('fs');
const path = require('path');

const LIBRARIES = { 'moc-3': 'base', 'moc-4': 'core' };

// Load the compiler package anew (drop its modules from the require cache first).
function freshCompiler(pkgDir) {
  const prefix = pkgDir + path.sep;
  for (const key of Object.keys(require.cache)) {
    if (key.startsWith(prefix) && !key.endsWith('.json')) {
      delete require.cache[key];
    }
  }
  return require(pkgDir);
}

function main(argv) {
  const [flavour, outDir, ...sources] = argv;
  if (!(flavour in LIBRARIES) || !outDir || sources.length === 0) {
    process.stderr.write('usage: node compile.cjs <moc-3|moc-4> <out-dir> <file.mo>...\n');
    return 2;
  }
  const pkgDir = path.join(__dirname, 'node_modules', flavour);
  const library = require(path.join(pkgDir, 'packages', 'latest', `${LIBRARIES[flavour]}.json`));
  fs.mkdirSync(outDir, { recursive: true });

  for (const source of sources) {
    const started = process.hrtime.bigint();
    const mo = freshCompiler(pkgDir);
    mo.loadPackage(library);
    const name = path.basename(source, '.mo');
    const virtualPath = `${name}.mo`;
    mo.write(virtualPath, fs.readFileSync(source, 'utf8'));
    const warnings = mo
      .check(virtualPath)
      .filter((d) => d.severity !== 1)
      .map((d) => `${virtualPath}:${d.range.start.line + 1}: ${d.code} ${d.message}`);
    let result;
    try {
      result = mo.wasm(virtualPath, 'ic');
    } catch (err) {
      process.stderr.write(`${source}: compile error: ${err.message}\n`);
      return 1;
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    fs.writeFileSync(path.join(outDir, `${name}.wasm`), Buffer.from(result.wasm));
    fs.writeFileSync(path.join(outDir, `${name}.did`), result.candid);
    fs.writeFileSync(path.join(outDir, `${name}.most`), result.stable || '');
    process.stdout.write(
      JSON.stringify({ name, ms: Math.round(ms), wasm_size: result.wasm.length, warnings }) + '\n',
    );
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
