// Issue 2: create a link, read it, follow it; auth, validation, idempotency, correlation ids.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useWorker, walmartCart, pathOf } from './harness.mjs';

const w = useWorker();
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

describe('create → read → follow', () => {
  it('creates the seed example with products and redirects to a cart holding every item', async () => {
    const r = await w.api('POST', '/v1/links', { body: walmartCart({ publicName: 'Shop the grilling list' }) });
    assert.equal(r.status, 201, r.text);
    const d = r.body.data;
    assert.match(d.id, /^lnk_/);
    assert.match(d.id.slice(4), ULID);
    assert.equal(d.projectId, 'proj_123');
    assert.equal(d.name, 'Summer grilling basket');
    assert.equal(d.publicName, 'Shop the grilling list');
    assert.equal(d.retailer, 'walmart');
    assert.equal(d.intent, 'add_to_cart');
    assert.equal(d.status, 'active');
    assert.match(d.shortId, /^[2-9a-hjkmnp-zA-HJ-NP-Z]{7}$/);
    assert.equal(d.shortLink, `${w.url}/${d.shortId}`);
    assert.equal(d.targetUrl, 'https://www.walmart.com/sc/cart/addToCart?items=123456789_2,987654321_1,555000111_3');
    assert.match(d.createdAt, RFC3339);
    assert.deepEqual(d.products, walmartCart().products);
    const qr = d.qrCode;
    assert.match(qr.id, /^qr_/);
    assert.match(qr.id.slice(3), ULID);
    assert.equal(qr.linkId, d.id);
    assert.equal(qr.name, 'Default QR code');
    assert.equal(qr.imageUrl, `${w.url}/qr/${qr.id}`);
    assert.ok(qr.encodedUrl.startsWith(d.shortLink), qr.encodedUrl);
    assert.equal(qr.isDefault, true);
    assert.equal(qr.createdAt, d.createdAt);
    assert.equal(r.headers.get('location'), `/v1/links/${d.id}`);

    const v = await w.visit(pathOf(d.shortLink));
    assert.equal(v.status, 302);
    assert.equal(v.headers.get('location'), d.targetUrl);
    assert.equal(v.headers.get('cache-control'), 'private, no-store');
    const head = await w.visit(pathOf(d.shortLink), { method: 'HEAD' });
    assert.equal(head.status, 302);
    assert.equal(head.headers.get('location'), d.targetUrl);

    const g = await w.api('GET', `/v1/links/${d.id}`);
    assert.equal(g.status, 200);
    assert.deepEqual(g.body.data, d);
  });

  it('builds every destination of the contract, with tracking appended', async () => {
    const cases = [
      [{ products: [{ id: '111', quantity: 1 }], intent: 'product_detail' }, 'https://www.walmart.com/ip/111'],
      [{ products: [{ offerId: 'ABC123DEF', quantity: 2 }] }, 'https://www.walmart.com/sc/cart/addToCart?offers=ABC123DEF_2'],
      [{ products: [{ id: '111', quantity: 4 }], location: { storeId: '2280' } }, 'https://www.walmart.com/sc/cart/addToCart?items=111_4&storeId=2280'],
      [{ retailer: 'target', intent: 'product_detail', products: [{ id: '12345678' }] }, 'https://www.target.com/p/-/A-12345678'],
      [{ retailer: 'target', intent: 'add_to_cart', products: [{ id: '12345678' }] }, 'https://www.target.com/p/-/A-12345678'],
      [{ retailer: 'target', intent: 'add_to_cart', products: [{ id: '1' }, { id: '2' }], fallbackUrl: 'https://www.target.com/c/grill' }, 'https://www.target.com/c/grill'],
      [{ retailer: 'custom', intent: 'custom_url', products: undefined, customUrl: 'https://brand.example/landing?x=1#top' }, 'https://brand.example/landing?x=1#top'],
      [{ tracking: { utmSource: 'instagram', utmMedium: 'social', utmCampaign: 'summer 24', utmTerm: 't', utmContent: 'c', params: { ref: 'pkg' } }, products: [{ id: '111' }] },
        'https://www.walmart.com/sc/cart/addToCart?items=111_1&utm_source=instagram&utm_medium=social&utm_campaign=summer+24&utm_term=t&utm_content=c&ref=pkg'],
      [{ retailer: 'custom', intent: 'custom_url', products: undefined, customUrl: 'https://brand.example/p?utm_source=old&k=v#f', tracking: { utmSource: 'qr' } }, 'https://brand.example/p?k=v&utm_source=qr#f'],
    ];
    for (const [extra, expected] of cases) {
      const body = walmartCart(extra);
      if (extra.products === undefined && 'products' in extra) delete body.products;
      const r = await w.api('POST', '/v1/links', { body });
      assert.equal(r.status, 201, `${JSON.stringify(extra)} → ${r.text}`);
      assert.equal(r.body.data.targetUrl, expected);
      const v = await w.visit(`/${r.body.data.shortId}`);
      assert.equal(v.headers.get('location'), expected);
    }
  });

  it('answers unknown short ids with a noindex HTML 404', async () => {
    for (const path of ['/zzzzzzz', '/no-such-link', '/x.y', '/' + 'a'.repeat(80)]) {
      const v = await w.visit(path);
      assert.equal(v.status, 404, path);
      assert.equal(v.headers.get('x-robots-tag'), 'noindex');
      assert.match(v.headers.get('content-type'), /^text\/html/);
      assert.match(await v.text(), /<html/);
    }
    const h = await w.visit('/zzzzzzz', { method: 'HEAD' });
    assert.equal(h.status, 404);
  });

  it('returns 404 for unknown or malformed link ids', async () => {
    for (const id of ['lnk_01JZ4TDK6A0NV2HG6R3Q7E28Y9', 'nope', 'lnk_%00']) {
      const r = await w.api('GET', `/v1/links/${id}`);
      assert.equal(r.status, 404, id);
      assert.equal(r.body.error.code, 'not_found');
    }
  });
});

