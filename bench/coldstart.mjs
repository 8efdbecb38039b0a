// Cold-start proxy: compiles build/index_bg.wasm and instantiates it through the real
// wasm-bindgen glue (build/index.js, as scripts/build.mjs bundled it), once, in this fresh process,
// and prints one JSON line. bench/run.mjs runs it several times, each in a new process (V8
// caches compiled modules within a process, so a second compile here would measure nothing).
//
//   node bench/coldstart.mjs <build dir>          → {"compileMs":…,"instantiateMs":…,…}
//   node bench/coldstart.mjs <build dir> --probe  → exit 0 when this Node can compile the module
//
// The glue's two runtime imports are supplied without changing its code: `cloudflare:workers`
// (only `DurableObject`, a base class) and the `.wasm` module import (the module compiled
// here). Everything else — the import object, `new WebAssembly.Instance`, `__wbindgen_start`,
// the module's own initialisation — is the glue's.
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dir = 'build', flag] = process.argv.slice(2);
const wasmPath = join(dir, 'index_bg.wasm');
const gluePath = join(dir, 'index.js');

const bytes = readFileSync(wasmPath);
const glue = readFileSync(gluePath, 'utf8');

if (flag === '--probe') {
  try {
    new WebAssembly.Module(bytes);
    process.exit(0);
  } catch (e) {
    console.error(`${process.version}: ${e.message}`);
    process.exit(1);
  }
}

// Rewrites the glue's static imports into reads of globals set below.
function rewriteGlue(src) {
  let sawCf = false;
  let sawWasm = false;
  const out = src
    .replace(/import\s*\{([^}]*)\}\s*from\s*["']cloudflare:workers["'];?/g, (_, names) => {
      sawCf = true;
      const decl = names.split(',').map((n) => n.trim()).filter(Boolean).map((n) => {
        const [orig, local = orig] = n.split(/\s+as\s+/);
        return `${local}=globalThis.__benchCloudflareWorkers.${orig}`;
      });
      return `var ${decl.join(',')};`;
    })
    .replace(/import\s+([\w$]+)\s+from\s*["']\.\/index_bg\.wasm["'];?/g, (_, local) => {
      sawWasm = true;
      return `var ${local}=globalThis.__benchWasmModule;`;
    });
  if (!sawCf || !sawWasm || /\bimport(\s*[{*]|\s+[\w$])/.test(out.replace(/import\.meta/g, ''))) {
    throw new Error('unexpected glue imports: the glue format changed, update bench/coldstart.mjs');
  }
  return out;
}

const src = rewriteGlue(glue);
const tmp = mkdtempSync(join(tmpdir(), 'in2carts-coldstart-'));
const file = join(tmp, 'glue.mjs');
writeFileSync(file, src);

// The Workers globals the glue touches at load time.
globalThis.__benchCloudflareWorkers = { WorkerEntrypoint: class WorkerEntrypoint {}, DurableObject: class DurableObject {} };
globalThis.addEventListener ??= () => {};

// Time spent inside `new WebAssembly.Instance` (the glue calls it once at load).
let instanceMs = 0;
const RealInstance = WebAssembly.Instance;
WebAssembly.Instance = new Proxy(RealInstance, {
  construct(target, args, newTarget) {
    const t = performance.now();
    const inst = Reflect.construct(target, args, newTarget);
    instanceMs += performance.now() - t;
    return inst;
  },
});

try {
  const t0 = performance.now();
  const module = await WebAssembly.compile(bytes);
  const t1 = performance.now();
  globalThis.__benchWasmModule = module;
  const mod = await import(pathToFileURL(file).href);
  const t2 = performance.now();
  if (typeof mod.default?.fetch !== 'function') throw new Error('the bundle did not export the worker entry');
  console.log(JSON.stringify({
    node: process.version,
    v8: process.versions.v8,
    compileMs: t1 - t0,
    // Glue load: JS parse + import object + new WebAssembly.Instance + __wbindgen_start.
    instantiateMs: t2 - t1,
    instanceCtorMs: instanceMs,
    totalMs: t2 - t0,
  }));
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
