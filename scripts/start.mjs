// `npm start`: serves the built worker locally (state kept in .wrangler/state between runs),
// makes sure a dev API key for proj_123 with every scope exists, and prints it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, ensureDir, setDevVar, startWorker } from './lib.mjs';
import { ALL_SCOPES, createLocalKey } from './keys.mjs';

const port = Number(process.env.PORT ?? 8787);
// Plain settings are passed as vars; secrets (ADMIN_TOKEN, VISITOR_HASH_SECRET and an
// INSTACART_API_KEY from the environment) go through .dev.vars, which wrangler loads as
// secrets and never prints.
const vars = {
  PUBLIC_BASE_URL: process.env.PUBLIC_BASE_URL,
  INSTACART_API_BASE_URL: process.env.INSTACART_API_BASE_URL,
};
if (process.env.INSTACART_API_KEY) setDevVar('INSTACART_API_KEY', process.env.INSTACART_API_KEY);

const worker = await startWorker({ port, persistTo: join(ROOT, '.wrangler', 'state'), vars });
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => { await worker.stop(); process.exit(0); });
}
worker.proc.on('exit', (code) => process.exit(code ?? 0));

// The dev key lives in .local/dev-key (gitignored); a fresh one is made when the local state
// does not know it (first run, or state deleted).
const keyFile = join(ensureDir(join(ROOT, '.local')), 'dev-key');
let key = existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : '';
if (key) {
  const probe = await fetch(`${worker.url}/v1/links/lnk_00000000000000000000000000`, { headers: { 'x-incarts-api-key': key } });
  await probe.arrayBuffer();
  if (probe.status === 401) key = '';
}
if (!key) {
  key = await createLocalKey(worker.url, { projects: ['proj_123'], scopes: ALL_SCOPES, name: 'dev' });
  writeFileSync(keyFile, key + '\n', { mode: 0o600 });
}
const base = process.env.PUBLIC_BASE_URL || worker.url;
console.log(`
in2carts-edge is running at ${worker.url}${base !== worker.url ? ` (public base URL ${base})` : ''}

Dev API key: ${key}

Create a Walmart cart link, then follow it:

  curl -s ${worker.url}/v1/links -H 'content-type: application/json' \\
    -H 'X-Incarts-API-Key: ${key}' \\
    -d '{"projectId":"proj_123","name":"Summer grilling basket","retailer":"walmart","intent":"add_to_cart","products":[{"retailerProductId":"123456789","quantity":2}]}'

  curl -si ${worker.url}/<shortId>     # 302 to the Walmart cart

More keys: npm run keys -- create --project proj_123 --scopes links:write,retailers:walmart
`);