describe('auth', () => {
  it('401 without a key or with an unknown one', async () => {
    for (const key of [undefined, 'i2c_' + 'x'.repeat(43), 'garbage']) {
      const r = await w.api('POST', '/v1/links', { body: walmartCart(), key: key ?? '' });
      assert.equal(r.status, 401, String(key));
      assert.equal(r.body.error.code, 'unauthorized');
      assert.match(r.body.error.correlationId, /^req_/);
    }
  });

  it('403 for a missing scope, a missing retailer scope, another project', async () => {
    const readOnly = await w.newKey({ scopes: ['links:read'] });
    let r = await w.api('POST', '/v1/links', { body: walmartCart(), key: readOnly });
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, 'forbidden');
    assert.match(r.body.error.message, /links:write/);

    const targetOnly = await w.newKey({ scopes: ['links:write', 'retailers:target'] });
    r = await w.api('POST', '/v1/links', { body: walmartCart(), key: targetOnly });
    assert.equal(r.status, 403);
    assert.match(r.body.error.message, /retailers:walmart/);

    const walmartWriter = await w.newKey({ scopes: ['links:write', 'retailers:walmart'] });
    r = await w.api('POST', '/v1/links', { body: walmartCart({ projectId: 'proj_other' }), key: walmartWriter });
    assert.equal(r.status, 403);
    assert.match(r.body.error.message, /proj_other/);
    r = await w.api('POST', '/v1/links', { body: walmartCart(), key: walmartWriter });
    assert.equal(r.status, 201);

    // Reading needs links:read and the same project.
    const id = r.body.data.id;
    assert.equal((await w.api('GET', `/v1/links/${id}`, { key: walmartWriter })).status, 403);
    const otherProject = await w.newKey({ projects: ['proj_other'], scopes: ['links:read'] });
    const g = await w.api('GET', `/v1/links/${id}`, { key: otherProject });
    assert.equal(g.status, 403);
    assert.equal(g.body.error.code, 'forbidden');
  });
});

