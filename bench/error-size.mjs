// How large an error answer gets for a large bad request (`node bench/error-size.mjs`, after
// `npm run build`): each request is about 64.8 KB of problems, sent to the built worker under
// `wrangler dev`; prints request bytes, answer bytes, their ratio and the number of details.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devSecrets, freePort, startWorker } from '../scripts/lib.mjs';
import { ALL_SCOPES, createLocalKey } from '../scripts/keys.mjs';

const SIZE = 64_800;
const base = { projectId: 'proj_123', name: 'n', retailer: 'walmart', intent: 'add_to_cart', products: [{ id: '1' }] };

function unknownFields() {
  const body = { ...base };
  for (let i = 0; JSON.stringify(body).length < SIZE; i++) body[`field${i}`] = 1;
  return body;
}

function badProducts() {
  // Long unknown names (each shown up to 64 characters) in every product.
  const body = { ...base, products: [] };
  for (let i = 0; body.products.length < 100; i++) {
    const p = { id: 'x', quantity: 0 };
    for (let j = 0; j < 8; j++) p[`${'u'.repeat(70)}${j}`] = 1;
    body.products.push(p);
  }
  while (JSON.stringify(body).length < SIZE) body.metadata = { pad: 'x'.repeat(SIZE - JSON.stringify(body).length) };
  return body;
}

const state = mkdtempSync(join(tmpdir(), 'in2carts-errsize-'));
writeFileSync(join(state, 'empty.env'), '');
const w = await startWorker({ port: await freePort(), persistTo: state, quiet: true, vars: devSecrets(), extraArgs: ['--env-file', join(state, 'empty.env')] });
try {
  const key = await createLocalKey(w.url, { projects: ['proj_123'], scopes: ALL_SCOPES, name: 'bench' });
  console.log('| request | request bytes | answer bytes | answer ÷ request | details |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [name, body] of [['unknown top-level fields', unknownFields()], ['100 bad products, long unknown fields', badProducts()]]) {
    const raw = JSON.stringify(body);
    const r = await fetch(`${w.url}/v1/links`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-incarts-api-key': key }, body: raw });
    const text = await r.text();
    const details = JSON.parse(text).error?.details?.length ?? 0;
    console.log(`| ${name} (${r.status}) | ${raw.length} | ${text.length} | ${(text.length / raw.length).toFixed(2)} | ${details} |`);
  }
} finally {
  await w.stop();
  rmSync(state, { recursive: true, force: true });
}
