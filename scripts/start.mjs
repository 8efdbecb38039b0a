// `npm start`: serves the built worker locally (state kept in .wrangler/state between runs),
// makes sure a dev API key for proj_123 with every scope exists, and prints it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, WORKER_SECRETS, WORKER_VARS, ensureDevVars, ensureDir, setDevVar, startWorker } from './lib.mjs';
import { ALL_SCOPES, createLocalKey } from './keys.mjs';

const port = Number(process.env.PORT ?? 8787);
// Every setting the worker reads is taken from the environment when set there (multi-line
// values too): vars on wrangler's command line, secrets through .dev.vars, which wrangler
// loads as secrets and never prints. The secrets the worker requires (SHORT_ID_SECRET,
// VISITOR_HASH_SECRET) and ADMIN_TOKEN are generated into .dev.vars when missing.
const vars = Object.fromEntries(WORKER_VARS.filter((k) => process.env[k]).map((k) => [k, process.env[k]]));
ensureDevVars();
for (const k of WORKER_SECRETS) if (process.env[k]) setDevVar(k, process.env[k]);

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
