// Codes already printed keep working: chosen (imported) short ids, the `/w/{id}` form,
// printed QR identifiers at `/qr/{identifier}`, and bulk creation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { useWorker, walmartCart } from './harness.mjs';

const w = useWorker();
const PHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const CART = 'https://www.walmart.com/sc/cart/addToCart?items=123456789_2,987654321_1,555000111_3';

/** How many LinkHome objects the local runtime has created (one SQLite file each). */
function homeObjects() {
  const root = join(w.state, 'v3', 'do');
  if (!existsSync(root)) return 0;
  return readdirSync(root)
    .filter((d) => d.endsWith('LinkHome'))
    .map((d) => readdirSync(join(root, d)).filter((f) => f.endsWith('.sqlite')).length)
    .reduce((a, b) => a + b, 0);
}

async function statsUntil(linkId, done) {
  for (let i = 0; i < 40; i += 1) {
    const s = await w.api('GET', `/v1/links/${linkId}/stats`);
    if (done(s.body.data)) return s.body.data;
    await new Promise((r) => setTimeout(r, 250));
  }
  return (await w.api('GET', `/v1/links/${linkId}/stats`)).body.data;
}

function randomId(n) {
  const a = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from({ length: n }, () => a[Math.floor(Math.random() * a.length)]).join('');
}

describe('chosen short ids', () => {
  it('an imported id answers at /{id} and /w/{id}, GET and HEAD, and both are counted alike', async () => {
    const r = await w.api('POST', '/v1/links', { body: walmartCart({ shortId: 'c60F1Yf7c' }) });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.data.shortId, 'c60F1Yf7c');
    assert.equal(r.body.data.shortLink, `${w.url}/c60F1Yf7c`);
    for (const path of ['/c60F1Yf7c', '/w/c60F1Yf7c', '/w/c60F1Yf7c/']) {
      const v = await w.visit(path, { headers: { 'user-agent': PHONE } });
      assert.equal(v.status, 302, path);
      assert.equal(v.headers.get('location'), CART, path);
      const h = await w.visit(path, { method: 'HEAD' });
      assert.equal(h.status, 302, path);
    }
    // Ids are case-sensitive.
    assert.equal((await w.visit('/C60F1YF7C')).status, 404);
    const stats = await statsUntil(r.body.data.id, (s) => s.clicks >= 3);
    assert.equal(stats.clicks, 3);
    assert.equal(stats.qrScans, 0);
  });

  it('a taken id is 409 short_id_taken, also when two creates race for it; reserved words are 422', async () => {
    const first = await w.api('POST', '/v1/links', { body: walmartCart({ shortId: 'summer-24' }) });
    assert.equal(first.status, 201);
    const again = await w.api('POST', '/v1/links', { body: walmartCart({ shortId: 'summer-24' }) });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'short_id_taken');
    assert.equal(again.body.error.details[0].key, 'shortId');
    const race = await Promise.all(Array.from({ length: 6 }, () =>
      w.api('POST', '/v1/links', { body: walmartCart({ shortId: 'race-day' }) })));
    assert.deepEqual(race.map((r) => r.status).sort(), [201, 409, 409, 409, 409, 409]);
    const winner = race.find((r) => r.status === 201).body.data;
    const v = await w.visit('/race-day');
    assert.equal(v.headers.get('location'), winner.targetUrl);
    for (const word of ['admin', 'API', 'www', 'test', 'link', 'app', '_admin']) {
      const r = await w.api('POST', '/v1/links', { body: walmartCart({ shortId: word }) });
      assert.equal(r.status, 422, word);
      assert.deepEqual(r.body.error.details.map((d) => [d.key, d.code]), [['shortId', 'reserved']], word);
    }
    for (const bad of ['ab', 'a.b', 'w', 'qr', 'x'.repeat(65)]) {
      const r = await w.api('POST', '/v1/links', { body: walmartCart({ shortId: bad }) });
      assert.equal(r.status, 400, bad);
      assert.equal(r.body.error.details[0].key, 'shortId', bad);
    }
  });

  it('made-up 9-character ids are 404 without any Durable Object call', async () => {
    // Warm up: one known link so the LinkHome namespace exists.
    const before = homeObjects();
    for (let i = 0; i < 40; i += 1) {
      const id = randomId(9);
      for (const path of [`/${id}`, `/w/${id}`, `/qr/${id.toLowerCase()}-x`]) {
        const v = await w.visit(path, { headers: { 'user-agent': PHONE } });
        assert.equal(v.status, 404, path);
        assert.equal(v.headers.get('x-robots-tag'), 'noindex');
      }
    }
    assert.equal(homeObjects(), before);
  });
});

