// Builds the release worker (build/index.js + Wasm) with worker-build, pointed at local
// binaries. Skips the build when nothing it depends on changed since the last one.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT, BIN, run, output } from './lib.mjs';

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

const inputs = [...files(join(ROOT, 'src')), join(ROOT, 'Cargo.toml'), join(ROOT, 'Cargo.lock'), join(ROOT, 'openapi.json')].sort();
const hash = createHash('sha256');
for (const f of inputs) hash.update(relative(ROOT, f)).update(readFileSync(f));
const stamp = hash.digest('hex');
const stampFile = join(ROOT, 'build', '.stamp');
if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp && existsSync(join(ROOT, 'build', 'index.js'))) {
  process.exit(0);
}

const env = {
  ...process.env,
  WASM_BINDGEN_BIN: output('sh', ['-c', 'command -v wasm-bindgen']) ?? 'wasm-bindgen',
  WASM_OPT_BIN: join(BIN, 'wasm-opt'),
  ESBUILD_BIN: join(BIN, 'esbuild'),
};
console.log('[build] worker-build --release');
run('worker-build', ['--release'], { env });
// worker-build keeps the Wasm name section (function names, ~230 KB); nothing at run time
// needs it, and the module is loaded on every cold start.
const wasm = join(ROOT, 'build', 'index_bg.wasm');
run(join(BIN, 'wasm-opt'), [wasm, '--strip-debug', '--strip-producers', '-o', wasm]);
writeFileSync(stampFile, stamp);
