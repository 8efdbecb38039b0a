// API keys: `npm run keys -- create --project proj_123 --scopes links:write,links:read,retailers:walmart`
//           `npm run keys -- revoke <key or sha256>`
// Keys are random (256 bits), printed once, and stored only as their SHA-256.
// Local (default): registered with the running `npm start` worker (PORT, default 8787).
// --remote: written to the deployed KV namespace through `wrangler kv key put --remote`.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BIN, ROOT, devVars, run } from './lib.mjs';

/** One `retailers:<name>` scope per retailer of openapi.json's `Retailer` enum, which a Rust
 *  unit test keeps equal to the worker's retailer registry. */
const RETAILERS = JSON.parse(readFileSync(join(ROOT, 'openapi.json'), 'utf8')).components.schemas.Retailer.enum;

export const ALL_SCOPES = ['links:write', 'links:read', 'qr-codes:write', 'qr-codes:read', 'stats:read',
  ...RETAILERS.map((r) => `retailers:${r}`)];

export function newKey() {
  return `i2c_${randomBytes(32).toString('base64url')}`;
}

export function hashKey(key) {
  return createHash('sha256').update(key).digest('hex');
}

function adminHeaders() {
  const token = devVars().ADMIN_TOKEN;
  if (!token) throw new Error('No ADMIN_TOKEN in .dev.vars: run `npm start` once first.');
  return { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
}

/** Registers a new key with a running local worker; returns the key (shown once). */
export async function createLocalKey(baseUrl, { projects, scopes, name }) {
  const key = newKey();
  const res = await fetch(`${baseUrl}/_admin/keys`, {
    method: 'POST',
    headers: adminHeaders(),
    body: JSON.stringify({ keyHash: hashKey(key), projects, scopes, name, prefix: key.slice(0, 10) }),
  });
  if (res.status !== 201) throw new Error(`key registration failed: ${res.status} ${await res.text()}`);
  return key;
}

export async function revokeLocalKey(baseUrl, keyOrHash) {
  const hash = /^[0-9a-f]{64}$/.test(keyOrHash) ? keyOrHash : hashKey(keyOrHash);
  const res = await fetch(`${baseUrl}/_admin/keys/${hash}`, { method: 'DELETE', headers: adminHeaders() });
  if (res.status !== 200) throw new Error(`revoke failed: ${res.status} ${await res.text()}`);
  return (await res.json()).data.revoked;
}

function parse(argv) {
  const opts = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const [k, v] = a.includes('=') ? a.slice(2).split(/=(.*)/s) : [a.slice(2), argv[i + 1]?.startsWith('--') ? 'true' : argv[++i]];
      opts[k] = v ?? 'true';
    } else opts._.push(a);
  }
  return opts;
}

function usage() {
  console.error(`usage:
  npm run keys -- create --project proj_123[,proj_456] --scopes links:write,links:read,retailers:walmart [--name NAME] [--remote] [--url URL]
  npm run keys -- revoke <key or sha256> [--remote] [--url URL]
scopes: ${ALL_SCOPES.join(', ')} (or "all")`);
  process.exit(2);
}

async function main() {
  const opts = parse(process.argv.slice(2));
  const cmd = opts._[0];
  const url = opts.url ?? `http://127.0.0.1:${process.env.PORT ?? 8787}`;
  const remote = opts.remote === 'true';
  if (cmd === 'create') {
    if (!opts.project || !opts.scopes) usage();
    const projects = opts.project.split(',').map((s) => s.trim()).filter(Boolean);
    const scopes = opts.scopes === 'all' ? ALL_SCOPES : opts.scopes.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = scopes.filter((s) => !ALL_SCOPES.includes(s));
    if (unknown.length) { console.error(`unknown scope(s): ${unknown.join(', ')}`); usage(); }
    const name = opts.name ?? 'cli';
    let key;
    if (remote) {
      key = newKey();
      const record = { projects, scopes, name, prefix: key.slice(0, 10), createdAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
      run(join(BIN, 'wrangler'), ['kv', 'key', 'put', '--binding', 'LINKS', '--remote', `k:${hashKey(key)}`, JSON.stringify(record)]);
    } else {
      try {
        key = await createLocalKey(url, { projects, scopes, name });
      } catch (e) {
        console.error(`Could not reach the local worker at ${url} (${e.cause?.code ?? e.message}). Start it with \`npm start\` first, or pass --remote.`);
        process.exit(1);
      }
    }
    console.log(`Created an API key for ${projects.join(', ')} with scopes ${scopes.join(', ')}.`);
    console.log('It is shown only once; only its SHA-256 is stored. Send it as X-Incarts-API-Key.');
    console.log(key);
  } else if (cmd === 'revoke') {
    const target = opts._[1];
    if (!target) usage();
    if (remote) {
      const hash = /^[0-9a-f]{64}$/.test(target) ? target : hashKey(target);
      run(join(BIN, 'wrangler'), ['kv', 'key', 'delete', '--binding', 'LINKS', '--remote', `k:${hash}`]);
      console.log('Revoked.');
    } else {
      const existed = await revokeLocalKey(url, target);
      console.log(existed ? 'Revoked.' : 'No such key (nothing to revoke).');
    }
  } else usage();
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => { console.error(e.message); process.exit(1); });
}
