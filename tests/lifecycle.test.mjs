// Schedule, expiry, single use, disable, update, forward, list.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useWorker, walmartCart } from './harness.mjs';

const w = useWorker();
const PHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

async function create(extra) {
  const r = await w.api('POST', '/v1/links', { body: walmartCart(extra) });
  assert.equal(r.status, 201, r.text);
  return r.body.data;
}
const visit = (link, opts = {}) => w.visit(`/${link.shortId}${opts.query ?? ''}`, { headers: { 'user-agent': PHONE, ...(opts.headers ?? {}) }, method: opts.method });

describe('schedule and expiry', () => {
  it('redirects before expiry, goes to the fallback (or 410) after, and reads expired', async () => {
    const expiresAt = iso(Date.now() + 4000);
    const withFallback = await create({ options: { expiresAt }, fallbackUrl: 'https://www.walmart.com/' });
    const without = await create({ options: { expiresAt } });
    assert.equal(withFallback.status, 'active');
    assert.equal(withFallback.options.expiresAt, expiresAt);
    let v = await visit(withFallback);
    assert.equal(v.headers.get('location'), withFallback.targetUrl);
    v = await visit(without);
    assert.equal(v.status, 302);
    await sleep(Date.parse(expiresAt) - Date.now() + 1200);
    v = await visit(withFallback);
    assert.equal(v.status, 302);
    assert.equal(v.headers.get('location'), 'https://www.walmart.com/');
    v = await visit(without);
    assert.equal(v.status, 410);
    assert.equal(v.headers.get('x-robots-tag'), 'noindex');
    assert.match(v.headers.get('content-type'), /text\/html/);
    for (const link of [withFallback, without]) {
      const g = await w.api('GET', `/v1/links/${link.id}`);
      assert.equal(g.body.data.status, 'expired');
    }
  });

  it('a scheduled link is pending and 404s (or goes to its fallback) until it starts', async () => {
    const startsAt = iso(Date.now() + 3_600_000);
    const link = await create({ options: { startsAt } });
    assert.equal(link.status, 'pending');
    const v = await visit(link);
    assert.equal(v.status, 404);
    assert.equal(v.headers.get('x-robots-tag'), 'noindex');
    const fb = await create({ options: { startsAt }, fallbackUrl: 'https://brand.example/soon' });
    assert.equal((await visit(fb)).headers.get('location'), 'https://brand.example/soon');
    // Starting it now (PATCH) makes it active at once.
    const p = await w.api('PATCH', `/v1/links/${link.id}`, { body: { options: { startsAt: iso(Date.now() - 1000) } } });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.data.status, 'active');
    assert.equal((await visit(link)).headers.get('location'), link.targetUrl);
  });

  it('refuses malformed options and an expiry before the start with 400s at their key paths', async () => {
    let r = await w.api('POST', '/v1/links', { body: walmartCart({ options: { startsAt: 'tomorrow', expiresAt: '2030-02-30T00:00:00Z', maxClicks: 0, forwardQuery: 'yes' } }) });
    assert.equal(r.status, 400, r.text);
    assert.deepEqual(r.body.error.details.map((d) => d.key), ['options.startsAt', 'options.expiresAt', 'options.maxClicks', 'options.forwardQuery']);
    r = await w.api('POST', '/v1/links', { body: walmartCart({ options: { startsAt: '2030-01-02T00:00:00Z', expiresAt: '2030-01-01T00:00:00Z' } }) });
    assert.equal(r.status, 400, r.text);
    assert.deepEqual(r.body.error.details.map((d) => [d.key, d.code]), [['options.expiresAt', 'out_of_range']]);
  });
});

