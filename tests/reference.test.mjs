// A client written from the published Incarts v1 reference works unchanged: the request bodies
// below are the reference's examples, sent verbatim, and every documented response field is
// checked for presence, type and value. Instacart links go to the local stand-in
// (tests/instacart-standin.mjs).
import { after, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { useWorker, pathOf, statsWhen } from './harness.mjs';
import { startStandin, PAGES_ORIGIN } from './instacart-standin.mjs';

const API_KEY = `ref-key-${randomBytes(12).toString('hex')}`;
const ic = await startStandin({ apiKey: API_KEY });
after(() => ic.close());
const w = useWorker({ vars: { INSTACART_API_BASE_URL: ic.url, INSTACART_API_KEY: API_KEY } });
beforeEach(() => ic.reset());

const LINK_ID = /^lnk_[0-9A-HJKMNP-TV-Z]{26}$/;
const QR_ID = /^qr_[0-9A-HJKMNP-TV-Z]{26}$/;
const UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const PHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const DEFAULT_STYLE = { size: 512, margin: 4, ec: 'M', fg: '#000000', bg: '#ffffff' };

const create = (body, opts = {}) => w.api('POST', '/v1/links', { body, ...opts });
const details = (r) => r.body.error.details.map((d) => [d.key, d.code]);

/** An RFC 3339 UTC timestamp that parses. */
function assertUtc(value, what) {
  assert.equal(typeof value, 'string', what);
  assert.match(value, UTC, what);
  assert.ok(!Number.isNaN(Date.parse(value)), `${what}: ${value}`);
}

/** Every documented field of a QR code object, with its type. */
function assertQrCode(q, link, { identifier, name, isDefault, metadata = {}, style = DEFAULT_STYLE }) {
  assert.deepEqual(Object.keys(q).sort(),
    ['createdAt', 'encodedUrl', 'id', 'identifier', 'imageUrl', 'isDefault', 'linkId', 'metadata', 'name', 'style'].sort());
  assert.match(q.id, QR_ID);
  assert.equal(q.linkId, link.id);
  assert.equal(q.identifier, identifier);
  assert.equal(q.name, name);
  assert.equal(q.imageUrl, `${w.url}/qr/${q.id}`);
  assert.equal(typeof q.encodedUrl, 'string');
  assert.ok(q.encodedUrl.startsWith(`${link.shortLink}?qr=`), q.encodedUrl);
  assert.equal(q.isDefault, isDefault);
  assert.deepEqual(q.metadata, metadata);
  assert.deepEqual(q.style, style);
  assertUtc(q.createdAt, 'qrCode.createdAt');
}

// The guide's example, verbatim.
const GUIDE_EXAMPLE = {
  projectId: 'proj_123',
  name: 'Summer grilling basket',
  publicName: 'Shop the grilling list',
  retailer: 'walmart',
  intent: 'add_to_cart',
  products: [{ retailerProductId: '123456789', quantity: 1, backupProductIds: ['987654321', '555555555'] }],
  fallbackUrl: 'https://www.walmart.com/',
  tracking: { utm: { source: 'newsletter', medium: 'email', campaign: 'summer-grilling' }, tags: ['grilling', 'q3'] },
};

/** The link made from the guide's example (the later cases attach QR codes to it). */
let guideLink;

describe('a client written from the published Incarts v1 reference works unchanged', () => {
  it('the guide example: 201 with every documented field; GET answers the same link; the short link redirects', async () => {
    const r = await create(structuredClone(GUIDE_EXAMPLE));
    assert.equal(r.status, 201, r.text);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    const d = r.body.data;
    assert.deepEqual(Object.keys(d).sort(), [
      'createdAt', 'fallbackUrl', 'id', 'intent', 'metadata', 'name', 'products', 'projectId', 'publicName',
      'qrCode', 'retailer', 'shortId', 'shortLink', 'status', 'targetUrl', 'tracking', 'updatedAt',
    ].sort());
    assert.match(d.id, LINK_ID);
    assert.equal(d.projectId, 'proj_123');
    assert.equal(d.name, 'Summer grilling basket');
    assert.equal(d.publicName, 'Shop the grilling list');
    assert.equal(d.retailer, 'walmart');
    assert.equal(d.intent, 'add_to_cart');
    assert.equal(d.status, 'active');
    assert.equal(typeof d.shortId, 'string');
    assert.match(d.shortId, /^[A-Za-z0-9]+$/);
    assert.equal(d.shortLink, `${w.url}/${d.shortId}`);
    assert.equal(d.targetUrl,
      'https://www.walmart.com/sc/cart/addToCart?items=123456789_1&utm_source=newsletter&utm_medium=email&utm_campaign=summer-grilling');
    assert.deepEqual(d.products, [{ retailerProductId: '123456789', quantity: 1, backupProductIds: ['987654321', '555555555'] }]);
    assert.equal(d.fallbackUrl, 'https://www.walmart.com/');
    assert.deepEqual(d.tracking.tags, ['grilling', 'q3']);
    assert.deepEqual(d.tracking.utm, { source: 'newsletter', medium: 'email', campaign: 'summer-grilling' });
    assert.deepEqual(d.metadata, {});
    assertUtc(d.createdAt, 'createdAt');
    assertUtc(d.updatedAt, 'updatedAt');
    assert.equal(d.updatedAt, d.createdAt);
    assertQrCode(d.qrCode, d, { identifier: 'default', name: 'Default QR code', isDefault: true });
    assert.equal(d.qrCode.encodedUrl, `${d.shortLink}?qr=1`);
    assert.equal(d.qrCode.createdAt, d.createdAt);
    assert.equal(r.headers.get('location'), `/v1/links/${d.id}`);

    const g = await w.api('GET', `/v1/links/${d.id}`);
    assert.equal(g.status, 200, g.text);
    assert.deepEqual(g.body.data, d);

    const v = await w.visit(pathOf(d.shortLink), { headers: { 'user-agent': PHONE } });
    assert.equal(v.status, 302);
    assert.equal(v.headers.get('location'), d.targetUrl);
    guideLink = d;
  });

  it('the smart-select example: the store id goes into the Walmart cart', async () => {
    const r = await create({
      projectId: 'proj_123',
      name: 'Smart select basket',
      retailer: 'walmart',
      intent: 'add_to_cart',
      location: { zipCode: '72712', storeId: '3520' },
      products: [{ retailerProductId: '550098461', quantity: 1, backupProductIds: [] }],
    });
    assert.equal(r.status, 201, r.text);
    const d = r.body.data;
    assert.equal(d.targetUrl, 'https://www.walmart.com/sc/cart/addToCart?items=550098461_1&storeId=3520');
    assert.deepEqual(d.location, { zipCode: '72712', storeId: '3520' });
    assert.deepEqual(d.products, [{ retailerProductId: '550098461', quantity: 1, backupProductIds: [] }]);
    assert.equal(d.publicName, 'Smart select basket');
    const v = await w.visit(`/${d.shortId}`);
    assert.equal(v.headers.get('location'), d.targetUrl);
  });

  it('the QR code example: 201 with every field; identifiers are unique per link; scans are attributed by identifier', async () => {
    assert.ok(guideLink, 'the guide example link exists');
    const path = `/v1/links/${guideLink.id}/qr-codes`;
    const r = await w.api('POST', path, {
      body: { identifier: 'in-store-display', name: 'In-store display', metadata: { placement: 'endcap' } },
    });
    assert.equal(r.status, 201, r.text);
    const q = r.body.data;
    assertQrCode(q, guideLink, { identifier: 'in-store-display', name: 'In-store display', isDefault: false, metadata: { placement: 'endcap' } });
    assert.equal(q.encodedUrl, `${guideLink.shortLink}?qr=2`);

    for (const identifier of ['in-store-display', 'default']) {
      const again = await w.api('POST', path, { body: { identifier, name: 'Another one' } });
      assert.equal(again.status, 409, `${identifier}: ${again.text}`);
      assert.equal(again.body.error.code, 'duplicate_identifier');
    }
    for (const identifier of ['a b', 'ab']) {
      const bad = await w.api('POST', path, { body: { identifier, name: 'Bad identifier' } });
      assert.equal(bad.status, 400, `${identifier}: ${bad.text}`);
      assert.equal(bad.body.error.code, 'validation_failed');
      assert.deepEqual(bad.body.error.details.map((x) => x.key), ['identifier']);
    }

    // A scan of the new code, then the link's stats name it by its identifier.
    const scan = await w.visit(pathOf(q.encodedUrl), { headers: { 'user-agent': PHONE } });
    assert.equal(scan.status, 302);
    assert.equal(scan.headers.get('location'), guideLink.targetUrl);
    const stats = await statsWhen(w, guideLink.id, (s) => s.qrScans >= 1 && s.breakdowns.qrCode.length > 0);
    assert.deepEqual(stats.breakdowns.qrCode, [{ value: 'in-store-display', qrId: q.id, clicks: 1 }]);
    assert.equal(stats.qrScans, 1);

    // Idempotency-Key on a QR create: the retry replays the first answer and makes nothing new.
    const headers = { 'idempotency-key': `qr-create-${randomBytes(6).toString('hex')}` };
    const body = { identifier: 'window-cling', name: 'Window cling', style: { size: 256, ec: 'H' } };
    const first = await w.api('POST', path, { body, headers });
    assert.equal(first.status, 201, first.text);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    assert.deepEqual(first.body.data.style, { ...DEFAULT_STYLE, size: 256, ec: 'H' });
    const replay = await w.api('POST', path, { body, headers });
    assert.equal(replay.status, 201, replay.text);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(replay.body, first.body);
    const reused = await w.api('POST', path, { body: { ...body, name: 'Other name' }, headers });
    assert.equal(reused.status, 409, reused.text);
    assert.equal(reused.body.error.code, 'idempotency_key_reused');
    const list = await w.api('GET', path);
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(list.body.data.map((x) => x.identifier), ['default', 'in-store-display', 'window-cling']);
    assert.deepEqual(list.body.data[1], q);
    assert.equal(list.body.nextCursor, null);
  });

  it('the minimal four-field body makes a custom-URL link for walmart, target and instacart', async () => {
    const calls = ic.log.length;
    for (const retailer of ['walmart', 'target', 'instacart']) {
      const r = await create({ projectId: 'proj_123', name: 'x', retailer, intent: 'custom_url', customUrl: 'https://example.com/promo' });
      assert.equal(r.status, 201, `${retailer}: ${r.text}`);
      const d = r.body.data;
      assert.equal(d.targetUrl, 'https://example.com/promo');
      assert.equal(d.customUrl, 'https://example.com/promo');
      assert.equal(d.retailer, retailer);
      assert.equal(d.publicName, 'x');
      assert.deepEqual(d.products, []);
      assert.deepEqual(d.metadata, {});
      assert.equal(d.updatedAt, d.createdAt);
      const v = await w.visit(`/${d.shortId}`);
      assert.equal(v.status, 302);
      assert.equal(v.headers.get('location'), 'https://example.com/promo');
    }
    assert.equal(ic.log.length, calls, 'a custom-URL Instacart link does not call Instacart');
  });

  it('business rules answer 422 unprocessable, shape problems 400, and shape wins when both are there', async () => {
    const cart = (extra) => ({ projectId: 'proj_123', name: 'Rule probe', retailer: 'walmart', intent: 'add_to_cart', ...extra });
    const three = [{ retailerProductId: '1' }, { retailerProductId: '2' }, { retailerProductId: '3' }];

    let r = await create(cart({}));
    assert.equal(r.status, 422, r.text);
    assert.equal(r.body.error.code, 'unprocessable');
    assert.equal(r.body.error.message, 'The request is well-formed but breaks a business rule');
    assert.deepEqual(r.body.error.details.map((d) => d.key), ['products']);

    r = await create(cart({ retailer: 'target', products: three }));
    assert.equal(r.status, 422, r.text);
    assert.equal(r.body.error.code, 'unprocessable');
    assert.deepEqual(r.body.error.details.map((d) => d.key), ['products']);
    r = await create(cart({ retailer: 'target', products: three, fallbackUrl: 'https://www.target.com/c/grilling' }));
    assert.equal(r.status, 201, r.text);

    r = await create(cart({ products: [{ retailerProductId: '1', quantity: 1.5 }] }));
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.code, 'validation_failed');
    assert.deepEqual(details(r), [['products[0].quantity', 'invalid_type']]);

    // Without products (a rule) and with an empty name (shape): only the shape problem.
    r = await create(cart({ name: '' }));
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.code, 'validation_failed');
    assert.deepEqual(r.body.error.details.map((d) => d.key), ['name']);

    r = await create(cart({ products: [{ retailerProductId: '123456789', backupProductIds: ['123456789'] }] }));
    assert.equal(r.status, 422, r.text);
    assert.deepEqual(details(r), [['products[0].backupProductIds[0]', 'conflict']]);

    r = await create(cart({ products: [{ retailerProductId: '123456789', backupProductIds: ['987654321', '987654321'] }] }));
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.code, 'validation_failed');
    assert.equal(r.body.error.details.length, 1, r.text);
    assert.equal(r.body.error.details[0].code, 'duplicate');
    assert.match(r.body.error.details[0].key, /^products\[0\]\.backupProductIds/);
  });

  it('GET /v1/links?tag= lists exactly the links carrying that tag, newest first', async () => {
    assert.ok(guideLink, 'the guide example link exists');
    const tagged = async (tags) => {
      const r = await create({
        projectId: 'proj_123', name: `Tagged ${tags.join(' ')}`, retailer: 'custom', intent: 'custom_url',
        customUrl: 'https://brand.example/', tracking: { tags },
      });
      assert.equal(r.status, 201, r.text);
      return r.body.data.id;
    };
    const a = await tagged(['grilling', 'summer']);
    const camping = await tagged(['camping']);
    const b = await tagged(['summer', 'grilling']);

    const grilling = await w.api('GET', '/v1/links?projectId=proj_123&tag=grilling');
    assert.equal(grilling.status, 200, grilling.text);
    assert.deepEqual(grilling.body.data.map((l) => l.id), [b, a, guideLink.id]);
    for (const l of grilling.body.data) assert.ok(l.tracking.tags.includes('grilling'));
    assert.equal(grilling.body.nextCursor, null);
    const c = await w.api('GET', '/v1/links?projectId=proj_123&tag=camping');
    assert.deepEqual(c.body.data.map((l) => l.id), [camping]);
    const none = await w.api('GET', '/v1/links?projectId=proj_123&tag=nobody-uses-this');
    assert.equal(none.status, 200);
    assert.deepEqual(none.body.data, []);

    // Pages of one, with the cursor, see the same links once each.
    const seen = [];
    let cursor = null;
    do {
      const r = await w.api('GET', `/v1/links?projectId=proj_123&tag=grilling&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(r.status, 200, r.text);
      assert.ok(r.body.data.length <= 1);
      seen.push(...r.body.data.map((l) => l.id));
      cursor = r.body.nextCursor;
    } while (cursor && seen.length < 10);
    assert.deepEqual(seen, [b, a, guideLink.id]);

    const bad = await w.api('GET', `/v1/links?projectId=proj_123&tag=${'t'.repeat(65)}`);
    assert.equal(bad.status, 400, bad.text);
    assert.deepEqual(bad.body.error.details.map((d) => d.key), ['tag']);
  });

  it('Instacart through options.instacart: shopping list and recipe, title from publicName, retailerKey, line item keys', async () => {
    const lineItems = [
      { name: 'tortillas', quantity: 2, unit: 'package' },
      { name: 'limes', quantity: 4 },
      { name: 'cilantro', quantity: 1, unit: 'bunch' },
    ];
    const list = (instacart = {}, extra = {}) => ({
      projectId: 'proj_123',
      name: 'Taco night list',
      publicName: 'Taco night',
      retailer: 'instacart',
      intent: 'shopping_list',
      options: { instacart: { shoppingList: { lineItems: structuredClone(lineItems) }, ...instacart } },
      ...extra,
    });

    let r = await create(list());
    assert.equal(r.status, 201, r.text);
    let call = ic.log.at(-1);
    assert.equal(call.path, '/idp/v1/products/products_link');
    assert.equal(call.body.title, 'Taco night');
    assert.equal(call.body.link_type, 'shopping_list');
    assert.deepEqual(call.body.line_items.map((li) => li.name), ['tortillas', 'limes', 'cilantro']);
    assert.match(r.body.data.targetUrl, new RegExp(`^${PAGES_ORIGIN}/store/shopping_lists/\\d+$`));
    assert.equal(r.body.data.targetUrl, call.answer.products_link_url);
    assert.deepEqual(r.body.data.products, []);

    // retailerKey: the Instacart page, opened at that retailer.
    r = await create(list({ retailerKey: 'safeway' }, { name: 'Taco night at Safeway' }));
    assert.equal(r.status, 201, r.text);
    const keyed = `${ic.log.at(-1).answer.products_link_url}?retailer_key=safeway`;
    assert.match(keyed, new RegExp(`^${PAGES_ORIGIN}/store/shopping_lists/\\d+\\?retailer_key=safeway$`));
    assert.equal(r.body.data.targetUrl, keyed);
    assert.equal(r.body.data.options.instacart.retailerKey, 'safeway');
    const v = await w.visit(`/${r.body.data.shortId}`);
    assert.equal(v.headers.get('location'), keyed);

    r = await create({
      projectId: 'proj_123',
      name: 'Shakshuka (internal)',
      publicName: 'Weeknight shakshuka',
      retailer: 'instacart',
      intent: 'recipe',
      options: {
        instacart: {
          recipe: { servings: 4, cookingTime: 35, ingredients: [{ name: 'eggs', quantity: 6 }, { name: 'feta', quantity: 200, unit: 'g' }] },
          expiresInDays: 30,
        },
      },
    });
    assert.equal(r.status, 201, r.text);
    call = ic.log.at(-1);
    assert.equal(call.path, '/idp/v1/products/recipe');
    assert.equal(call.body.title, 'Weeknight shakshuka');
    assert.equal(call.body.servings, 4);
    assert.equal(call.body.cooking_time, 35);
    assert.equal(call.body.expires_in, 30);
    assert.deepEqual(call.body.ingredients, [
      { name: 'eggs', line_item_measurements: [{ quantity: 6, unit: 'each' }] },
      { name: 'feta', line_item_measurements: [{ quantity: 200, unit: 'g' }] },
    ]);
    assert.match(r.body.data.targetUrl, new RegExp(`^${PAGES_ORIGIN}/store/recipes/\\d+$`));

    const calls = ic.log.length;
    const bad = list();
    bad.options.instacart.shoppingList.lineItems[2].unit = 'handful';
    r = await create(bad);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.code, 'validation_failed');
    assert.deepEqual(r.body.error.details.map((d) => d.key), ['options.instacart.shoppingList.lineItems[2].unit']);
    assert.equal(ic.log.length, calls, 'an invalid list does not reach Instacart');
  });
});
