// Bulk create against one create per request: 100 links made by one `POST /v1/links/bulk`,
// and by 100 `POST /v1/links` one after another, alternating, on the built worker under
// `wrangler dev`. `npm run bench` runs it with the other scenarios; alone:
//
//   node scripts/build.mjs && node bench/bulk.mjs        (BENCH_BULK_ROUNDS, default 3)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureDevVars, freePort, startWorker } from '../scripts/lib.mjs';
import { ALL_SCOPES, createLocalKey } from '../scripts/keys.mjs';
import { snapshotWorker } from './workers.mjs';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function post(url, key, path, body) {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { 'x-incarts-api-key': key, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`POST ${path}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text).data;
}

/**
 * `rounds` times, 100 links of `link` made both ways (which goes first alternates); a fresh
 * key per round keeps the per-key rate limit out of it. Median milliseconds of each way.
 */
export async function bulkCompare(url, link, rounds) {
  const one = [];
  const bulk = [];
  for (let r = 0; r < rounds; r += 1) {
    const key = await createLocalKey(url, { projects: [link.projectId], scopes: ALL_SCOPES, name: 'bench-bulk' });
    const links = Array.from({ length: 100 }, (_, i) => ({ ...link, name: `Bulk ${r}-${i}` }));
    const sides = [
      async () => {
        const t = performance.now();
        for (const l of links) await post(url, key, '/v1/links', l);
        one.push(performance.now() - t);
      },
      async () => {
        const t = performance.now();
        const results = await post(url, key, '/v1/links/bulk', { links });
        bulk.push(performance.now() - t);
        const created = results.filter((x) => x.status === 201).length;
        if (created !== 100) throw new Error(`bulk create: ${created} of 100 created`);
      },
    ];
    if (r % 2) sides.reverse();
    for (const side of sides) await side();
  }
  return { oneMs: median(one), bulkMs: median(bulk), rounds };
}

async function main() {
  const rounds = Math.max(1, Number(process.env.BENCH_BULK_ROUNDS ?? 3));
  const tmp = mkdtempSync(join(tmpdir(), 'in2carts-bulk-'));
  const config = snapshotWorker(join(tmp, 'worker'));
  const { ADMIN_TOKEN, VISITOR_HASH_SECRET, SHORT_ID_SECRET } = ensureDevVars();
  const w = await startWorker({
    port: await freePort(), persistTo: join(tmp, 'state'), quiet: true,
    vars: { ADMIN_TOKEN, VISITOR_HASH_SECRET, SHORT_ID_SECRET }, extraArgs: ['--config', config],
  });
  try {
    const link = {
      projectId: 'proj_bench', name: 'Summer grilling basket', retailer: 'walmart', intent: 'add_to_cart',
      products: [{ retailerProductId: '123456789', quantity: 2 }, { retailerProductId: '987654321' }],
      tracking: { utm: { source: 'instagram' }, tags: ['bench'] },
    };
    const r = await bulkCompare(w.url, link, rounds);
    console.log(`| 100 links | ms, median of ${r.rounds} rounds |\n|---|---:|\n| one POST /v1/links/bulk | ${r.bulkMs.toFixed(0)} |\n| 100 POST /v1/links, one after another | ${r.oneMs.toFixed(0)} |\n| ratio | ${(r.oneMs / r.bulkMs).toFixed(1)}× |`);
  } finally {
    await w.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => { console.error(e.stack ?? e.message); process.exit(1); });
}