describe('validation', () => {
  const keysOf = (r) => r.body.error.details.map((d) => d.key);

  it('an empty body reports projectId, name, retailer and intent together', async () => {
    const r = await w.api('POST', '/v1/links', { body: {} });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'validation_failed');
    assert.deepEqual(keysOf(r), ['projectId', 'name', 'retailer', 'intent']);
    assert.match(r.body.error.correlationId, /^req_/);
  });

  it('enforces every limit with a key path', async () => {
    const products = Array.from({ length: 101 }, (_, i) => ({ id: String(1000 + i) }));
    const cases = [
      [{ projectId: 'p'.repeat(129) }, 'projectId'],
      [{ projectId: '' }, 'projectId'],
      [{ name: 'n'.repeat(161) }, 'name'],
      [{ name: '' }, 'name'],
      [{ publicName: 'n'.repeat(161) }, 'publicName'],
      [{ publicName: '' }, 'publicName'],
      [{ retailer: 'amazon' }, 'retailer'],
      [{ intent: 'checkout' }, 'intent'],
      [{ products }, 'products'],
      [{ products: [] }, 'products'],
      [{ products: [{ id: '1' }, { id: '2' }, { id: '3' }, { id: '4', quantity: 0 }] }, 'products[3].quantity'],
      [{ products: [{ id: '1', quantity: -2 }] }, 'products[0].quantity'],
      [{ products: [{ id: '1', quantity: 1.5 }] }, 'products[0].quantity'],
      [{ products: [{ id: 'abc' }] }, 'products[0].id'],
      [{ products: [{ quantity: 1 }] }, 'products[0].id'],
      [{ metadata: { blob: 'x'.repeat(4100) } }, 'metadata'],
      [{ metadata: 'not an object' }, 'metadata'],
      [{ fallbackUrl: 'https://example.com/' + 'a'.repeat(2100) }, 'fallbackUrl'],
      [{ tracking: { utmSource: '' } }, 'tracking.utmSource'],
      [{ tracking: { params: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) } }, 'tracking.params'],
      [{ defaultQrCode: { name: '' } }, 'defaultQrCode.name'],
      [{ intent: 'shopping_list' }, 'intent'],
      [{ intent: 'product_detail' }, 'products'],
    ];
    for (const [extra, key] of cases) {
      const r = await w.api('POST', '/v1/links', { body: walmartCart(extra) });
      assert.equal(r.status, 400, `${key}: ${r.text}`);
      assert.ok(keysOf(r).includes(key), `${key} not in ${JSON.stringify(keysOf(r))}`);
    }
  });

  it('reports several problems at once', async () => {
    const r = await w.api('POST', '/v1/links', {
      body: walmartCart({ name: '', products: [{ id: '1', quantity: 0 }, { id: 'x' }], fallbackUrl: 'javascript:alert(1)' }),
    });
    assert.equal(r.status, 400);
    assert.deepEqual(keysOf(r).sort(), ['fallbackUrl', 'name', 'products[0].quantity', 'products[1].id'].sort());
  });

  it('refuses javascript:, data:, credentialed and relative URLs', async () => {
    for (const bad of ['javascript:alert(1)', 'data:text/html,<b>x</b>', 'https://user:pass@evil.example/', '/relative', 'ftp://x.example/', 'https:///x', 'not a url']) {
      for (const field of ['customUrl', 'fallbackUrl']) {
        const body = { projectId: 'proj_123', name: 'n', retailer: 'custom', intent: 'custom_url', customUrl: 'https://ok.example/' };
        body[field] = bad;
        const r = await w.api('POST', '/v1/links', { body });
        assert.equal(r.status, 400, `${field}=${bad}`);
        assert.deepEqual(keysOf(r), [field]);
      }
    }
  });

  it('broken JSON is invalid_json; no body can produce a 500', async () => {
    const r = await w.api('POST', '/v1/links', { raw: '{"projectId": ', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'invalid_json');
    const nasty = ['', 'null', '[]', '"x"', '1e999', '{"products": {"a": 1}}', '{"products": [null, 1, "x", []]}',
      '{"name": {"$gt": ""}}', '\u0000', '{"projectId": "\ud800"}', '['.repeat(5000) + ']'.repeat(5000),
      JSON.stringify(walmartCart({ products: [{ id: '9'.repeat(400), quantity: 1e308 }] })),
      JSON.stringify(walmartCart({ tracking: { params: { 'bad key': 1, ok: null } } })),
      JSON.stringify(walmartCart({ options: { startsAt: '2026-02-30T00:00:00Z', maxClicks: 'x' } })),
      JSON.stringify({ ...walmartCart(), retailer: 'instacart', intent: 'shopping_list' })];
    for (const raw of nasty) {
      const res = await w.api('POST', '/v1/links', { raw, headers: { 'content-type': 'application/json' } });
      assert.ok(res.status === 400 || res.status === 413, `${raw.slice(0, 40)} → ${res.status} ${res.text.slice(0, 200)}`);
      assert.ok(res.body.error.code, res.text);
      assert.match(res.headers.get('content-type'), /application\/json/);
    }
  });
});

