// Click shards written before rows had an event and a retailer keep working: a shard whose
// `hourly` table is the earlier one (without `event` and `retailer`, keyed without them) is
// migrated when its object starts, its rows kept as visits of the link (the defaults), and
// new rows of every kind are counted beside them. The worker runs twice on one local state;
// between the runs the shard's SQLite file is put back to the earlier table with Python's
// sqlite3 module (the runtime's own files, no mock).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devSecrets, devVars, freePort, startWorker } from '../scripts/lib.mjs';
import { ALL_SCOPES, createLocalKey } from '../scripts/keys.mjs';

const state = mkdtempSync(join(tmpdir(), 'in2carts-dimensions-'));
writeFileSync(join(state, 'empty.env'), '');
let worker;
after(async () => {
  if (worker) await worker.stop();
  rmSync(state, { recursive: true, force: true });
});

async function start() {
  const port = await freePort();
  worker = await startWorker({
    port, persistTo: state, quiet: true, vars: devSecrets(),
    extraArgs: ['--env-file', join(state, 'empty.env'), '--inspector-port', String(await freePort())],
  });
  return worker;
}

/** The SQLite files of the LinkClicks objects. */
function shardFiles() {
  const root = join(state, 'v3', 'do');
  if (!existsSync(root)) return [];
  return readdirSync(root).filter((d) => d.endsWith('LinkClicks'))
    .flatMap((d) => readdirSync(join(root, d)).filter((f) => f.endsWith('.sqlite')).map((f) => join(root, d, f)));
}

function python(script, ...args) {
  const r = spawnSync('python3', ['-c', script, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

// The earlier `hourly`: the same rows, without `event` and `retailer`.
const TO_EARLIER = `
import sqlite3, sys
for path in sys.argv[1:]:
    db = sqlite3.connect(path)
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'hourly'").fetchone():
        continue
    db.executescript("""
CREATE TABLE hourly_old (
  hour INTEGER NOT NULL, country TEXT NOT NULL, device TEXT NOT NULL, os TEXT NOT NULL,
  browser TEXT NOT NULL, referrer TEXT NOT NULL, qr TEXT NOT NULL, is_bot INTEGER NOT NULL,
  clicks INTEGER NOT NULL,
  PRIMARY KEY (hour, country, device, os, browser, referrer, qr, is_bot)) WITHOUT ROWID;
INSERT INTO hourly_old SELECT hour, country, device, os, browser, referrer, qr, is_bot, clicks FROM hourly;
DROP TABLE hourly;
ALTER TABLE hourly_old RENAME TO hourly;
""")
    db.commit()
    print(db.execute("SELECT COALESCE(SUM(clicks), 0) FROM hourly").fetchone()[0])
`;

const COLUMNS = `
import sqlite3, sys
cols = set()
for path in sys.argv[1:]:
    db = sqlite3.connect(path)
    cols |= {r[1] for r in db.execute("PRAGMA table_info(hourly)")}
print(",".join(sorted(cols)))
`;

function batchId() {
  const A = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let t = Date.now();
  let time = '';
  for (let i = 0; i < 10; i++) { time = A[t % 32] + time; t = Math.floor(t / 32); }
  let rand = '';
  for (let i = 0; i < 16; i++) rand += A[Math.floor(Math.random() * 32)];
  return `bat_${time}${rand}`;
}

describe('a click shard of the earlier schema', () => {
  it('is migrated on start: its rows count as visits, new kinds are counted beside them', async () => {
    let w = await start();
    const key = await createLocalKey(w.url, { projects: ['proj_123'], scopes: ALL_SCOPES, name: 'test' });
    const api = async (method, path, body) => {
      const r = await fetch(w.url + path, { method, headers: { 'x-incarts-api-key': key, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
      return { status: r.status, body: await r.json() };
    };
    const deliver = async (linkId, batch) => {
      const r = await fetch(`${w.url}/_admin/links/${linkId}/clicks/0`, {
        method: 'POST', headers: { authorization: `Bearer ${devVars().ADMIN_TOKEN}` }, body: JSON.stringify(batch),
      });
      assert.equal(r.status, 200, await r.text());
    };
    const created = await api('POST', '/v1/links', {
      projectId: 'proj_123', name: 'wtb', retailer: 'multi', intent: 'where_to_buy',
      offers: [
        { retailer: 'walmart', intent: 'product_detail', products: [{ retailerProductId: '1' }] },
        { retailer: 'kroger', intent: 'product_detail', products: [{ retailerProductId: '0001111041700' }] },
      ],
      page: { title: 'Where to buy' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const link = created.body.data;
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const day = Math.floor(hour / 86_400_000);
    // Rows as the earlier version stored them: nine fields, no event, no retailer.
    await deliver(link.id, [batchId(), [
      [hour, 'US', 'mobile', 'ios', 'safari', '', '', 0, 3],
      [hour, 'US', 'mobile', 'ios', 'safari', '', link.qrCode.id, 0, 2],
    ], [[day, 'visitor-a', hour]]]);
    await w.stop();
    worker = null;

    const files = shardFiles();
    assert.ok(files.length >= 1, 'the shard has its SQLite file');
    assert.equal(python(TO_EARLIER, ...files), '5');
    assert.equal(python(COLUMNS, ...files), 'browser,clicks,country,device,hour,is_bot,os,qr,referrer');

    w = await start();
    const stats = async () => (await api('GET', `/v1/links/${link.id}/stats`)).body.data;
    let d = await stats();
    assert.equal(d.clicks, 5, 'the earlier rows are counted, as visits of the link');
    assert.equal(d.qrScans, 2);
    assert.equal(d.pageViews, 0);
    assert.deepEqual(d.retailerClicks, { walmart: 0, kroger: 0 });
    assert.equal(python(COLUMNS, ...shardFiles()), 'browser,clicks,country,device,event,hour,is_bot,oos,os,qr,referrer,region,retailer');

    // Rows of the new kinds go beside them, never merged with them.
    await deliver(link.id, [batchId(), [
      [hour, 'US', 'mobile', 'ios', 'safari', '', '', 0, 4, 'page', ''],
      [hour, 'US', 'mobile', 'ios', 'safari', '', '', 0, 1, 'choice', 'kroger'],
      [hour, 'US', 'mobile', 'ios', 'safari', '', '', 0, 1],
    ], []]);
    d = await stats();
    assert.equal(d.clicks, 10);
    assert.equal(d.pageViews, 4);
    assert.deepEqual(d.retailerClicks, { walmart: 0, kroger: 1 });
    assert.equal(d.clickThroughRate, 0.25);
    assert.equal(d.series.reduce((a, b) => a + b.clicks, 0), 10);
    await w.stop();
    worker = null;
  });
});
