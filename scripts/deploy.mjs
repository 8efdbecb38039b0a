// `npm run deploy`: checks what a deployed worker needs, then installs, builds and runs
// `wrangler deploy`. The checks that need nothing come first, so a deploy that would ship a
// broken configuration stops before anything is installed or built:
//   - PUBLIC_BASE_URL (the environment, else wrangler.toml [vars]) must be an https origin.
//     Empty, every short link, QR image URL and printed QR code would carry whatever Host
//     header its request came with, for good.
//   - SERVICE_HOSTS and CUSTOM_DESTINATION_HOSTS, when set, must be readable (the worker
//     refuses custom destinations while one is not).
// Then, with wrangler installed: the worker must have the secrets it requires
// (SHORT_ID_SECRET, VISITOR_HASH_SECRET), through `wrangler secret list` (network) or the
// given `--secrets-file`. A worker deployed without them answers 503 `misconfigured`.
//
//   node scripts/deploy.mjs [--check] [--config FILE] [--env NAME] [wrangler deploy options]
//
// --check runs the first checks only. PUBLIC_BASE_URL, SERVICE_HOSTS and
// CUSTOM_DESTINATION_HOSTS from the environment are passed to `wrangler deploy --var`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, BIN, run, parseDevVars } from './lib.mjs';

/** Secrets the worker refuses to serve without (src/domain/config.rs REQUIRED_SECRETS). */
export const REQUIRED_SECRETS = ['SHORT_ID_SECRET', 'VISITOR_HASH_SECRET'];
/** Vars taken from the environment when set there. */
const ENV_VARS = ['PUBLIC_BASE_URL', 'SERVICE_HOSTS', 'CUSTOM_DESTINATION_HOSTS'];

/** The string values of a wrangler.toml table (`vars`, or `env.NAME.vars`). */
export function tomlVars(text, table = 'vars') {
  const vars = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const header = line.match(/^\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/);
    if (header) {
      section = header[1].replace(/\s+/g, '');
      continue;
    }
    if (section !== table) continue;
    const m = line.match(/^([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(.*)$/);
    if (!m) continue;
    const basic = m[2].match(/^"((?:[^"\\]|\\.)*)"\s*(#.*)?$/);
    const literal = m[2].match(/^'([^']*)'\s*(#.*)?$/);
    if (literal) vars[m[1]] = literal[1];
    else if (basic) {
      try { vars[m[1]] = JSON.parse(`"${basic[1]}"`); } catch { vars[m[1]] = null; }
    } else vars[m[1]] = null; // not a one-line string: unreadable here
  }
  return vars;
}

function isHost(entry) {
  const e = entry.trim().replace(/^\*\./, '');
  if (!e) return false;
  try {
    const u = new URL(e.includes('://') ? e : `http://${e}`);
    return u.hostname !== '' && u.username === '' && u.password === '' && u.pathname === '/' &&
      u.search === '' && u.hash === '';
  } catch {
    return false;
  }
}

/** What makes these settings undeployable: a list of sentences (empty when deployable). */
export function deployProblems(settings) {
  const problems = [];
  const base = settings.PUBLIC_BASE_URL;
  if (base === null) {
    problems.push('PUBLIC_BASE_URL in wrangler.toml is not a one-line string.');
  } else if (!base || !base.trim()) {
    problems.push('PUBLIC_BASE_URL is not set. Set it in wrangler.toml [vars] (or the environment) to ' +
      'the origin of your short links, e.g. PUBLIC_BASE_URL = "https://in2carts.com". Without it, ' +
      'short links, QR image URLs and printed QR codes would carry whatever Host header a request had.');
  } else {
    let ok = false;
    try {
      const u = new URL(base.trim());
      ok = u.protocol === 'https:' && u.hostname !== '' && u.username === '' && u.password === '' &&
        u.pathname === '/' && u.search === '' && u.hash === '';
    } catch { /* not a URL */ }
    if (!ok) {
      problems.push(`PUBLIC_BASE_URL must be an https origin such as https://in2carts.com ` +
        `(no path, query or credentials), not ${JSON.stringify(base)}.`);
    }
  }
  const hosts = settings.SERVICE_HOSTS;
  if (hosts === null) problems.push('SERVICE_HOSTS in wrangler.toml is not a one-line string.');
  else if (hosts) {
    const bad = hosts.split(',').filter((e) => e.trim() && !isHost(e));
    if (bad.length) problems.push(`SERVICE_HOSTS must list host names separated by commas; not hosts: ${bad.map((e) => JSON.stringify(e.trim())).join(', ')}.`);
  }
  const allow = settings.CUSTOM_DESTINATION_HOSTS;
  if (allow === null) problems.push('CUSTOM_DESTINATION_HOSTS in wrangler.toml is not a one-line string.');
  else if (allow && allow.trim()) {
    let parsed;
    try { parsed = JSON.parse(allow); } catch { /* reported below */ }
    const ok = parsed && typeof parsed === 'object' && !Array.isArray(parsed) &&
      Object.values(parsed).every((l) => Array.isArray(l) && l.every((h) => typeof h === 'string' && isHost(h)));
    if (!ok) problems.push('CUSTOM_DESTINATION_HOSTS must be a JSON object of project id → list of host names, e.g. {"proj_123": ["brand.example"]}.');
  }
  return problems;
}

