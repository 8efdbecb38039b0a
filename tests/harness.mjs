// End-to-end harness: the built worker in the real local runtime (wrangler dev → workerd) with
// real local KV and SQLite Durable Objects, on a free port, with a throwaway state directory.
// Always stopped after the suite, even when a test fails.
import { after, before } from 'node:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devSecrets, formatDevVars, freePort, startWorker } from '../scripts/lib.mjs';
import { ALL_SCOPES, createLocalKey } from '../scripts/keys.mjs';
import { snapshotWorker } from '../bench/workers.mjs';

export { ALL_SCOPES };

/**
 * Starts a worker for the calling test file. `vars` are extra worker vars. The local secrets
 * (scripts/lib.mjs `devSecrets`: the admin token and the secrets the worker requires) are
 * passed too, except those named in `omit`; the project's .dev.vars itself is never read by
 * the worker, so it knows only what the test gives it. `configure` edits the worker's
 * wrangler.toml, and `dotDevVars` is written as its .dev.vars (read by wrangler as for `npm
 * start`): either runs the worker from a snapshot of build/. `withKey: false` skips making
 * the default API key (a misconfigured worker cannot register one).
 * Returns an object whose fields are filled in `before()`.
 */
export function useWorker({ vars = {}, omit = [], configure, dotDevVars, withKey = true } = {}) {
  const w = { url: '', key: '', stop: null, state: '' };
  let state;
  before(async () => {
    const secrets = devSecrets();
    for (const k of [...omit, ...Object.keys(dotDevVars ?? {})]) delete secrets[k];
    state = mkdtempSync(join(tmpdir(), 'in2carts-test-'));
    w.state = state; // the worker's local state (KV, Durable Objects), for tests that inspect it
    const extraArgs = [];
    if (configure || dotDevVars) {
      const config = snapshotWorker(join(state, 'worker'));
      if (configure) writeFileSync(config, configure(readFileSync(config, 'utf8')));
      if (dotDevVars) writeFileSync(join(state, 'worker', '.dev.vars'), formatDevVars(dotDevVars));
      extraArgs.push('--config', config);
    } else {
      // An explicit (empty) env file: wrangler then does not load the project's .dev.vars.
      writeFileSync(join(state, 'empty.env'), '');
      extraArgs.push('--env-file', join(state, 'empty.env'));
    }
    const port = await freePort();
    // A free inspector port too: wrangler's default (9229) is taken by any other wrangler dev.
    extraArgs.push('--inspector-port', String(await freePort()));
    const worker = await startWorker({
      port, persistTo: state, quiet: true, extraArgs,
      vars: { ...secrets, ...vars },
    });
    const kill = () => { try { process.kill(-worker.proc.pid, 'SIGKILL'); } catch { /* gone */ } };
    process.on('exit', kill);
    w.url = worker.url;
    w.stop = worker.stop;
    w.log = worker.log;
    if (withKey) w.key = await w.newKey({ projects: ['proj_123'], scopes: ALL_SCOPES });
  });
  after(async () => {
    if (w.stop) await w.stop();
    if (state) rmSync(state, { recursive: true, force: true });
  });
  w.newKey = ({ projects = ['proj_123'], scopes = ALL_SCOPES } = {}) =>
    createLocalKey(w.url, { projects, scopes, name: 'test' });
  /** JSON API call: returns { status, headers, body } with the body parsed when JSON. */
  w.api = async (method, path, { body, key = w.key, headers = {}, raw } = {}) => {
    const h = { ...headers };
    if (key) h['x-incarts-api-key'] = key;
    let payload;
    if (raw !== undefined) payload = raw;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const res = await fetch(w.url + path, { method, headers: h, body: payload, redirect: 'manual' });
    const text = await res.text();
    let parsed = text;
    try { parsed = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };
  /** A shopper visit: no redirect following. */
  w.visit = (path, { method = 'GET', headers = {} } = {}) =>
    fetch(w.url + path, { method, headers, redirect: 'manual' });
  return w;
}

/** The guide's Walmart cart example: three products, in the published request shape. */
export function walmartCart(extra = {}) {
  return {
    projectId: 'proj_123',
    name: 'Summer grilling basket',
    retailer: 'walmart',
    intent: 'add_to_cart',
    products: [
      { retailerProductId: '123456789', quantity: 2 },
      { retailerProductId: '987654321', quantity: 1 },
      { retailerProductId: '555000111', quantity: 3 },
    ],
    ...extra,
  };
}

/** Products as every response echoes them: `quantity` and `backupProductIds` always present. */
export function echoed(products) {
  return products.map((p) => ({ ...p, quantity: p.quantity ?? 1, backupProductIds: p.backupProductIds ?? [] }));
}

/**
 * Polls a link's stats until `done(data)` holds (clicks are recorded after the redirect is
 * answered), for at most 20 s; fails with the last answer otherwise.
 */
export async function statsWhen(w, id, done, query = '') {
  const deadline = Date.now() + 20_000;
  let last;
  while (Date.now() < deadline) {
    const r = await w.api('GET', `/v1/links/${id}/stats${query}`);
    if (r.status !== 200) throw new Error(`stats: ${r.status} ${r.text}`);
    last = r.body.data;
    if (done(last)) return last;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`stats never settled: ${JSON.stringify(last)}`);
}

/** The path of a URL (`/abc1234?qr=1`). */
export function pathOf(u) {
  const x = new URL(u);
  return x.pathname + x.search;
}
