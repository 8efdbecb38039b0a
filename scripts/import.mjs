// Imports links from a file through `POST /v1/links/bulk`, in batches of up to 100:
//
//   npm run import -- links.json [--url URL | --remote] [--key KEY] [--batch N] [--failed FILE]
//
// The file is a JSON array of link create bodies (or `{"links": [...]}`), or a CSV file with
// the columns described in docs/import.md. Locally (the default) the links go to the running
// `npm start` worker with the dev key; `--remote` sends them to PUBLIC_BASE_URL (environment,
// else wrangler.toml), `--url` to any deployment; `--key` (or INCARTS_API_KEY) is the API key.
//
// Every batch carries an Idempotency-Key derived from its content, so an interrupted import
// can be run again: batches already done are answered from the service's memory of them (for
// 48 hours) and create nothing twice; rows with a chosen `shortId` are also protected by the
// id itself. The run ends with a summary; rows that failed are written, with the reason and
// the key path of each problem, to `<file>.failed.json` (or `--failed`).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './lib.mjs';

const MAX_BATCH = 100;

// ------------------------------------------------------------------------------------------
// Reading the file
// ------------------------------------------------------------------------------------------

/** RFC 4180 CSV: quoted fields may hold commas, quotes (doubled) and line breaks. */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 1; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      row.push(field); field = '';
      rows.push(row); row = [];
    } else field += c;
  }
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
  return rows.filter((r) => r.some((f) => f.trim() !== ''));
}

const NUMBER = /^\d+$/;

/** `123456789:2:987654321|555555555;222` → products (id, quantity, backups). */
function csvProducts(cell) {
  return cell.split(';').map((s) => s.trim()).filter(Boolean).map((item) => {
    const [id, quantity, backups] = item.split(':').map((x) => x.trim());
    const p = { retailerProductId: id };
    if (quantity) p.quantity = NUMBER.test(quantity) ? Number(quantity) : quantity;
    if (backups) p.backupProductIds = backups.split('|').map((b) => b.trim()).filter(Boolean);
    return p;
  });
}

/** One CSV row as a link create body; empty cells are left out. */
export function csvRow(header, cells) {
  const v = {};
  header.forEach((name, i) => { const c = (cells[i] ?? '').trim(); if (c !== '') v[name] = c; });
  const body = {};
  for (const k of ['projectId', 'name', 'publicName', 'retailer', 'intent', 'shortId', 'customUrl', 'fallbackUrl']) {
    if (v[k] !== undefined) body[k] = v[k];
  }
  if (v.products !== undefined) body.products = csvProducts(v.products);
  if (v.zipCode !== undefined || v.storeId !== undefined) {
    body.location = {};
    if (v.zipCode !== undefined) body.location.zipCode = v.zipCode;
    if (v.storeId !== undefined) body.location.storeId = v.storeId;
  }
  const utm = {};
  for (const [col, key] of [['utmSource', 'source'], ['utmMedium', 'medium'], ['utmCampaign', 'campaign'], ['utmTerm', 'term'], ['utmContent', 'content']]) {
    if (v[col] !== undefined) utm[key] = v[col];
  }
  const tags = v.tags?.split('|').map((t) => t.trim()).filter(Boolean);
  if (Object.keys(utm).length || tags?.length) {
    body.tracking = {};
    if (Object.keys(utm).length) body.tracking.utm = utm;
    if (tags?.length) body.tracking.tags = tags;
  }
  if (v.legacyQrCodes !== undefined) {
    body.legacyQrCodes = v.legacyQrCodes.split('|').map((s) => s.trim()).filter(Boolean).map((s) => {
      const eq = s.indexOf('=');
      return eq < 0 ? { identifier: s, name: s } : { identifier: s.slice(0, eq).trim(), name: s.slice(eq + 1).trim() };
    });
  }
  if (v.startsAt !== undefined || v.expiresAt !== undefined) {
    body.options = {};
    if (v.startsAt !== undefined) body.options.startsAt = v.startsAt;
    if (v.expiresAt !== undefined) body.options.expiresAt = v.expiresAt;
  }
  if (v.metadata !== undefined) {
    try { body.metadata = JSON.parse(v.metadata); } catch { body.metadata = v.metadata; }
  }
  return body;
}

