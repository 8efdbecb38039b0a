// Create a link, read it, follow it; auth, validation (400 for shape, 422 for business rules),
// idempotency, correlation ids.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useWorker, walmartCart, echoed, pathOf } from './harness.mjs';

const w = useWorker();
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

describe('create → read → follow', () => {
  it('creates the guide example with products and redirects to a cart holding every item', async () => {
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
    assert.equal(d.updatedAt, d.createdAt);
    assert.deepEqual(d.products, echoed(walmartCart().products));
    assert.deepEqual(d.metadata, {});
    const qr = d.qrCode;
    assert.match(qr.id, /^qr_/);
    assert.match(qr.id.slice(3), ULID);
    assert.equal(qr.linkId, d.id);
    assert.equal(qr.identifier, 'default');
    assert.equal(qr.name, 'Default QR code');
    assert.deepEqual(qr.metadata, {});
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
      [{ products: [{ retailerProductId: '111', quantity: 1 }], intent: 'product_detail' }, 'https://www.walmart.com/ip/111'],
      [{ products: [{ offerId: 'ABC123DEF', quantity: 2 }] }, 'https://www.walmart.com/sc/cart/addToCart?offers=ABC123DEF_2'],
      [{ products: [{ retailerProductId: '111', quantity: 4 }], location: { storeId: '2280' } }, 'https://www.walmart.com/sc/cart/addToCart?items=111_4&storeId=2280'],
      [{ products: [{ retailerProductId: 111, quantity: 2.0 }], location: { storeId: 2280, zipCode: '72712-1234' } }, 'https://www.walmart.com/sc/cart/addToCart?items=111_2&storeId=2280'],
      [{ retailer: 'target', intent: 'product_detail', products: [{ retailerProductId: '12345678' }] }, 'https://www.target.com/p/-/A-12345678'],
      [{ retailer: 'target', intent: 'add_to_cart', products: [{ retailerProductId: '12345678' }] }, 'https://www.target.com/p/-/A-12345678'],
      [{ retailer: 'target', intent: 'add_to_cart', products: [{ retailerProductId: '1' }, { retailerProductId: '2' }], fallbackUrl: 'https://www.target.com/c/grill' }, 'https://www.target.com/c/grill'],
      [{ retailer: 'custom', intent: 'custom_url', products: undefined, customUrl: 'https://brand.example/landing?x=1#top' }, 'https://brand.example/landing?x=1#top'],
      [{ intent: 'custom_url', customUrl: 'https://brand.example/walmart-page' }, 'https://brand.example/walmart-page'],
      [{ tracking: { utm: { source: 'instagram', medium: 'social', campaign: 'summer 24', term: 't', content: 'c' }, params: { ref: 'pkg' } }, products: [{ retailerProductId: '111' }] },
        'https://www.walmart.com/sc/cart/addToCart?items=111_1&utm_source=instagram&utm_medium=social&utm_campaign=summer+24&utm_term=t&utm_content=c&ref=pkg'],
      [{ tracking: { utm: { content: 'c', source: 's' }, tags: ['a', 'b'] }, products: [{ retailerProductId: '111' }] },
        'https://www.walmart.com/sc/cart/addToCart?items=111_1&utm_source=s&utm_content=c'],
      [{ retailer: 'custom', intent: 'custom_url', products: undefined, customUrl: 'https://brand.example/p?utm_source=old&k=v#f', tracking: { utm: { source: 'qr' } } }, 'https://brand.example/p?k=v&utm_source=qr#f'],
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

  it('echoes products, location and tracking normalised: ids as strings, defaults filled', async () => {
    const r = await w.api('POST', '/v1/links', {
      body: walmartCart({
        products: [
          { retailerProductId: 123456789, quantity: 2.0, backupProductIds: [987654321, '555555555'] },
          { retailerProductId: '42' },
        ],
        location: { storeId: 3520, zipCode: '72712' },
        tracking: { utm: { source: 'newsletter' }, tags: ['grilling'] },
      }),
    });
    assert.equal(r.status, 201, r.text);
    const d = r.body.data;
    assert.deepEqual(d.products, [
      { retailerProductId: '123456789', quantity: 2, backupProductIds: ['987654321', '555555555'] },
      { retailerProductId: '42', quantity: 1, backupProductIds: [] },
    ]);
    assert.deepEqual(d.location, { storeId: '3520', zipCode: '72712' });
    assert.deepEqual(d.tracking, { utm: { source: 'newsletter' }, tags: ['grilling'] });
    assert.equal(d.targetUrl, 'https://www.walmart.com/sc/cart/addToCart?items=123456789_2,42_1&storeId=3520&utm_source=newsletter');

    const offer = await w.api('POST', '/v1/links', { body: walmartCart({ products: [{ offerId: 'A1B2', quantity: 3 }] }) });
    assert.equal(offer.status, 201, offer.text);
    assert.deepEqual(offer.body.data.products, [{ offerId: 'A1B2', quantity: 3, backupProductIds: [] }]);

    // A Walmart link to a custom URL keeps its products (validated and stored).
    const custom = await w.api('POST', '/v1/links', {
      body: walmartCart({ intent: 'custom_url', customUrl: 'https://brand.example/grill', products: [{ retailerProductId: '7' }] }),
    });
    assert.equal(custom.status, 201, custom.text);
    assert.equal(custom.body.data.targetUrl, 'https://brand.example/grill');
    assert.deepEqual(custom.body.data.products, [{ retailerProductId: '7', quantity: 1, backupProductIds: [] }]);
    const plain = await w.api('POST', '/v1/links', {
      body: { projectId: 'proj_123', name: 'n', retailer: 'custom', intent: 'custom_url', customUrl: 'https://brand.example/' },
    });
    assert.equal(plain.status, 201, plain.text);
    assert.deepEqual(plain.body.data.products, []);
    assert.deepEqual(plain.body.data.metadata, {});
    assert.equal(plain.body.data.publicName, 'n');
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
    assert.equal(r.body.error.code, 'forbidden');
    assert.match(r.body.error.message, /project/);
    r = await w.api('POST', '/v1/links', { body: walmartCart(), key: walmartWriter });
    assert.equal(r.status, 201);

    // Reading needs links:read; a link of another project is not found.
    const id = r.body.data.id;
    assert.equal((await w.api('GET', `/v1/links/${id}`, { key: walmartWriter })).status, 403);
    const otherProject = await w.newKey({ projects: ['proj_other'], scopes: ['links:read'] });
    const g = await w.api('GET', `/v1/links/${id}`, { key: otherProject });
    assert.equal(g.status, 404);
    assert.equal(g.body.error.code, 'not_found');
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

  it('enforces every limit of the shape with a 400 at its key path', async () => {
    const products = Array.from({ length: 101 }, (_, i) => ({ retailerProductId: String(1000 + i) }));
    const pid = (retailerProductId, more = {}) => ({ retailerProductId, ...more });
    const cases = [
      [{ projectId: 'p'.repeat(129) }, 'projectId'],
      [{ projectId: '' }, 'projectId'],
      [{ name: 'n'.repeat(161) }, 'name'],
      [{ name: '' }, 'name'],
      [{ publicName: 'n'.repeat(161) }, 'publicName'],
      [{ publicName: '' }, 'publicName'],
      [{ retailer: 'costco' }, 'retailer'],
      [{ intent: 'checkout' }, 'intent'],
      [{ products }, 'products'],
      [{ products: [] }, 'products'],
      [{ products: [pid('1'), pid('2'), pid('3'), pid('4', { quantity: 0 })] }, 'products[3].quantity'],
      [{ products: [pid('1', { quantity: -2 })] }, 'products[0].quantity'],
      [{ products: [pid('1', { quantity: 51 })] }, 'products[0].quantity'],
      [{ products: [pid('1', { quantity: 1.5 })] }, 'products[0].quantity'],
      [{ products: [pid('1', { quantity: '2' })] }, 'products[0].quantity'],
      [{ products: [pid('abc')] }, 'products[0].retailerProductId'],
      [{ products: [pid('1'.repeat(21))] }, 'products[0].retailerProductId'],
      [{ products: [pid(1.5)] }, 'products[0].retailerProductId'],
      [{ products: [pid(-1)] }, 'products[0].retailerProductId'],
      [{ products: [pid(2 ** 53)] }, 'products[0].retailerProductId'],
      [{ products: [{ quantity: 1 }] }, 'products[0].retailerProductId'],
      [{ products: [{ offerId: 'a-b' }] }, 'products[0].offerId'],
      [{ products: [pid('1', { backupProductIds: Array.from({ length: 11 }, (_, i) => String(10 + i)) })] }, 'products[0].backupProductIds'],
      [{ products: [pid('1', { backupProductIds: ['x'] })] }, 'products[0].backupProductIds[0]'],
      [{ products: [pid('1', { backupProductIds: '2' })] }, 'products[0].backupProductIds'],
      [{ products: [pid('1', { backupProductIds: ['2', 3, '2'] })] }, 'products[0].backupProductIds[2]'],
      [{ location: { zipCode: '7271' } }, 'location.zipCode'],
      [{ location: { zipCode: '72712-12' } }, 'location.zipCode'],
      [{ location: { storeId: 'store-1' } }, 'location.storeId'],
      [{ metadata: { blob: 'x'.repeat(4100) } }, 'metadata'],
      [{ metadata: 'not an object' }, 'metadata'],
      [{ fallbackUrl: 'https://example.com/' + 'a'.repeat(2100) }, 'fallbackUrl'],
      [{ tracking: { utm: { source: '' } } }, 'tracking.utm.source'],
      [{ tracking: { utm: { campaign: 'c'.repeat(257) } } }, 'tracking.utm.campaign'],
      [{ tracking: { utm: { channel: 'x' } } }, 'tracking.utm.channel'],
      [{ tracking: { tags: ['a', 'a'] } }, 'tracking.tags[1]'],
      [{ tracking: { tags: ['t'.repeat(65)] } }, 'tracking.tags[0]'],
      [{ tracking: { tags: Array.from({ length: 21 }, (_, i) => `t${i}`) } }, 'tracking.tags'],
      [{ tracking: { params: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) } }, 'tracking.params'],
      [{ defaultQrCode: { name: '' } }, 'defaultQrCode.name'],
      [{ defaultQrCode: { style: { size: 63 } } }, 'defaultQrCode.style.size'],
      [{ defaultQrCode: { metadata: [] } }, 'defaultQrCode.metadata'],
      [{ options: { maxClicks: 0 } }, 'options.maxClicks'],
    ];
    for (const [extra, key] of cases) {
      const r = await w.api('POST', '/v1/links', { body: walmartCart(extra) });
      assert.equal(r.status, 400, `${key}: ${r.text}`);
      assert.equal(r.body.error.code, 'validation_failed', key);
      assert.equal(r.body.error.message, 'There were issues with your request');
      assert.ok(keysOf(r).includes(key), `${key} not in ${JSON.stringify(keysOf(r))}`);
    }
  });

  it('refuses the old request forms as unknown fields', async () => {
    const cases = [
      [{ products: [{ id: '123456789', quantity: 1 }] }, 'products[0].id'],
      [{ tracking: { utmSource: 'instagram' } }, 'tracking.utmSource'],
      [{ options: { expiresInDays: 30 } }, 'options.expiresInDays'],
      [{ options: { recipe: { servings: 2 } } }, 'options.recipe'],
      [{ defaultQrCode: { size: 256 } }, 'defaultQrCode.size'],
      [{ defaultQrCode: { fg: '#000000' } }, 'defaultQrCode.fg'],
    ];
    for (const [extra, key] of cases) {
      const r = await w.api('POST', '/v1/links', { body: walmartCart(extra) });
      assert.equal(r.status, 400, `${key}: ${r.text}`);
      assert.ok(r.body.error.details.some((d) => d.key === key && d.code === 'unknown_field'), `${key}: ${r.text}`);
    }
  });

  it('refuses business-rule problems of a well-formed request with a 422 at their key paths', async () => {
    const custom = { projectId: 'proj_123', name: 'n', retailer: 'custom', intent: 'custom_url' };
    const cases = [
      [walmartCart({ intent: 'shopping_list' }), [['intent', 'unsupported_intent']]],
      [walmartCart({ intent: 'recipe' }), [['intent', 'unsupported_intent']]],
      [{ ...custom, intent: 'add_to_cart' }, [['intent', 'unsupported_intent']]],
      [walmartCart({ products: undefined }), [['products', 'required']]],
      [walmartCart({ retailer: 'target', products: undefined }), [['products', 'required']]],
      [custom, [['customUrl', 'required']]],
      [walmartCart({ intent: 'custom_url' }), [['customUrl', 'required']]],
      [walmartCart({ customUrl: 'https://brand.example/' }), [['customUrl', 'not_allowed']]],
      [{ ...custom, customUrl: 'https://brand.example/', products: [{ retailerProductId: '1' }] }, [['products', 'not_allowed']]],
      [walmartCart({ options: { instacart: { expiresInDays: 30 } } }), [['options.instacart', 'not_allowed']]],
      [walmartCart({ intent: 'product_detail' }), [['products', 'too_many']]],
      [walmartCart({ retailer: 'target' }), [['products', 'unsupported']]],
      [walmartCart({ products: [{ retailerProductId: '1' }, { offerId: 'A1B2' }] }), [['products', 'conflict']]],
      [walmartCart({ products: [{ retailerProductId: '1' }, { retailerProductId: '2' }, { retailerProductId: 1, quantity: 2 }] }),
        [['products[2].retailerProductId', 'duplicate']]],
      [walmartCart({ products: [{ retailerProductId: '1' }, { retailerProductId: '2', backupProductIds: ['3', 2] }] }),
        [['products[1].backupProductIds[1]', 'conflict']]],
      [walmartCart({ tracking: { utm: { source: 'a' }, params: { utm_source: 'b' } } }), [['tracking.params.utm_source', 'conflict']]],
    ];
    for (const [body, expected] of cases) {
      if (body.products === undefined) delete body.products;
      const r = await w.api('POST', '/v1/links', { body });
      const what = JSON.stringify(expected);
      assert.equal(r.status, 422, `${what}: ${r.text}`);
      assert.equal(r.body.error.code, 'unprocessable', what);
      assert.equal(r.body.error.message, 'The request is well-formed but breaks a business rule');
      assert.match(r.body.error.correlationId, /^req_/);
      assert.deepEqual(r.body.error.details.map((d) => [d.key, d.code]), expected, what);
      for (const d of r.body.error.details) assert.ok(d.message.length > 10, JSON.stringify(d));
    }
  });

  it('an offerId (a Walmart extension) on a Target product is a field Target does not use: 422 not_allowed', async () => {
    const r = await w.api('POST', '/v1/links', { body: walmartCart({ retailer: 'target', intent: 'product_detail', products: [{ offerId: 'A1B2' }] }) });
    assert.equal(r.status, 422, r.text);
    assert.equal(r.body.error.code, 'unprocessable');
    assert.deepEqual(r.body.error.details.map((d) => [d.key, d.code]), [['products[0].offerId', 'not_allowed']]);
  });

  it('a request with shape and rule problems is a 400 naming only the shape problems', async () => {
    const r = await w.api('POST', '/v1/links', {
      body: walmartCart({ intent: 'product_detail', customUrl: 'https://brand.example/', name: '' }),
    });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.code, 'validation_failed');
    assert.deepEqual(keysOf(r), ['name']);
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
      JSON.stringify(walmartCart({ products: [{ retailerProductId: '9'.repeat(400), quantity: 1e308, backupProductIds: [1e308, null] }] })),
      JSON.stringify(walmartCart({ tracking: { params: { 'bad key': 1, ok: null }, utm: [], tags: [null] } })),
      JSON.stringify(walmartCart({ options: { startsAt: '2026-02-30T00:00:00Z', maxClicks: 'x', instacart: [] } })),
      JSON.stringify(walmartCart({ defaultQrCode: { style: { size: 1e308, fg: null } } }))];
    for (const raw of nasty) {
      const res = await w.api('POST', '/v1/links', { raw, headers: { 'content-type': 'application/json' } });
      assert.ok(res.status === 400 || res.status === 413, `${raw.slice(0, 40)} → ${res.status} ${res.text.slice(0, 200)}`);
      assert.ok(res.body.error.code, res.text);
      assert.match(res.headers.get('content-type'), /application\/json/);
    }
    // Well-formed, but not a link Instacart can make: a rule problem, never a 500.
    const ic = await w.api('POST', '/v1/links', { body: { ...walmartCart(), retailer: 'instacart', intent: 'shopping_list' } });
    assert.equal(ic.status, 422, ic.text);
    assert.deepEqual(ic.body.error.details.map((d) => [d.key, d.code]).sort(),
      [['options.instacart.shoppingList', 'required'], ['products', 'not_allowed']]);
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
