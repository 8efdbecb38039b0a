// `npm run bench:instructions`: instructions per redirect, counted by valgrind's callgrind in
// the runtime's workerd process — a figure that this machine's speed swings do not move
// (README, "Benchmark"). Each variant runs in its own `wrangler dev` whose runtime workerd is
// started under callgrind (miniflare starts whatever MINIFLARE_WORKERD_PATH names):
//   seed a link → WARM shopper taps (V8 tiers up) → PRE ms of quiet → zero the counters →
//   N taps sent straight to the worker's socket → POST ms (click batches delivered) → dump.
// About 2 minutes per variant. Prints a markdown table: instructions per request, as a ratio
// to the baseline, and recording on ÷ off, for all threads of the runtime process and for its
// main thread alone (the one that runs the isolate; the others are mostly V8's background
// compilers, still tiering up hot JS and Wasm functions in the measured window).
//
//   node bench/instructions.mjs [NAME=BUILD_DIR[:VAR=value,...][@no-country] | NAME=BASELINE] ...
// Taps carry a phone's User-Agent, an Instagram referrer and `CF-IPCountry` (which Cloudflare's
// edge adds and the local runtime does not); `@no-country` leaves that header out, so that
// recording reads the country from `request.cf`.
// Without arguments: baseline=BASELINE off=build:CLICK_RECORDING=off on=build
// on-cf=build@no-country.
// Env: N (measured requests, 400), WARM (1500), SCALE (20: `CLICK_BATCH_SCALE` of our
// variants, the click batch's timer slowed like the runtime, so batches hold as many clicks
// as at full speed), PRE and POST (ms of quiet before zeroing the counters and before
// dumping them; 25000 each: longer than a scaled batch's age of 20 s), KEEP (a directory:
// the measured window's callgrind files are copied there as NAME.<thread>, for
// `callgrind_annotate`).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { ROOT, ensureDevVars, freePort, startWorker } from '../scripts/lib.mjs';
import { ALL_SCOPES, createLocalKey } from '../scripts/keys.mjs';
import { directSocket, snapshotBaseline, snapshotWorker } from './workers.mjs';

const N = Number(process.env.N ?? 400);
const WARM = Number(process.env.WARM ?? 1500);
const SCALE = Number(process.env.SCALE ?? 20);
const PRE = Number(process.env.PRE ?? 25_000);
const POST = Number(process.env.POST ?? 25_000);
const UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 334.0.4.32.98 (iPhone15,3; iOS 17_5; en_US; en; scale=3.00; 1290x2796; 604413219)';
const CART = 'https://www.walmart.com/sc/cart/addToCart?items=123456789_2,987654321_1&utm_source=instagram&utm_campaign=summer';
const log = (msg) => console.error(`[instructions] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

for (const tool of ['valgrind', 'callgrind_control']) {
  if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.error(`${tool} is not installed: this benchmark counts instructions with valgrind's callgrind`);
    process.exit(2);
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'insn-'));
const OUT = join(tmp, 'callgrind');
mkdirSync(OUT);
const realWorkerd = join(ROOT, 'node_modules', '@cloudflare', 'workerd-linux-64', 'bin', 'workerd');
writeFileSync(join(tmp, 'workerd'), `#!/bin/sh
exec valgrind --tool=callgrind --smc-check=all-non-file --dump-instr=no --dump-line=no \\
  --separate-threads=yes --callgrind-out-file=${OUT}/cg.%p -q ${realWorkerd} "$@"
`, { mode: 0o755 });
process.env.MINIFLARE_WORKERD_PATH = join(tmp, 'workerd');