describe('single use', () => {
  it('12 concurrent shoppers after a preview bot and a HEAD: exactly one reaches the destination', async () => {
    const link = await create({ options: { maxClicks: 1 }, fallbackUrl: 'https://www.walmart.com/used' });
    const bot = await visit(link, { headers: { 'user-agent': 'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)' } });
    assert.equal(bot.headers.get('location'), link.targetUrl);
    const head = await visit(link, { method: 'HEAD' });
    assert.equal(head.headers.get('location'), link.targetUrl);
    const results = await Promise.all(Array.from({ length: 12 }, () => visit(link)));
    const locations = results.map((r) => r.headers.get('location'));
    assert.equal(locations.filter((l) => l === link.targetUrl).length, 1, JSON.stringify(locations));
    assert.equal(locations.filter((l) => l === 'https://www.walmart.com/used').length, 11);
    const g = await w.api('GET', `/v1/links/${link.id}`);
    assert.equal(g.body.data.status, 'expired');
    // Raising the cap gives it another use.
    const p = await w.api('PATCH', `/v1/links/${link.id}`, { body: { options: { maxClicks: 2 } } });
    assert.equal(p.body.data.status, 'active');
    assert.equal((await visit(link)).headers.get('location'), link.targetUrl);
    assert.equal((await visit(link)).headers.get('location'), 'https://www.walmart.com/used');
  });

  it('a used-up link without a fallback is 410', async () => {
    const link = await create({ options: { maxClicks: 2 } });
    assert.equal((await visit(link)).status, 302);
    assert.equal((await visit(link)).status, 302);
    assert.equal((await visit(link)).status, 410);
  });
});

describe('update', () => {
  it('disable → 410; enable and change products → the new destination; invalid patch changes nothing', async () => {
    const link = await create({});
    let p = await w.api('PATCH', `/v1/links/${link.id}`, { body: { status: 'disabled' } });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.data.status, 'disabled');
    assert.equal((await visit(link)).status, 410);
    assert.equal((await w.api('GET', `/v1/links/${link.id}`)).body.data.status, 'disabled');

    p = await w.api('PATCH', `/v1/links/${link.id}`, { body: { status: 'active', products: [{ retailerProductId: '42', quantity: 3 }], name: 'Renamed' } });
    assert.equal(p.status, 200, p.text);
    assert.deepEqual(p.body.data.products, [{ retailerProductId: '42', quantity: 3, backupProductIds: [] }]);
    assert.equal(p.body.data.createdAt, link.createdAt);
    assert.ok(Date.parse(p.body.data.updatedAt) >= Date.parse(link.createdAt), p.body.data.updatedAt);
    const expected = 'https://www.walmart.com/sc/cart/addToCart?items=42_3';
    assert.equal(p.body.data.targetUrl, expected);
    assert.equal(p.body.data.name, 'Renamed');
    assert.equal(p.body.data.shortId, link.shortId);
    assert.equal(p.body.data.qrCode.id, link.qrCode.id);
    assert.equal((await visit(link)).headers.get('location'), expected);

    const bad = await w.api('PATCH', `/v1/links/${link.id}`, { body: { products: [{ retailerProductId: '42', quantity: 0 }], customUrl: 'javascript:x', retailer: 'target', status: 'paused' } });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.error.details.map((d) => d.key).sort(), ['customUrl', 'products[0].quantity', 'retailer', 'status'].sort());
    // The merged link is validated whole: a rule it would break is a 422, and changes nothing.
    const rule = await w.api('PATCH', `/v1/links/${link.id}`, { body: { customUrl: 'https://brand.example/' } });
    assert.equal(rule.status, 422, rule.text);
    assert.deepEqual(rule.body.error.details.map((d) => [d.key, d.code]), [['customUrl', 'not_allowed']]);
    const dup = await w.api('PATCH', `/v1/links/${link.id}`, { body: { products: [{ retailerProductId: '42', backupProductIds: ['42'] }] } });
    assert.equal(dup.status, 422, dup.text);
    assert.deepEqual(dup.body.error.details.map((d) => [d.key, d.code]), [['products[0].backupProductIds[0]', 'conflict']]);
    assert.equal((await visit(link)).headers.get('location'), expected);
    const g = await w.api('GET', `/v1/links/${link.id}`);
    assert.equal(g.body.data.targetUrl, expected);
    assert.equal(g.body.data.name, 'Renamed');

    // null removes an optional field (JSON merge patch).
    p = await w.api('PATCH', `/v1/links/${link.id}`, { body: { tracking: { utm: { source: 'tv' } } } });
    assert.equal(p.body.data.targetUrl, `${expected}&utm_source=tv`);
    p = await w.api('PATCH', `/v1/links/${link.id}`, { body: { tracking: null } });
    assert.equal(p.body.data.targetUrl, expected);
    assert.equal(p.body.data.tracking, undefined);
  });

  it('needs links:write and the retailer scope; another project\'s link is not found; replays with Idempotency-Key', async () => {
    const link = await create({});
    const reader = await w.newKey({ scopes: ['links:read'] });
    assert.equal((await w.api('PATCH', `/v1/links/${link.id}`, { body: { name: 'x' }, key: reader })).status, 403);
    const noRetailer = await w.newKey({ scopes: ['links:write'] });
    assert.equal((await w.api('PATCH', `/v1/links/${link.id}`, { body: { name: 'x' }, key: noRetailer })).status, 403);
    const other = await w.newKey({ projects: ['proj_other'] });
    assert.equal((await w.api('PATCH', `/v1/links/${link.id}`, { body: { name: 'x' }, key: other })).status, 404);
    const headers = { 'idempotency-key': `patch-${link.id}` };
    const a = await w.api('PATCH', `/v1/links/${link.id}`, { body: { name: 'Once' }, headers });
    const b = await w.api('PATCH', `/v1/links/${link.id}`, { body: { name: 'Once' }, headers });
    assert.equal(b.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(b.body, a.body);
    assert.equal((await w.api('PATCH', `/v1/links/${link.id}`, { body: { name: 'Twice' }, headers })).status, 409);
  });
});

