// `npm run import`: an export of 300+ links (imported 9-character ids, printed QR identifiers,
// bad rows) goes in through the bulk endpoint; every printed address answers; bad rows are
// reported with their key paths; a rerun, or a run stopped half-way and run again, creates
// nothing twice.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useWorker } from './harness.mjs';
import { ROOT } from '../scripts/lib.mjs';

const w = useWorker();
const dir = mkdtempSync(join(tmpdir(), 'in2carts-import-'));
const PHONE = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36';

/** Runs the import command; resolves with its exit code and output. `onStderr` sees progress. */
function runImport(args, { onStderr } = {}) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(ROOT, 'scripts', 'import.mjs'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; onStderr?.(p, err); });
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

/** A 9-character mixed-case id such as the old service minted (deterministic per n). */
function oldId(n) {
  const a = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let x = (n + 1) * 2654435761;
  let s = '';
  for (let i = 0; i < 9; i += 1) { s += a[x % a.length]; x = Math.floor(x / a.length) + (i + 1) * 7919 * (n + 3); }
  return s;
}

async function projectLinkCount(projectId, key) {
  let n = 0;
  let cursor = null;
  do {
    const r = await w.api('GET', `/v1/links?projectId=${projectId}&limit=100${cursor ? `&cursor=${cursor}` : ''}`, { key });
    n += r.body.data.length;
    cursor = r.body.nextCursor;
  } while (cursor);
  return n;
}

