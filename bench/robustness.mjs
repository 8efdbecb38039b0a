// What hostile visitors can do to a link's stats, measured against the built worker under
// `wrangler dev` (throwaway state): `node scripts/build.mjs && node bench/robustness.mjs`.
// Prints the rows of bench/RESULTS.md's robustness table (a few minutes; about 110 MB of
// Referer headers are sent).
//
// (a) 923 visits with distinct 100 KB Referer hosts among 100 ordinary visits, all from one
//     visitor (so on one click shard, in the same batches): how many of each are counted.
// (b) 3,000 visits with distinct 4 KB Referer hosts: the size of the stats answer.
// (c) 3,000 visits with distinct valid host names (193 characters) and 4 KB URLs: the size
//     of the stats answer and whether its referrer breakdown adds up.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { devVars, ensureDevVars, freePort, startWorker } from '../scripts/lib.mjs';
import { ALL_SCOPES, createLocalKey } from '../scripts/keys.mjs';

const UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.122 Mobile Safari/537.36';

ensureDevVars();
const state = mkdtempSync(join(tmpdir(), 'in2carts-robustness-'));
const { ADMIN_TOKEN, VISITOR_HASH_SECRET } = devVars();
const worker = await startWorker({ port: await freePort(), persistTo: state, quiet: true, vars: { ADMIN_TOKEN, VISITOR_HASH_SECRET } });
try {
  const key = await createLocalKey(worker.url, { projects: ['proj_123'], scopes: ALL_SCOPES, name: 'robustness' });
  const api = (path, init = {}) => fetch(worker.url + path, { ...init, headers: { 'x-incarts-api-key': key, 'content-type': 'application/json', ...init.headers } });

  const newLink = async () => (await (await api('/v1/links', { method: 'POST', body: JSON.stringify({
    projectId: 'proj_123', name: 'robustness', retailer: 'walmart', intent: 'add_to_cart', products: [{ id: '123456789' }],
  }) })).json()).data;
  const tap = (link, headers) => async () => {
    const r = await fetch(`${worker.url}/${link.shortId}`, { headers: { 'user-agent': UA, ...headers }, redirect: 'manual' });
    await r.arrayBuffer();
  };
  const pooled = async (jobs, n = 32) => {
    let next = 0;
    await Promise.all(Array.from({ length: n }, async () => { while (next < jobs.length) await jobs[next++](); }));
  };
  /** The stats once `want` clicks are in (or after a minute), then again a second later. */
  const stats = async (link, want) => {
    for (let i = 0; i < 120; i++) {
      const text = await (await api(`/v1/links/${link.id}/stats`)).text();
      if (JSON.parse(text).data.clicks >= want) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const text = await (await api(`/v1/links/${link.id}/stats`)).text();
    return { data: JSON.parse(text).data, bytes: Buffer.byteLength(text) };
  };
  const ref = (d, v) => d.breakdowns.referrer.find((x) => x.value === v)?.clicks ?? 0;
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() ? ' (src modified)' : '';
  const when = new Date().toISOString().slice(0, 16) + 'Z';
  const row = (what, result) => console.log(`| ${when} | ${commit}${dirty} | ${what} | ${result} |`);

  let link = await newLink();
  let jobs = [];
  for (let i = 0; i < 923; i++) {
    jobs.push(tap(link, { 'x-real-ip': '203.0.113.9', referer: `https://a${i}-${'a'.repeat(100_000)}.com/` }));
    if (i % 9 === 0 && i / 9 < 100) jobs.push(tap(link, { 'x-real-ip': '203.0.113.9', referer: 'https://l.instagram.com/' }));
  }
  await pooled(jobs);
  let { data, bytes } = await stats(link, 1023);
  row('(a) 923 distinct 100 KB Referer hosts + 100 ordinary visits, one visitor',
    `ordinary ${ref(data, 'l.instagram.com')} of 100 counted; flood ${ref(data, '(invalid)')} of 923 counted as \`(invalid)\`; clicks ${data.clicks}; answer ${bytes} B`);

  link = await newLink();
  jobs = Array.from({ length: 3000 }, (_, i) => tap(link, { 'x-real-ip': `10.0.${i >> 8}.${i & 255}`, referer: `https://r${i}-${'x'.repeat(4000)}.example/` }));
  await pooled(jobs);
  ({ data, bytes } = await stats(link, 3000));
  row('(b) 3,000 distinct 4 KB Referer hosts', `clicks ${data.clicks}; referrer entries ${data.breakdowns.referrer.length}; answer ${bytes} B`);

  link = await newLink();
  const host = (i) => `r-${String(i).padStart(5, '0')}-${'q'.repeat(55)}.${'r'.repeat(60)}.${'s'.repeat(60)}.example`;
  jobs = Array.from({ length: 3000 }, (_, i) => tap(link, { 'x-real-ip': `10.0.${i >> 8}.${i & 255}`, referer: `https://${host(i)}/${'p'.repeat(4000)}` }));
  await pooled(jobs);
  ({ data, bytes } = await stats(link, 3000));
  const list = data.breakdowns.referrer;
  row(`(c) 3,000 distinct valid hosts (${host(0).length} characters), 4 KB URLs`,
    `clicks ${data.clicks}; referrer entries ${list.length}, last ${list.at(-1).value} ${list.at(-1).clicks}; sum ${list.reduce((a, b) => a + b.clicks, 0)}; answer ${bytes} B`);
} finally {
  await worker.stop();
  rmSync(state, { recursive: true, force: true });
}