const started = new Set();
process.on('exit', () => {
  for (const w of started) try { process.kill(-w.proc.pid, 'SIGKILL'); } catch { /* gone */ }
  rmSync(tmp, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

/** `NAME=BUILD_DIR[:VAR=value,...][@no-country]` or `NAME=BASELINE`. */
function parseVariant(arg) {
  const eq = arg.indexOf('=');
  if (eq < 1) throw new Error(`not NAME=BUILD_DIR[:VAR=value,...][@no-country] or NAME=BASELINE: ${arg}`);
  const noCountry = arg.endsWith('@no-country');
  const spec = noCountry ? arg.slice(eq + 1, -'@no-country'.length) : arg.slice(eq + 1);
  const [build, ...settings] = spec.split(':');
  const vars = {};
  for (const kv of settings.join(':').split(',').filter(Boolean)) {
    const [k, ...v] = kv.split('=');
    vars[k] = v.join('=');
  }
  return { name: arg.slice(0, eq), baseline: build === 'BASELINE', build: resolve(ROOT, build), vars, noCountry };
}

/** Seeds the link every request follows; answers its path and where it must redirect. */
async function seed(w, baseline) {
  if (baseline) {
    const res = await fetch(`${w.url}/__seed/n822Lrb`, {
      method: 'PUT', headers: { authorization: 'Bearer insn' }, body: JSON.stringify({ d: CART, l: 'lnk_x' }),
    });
    if (!res.ok) throw new Error(`baseline seed: ${res.status}`);
    return { path: '/n822Lrb', location: CART };
  }
  const key = await createLocalKey(w.url, { projects: ['proj_bench'], scopes: ALL_SCOPES, name: 'bench' });
  const res = await fetch(`${w.url}/v1/links`, {
    method: 'POST',
    headers: { 'x-incarts-api-key': key, 'content-type': 'application/json' },
    body: JSON.stringify({
      projectId: 'proj_bench', name: 'bench', retailer: 'walmart', intent: 'add_to_cart',
      products: [{ retailerProductId: '123456789', quantity: 2 }, { retailerProductId: '987654321', quantity: 1 }],
      tracking: { utm: { source: 'instagram', campaign: 'summer' } },
    }),
  });
  const link = (await res.json()).data;
  if (res.status !== 201 || link.targetUrl !== CART) throw new Error(`seed: ${res.status} ${JSON.stringify(link)}`);
  return { path: `/${link.shortId}`, location: CART };
}

/** `n` shopper taps over two connections; every one must be the expected 302. */
async function drive(url, location, n, noCountry) {
  const headers = { 'user-agent': UA, referer: 'https://l.instagram.com/', ...(noCountry ? {} : { 'cf-ipcountry': 'US' }) };
  let bad = 0;
  await Promise.all([0, 1].map(async () => {
    for (let i = 0; i < n / 2; i++) {
      const r = await fetch(url, { redirect: 'manual', headers });
      await r.arrayBuffer();
      if (r.status !== 302 || r.headers.get('location') !== location) bad++;
    }
  }));
  if (bad) throw new Error(`${bad} of ${n} requests were not the expected redirect`);
}

/** Instructions of the measured window, per thread of the runtime process. */
function counted(name, pid, before) {
  const threads = [];
  for (const f of readdirSync(OUT)) {
    if (before.has(f) || !f.startsWith(`cg.${pid}`)) continue;
    const text = readFileSync(join(OUT, f), 'utf8');
    if (process.env.KEEP) {
      mkdirSync(process.env.KEEP, { recursive: true });
      writeFileSync(join(process.env.KEEP, `${name}.${f.split('-').pop()}`), text);
    }
    const m = text.match(/^summary:\s*(\d+)/m) ?? text.match(/^totals:\s*(\d+)/m);
    if (m) threads.push(Number(m[1]));
  }
  return threads;
}

async function measure(v) {
  const dir = join(tmp, v.name);
  const config = v.baseline ? snapshotBaseline(dir) : snapshotWorker(dir, v.build);
  const { ADMIN_TOKEN, VISITOR_HASH_SECRET, SHORT_ID_SECRET } = ensureDevVars();
  const vars = {
    ADMIN_TOKEN, VISITOR_HASH_SECRET, SHORT_ID_SECRET,
    ...(v.baseline ? { SEED_TOKEN: 'insn' } : { CLICK_BATCH_SCALE: String(SCALE) }),
    ...v.vars,
  };
  const persistTo = join(tmp, `state-${v.name}`);
  mkdirSync(persistTo);
  log(`${v.name}: starting under callgrind`);
  const w = await startWorker({ port: await freePort(), persistTo, vars, quiet: true, extraArgs: ['--config', config] });
  started.add(w);
  try {
    const { path, location } = await seed(w, v.baseline);
    // Straight to the worker's socket: wrangler's dev proxy is another process, not counted.
    const direct = await directSocket(w, path, 302, location, 20_000);
    if (!direct) throw new Error(`${v.name}: the worker's own socket was not found`);
    log(`${v.name}: warming up (${WARM} requests)`);
    await drive(direct.url + path, location, WARM, v.noCountry);
    await sleep(PRE);
    spawnSync('callgrind_control', ['-z', String(direct.pid)], { stdio: 'ignore' });
    const t0 = Date.now();
    await drive(direct.url + path, location, N, v.noCountry);
    log(`${v.name}: ${N} requests in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await sleep(POST);
    const before = new Set(readdirSync(OUT));
    spawnSync('callgrind_control', ['-d', String(direct.pid)], { stdio: 'ignore' });
    await sleep(1000);
    const threads = counted(v.name, direct.pid, before);
    if (!threads.length) throw new Error(`${v.name}: callgrind wrote no counts`);
    const total = threads.reduce((a, b) => a + b, 0);
    log(`${v.name}: ${(total / N / 1e6).toFixed(3)} M/request; threads ${threads.filter((t) => t > 1e6).map((t) => `${(t / 1e6).toFixed(0)} M`).join(', ')}`);
    return { all: total / N, main: Math.max(...threads) / N };
  } finally {
    await w.stop();
    started.delete(w);
  }
}

const args = process.argv.slice(2);
const variants = (args.length ? args : ['baseline=BASELINE', 'off=build:CLICK_RECORDING=off', 'on=build', 'on-cf=build@no-country']).map(parseVariant);
const results = [];
for (const v of variants) results.push({ name: v.name, ...(await measure(v)) });

const base = results.find((r) => variants.find((v) => v.name === r.name).baseline);
const on = results.find((r) => r.name === 'on'), off = results.find((r) => r.name === 'off');
console.log(`\nInstructions per redirect (callgrind, the runtime process, N=${N} after ${WARM} warm-up requests, CLICK_BATCH_SCALE=${SCALE})\n`);
console.log('| variant | M instructions / request, all threads | ÷ baseline | main thread | ÷ baseline |');
console.log('|---|---:|---:|---:|---:|');
const ratio = (a, b, k) => (a && b ? (a[k] / b[k]).toFixed(3) : '–');
for (const r of results) {
  console.log(`| ${r.name} | ${(r.all / 1e6).toFixed(3)} | ${ratio(r, base, 'all')} | ${(r.main / 1e6).toFixed(3)} | ${ratio(r, base, 'main')} |`);
}
const onCf = results.find((r) => r.name === 'on-cf');
if (on && off) console.log(`\nrecording on ÷ off: ${ratio(on, off, 'all')} (main thread ${ratio(on, off, 'main')})`);
if (onCf && off) console.log(`recording on, country from request.cf (no CF-IPCountry) ÷ off: ${ratio(onCf, off, 'all')} (main thread ${ratio(onCf, off, 'main')})`);
process.exit(0);