/** `--name value` or `--name=value` among `args`. */
function option(args, name) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) return args[i + 1];
    if (args[i].startsWith(`${name}=`)) return args[i].slice(name.length + 1);
  }
  return undefined;
}

function refuse(problems) {
  console.error(`npm run deploy: not deploying.\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}

/** The names of the secrets the deployed worker has, or a problem. */
function deployedSecrets(wranglerArgs) {
  const file = option(wranglerArgs, '--secrets-file');
  if (file) {
    const text = readFileSync(resolve(file), 'utf8');
    let names;
    try { names = Object.keys(JSON.parse(text)); } catch { names = Object.keys(parseDevVars(text)); }
    return { names, from: file };
  }
  const pass = ['--config', '--env', '-e', '--name'].flatMap((o) => {
    const v = option(wranglerArgs, o);
    return v === undefined ? [] : [o, v];
  });
  const r = spawnSync(join(BIN, 'wrangler'), ['secret', 'list', '--format', 'json', ...pass],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
  if (r.status !== 0) {
    const said = `${r.stderr ?? ''}\n${r.stdout ?? ''}`.split('\n')
      .map((l) => l.replace(/\x1b\[[0-9;]*m/g, '').trim())
      .filter((l) => l && !l.includes('Logs were written')).join(' ');
    return { problem: `Could not list the worker's secrets with \`wrangler secret list\`: ${said || `exit ${r.status}`} ` +
      'Log in with `npx wrangler login`; a new worker gets its secrets with `npx wrangler secret put NAME` before its first deploy.' };
  }
  try {
    return { names: JSON.parse(r.stdout.slice(r.stdout.indexOf('['))).map((s) => s.name), from: 'wrangler secret list' };
  } catch {
    return { problem: '`wrangler secret list` answered something other than JSON.' };
  }
}

async function main() {
  const args = process.argv.slice(2);
  const checkOnly = args.includes('--check');
  const wranglerArgs = args.filter((a) => a !== '--check');
  const configPath = resolve(ROOT, option(wranglerArgs, '--config') ?? option(wranglerArgs, '-c') ?? 'wrangler.toml');
  if (!existsSync(configPath)) refuse([`${configPath} does not exist.`]);
  const envName = option(wranglerArgs, '--env') ?? option(wranglerArgs, '-e');
  const fromToml = tomlVars(readFileSync(configPath, 'utf8'), envName ? `env.${envName}.vars` : 'vars');
  const settings = { ...fromToml };
  for (const k of ENV_VARS) if (process.env[k]) settings[k] = process.env[k];
  const problems = deployProblems(settings);
  if (problems.length) refuse(problems);
  if (checkOnly) {
    console.log(`deploy checks passed (PUBLIC_BASE_URL ${settings.PUBLIC_BASE_URL})`);
    return;
  }

  run(process.execPath, [join(ROOT, 'scripts', 'setup.mjs')]);
  const secrets = deployedSecrets(wranglerArgs);
  if (secrets.problem) refuse([secrets.problem]);
  const missing = REQUIRED_SECRETS.filter((s) => !secrets.names.includes(s));
  if (missing.length) {
    refuse([`The worker has no ${missing.join(' and no ')} (${secrets.from}); it would answer 503 misconfigured. ` +
      `Set ${missing.length > 1 ? 'them' : 'it'} first: ${missing.map((s) => `npx wrangler secret put ${s}`).join('; ')} ` +
      '(a long random string each, e.g. from `openssl rand -hex 32`).']);
  }
  run(process.execPath, [join(ROOT, 'scripts', 'build.mjs')]);
  const vars = ENV_VARS.filter((k) => process.env[k]).flatMap((k) => ['--var', `${k}:${process.env[k]}`]);
  run(join(BIN, 'wrangler'), ['deploy', ...vars, ...wranglerArgs]);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
