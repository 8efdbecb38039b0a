// Schemathesis (PyPI; pinned in scripts/setup.mjs and tests/schemathesis.requirements.txt,
// installed into .venv-test/ by `node scripts/setup.mjs --test`) tests the local worker from the
// OpenAPI document it serves at /v1/openapi.json: every /v1 operation, 40+ generated examples
// each, every check on (server errors, status codes, content types, headers and bodies against
// their schemas, valid data accepted, invalid data refused, auth, unsupported methods, stateful
// links), a fixed seed. The run fails the test on any failure and its report is printed.
//
// Keys: the admin API allows 300 requests a minute per key and a run sends thousands, so
// requests take turns over a pool of keys, each with every scope for proj_123
// (tests/schemathesis_hooks.py). Real resources: links made here first are the examples of the
// `linkId` parameter; stateful tests follow the document's links from the links they create.
// Instacart links are made against the local stand-in (tests/instacart-standin.mjs).
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useWorker, walmartCart } from './harness.mjs';
import { startStandin } from './instacart-standin.mjs';
import { ROOT } from '../scripts/lib.mjs';

const ST = join(ROOT, '.venv-test', 'bin', 'st');
const PINNED = readFileSync(join(ROOT, 'scripts', 'setup.mjs'), 'utf8').match(/SCHEMATHESIS_VERSION = '([^']+)'/)[1];
const SEED = 20260522;
const MAX_EXAMPLES = 40;
const KEYS = 16;
const TIME_LIMIT_MS = 12 * 60_000;

const IC_KEY = `st-key-${randomBytes(12).toString('hex')}`;
const ic = await startStandin({ apiKey: IC_KEY });
after(() => ic.close());
const w = useWorker({ vars: { INSTACART_API_BASE_URL: ic.url, INSTACART_API_KEY: IC_KEY } });

/** Runs a command; resolves with its exit code and combined output. Killed at `timeoutMs`. */
function runCommand(cmd, args, { env, cwd, timeoutMs }) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => {
      out += `\n[schemathesis.test] killed after ${timeoutMs / 1000} s\n`;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal, out });
    });
  });
}

it(`schemathesis ${PINNED} finds nothing wrong with the /v1 API`, { timeout: TIME_LIMIT_MS + 120_000 }, async () => {
  assert.ok(existsSync(ST), 'schemathesis is not installed: run `node scripts/setup.mjs --test`');
  const version = await runCommand(ST, ['--version'], { env: process.env, timeoutMs: 60_000 });
  assert.ok(version.out.includes(PINNED), `.venv-test has ${version.out.trim()}, setup pins ${PINNED}`);

  const keys = [w.key];
  while (keys.length < KEYS) keys.push(await w.newKey());
  const seeded = [
    walmartCart(),
    {
      projectId: 'proj_123', name: 'Seeded recipe', retailer: 'instacart', intent: 'recipe',
      options: { instacart: { recipe: { ingredients: [{ name: 'eggs', quantity: 2 }] } } },
    },
    { projectId: 'proj_123', name: 'Seeded page', retailer: 'custom', intent: 'custom_url', customUrl: 'https://brand.example/p', options: { maxClicks: 5 } },
  ];
  const ids = [];
  for (const body of seeded) {
    const r = await w.api('POST', '/v1/links', { body });
    assert.equal(r.status, 201, r.text);
    ids.push(r.body.data.id);
  }

  const work = mkdtempSync(join(tmpdir(), 'in2carts-st-'));
  const args = [
    '--config-file', join(ROOT, 'tests', 'schemathesis.toml'),
    'run', `${w.url}/v1/openapi.json`,
    '--url', w.url,
    '--include-path-regex', '^/v1/',
    '--checks', 'all',
    '--max-examples', String(MAX_EXAMPLES),
    '--seed', String(SEED),
    // One worker: with two, Python 3.11.7's ast.parse (which Hypothesis calls from threads) can
    // fail with "AST constructor recursion depth mismatch" (a CPython bug), an error that is
    // not the API's.
    '--workers', '1',
    '--request-timeout', '60',
    '--no-color',
  ];
  const started = Date.now();
  const r = await runCommand(ST, args, {
    cwd: work, // nothing schemathesis writes lands in the repository
    timeoutMs: TIME_LIMIT_MS,
    env: {
      ...process.env,
      SCHEMATHESIS_HOOKS: join(ROOT, 'tests', 'schemathesis_hooks.py'),
      INCARTS_KEYS: keys.join(','),
      INCARTS_LINK_IDS: ids.join(','),
      NO_COLOR: '1',
      PYTHONDONTWRITEBYTECODE: '1', // no tests/__pycache__ from loading the hooks
    },
  });
  rmSync(work, { recursive: true, force: true });
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  console.log(`\n$ st ${args.join(' ')}   (${seconds} s)\n${r.out}`);
  assert.equal(r.code, 0, `schemathesis reported failures (exit ${r.code}); its report is above`);
  assert.match(r.out, /Test cases:\s*\n\s*\d+ generated/, 'schemathesis ran no test case');
});