describe('printed QR codes (/qr/{identifier})', () => {
  it('a printed identifier redirects as a scan of its code, named by identifier in stats', async () => {
    const r = await w.api('POST', '/v1/links', {
      body: walmartCart({
        shortId: 'grill-kit',
        legacyQrCodes: [{ identifier: 'in-store-display', name: 'Endcap' }, { identifier: 'shelf-tag-7', name: 'Shelf' }],
      }),
    });
    assert.equal(r.status, 201, r.text);
    const codes = await w.api('GET', `/v1/links/${r.body.data.id}/qr-codes`);
    assert.deepEqual(codes.body.data.map((q) => q.identifier), ['default', 'in-store-display', 'shelf-tag-7']);
    const display = codes.body.data[1];
    assert.equal(display.encodedUrl, `${w.url}/qr/in-store-display`);
    assert.equal(display.isDefault, false);
    assert.equal(display.name, 'Endcap');
    // Its image is ours as any code's, and the printed address is a 302.
    assert.equal((await w.visit(`/qr/${display.id}`)).headers.get('content-type'), 'image/png');
    const scan = await w.visit('/qr/in-store-display', { headers: { 'user-agent': PHONE } });
    assert.equal(scan.status, 302);
    assert.equal(scan.headers.get('location'), CART);
    const again = await w.visit('/qr/in-store-display?utm_source=flyer', { headers: { 'user-agent': PHONE } });
    assert.equal(again.headers.get('location'), CART);
    assert.equal((await w.visit('/qr/in-store-display', { method: 'HEAD' })).status, 302);
    // A bot is sent on but not counted.
    const bot = await w.visit('/qr/in-store-display', { headers: { 'user-agent': 'facebookexternalhit/1.1' } });
    assert.equal(bot.status, 302);
    assert.equal((await w.visit('/qr/not-printed-here')).status, 404);
    const stats = await statsUntil(r.body.data.id, (s) => s.qrScans >= 2);
    assert.equal(stats.qrScans, 2);
    assert.equal(stats.clicks, 2);
    assert.deepEqual(stats.breakdowns.qrCode, [{ value: 'in-store-display', qrId: display.id, clicks: 2 }]);
  });

  it('identifiers are unique across the whole service: a second link with one is 409 and creates nothing', async () => {
    const a = await w.api('POST', '/v1/links', { body: walmartCart({ legacyQrCodes: [{ identifier: 'aisle-9', name: 'A' }] }) });
    assert.equal(a.status, 201, a.text);
    const other = await w.newKey({ projects: ['proj_other'] });
    const b = await w.api('POST', '/v1/links', {
      key: other,
      body: walmartCart({ projectId: 'proj_other', shortId: 'other-brand', legacyQrCodes: [{ identifier: 'fresh-one', name: 'F' }, { identifier: 'aisle-9', name: 'B' }] }),
    });
    assert.equal(b.status, 409, b.text);
    assert.equal(b.body.error.code, 'duplicate_identifier');
    assert.deepEqual(b.body.error.details.map((d) => d.key), ['legacyQrCodes[1].identifier']);
    // Nothing of the refused link exists: its short id and its other identifier are free.
    assert.equal((await w.visit('/other-brand')).status, 404);
    const c = await w.api('POST', '/v1/links', {
      key: other,
      body: walmartCart({ projectId: 'proj_other', shortId: 'other-brand', legacyQrCodes: [{ identifier: 'fresh-one', name: 'F' }] }),
    });
    assert.equal(c.status, 201, c.text);
    // A named code of a link may not take a printed identifier of the same link.
    const dup = await w.api('POST', `/v1/links/${a.body.data.id}/qr-codes`, { body: { identifier: 'aisle-9', name: 'x' } });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.code, 'duplicate_identifier');
  });
});

describe('bulk create', () => {
  it('one result per item, in order; bad items are reported with their key paths and the rest created', async () => {
    const links = [
      walmartCart({ shortId: 'bulk-a' }),
      walmartCart({ products: [{ retailerProductId: 'abc' }] }),
      walmartCart({ shortId: 'bulk-a' }),
      walmartCart({ shortId: 'admin' }),
      { projectId: 'proj_123', name: 'promo', retailer: 'custom', intent: 'custom_url', customUrl: 'https://brand.example/promo' },
    ];
    const r = await w.api('POST', '/v1/links/bulk', { body: { links }, headers: { 'idempotency-key': 'bulk-test-0001' } });
    assert.equal(r.status, 200, r.text);
    const res = r.body.data;
    assert.deepEqual(res.map((x) => x.index), [0, 1, 2, 3, 4]);
    assert.deepEqual(res.map((x) => x.status), [201, 400, 409, 422, 201]);
    assert.equal(res[0].data.shortId, 'bulk-a');
    assert.deepEqual(res[1].error.details.map((d) => d.key), ['products[0].retailerProductId']);
    assert.equal(res[2].error.code, 'short_id_taken');
    assert.equal(res[3].error.details[0].code, 'reserved');
    assert.equal(res[4].data.targetUrl, 'https://brand.example/promo');
    // The same request again is the same answer, creating nothing.
    const replay = await w.api('POST', '/v1/links/bulk', { body: { links }, headers: { 'idempotency-key': 'bulk-test-0001' } });
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(replay.body.data.map((x) => x.data?.id), res.map((x) => x.data?.id));
    // Created links are listed in their project.
    const list = await w.api('GET', '/v1/links?projectId=proj_123&limit=100');
    const ids = new Set(list.body.data.map((l) => l.id));
    assert.ok(ids.has(res[0].data.id) && ids.has(res[4].data.id));
    assert.equal((await w.visit('/bulk-a')).status, 302);
  });

  it('100 links in one request; the body shape is checked', async () => {
    const links = Array.from({ length: 100 }, (_, i) => walmartCart({ shortId: `hundred-${i}`, tracking: { tags: ['bulk100'] } }));
    const r = await w.api('POST', '/v1/links/bulk', { body: { links } });
    assert.equal(r.status, 200, r.text.slice(0, 500));
    assert.equal(r.body.data.filter((x) => x.status === 201).length, 100);
    const tagged = await w.api('GET', '/v1/links?projectId=proj_123&tag=bulk100&limit=100');
    assert.equal(tagged.body.data.length, 100);
    for (const i of [0, 57, 99]) assert.equal((await w.visit(`/w/hundred-${i}`)).status, 302);
    for (const [body, key] of [[{}, 'links'], [{ links: [] }, 'links'], [{ links: Array(101).fill({}) }, 'links'], [{ links: [], extra: 1 }, 'extra']]) {
      const bad = await w.api('POST', '/v1/links/bulk', { body });
      assert.equal(bad.status, 400, JSON.stringify(body).slice(0, 40));
      assert.ok(bad.body.error.details.some((d) => d.key === key), bad.text);
    }
  });
});
