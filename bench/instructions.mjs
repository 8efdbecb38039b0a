// Instructions per redirect, counted by valgrind's callgrind in the runtime's workerd process:
// a figure that the machine's speed swings do not move (README, "Benchmark"). Not part of
// `npm run bench` yet: it needs valgrind and takes about 2 minutes per variant.
//   node bench/instructions.mjs NAME=BUILD_DIR[:VAR=value,...] | NAME=BASELINE
// e.g. `node bench/instructions.mjs on=build` then `... off=build:CLICK_RECORDING=off`.
// Env: N (measured requests, 400), WARM (1500), PRE and POST (ms of quiet before zeroing
// the counters and before dumping them, 3000 each; longer than a click batch's age).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { ROOT, ensureDevVars, freePort, startWorker } from '../scripts/lib.mjs';
import { ALL_SCOPES, createLocalKey } from '../scripts/keys.mjs';
const N = Number(process.env.N ?? 400), WARM = Number(process.env.WARM ?? 1500);
const tmp = mkdtempSync(join(tmpdir(), 'insn-'));
const OUT = join(tmp, 'out'); mkdirSync(OUT);
// The runtime under callgrind: miniflare starts whatever MINIFLARE_WORKERD_PATH names.
const real = join(ROOT, 'node_modules', '@cloudflare', 'workerd-linux-64', 'bin', 'workerd');
writeFileSync(join(tmp, 'workerd'), `#!/bin/sh\nexec valgrind --tool=callgrind --smc-check=all-non-file --dump-instr=no --dump-line=no --separate-threads=yes --callgrind-out-file=${OUT}/cg.%p -q ${real} "$@"\n`, { mode: 0o755 });
process.env.MINIFLARE_WORKERD_PATH = join(tmp, 'workerd');
const started = [];
process.on('exit', () => { for (const w of started) try { process.kill(-w.proc.pid, 'SIGKILL'); } catch {} rmSync(tmp, { recursive: true, force: true }); });
function snap(dir, build) {
  cpSync(build, dir, { recursive: true, filter: (s) => !s.includes('.tmp') });
  const out = []; let inBuild = false;
  for (const line of readFileSync(join(ROOT, 'wrangler.toml'), 'utf8').split('\n')) {
    const t = line.trim();
    if (/^\[\[?[^\]]+\]\]?$/.test(t)) inBuild = t === '[build]';
    if (inBuild) continue;
    out.push(/^main\s*=/.test(t) ? 'main = "index.js"' : line);
  }
  writeFileSync(join(dir, 'wrangler.toml'), out.join('\n'));
  return join(dir, 'wrangler.toml');
}
function desc(pid) { const par = new Map(); for (const d of readdirSync('/proc')) { if (!/^\d+$/.test(d)) continue; try { const s = readFileSync(`/proc/${d}/stat`, 'utf8'); par.set(+d, +s.slice(s.lastIndexOf(')') + 2).split(' ')[1]); } catch {} } const out = []; const walk = (p) => { for (const [c, pp] of par) if (pp === p) { out.push(c); walk(c); } }; walk(pid); return out; }
function ports(pid) { const ino = new Set(); try { for (const fd of readdirSync(`/proc/${pid}/fd`)) { try { const m = readlinkSync(`/proc/${pid}/fd/${fd}`).match(/socket:\[(\d+)\]/); if (m) ino.add(m[1]); } catch {} } } catch {} const ps = []; for (const l of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) { const f = l.trim().split(/\s+/); if (f.length < 10 || f[3] !== '0A' || !ino.has(f[9])) continue; const [a, p] = f[1].split(':'); if (a === '0100007F') ps.push(parseInt(p, 16)); } return ps; }
const UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 334.0.4.32.98 (iPhone15,3; iOS 17_5; en_US; en; scale=3.00; 1290x2796; 604413219)';
const { ADMIN_TOKEN, VISITOR_HASH_SECRET } = ensureDevVars();
const arg = process.argv[2];
const name = arg.slice(0, arg.indexOf('=')), rest = arg.slice(arg.indexOf('=') + 1); const [build, varsS] = [rest.split(':')[0], rest.split(':').slice(1).join(':')];
const vars = { ADMIN_TOKEN, VISITOR_HASH_SECRET }; if (varsS) for (const kv of varsS.split(',')) { const [k, v] = kv.split('='); vars[k] = v; }
const isBase = build === 'BASELINE';
let cfg;
if (isBase) { mkdirSync(join(tmp, name)); for (const f of ['index.js', 'wrangler.toml']) cpSync(join(ROOT, 'bench/baseline', f), join(tmp, name, f)); cfg = join(tmp, name, 'wrangler.toml'); vars.SEED_TOKEN = 'tok'; }
else cfg = snap(join(tmp, name), resolve(build));
const port = await freePort(); const persistTo = join(tmp, 'state-' + name); mkdirSync(persistTo);
const t0 = Date.now();
const w = await startWorker({ port, persistTo, vars, quiet: true, extraArgs: ['--config', cfg] });
started.push(w);
console.error(`started in ${Date.now() - t0} ms`);
let link;
if (isBase) {
  link = { shortId: 'n822Lrb' };
  await fetch(`${w.url}/__seed/${link.shortId}`, { method: 'PUT', headers: { authorization: 'Bearer tok' }, body: JSON.stringify({ d: 'https://www.walmart.com/sc/cart/addToCart?items=123456789|2,987654321|1&utm_source=instagram&utm_campaign=summer', l: 'lnk_x' }) });
} else {
  const key = await createLocalKey(w.url, { projects: ['proj_bench'], scopes: ALL_SCOPES, name: 'bench' });
  const res = await fetch(w.url + '/v1/links', { method: 'POST', headers: { 'x-incarts-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify({ projectId: 'proj_bench', name: 'b', retailer: 'walmart', intent: 'add_to_cart', products: [{ id: '123456789', quantity: 2 }, { id: '987654321', quantity: 1 }], tracking: { utmSource: 'instagram', utmCampaign: 'summer' } }) });
  link = (await res.json()).data;
}
const front = +new URL(w.url).port; let direct = null, rtPid = null;
for (const pid of desc(w.proc.pid)) { let cmd = ''; try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { continue; } if (!cmd.includes('workerd') || cmd.includes(`entry=127.0.0.1:${front}`)) continue;
  for (const p of ports(pid)) { if (p === front || direct) continue; try { const r = await fetch(`http://127.0.0.1:${p}/${link.shortId}`, { redirect: 'manual', signal: AbortSignal.timeout(20000) }); await r.arrayBuffer(); if (r.status === 302) { direct = `http://127.0.0.1:${p}`; rtPid = pid; } } catch {} } }
console.error(`direct ${direct} pid ${rtPid}`);
const target = `${direct}/${link.shortId}`;
async function drive(n, c = 2) { let bad = 0; await Promise.all(Array.from({ length: c }, async () => { for (let i = 0; i < n / c; i++) { const r = await fetch(target, { redirect: 'manual', headers: { 'user-agent': UA, referer: 'https://l.instagram.com/' } }); await r.arrayBuffer(); if (r.status !== 302) bad++; } })); return bad; }
const t1 = Date.now(); await drive(WARM); console.error(`warm ${WARM} in ${Date.now() - t1} ms`);
await new Promise((r) => setTimeout(r, Number(process.env.PRE ?? 3000)));
spawnSync('callgrind_control', ['-z', String(rtPid)], { stdio: 'ignore' });
const t2 = Date.now(); const bad = await drive(N); console.error(`measured ${N} in ${Date.now() - t2} ms, bad ${bad}`);
await new Promise((r) => setTimeout(r, Number(process.env.POST ?? 3000)));
const before = new Set(readdirSync(OUT));
spawnSync('callgrind_control', ['-d', String(rtPid)], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 1000));
let total = 0;
for (const f of readdirSync(OUT)) { if (before.has(f) || !f.startsWith(`cg.${rtPid}`)) continue; const s = readFileSync(join(OUT, f), 'utf8'); const m = s.match(/^summary:\s*(\d+)/m) ?? s.match(/^totals:\s*(\d+)/m); if (m) total += +m[1]; if (m && +m[1] > 1e6) console.error(`thread ${f.split('-').pop()}: ${(+m[1] / 1e6).toFixed(1)} M`); }
console.log(`${name}: ${(total / N / 1e6).toFixed(4)} M instructions/request (${total} over ${N})`);
process.exit(0);