describe('forwarding', () => {
  it('forwardQuery carries ?coupon= and utm_* through, after tracking; without it nothing is forwarded', async () => {
    const fwd = await create({ options: { forwardQuery: true }, tracking: { utm: { campaign: 'summer' } } });
    let v = await visit(fwd, { query: '?coupon=SAVE10&utm_source=newsletter' });
    assert.equal(v.headers.get('location'), `${fwd.targetUrl}&coupon=SAVE10&utm_source=newsletter`);
    assert.ok(fwd.targetUrl.endsWith('utm_campaign=summer'));
    v = await visit(fwd, { query: '?qr=1&coupon=SAVE10' });
    assert.equal(v.headers.get('location'), `${fwd.targetUrl}&coupon=SAVE10`, 'the QR marker is not forwarded');
    const plain = await create({});
    v = await visit(plain, { query: '?coupon=SAVE10&utm_source=newsletter' });
    assert.equal(v.headers.get('location'), plain.targetUrl);
  });
});

describe('listing', () => {
  it('pages a project newest first, every link exactly once', async () => {
    const key = await w.newKey({ projects: ['proj_list'] });
    const ids = [];
    for (let i = 0; i < 7; i++) {
      const r = await w.api('POST', '/v1/links', { body: walmartCart({ projectId: 'proj_list', name: `L${i}` }), key });
      assert.equal(r.status, 201);
      ids.push(r.body.data.id);
    }
    const seen = [];
    let cursor = null;
    let pages = 0;
    do {
      const r = await w.api('GET', `/v1/links?projectId=proj_list&limit=3${cursor ? `&cursor=${cursor}` : ''}`, { key });
      assert.equal(r.status, 200, r.text);
      assert.ok(r.body.data.length <= 3);
      seen.push(...r.body.data.map((l) => l.id));
      for (const l of r.body.data) assert.equal(l.projectId, 'proj_list');
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor);
    assert.equal(pages, 3);
    assert.deepEqual(seen, [...ids].reverse());
    const bad = await w.api('GET', '/v1/links?projectId=proj_list&limit=101', { key });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.details[0].key, 'limit');
    assert.equal((await w.api('GET', '/v1/links?projectId=proj_123&limit=3', { key })).status, 403);
  });
});