/** The links of a file: `{row, body}` with the row number as a person reads the file. */
export function readLinks(file) {
  const text = readFileSync(file, 'utf8');
  if (/\.csv$/i.test(file)) {
    const rows = parseCsv(text);
    if (rows.length === 0) return [];
    const header = rows[0].map((h) => h.trim());
    return rows.slice(1).map((cells, i) => ({ row: i + 2, body: csvRow(header, cells) }));
  }
  const json = JSON.parse(text);
  const list = Array.isArray(json) ? json : json?.links;
  if (!Array.isArray(list)) throw new Error(`${file}: expected a JSON array of links, or {"links": [...]}`);
  return list.map((body, i) => ({ row: i + 1, body }));
}

/** The Idempotency-Key of a batch: a hash of its exact content. */
export function batchKey(bodies) {
  return `import-${createHash('sha256').update(JSON.stringify(bodies)).digest('hex').slice(0, 48)}`;
}

// ------------------------------------------------------------------------------------------
// Sending
// ------------------------------------------------------------------------------------------

function progress(out, s) {
  const width = 28;
  const frac = s.total ? s.done / s.total : 1;
  const filled = Math.round(frac * width);
  const elapsed = (Date.now() - s.started) / 1000;
  const eta = s.done > 0 ? Math.max(0, (elapsed / s.done) * (s.total - s.done)) : NaN;
  const etaText = Number.isFinite(eta) ? `${Math.ceil(eta)}s` : '…';
  const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${s.done}/${s.total} ` +
    `created ${s.created} · already there ${s.existing} · failed ${s.failed} · ETA ${etaText}`;
  if (out.isTTY) out.write(`\r${line}`);
  else out.write(`${line}\n`);
}

async function sendBatch(url, key, bodies, idem) {
  for (let attempt = 0; ; attempt += 1) {
    let res;
    try {
      res = await fetch(`${url}/v1/links/bulk`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-incarts-api-key': key, 'idempotency-key': idem },
        body: JSON.stringify({ links: bodies }),
      });
    } catch (e) {
      if (attempt < 5) { await new Promise((r) => setTimeout(r, 500 * 2 ** attempt)); continue; }
      throw new Error(`the service could not be reached at ${url}: ${e.message}`);
    }
    const text = await res.text();
    let body;
    try { body = JSON.parse(text); } catch { body = null; }
    // The same batch still running (an earlier, interrupted run), rate limits, outages: wait.
    const retry = res.status === 429 || res.status >= 500 ||
      (res.status === 409 && body?.error?.code === 'idempotency_request_in_progress');
    if (retry && attempt < 8) {
      const after = Number(res.headers.get('retry-after')) || 2 ** Math.min(attempt, 4);
      await new Promise((r) => setTimeout(r, after * 1000));
      continue;
    }
    if (res.status !== 200 || !Array.isArray(body?.data)) {
      const why = body?.error ? `${body.error.code}: ${body.error.message}` : text.slice(0, 300);
      throw new Error(`the batch was refused (${res.status} ${why})`);
    }
    return { results: body.data, replayed: res.headers.get('idempotent-replayed') === 'true' };
  }
}

/**
 * Imports `links` (`[{row, body}]`) into the service at `url` with `key`. Returns the summary;
 * `out` gets the progress bar.
 */
export async function importLinks(links, { url, key, batch = MAX_BATCH, out = process.stderr, stop = () => false }) {
  const s = { total: links.length, done: 0, created: 0, existing: 0, failed: 0, stopped: false, started: Date.now(), failures: [] };
  progress(out, s);
  for (let i = 0; i < links.length; i += batch) {
    if (stop()) { s.stopped = true; break; }
    const part = links.slice(i, i + batch);
    const bodies = part.map((l) => l.body);
    const { results, replayed } = await sendBatch(url, key, bodies, batchKey(bodies));
    results.forEach((r, j) => {
      const { row } = part[j];
      if (r.status === 201 && replayed) s.existing += 1;
      else if (r.status === 201) s.created += 1;
      else {
        s.failed += 1;
        s.failures.push({
          row,
          status: r.status,
          code: r.error?.code,
          message: r.error?.message,
          details: r.error?.details ?? [],
          link: part[j].body,
        });
      }
    });
    s.done += part.length;
    progress(out, s);
  }
  if (out.isTTY) out.write('\n');
  return s;
}

// ------------------------------------------------------------------------------------------
// Command line
// ------------------------------------------------------------------------------------------

function usage() {
  console.error(`usage: npm run import -- <links.json | links.csv> [--url URL | --remote] [--key KEY] [--batch N] [--failed FILE]

  locally (default): the running \`npm start\` worker (PORT, default 8787) with the dev key
  --remote          PUBLIC_BASE_URL (environment, else wrangler.toml [vars])
  --url URL         any deployment
  --key KEY         API key (else INCARTS_API_KEY; locally .local/dev-key)
  CSV columns: docs/import.md`);
  process.exit(2);
}

