// Builds the release worker: build/index.js (our entry module, src/worker.js, bundled with
// wasm-bindgen's glue) and build/index_bg.wasm. The steps are the ones worker-build runs for
// its module target — cargo, wasm-bindgen (reset-state function and abort handler, for
// recovery after a trap), wasm-opt, esbuild — with our own entry instead of worker-build's
// (which constructs an entrypoint object and Proxies on every request; see README
// "Benchmark"). Every tool is local and pinned: nothing is downloaded.
// Skips the build when nothing it depends on changed since the last one.
import { createHash } from 'node:crypto';
import {
  existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, copyFileSync,
} from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ROOT, BIN, run, output } from './lib.mjs';

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

const inputs = [
  ...files(join(ROOT, 'src')), join(ROOT, 'Cargo.toml'), join(ROOT, 'Cargo.lock'), join(ROOT, 'openapi.json'),
  join(ROOT, 'scripts', 'build.mjs'),
].sort();
const hash = createHash('sha256');
for (const f of inputs) hash.update(relative(ROOT, f)).update(readFileSync(f));
// `--names DIR`: the same build into DIR with function names kept (the Wasm name section, and
// the JavaScript's own identifiers), for a CPU profile that says where time goes (`npm run
// bench`, bench/profile.mjs). The machine code is the same; the release build drops names.
const namesAt = process.argv.indexOf('--names');
const NAMES = namesAt >= 0 ? resolve(process.argv[namesAt + 1] ?? '') : null;
if (NAMES !== null && process.argv[namesAt + 1] === undefined) throw new Error('--names needs a directory');
const stamp = hash.digest('hex') + (NAMES ? '+names' : '');
const OUT = NAMES ?? join(ROOT, 'build');
const stampFile = join(OUT, '.stamp');
if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp && existsSync(join(OUT, 'index.js'))) {
  process.exit(0);
}

const CRATE = 'in2carts_edge';
const TARGET = 'wasm32-unknown-unknown';
const wasmBindgen = output('sh', ['-c', 'command -v wasm-bindgen']) ?? 'wasm-bindgen';
const stage = join(OUT, '.stage');
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });

console.log('[build] cargo build --release (wasm32)');
run('cargo', ['build', '--lib', '--release', '--target', TARGET]);

console.log('[build] wasm-bindgen --target module');
run(wasmBindgen, [
  join(ROOT, 'target', TARGET, 'release', `${CRATE}.wasm`), '--out-dir', stage, '--out-name', 'index',
  '--target', 'module', '--no-typescript', '--experimental-reset-state-function', '--force-enable-abort-handler',
]);

// Optimised, with the feature set workerd supports spelled out (no newer encodings), and
// without the name section (~230 KB that nothing at run time needs; the module is loaded on
// every cold start) or the producers section.
console.log('[build] wasm-opt');
const wasm = join(stage, 'index_bg.wasm');
const features = ['mutable-globals', 'sign-ext', 'nontrapping-float-to-int', 'bulk-memory', 'multivalue',
  'reference-types', 'exception-handling'].map((f) => `--enable-${f}`);
run(join(BIN, 'wasm-opt'), [wasm, '-O', ...features, NAMES ? '--debuginfo' : '--strip-debug', '--strip-producers', '-o', wasm]);

console.log('[build] esbuild src/worker.js');
copyFileSync(join(ROOT, 'src', 'worker.js'), join(stage, 'worker.js'));
run(join(BIN, 'esbuild'), [
  '--external:./index_bg.wasm', '--external:cloudflare:*', '--format=esm', '--bundle',
  ...(NAMES ? ['--minify-whitespace', '--minify-syntax'] : ['--minify']),
  'worker.js', '--outfile=bundle.js', '--log-level=warning',
], { cwd: stage });
// wasm-bindgen imports the module as `import source`; wrangler's module rules take the plain
// import of a .wasm file as the compiled module.
const bundle = readFileSync(join(stage, 'bundle.js'), 'utf8').replace(/\bimport source /g, 'import ');
if (!bundle.includes('./index_bg.wasm')) throw new Error('the bundle does not import ./index_bg.wasm');
writeFileSync(join(stage, 'bundle.js'), bundle);

// Swap in the new pair at once (a running `wrangler dev` watches build/).
renameSync(wasm, join(OUT, 'index_bg.wasm'));
renameSync(join(stage, 'bundle.js'), join(OUT, 'index.js'));
rmSync(stage, { recursive: true, force: true });
writeFileSync(stampFile, stamp);