describe('idempotency and correlation ids', () => {
  it('replays the first response for the same key and body, 409 for another body', async () => {
    const headers = { 'idempotency-key': 'link-create-20260521-001' };
    const first = await w.api('POST', '/v1/links', { body: walmartCart(), headers });
    assert.equal(first.status, 201);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const again = await w.api('POST', '/v1/links', { body: walmartCart(), headers });
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.body, first.body);
    const other = await w.api('POST', '/v1/links', { body: walmartCart({ name: 'Other' }), headers });
    assert.equal(other.status, 409);
    assert.equal(other.body.error.code, 'idempotency_key_reused');
    // The same key from another API key is a different operation.
    const otherKey = await w.newKey();
    const third = await w.api('POST', '/v1/links', { body: walmartCart(), headers, key: otherKey });
    assert.equal(third.status, 201);
    assert.notEqual(third.body.data.id, first.body.data.id);
  });

  it('enforces the 8–128 limits of Idempotency-Key and X-Correlation-ID', async () => {
    for (const [h, v] of [['idempotency-key', 'short'], ['idempotency-key', 'k'.repeat(129)], ['x-correlation-id', 'short'], ['x-correlation-id', 'c'.repeat(129)]]) {
      const r = await w.api('POST', '/v1/links', { body: walmartCart(), headers: { [h]: v } });
      assert.equal(r.status, 400, `${h}=${v.length}`);
      assert.equal(r.body.error.details[0].key.toLowerCase(), h);
    }
  });

  it('echoes a given correlation id and generates one otherwise, on success and errors', async () => {
    const id = 'req_01JZ4TCZ7AG9P9W38V4VNQ7W4B';
    let r = await w.api('POST', '/v1/links', { body: walmartCart(), headers: { 'x-correlation-id': id } });
    assert.equal(r.headers.get('x-correlation-id'), id);
    r = await w.api('POST', '/v1/links', { body: {}, headers: { 'x-correlation-id': id } });
    assert.equal(r.headers.get('x-correlation-id'), id);
    assert.equal(r.body.error.correlationId, id);
    r = await w.api('GET', '/v1/links/lnk_01JZ4TDK6A0NV2HG6R3Q7E28Y9', { key: '' });
    const generated = r.headers.get('x-correlation-id');
    assert.match(generated, /^req_[0-9A-HJKMNP-TV-Z]{26}$/);
    assert.equal(r.body.error.correlationId, generated);
  });
});