describe('npm run import', () => {
  it('imports 320 links of which 4 are bad, serves every printed address, and a rerun creates nothing', async () => {
    const key = await w.newKey({ projects: ['proj_import'] });
    const links = [];
    for (let i = 0; i < 316; i += 1) {
      const link = {
        projectId: 'proj_import', name: `Imported ${i}`, retailer: 'walmart', intent: 'add_to_cart',
        shortId: oldId(i),
        products: [{ retailerProductId: String(100000000 + i), quantity: 1 + (i % 3) }],
      };
      if (i % 10 === 0) link.legacyQrCodes = [{ identifier: `display-${i}`, name: `Display ${i}` }];
      links.push(link);
    }
    links.splice(50, 0, { ...links[7], name: 'Taken id' }); // row 51: the id of row 8
    links.splice(120, 0, { ...links[9], shortId: 'admin' }); // row 121: a reserved word
    links.splice(200, 0, { ...links[11], shortId: 'bad-product-row', products: [{ retailerProductId: 'x-1' }] }); // row 201
    links.splice(300, 0, { ...links[13], shortId: 'dup-qr-row', legacyQrCodes: [{ identifier: 'display-0', name: 'again' }] }); // row 301
    assert.equal(links.length, 320);
    const file = join(dir, 'links.json');
    writeFileSync(file, JSON.stringify(links));

    const first = await runImport([file, '--url', w.url, '--key', key]);
    assert.equal(first.code, 1, first.out + first.err); // some rows failed
    assert.match(first.out, /320 of 320 rows: 316 created, 0 already imported \(an earlier run\), 4 failed/);
    assert.match(first.err, /\[#+\] 320\/320 created 316 · already there 0 · failed 4 · ETA 0s/);
    const failed = JSON.parse(readFileSync(`${file}.failed.json`, 'utf8'));
    assert.deepEqual(
      failed.map((f) => [f.row, f.status, f.code, f.details.map((d) => d.key)]),
      [
        [51, 409, 'short_id_taken', ['shortId']],
        [121, 422, 'unprocessable', ['shortId']],
        [201, 400, 'validation_failed', ['products[0].retailerProductId']],
        [301, 409, 'duplicate_identifier', ['legacyQrCodes[0].identifier']],
      ],
    );
    assert.equal(await projectLinkCount('proj_import', key), 316);

    // Every printed address answers the right cart (HEAD: looked at, not counted).
    for (let i = 0; i < 316; i += 1) {
      const cart = `https://www.walmart.com/sc/cart/addToCart?items=${100000000 + i}_${1 + (i % 3)}`;
      const paths = [`/${oldId(i)}`, `/w/${oldId(i)}`];
      if (i % 10 === 0) paths.push(`/qr/display-${i}`);
      for (const path of paths) {
        const v = await w.visit(path, { method: 'HEAD' });
        assert.equal(v.status, 302, path);
        assert.equal(v.headers.get('location'), cart, path);
      }
    }
    const scan = await w.visit('/qr/display-150', { headers: { 'user-agent': PHONE } });
    assert.equal(scan.status, 302);

    // A scan through /qr/{identifier} is a QR scan of that code in the link's stats.
    const list = await w.api('GET', '/v1/links?projectId=proj_import&limit=100', { key });
    let link = list.body.data.find((l) => l.shortId === oldId(150));
    let cursor = list.body.nextCursor;
    while (!link && cursor) {
      const page = await w.api('GET', `/v1/links?projectId=proj_import&limit=100&cursor=${cursor}`, { key });
      link = page.body.data.find((l) => l.shortId === oldId(150));
      cursor = page.body.nextCursor;
    }
    assert.ok(link, 'the link of row 151 is listed');
    let stats;
    for (let k = 0; k < 40; k += 1) {
      stats = (await w.api('GET', `/v1/links/${link.id}/stats`, { key })).body.data;
      if (stats.qrScans >= 1) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(stats.qrScans, 1);
    assert.equal(stats.breakdowns.qrCode[0].value, 'display-150');

    // Run again: nothing new.
    const again = await runImport([file, '--url', w.url, '--key', key]);
    assert.match(again.out, /320 of 320 rows: 0 created, 316 already imported \(an earlier run\), 4 failed/);
    assert.equal(await projectLinkCount('proj_import', key), 316);
  });

  it('a CSV export with the documented columns; stopped after the first batch and run again, nothing is created twice', async () => {
    const key = await w.newKey({ projects: ['proj_csv'] });
    const header = 'projectId,name,retailer,intent,shortId,products,utmSource,tags,legacyQrCodes,customUrl';
    const rows = [header];
    for (let i = 0; i < 250; i += 1) {
      const qr = i % 25 === 0 ? `csv-code-${i}=Shelf ${i}` : '';
      rows.push(`proj_csv,"Row ${i}, with a comma",walmart,add_to_cart,csv${oldId(i + 1000)},${200000000 + i}:2:${300000000 + i}|${400000000 + i},newsletter,spring|csv,${qr},`);
    }
    rows.push('proj_csv,Promo,target,custom_url,,,,,,https://brand.example/spring');
    const file = join(dir, 'links.csv');
    writeFileSync(file, `${rows.join('\r\n')}\r\n`);

    // Stop after the first batch (Ctrl-C once: the batch on its way finishes).
    const stopped = await runImport([file, '--url', w.url, '--key', key, '--batch', '50'], {
      onStderr: (p, err) => { if (/ 50\/251 /.test(err) && !p.signalled) { p.signalled = true; p.kill('SIGINT'); } },
    });
    assert.match(stopped.out, /stopped early/);
    const partial = await projectLinkCount('proj_csv', key);
    assert.ok(partial >= 50 && partial < 251, `${partial}`);
    const rest = await runImport([file, '--url', w.url, '--key', key, '--batch', '50']);
    assert.equal(rest.code, 0, rest.out + rest.err);
    assert.match(rest.out, /251 of 251 rows: \d+ created, \d+ already imported/);
    assert.equal(await projectLinkCount('proj_csv', key), 251);

    const one = await w.visit(`/csv${oldId(1007)}`);
    assert.equal(one.headers.get('location'),
      'https://www.walmart.com/sc/cart/addToCart?items=200000007_2&utm_source=newsletter');
    const tagged = await w.api('GET', '/v1/links?projectId=proj_csv&tag=spring&limit=100', { key });
    assert.equal(tagged.body.data.length, 100);
    assert.ok(tagged.body.data.every((l) => l.tracking.tags.join() === 'spring,csv'));
    // Row 2 of the file, as the service keeps it.
    let row2;
    let cursor = null;
    do {
      const page = await w.api('GET', `/v1/links?projectId=proj_csv&limit=100${cursor ? `&cursor=${cursor}` : ''}`, { key });
      row2 = row2 ?? page.body.data.find((l) => l.shortId === `csv${oldId(1000)}`);
      cursor = page.body.nextCursor;
    } while (cursor);
    assert.equal(row2.name, 'Row 0, with a comma');
    assert.deepEqual(row2.products, [{ retailerProductId: '200000000', quantity: 2, backupProductIds: ['300000000', '400000000'] }]);
    assert.deepEqual(row2.tracking, { utm: { source: 'newsletter' }, tags: ['spring', 'csv'] });
    assert.equal((await w.visit('/qr/csv-code-25')).status, 302);
  });
});
