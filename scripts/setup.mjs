// Installs, idempotently and at pinned versions, what a fresh machine lacks to build, run,
// test and benchmark the worker. Nothing is downloaded from GitHub: worker-build is pointed at
// the local wasm-bindgen (crates.io), wasm-opt (npm `binaryen`) and esbuild (npm).
//
//   node scripts/setup.mjs           build + run prerequisites
//   node scripts/setup.mjs --test    … plus what the tests need (QR decoder, SVG rasterizer)
//   node scripts/setup.mjs --bench   … plus the load generator (wrk)
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, run, output, ensureDevVars } from './lib.mjs';

export const WORKER_BUILD_VERSION = '0.8.7';
const args = new Set(process.argv.slice(2));

function log(msg) { console.log(`[setup] ${msg}`); }

/** The wasm-bindgen version Cargo.lock pins: the CLI must match it exactly. */
export function lockedWasmBindgen() {
  const lock = readFileSync(join(ROOT, 'Cargo.lock'), 'utf8');
  const m = lock.match(/name = "wasm-bindgen"\nversion = "([^"]+)"/);
  if (!m) throw new Error('wasm-bindgen not found in Cargo.lock');
  return m[1];
}

function ensureRust() {
  const targets = output('rustup', ['target', 'list', '--installed']) ?? '';
  if (!targets.split('\n').includes('wasm32-unknown-unknown')) {
    log('adding the wasm32-unknown-unknown target');
    run('rustup', ['target', 'add', 'wasm32-unknown-unknown']);
  }
  const wb = output('worker-build', ['--version']) ?? '';
  if (!wb.includes(WORKER_BUILD_VERSION)) {
    log(`installing worker-build ${WORKER_BUILD_VERSION} (first time only, ~5 min)`);
    run('cargo', ['install', 'worker-build', '--version', WORKER_BUILD_VERSION, '--locked']);
  }
  const want = lockedWasmBindgen();
  const have = output('wasm-bindgen', ['--version']) ?? '';
  if (!have.includes(want)) {
    // `--locked` fails for this CLI (a locked dependency is not on crates.io): see TOOLCHAIN.md.
    log(`installing wasm-bindgen-cli ${want} (first time only, ~4 min)`);
    run('cargo', ['install', 'wasm-bindgen-cli', '--version', want]);
  }
}

function ensureNodeModules() {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const stale = Object.entries(pkg.devDependencies ?? {}).some(([name, version]) => {
    const p = join(ROOT, 'node_modules', name, 'package.json');
    return !existsSync(p) || JSON.parse(readFileSync(p, 'utf8')).version !== version;
  });
  if (stale) {
    log('installing npm packages (package-lock.json)');
    run('npm', [existsSync(join(ROOT, 'package-lock.json')) ? 'ci' : 'install', '--no-audit', '--no-fund']);
  }
}

/** Debian packages, installed with apt-get when missing (tests and bench only). */
function ensureApt(packages) {
  const missing = packages.filter(([, bin]) => output('sh', ['-c', `command -v ${bin}`]) === null);
  if (missing.length === 0) return;
  const names = missing.map(([pkg]) => pkg);
  log(`installing Debian packages: ${names.join(' ')}`);
  const sudo = process.getuid && process.getuid() !== 0 ? ['sudo'] : [];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnApt([...sudo, 'apt-get', 'install', '-y', '--no-install-recommends', ...names], env);
  if (!install()) {
    spawnApt([...sudo, 'apt-get', 'update'], env);
    if (!install()) throw new Error(`could not install ${names.join(' ')}`);
  }
}

function spawnApt(argv, env) {
  try {
    run(argv[0], argv.slice(1), { env });
    return true;
  } catch {
    return false;
  }
}

ensureRust();
ensureNodeModules();
ensureDevVars();
if (args.has('--test')) {
  // zbarimg: a QR decoder nobody here wrote; rsvg-convert rasterizes our SVGs for it.
  ensureApt([['zbar-tools', 'zbarimg'], ['librsvg2-bin', 'rsvg-convert']]);
}
if (args.has('--bench')) {
  ensureApt([['wrk', 'wrk']]);
}
