// Settings fail closed: a worker missing a required secret (or with an unusable
// PUBLIC_BASE_URL) refuses to serve with a clear 503 instead of serving with a weaker key; an
// unreadable destination setting refuses custom destinations; a missing rate limiter refuses
// the API. `npm run deploy` refuses, before building, to ship without PUBLIC_BASE_URL; and
// `npm start` passes every setting the worker reads through, multi-line secrets included.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useWorker, walmartCart } from './harness.mjs';
import { ROOT, WORKER_SECRETS, WORKER_VARS, devSecrets } from '../scripts/lib.mjs';

describe('a worker without its required settings', () => {
  const w = useWorker({
    omit: ['SHORT_ID_SECRET'],
    vars: { VISITOR_HASH_SECRET: 'too-short-a-secret', PUBLIC_BASE_URL: 'in2carts.example' },
    withKey: false,
  });

  it('answers 503 misconfigured on every JSON surface, naming each setting but no value', async () => {
    const calls = [
      ['POST', '/v1/links', { body: walmartCart(), key: 'i2c_0000000000000000000000000000000000' }],
      ['GET', '/v1/openapi.json', {}],
      ['GET', '/v1', {}],
      ['GET', '/qr/qr_01M807X6ADW94NXXDBCTZMKE6N', {}],
      ['POST', '/_admin/keys', { body: {} }],
    ];
    for (const [method, path, opts] of calls) {
      const r = await w.api(method, path, { ...opts, headers: { 'x-correlation-id': 'corr-misconfigured-1' } });
      assert.equal(r.status, 503, `${method} ${path}: ${r.text}`);
      assert.equal(r.headers.get('content-type'), 'application/json');
      assert.equal(r.headers.get('x-correlation-id'), 'corr-misconfigured-1');
      const e = r.body.error;
      assert.equal(e.code, 'misconfigured', path);
      assert.equal(e.correlationId, 'corr-misconfigured-1');
      for (const said of ['SHORT_ID_SECRET is not set', 'VISITOR_HASH_SECRET is shorter than 32 characters', 'PUBLIC_BASE_URL must be an http(s) origin']) {
        assert.ok(e.message.includes(said), `${path}: ${e.message}`);
      }
      assert.ok(!e.message.includes('too-short-a-secret') && !e.message.includes('in2carts.example'), e.message);
    }
  });

  it('shows shoppers a plain 503 page, and logs the problem once', async () => {
    for (const method of ['GET', 'HEAD']) {
      for (const path of ['/abc2345', '/tB8bSdF?qr=1', '/', '/robots.txt']) {
        const r = await w.visit(path, { method });
        assert.equal(r.status, 503, `${method} ${path}`);
        assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
        assert.equal(r.headers.get('location'), null);
        if (method === 'GET') assert.match(await r.text(), /Temporarily unavailable/);
      }
    }
    // The runtime's output reaches us through wrangler's: wait for it (bounded), then count.
    const lines = () => w.log().split('\n').filter((l) => l.includes('misconfigured: SHORT_ID_SECRET is not set'));
    for (let i = 0; i < 50 && lines().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(lines().length, 1, w.log());
  });
});

describe('a multi-line secret from .dev.vars', () => {
  // A PEM-like value with quotes of two kinds, as `npm start` writes it into .dev.vars.
  const SHORT_ID_SECRET = "-----BEGIN TEST KEY-----\nit's \"quoted\" # not a comment\nMIIBVgIBADANBgkqhkiG9w0BAQEFAASC\n-----END TEST KEY-----";
  const w = useWorker({ dotDevVars: { SHORT_ID_SECRET } });

  it('reaches the worker exactly: short ids carry its check character', async () => {
    const alphabet = '23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ';
    const check = (body, key) => alphabet[createHmac('sha256', key).update(body).digest()[0] % alphabet.length];
    const ids = [];
    for (let i = 0; i < 6; i++) {
      const r = await w.api('POST', '/v1/links', { body: walmartCart() });
      assert.equal(r.status, 201, r.text);
      ids.push(r.body.data.shortId);
    }
    for (const id of ids) assert.equal(id[6], check(id.slice(0, 6), SHORT_ID_SECRET), id);
    // Not the key of any other spelling of it (6 ids: a chance of 55^-6 to pass by luck).
    assert.ok(ids.some((id) => id[6] !== check(id.slice(0, 6), SHORT_ID_SECRET.replace(/\n/g, '\\n'))));
  });
});

describe('unreadable destination settings', () => {
  const w = useWorker({
    vars: { CUSTOM_DESTINATION_HOSTS: '{"proj_123": "brand.example"}', SERVICE_HOSTS: 'in2carts.example, not a host' },
  });

  it('refuse custom destinations with 503 misconfigured naming each, and leave other links alone', async () => {
    const custom = { projectId: 'proj_123', name: 'c', retailer: 'custom', intent: 'custom_url', customUrl: 'https://brand.example/' };
    for (const body of [custom, walmartCart({ fallbackUrl: 'https://brand.example/' })]) {
      const r = await w.api('POST', '/v1/links', { body });
      assert.equal(r.status, 503, r.text);
      assert.equal(r.body.error.code, 'misconfigured');
      assert.match(r.body.error.message, /CUSTOM_DESTINATION_HOSTS must be a JSON object/);
      assert.match(r.body.error.message, /SERVICE_HOSTS: 'not a host' is not a host name/);
      assert.match(r.body.error.message, /customUrl or fallbackUrl are refused/);
    }
    const plain = await w.api('POST', '/v1/links', { body: walmartCart() });
    assert.equal(plain.status, 201, plain.text);
    const v = await w.visit(`/${plain.body.data.shortId}`);
    assert.equal(v.status, 302);
    assert.match(v.headers.get('location'), /^https:\/\/www\.walmart\.com\/sc\/cart\/addToCart\?items=/);
  });
});

describe('without the rate-limiting binding', () => {
  const w = useWorker({ configure: (toml) => toml.replace(/\[\[ratelimits\]\][^[]*/, '') });

  it('the API refuses (503 misconfigured) rather than run unlimited', async () => {
    for (const [method, path, body] of [['GET', '/v1/links?projectId=proj_123', undefined], ['POST', '/v1/links', walmartCart()]]) {
      const r = await w.api(method, path, { body });
      assert.equal(r.status, 503, `${method} ${path}: ${r.text}`);
      assert.equal(r.body.error.code, 'misconfigured');
      assert.match(r.body.error.message, /the API_RATE_LIMITER rate-limiting binding is missing/);
    }
  });
});

describe('npm run deploy', () => {
  const deploy = (args, env = {}) => {
    const clean = { ...process.env };
    for (const k of ['PUBLIC_BASE_URL', 'SERVICE_HOSTS', 'CUSTOM_DESTINATION_HOSTS']) delete clean[k];
    return spawnSync(process.execPath, [join(ROOT, 'scripts', 'deploy.mjs'), ...args], {
      cwd: ROOT, encoding: 'utf8', env: { ...clean, ...env }, timeout: 60_000,
    });
  };

  it('refuses, before installing or building anything, without PUBLIC_BASE_URL', () => {
    // The repository's wrangler.toml ships PUBLIC_BASE_URL = "": a plain deploy must stop.
    const r = deploy([]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^npm run deploy: not deploying\.\n {2}- PUBLIC_BASE_URL is not set\. Set it in wrangler\.toml \[vars\]/);
    assert.ok(!/\[setup\]|\[build\]|wrangler/i.test(r.stderr.replace(/wrangler\.toml/g, '')), r.stderr);
  });

  it('refuses a PUBLIC_BASE_URL that is not an https origin, and unreadable host settings', () => {
    for (const base of ['in2carts.com', 'http://in2carts.com', 'https://in2carts.com/go', 'https://in2carts.com?x=1']) {
      const r = deploy(['--check'], { PUBLIC_BASE_URL: base });
      assert.equal(r.status, 1, base);
      assert.ok(r.stderr.includes(`PUBLIC_BASE_URL must be an https origin such as https://in2carts.com (no path, query or credentials), not ${JSON.stringify(base)}.`), r.stderr);
    }
    const r = deploy(['--check'], { PUBLIC_BASE_URL: 'https://in2carts.com', SERVICE_HOSTS: 'ok.example,bad/host', CUSTOM_DESTINATION_HOSTS: '["x"]' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /SERVICE_HOSTS must list host names separated by commas; not hosts: "bad\/host"\./);
    assert.match(r.stderr, /CUSTOM_DESTINATION_HOSTS must be a JSON object/);
  });

  it('passes its checks with PUBLIC_BASE_URL from the environment or from wrangler.toml [vars]', () => {
    let r = deploy(['--check'], { PUBLIC_BASE_URL: 'https://in2carts.com' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /deploy checks passed \(PUBLIC_BASE_URL https:\/\/in2carts\.com\)/);
    const dir = mkdtempSync(join(tmpdir(), 'in2carts-deploy-'));
    try {
      const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8')
        .replace(/^PUBLIC_BASE_URL = ""$/m, 'PUBLIC_BASE_URL = "https://go.brand.example"');
      assert.ok(toml.includes('"https://go.brand.example"'), 'wrangler.toml has the line this test edits');
      writeFileSync(join(dir, 'wrangler.toml'), toml);
      r = deploy(['--check', '--config', join(dir, 'wrangler.toml')]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /PUBLIC_BASE_URL https:\/\/go\.brand\.example/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('settings the worker reads', () => {
  /** Every var or secret name the Rust sources read from the environment. */
  function namesRead() {
    const files = [];
    (function walk(d) {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else if (e.name.endsWith('.rs')) files.push(readFileSync(join(d, e.name), 'utf8'));
      }
    })(join(ROOT, 'src'));
    const src = files.join('\n');
    const consts = Object.fromEntries([...src.matchAll(/const ([A-Z][A-Z0-9_]*): &str = "([A-Z][A-Z0-9_]+)";/g)].map((m) => [m[1], m[2]]));
    const names = new Set();
    for (const re of [
      /\.(?:var|secret)\(\s*"([A-Z][A-Z0-9_]+)"\s*\)/g,
      /\bread\([^,()]+,\s*"([A-Z][A-Z0-9_]+)"\)/g,
      /\bget\("([A-Z][A-Z0-9_]+)"\)/g,
      /isolate_var\([^"]*"([A-Z][A-Z0-9_]+)"/g,
    ]) for (const m of src.matchAll(re)) names.add(m[1]);
    for (const m of src.matchAll(/\.(?:var|secret)\(\s*([A-Z][A-Z0-9_]+)\s*\)/g)) if (consts[m[1]]) names.add(consts[m[1]]);
    const required = src.match(/REQUIRED_SECRETS: \[&str; \d+\] = \[([^\]]*)\]/);
    for (const m of required[1].matchAll(/"([A-Z][A-Z0-9_]+)"/g)) names.add(m[1]);
    return names;
  }

  it('npm start passes each of them through and README documents each', () => {
    const names = namesRead();
    for (const known of ['PUBLIC_BASE_URL', 'SERVICE_HOSTS', 'CUSTOM_DESTINATION_HOSTS', 'SHORT_ID_SECRET',
      'VISITOR_HASH_SECRET', 'INSTACART_API_KEY', 'INSTACART_API_BASE_URL', 'ADMIN_TOKEN', 'CLICK_RECORDING']) {
      assert.ok(names.has(known), `the scan of src/ finds ${known}`);
    }
    const passed = new Set([...WORKER_VARS, ...WORKER_SECRETS]);
    assert.deepEqual([...names].filter((n) => !passed.has(n)), [], 'read by the worker but not passed by npm start');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Deploy'));
    assert.deepEqual([...passed].filter((n) => !table.includes(`| \`${n}\` |`)), [], 'missing from README, Configuration');
    const start = readFileSync(join(ROOT, 'scripts', 'start.mjs'), 'utf8');
    assert.match(start, /WORKER_VARS\.filter\(\(k\) => process\.env\[k\]\)/);
    assert.match(start, /for \(const k of WORKER_SECRETS\) if \(process\.env\[k\]\) setDevVar\(k, process\.env\[k\]\)/);
    const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
    const tomlVars = toml.slice(toml.indexOf('[vars]'), toml.indexOf('\n[', toml.indexOf('[vars]') + 1));
    for (const m of tomlVars.matchAll(/^([A-Z][A-Z0-9_]+) = /gm)) assert.ok(passed.has(m[1]), `wrangler.toml var ${m[1]}`);
  });

  it('local runs get every required secret, and deploys check the same ones', async () => {
    const secrets = devSecrets();
    for (const name of ['SHORT_ID_SECRET', 'VISITOR_HASH_SECRET', 'ADMIN_TOKEN']) assert.ok(secrets[name]?.length >= 32, name);
    const { REQUIRED_SECRETS } = await import('../scripts/deploy.mjs');
    const rust = readFileSync(join(ROOT, 'src', 'domain', 'config.rs'), 'utf8').match(/REQUIRED_SECRETS: \[&str; \d+\] = \[([^\]]*)\]/)[1];
    assert.deepEqual(REQUIRED_SECRETS, [...rust.matchAll(/"([A-Z_]+)"/g)].map((m) => m[1]));
  });
});
