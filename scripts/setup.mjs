// Installs, idempotently and at pinned versions, what a fresh machine lacks to build, run,
// test and benchmark the worker. Nothing is downloaded from GitHub: scripts/build.mjs uses the
// wasm-bindgen CLI (crates.io), wasm-opt (npm `binaryen`) and esbuild (npm) installed here.
//
//   node scripts/setup.mjs           build + run prerequisites
//   node scripts/setup.mjs --test    … plus what the tests need (QR decoder, SVG rasterizer,
//                                    schemathesis and Pillow in .venv-test/)
//   node scripts/setup.mjs --bench   … plus the load generator (wrk)
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, run, output, ensureDevVars } from './lib.mjs';

/** Schemathesis from PyPI, at this version (its dependencies: tests/schemathesis.requirements.txt). */
export const SCHEMATHESIS_VERSION = '4.32.5';
/** Pillow from PyPI, at this version (tests/qr-robustness.requirements.txt): it degrades QR images. */
export const PILLOW_VERSION = '13.0.0';
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
  const want = lockedWasmBindgen();
  const have = output('wasm-bindgen', ['--version']) ?? '';
  if (!have.includes(want)) {
    // `--locked` fails for this CLI (one of its locked dependencies is not on crates.io).
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

/**
 * The tests' Python tools in a project-local virtualenv (.venv-test/), from pinned requirements:
 * Schemathesis for tests/schemathesis.test.mjs, Pillow for the QR decode-robustness comparison
 * (tests/qr-robustness.test.mjs). Reinstalled only when a requirements file changes.
 */
function ensureTestVenv() {
  const venv = join(ROOT, '.venv-test');
  const pins = [
    ['schemathesis.requirements.txt', 'schemathesis', SCHEMATHESIS_VERSION],
    ['qr-robustness.requirements.txt', 'pillow', PILLOW_VERSION],
  ];
  const hash = createHash('sha256');
  for (const [file, name, version] of pins) {
    const want = readFileSync(join(ROOT, 'tests', file), 'utf8');
    if (!want.includes(`${name}==${version}\n`)) throw new Error(`tests/${file} does not pin ${name}==${version}`);
    hash.update(file).update('\0').update(want).update('\0');
  }
  const stamp = join(venv, '.requirements.sha256');
  const digest = hash.digest('hex');
  const st = join(venv, 'bin', 'st');
  if (existsSync(st) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return;
  if (!existsSync(join(venv, 'bin', 'python'))) {
    const python = ['python3.11', 'python3'].find((p) => output(p, ['--version']) !== null);
    if (!python) throw new Error('python3 is needed to install schemathesis and Pillow');
    log(`creating .venv-test with ${python}`);
    run(python, ['-m', 'venv', venv]);
  }
  log(`installing schemathesis ${SCHEMATHESIS_VERSION} and Pillow ${PILLOW_VERSION} into .venv-test (PyPI, pinned)`);
  run(join(venv, 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check',
    '--no-input', ...pins.flatMap(([file]) => ['-r', join(ROOT, 'tests', file)])]);
  const have = output(st, ['--version']) ?? '';
  if (!have.includes(SCHEMATHESIS_VERSION)) throw new Error(`.venv-test/bin/st reports ${have || 'nothing'}`);
  const pil = output(join(venv, 'bin', 'python'), ['-c', 'import PIL; print(PIL.__version__)']) ?? '';
  if (pil.trim() !== PILLOW_VERSION) throw new Error(`.venv-test has Pillow ${pil.trim() || 'missing'}`);
  writeFileSync(stamp, digest);
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
  ensureTestVenv();
}
if (args.has('--bench')) {
  ensureApt([['wrk', 'wrk']]);
}