function remoteUrl() {
  if (process.env.PUBLIC_BASE_URL) return process.env.PUBLIC_BASE_URL;
  const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
  const m = toml.match(/^PUBLIC_BASE_URL\s*=\s*"([^"]*)"/m);
  if (!m || !m[1]) throw new Error('--remote needs PUBLIC_BASE_URL (environment or wrangler.toml [vars])');
  return m[1];
}

async function main() {
  const args = process.argv.slice(2);
  const opts = { batch: MAX_BATCH };
  const files = [];
  for (let i = 0; i < args.length; i += 1) {
    const a = args[i];
    if (a === '--url') opts.url = args[++i];
    else if (a === '--key') opts.key = args[++i];
    else if (a === '--remote') opts.remote = true;
    else if (a === '--batch') opts.batch = Number(args[++i]);
    else if (a === '--failed') opts.failed = args[++i];
    else if (a.startsWith('--')) usage();
    else files.push(a);
  }
  if (files.length !== 1 || !(opts.batch >= 1 && opts.batch <= MAX_BATCH)) usage();
  const file = files[0];
  const local = !opts.url && !opts.remote;
  const url = (opts.url ?? (opts.remote ? remoteUrl() : `http://127.0.0.1:${process.env.PORT ?? 8787}`)).replace(/\/+$/, '');
  let key = opts.key ?? process.env.INCARTS_API_KEY;
  const devKey = join(ROOT, '.local', 'dev-key');
  if (!key && local && existsSync(devKey)) key = readFileSync(devKey, 'utf8').trim();
  if (!key) throw new Error('no API key: give --key or INCARTS_API_KEY (locally, run `npm start` once)');

  const links = readLinks(file);
  console.error(`importing ${links.length} links from ${basename(file)} into ${url}, ${opts.batch} per request`);
  // Ctrl-C lets the batch on its way finish, so a rerun picks up exactly where this one ended.
  let stopping = false;
  process.on('SIGINT', () => {
    if (stopping) process.exit(130);
    stopping = true;
    console.error('\nstopping after the batch on its way (Ctrl-C again to quit at once)');
  });
  const s = await importLinks(links, { url, key, batch: opts.batch, stop: () => stopping });
  const seconds = ((Date.now() - s.started) / 1000).toFixed(1);
  console.log(`${s.done} of ${s.total} rows: ${s.created} created, ${s.existing} already imported (an earlier run), ${s.failed} failed, in ${seconds} s`);
  if (s.stopped) console.log(`stopped early: run the same command again to import the other ${s.total - s.done} rows`);
  if (s.failures.length > 0) {
    const failedFile = opts.failed ?? `${file}.failed.json`;
    writeFileSync(failedFile, `${JSON.stringify(s.failures, null, 2)}\n`);
    for (const f of s.failures.slice(0, 10)) {
      const where = f.details.map((d) => `${d.key || '(body)'}: ${d.message}`).join('; ') || f.message;
      console.log(`  row ${f.row}: ${f.code} — ${where}`);
    }
    if (s.failures.length > 10) console.log(`  … and ${s.failures.length - 10} more`);
    console.log(`failed rows and why: ${failedFile}`);
  }
  process.exitCode = s.failed > 0 || s.stopped ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => { console.error(`import: ${e.message}`); process.exit(1); });
}
