// Issue 6: Instacart shopping-list and recipe links, end to end: the worker under wrangler dev
// calls a local stand-in that speaks Instacart's documented contract (tests/instacart-standin.mjs).
import { after, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { useWorker, pathOf } from './harness.mjs';
import { startStandin, PAGES_ORIGIN } from './instacart-standin.mjs';
import { BIN, ROOT } from '../scripts/lib.mjs';

const API_KEY = `test-key-${randomBytes(12).toString('hex')}`;
// The stand-in listens before the worker starts, so its URL can be a worker var.
const ic = await startStandin({ apiKey: API_KEY });
after(() => ic.close());
const w = useWorker({ vars: { INSTACART_API_BASE_URL: ic.url, INSTACART_API_KEY: API_KEY } });

beforeEach(() => ic.reset());

const PAGE_URL = new RegExp(`^${PAGES_ORIGIN}/store/shopping_lists/\\d+$`);

/** The seed's three-item list: a measured item, a health filter with display text, a UPC. */
function shoppingList(extra = {}) {
  return {
    projectId: 'proj_123',
    name: 'Taco night list',
    publicName: 'Taco night',
    retailer: 'instacart',
    intent: 'shopping_list',
    products: [
      { name: 'all-purpose flour', measurements: [{ quantity: 2, unit: 'cups' }, { quantity: 32, unit: 'tbs' }] },
      { name: 'whole milk', displayText: 'Organic whole milk', healthFilters: ['ORGANIC'], quantity: 0.5, unit: 'gallon' },
      { name: 'tomato soup', upcs: ['051000012616'] },
    ],
    ...extra,
  };
}

/** What Instacart must receive for `shoppingList()`. */
const EXPECTED_LIST_REQUEST = {
  title: 'Taco night',
  link_type: 'shopping_list',
  line_items: [
    { name: 'all-purpose flour', line_item_measurements: [{ quantity: 2, unit: 'cups' }, { quantity: 32, unit: 'tbs' }] },
    {
      name: 'whole milk',
      display_text: 'Organic whole milk',
      line_item_measurements: [{ quantity: 0.5, unit: 'gallon' }],
      filters: { health_filters: ['ORGANIC'] },
    },
    { name: 'tomato soup', line_item_measurements: [{ quantity: 1, unit: 'each' }], upcs: ['051000012616'] },
  ],
};

const create = (body, opts = {}) => w.api('POST', '/v1/links', { body, ...opts });
const detailKeys = (r) => r.body.error.details.map((d) => [d.key, d.code]);

/** Every key of the worker's local KV (through wrangler's own CLI, on the test's state dir). */
function kvKeys() {
  const r = spawnSync(join(BIN, 'wrangler'), ['kv', 'key', 'list', '--binding', 'LINKS', '--local', '--persist-to', w.state], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1', NO_COLOR: '1' },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.slice(r.stdout.indexOf('['))).map((k) => k.name).sort();
}

describe('Instacart links', () => {
  it('creates a shopping list from three line items with one call carrying the mapped fields and the key', async () => {
    const before = ic.log.length;
    const r = await create(shoppingList());
    assert.equal(r.status, 201, r.text);
    assert.equal(ic.log.length, before + 1, 'exactly one upstream call');
    const call = ic.log.at(-1);
    assert.equal(call.method, 'POST');
    assert.equal(call.path, '/idp/v1/products/products_link');
    assert.equal(call.authorization, `Bearer ${API_KEY}`);
    assert.match(call.contentType, /^application\/json/);
    assert.equal(call.accept, 'application/json');
    assert.deepEqual(call.body, EXPECTED_LIST_REQUEST);
    assert.equal(call.status, 200);

    const d = r.body.data;
    assert.match(d.targetUrl, PAGE_URL);
    assert.equal(d.targetUrl, call.answer.products_link_url);
    assert.equal(d.retailer, 'instacart');
    assert.equal(d.intent, 'shopping_list');
    assert.equal(d.publicName, 'Taco night');
    assert.equal(d.status, 'active');
    assert.equal(d.warnings, undefined);
    // Products are echoed as line items, normalised (default quantity filled in).
    assert.deepEqual(d.products[2], { name: 'tomato soup', upcs: ['051000012616'], quantity: 1 });
    assert.deepEqual(d.products[1], shoppingList().products[1]);
    assert.ok(!r.text.includes(API_KEY));

    const v = await w.visit(pathOf(d.shortLink));
    assert.equal(v.status, 302);
    assert.equal(v.headers.get('location'), d.targetUrl);
    const g = await w.api('GET', `/v1/links/${d.id}`);
    assert.equal(g.status, 200);
    assert.deepEqual(g.body.data, d);
  });

  it('reuses the URL for the same content without calling Instacart; new content calls again', async () => {
    const first = await create(shoppingList({ name: 'Cache probe' }));
    assert.equal(first.status, 201, first.text);
    const url = first.body.data.targetUrl;
    const before = ic.log.length;

    // Same content (title, items, options); another internal name, and tracking (ours).
    const again = await create(shoppingList({ name: 'Cache probe, second link' }));
    assert.equal(again.status, 201, again.text);
    assert.equal(again.body.data.targetUrl, url);
    assert.notEqual(again.body.data.id, first.body.data.id);
    const tracked = await create(shoppingList({ tracking: { utmSource: 'instagram', utmCampaign: 'tacos' } }));
    assert.equal(tracked.body.data.targetUrl, `${url}?utm_source=instagram&utm_campaign=tacos`);
    assert.equal(ic.log.length, before, 'no upstream call for the same content');
    const v = await w.visit(`/${again.body.data.shortId}`);
    assert.equal(v.headers.get('location'), url);

    // A change of content is a new page.
    const changed = shoppingList();
    changed.products[1].quantity = 1;
    const c = await create(changed);
    assert.equal(c.status, 201, c.text);
    assert.equal(ic.log.length, before + 1);
    assert.deepEqual(ic.log.at(-1).body.line_items[1].line_item_measurements, [{ quantity: 1, unit: 'gallon' }]);
    assert.notEqual(c.body.data.targetUrl, url);
    assert.match(c.body.data.targetUrl, PAGE_URL);
  });

  it('creates a recipe page through the recipe endpoint with the recipe fields', async () => {
    const before = ic.log.length;
    const body = {
      projectId: 'proj_123',
      name: 'Shakshuka',
      retailer: 'instacart',
      intent: 'recipe',
      products: [
        { name: 'eggs', quantity: 6 },
        { name: 'crushed tomatoes', measurements: [{ quantity: 28, unit: 'oz can' }], brandFilters: ["Muir Glen"] },
        { name: 'feta', healthFilters: ['vegan'], productIds: [123456] },
      ],
      options: {
        expiresInDays: 90,
        partnerLinkbackUrl: 'https://brand.example/recipes/shakshuka',
        enablePantryItems: true,
        recipe: {
          servings: 4, cookingTime: 35, author: 'Test Kitchen',
          instructions: ['Simmer the tomatoes', 'Crack in the eggs'],
          imageUrl: 'https://img.brand.example/shakshuka.jpg',
        },
      },
    };
    const r = await create(body);
    assert.equal(r.status, 201, r.text);
    assert.equal(ic.log.length, before + 1);
    const call = ic.log.at(-1);
    assert.equal(call.path, '/idp/v1/products/recipe');
    assert.equal(call.authorization, `Bearer ${API_KEY}`);
    assert.deepEqual(call.body, {
      title: 'Shakshuka',
      author: 'Test Kitchen',
      servings: 4,
      cooking_time: 35,
      image_url: 'https://img.brand.example/shakshuka.jpg',
      instructions: ['Simmer the tomatoes', 'Crack in the eggs'],
      expires_in: 90,
      ingredients: [
        { name: 'eggs', line_item_measurements: [{ quantity: 6, unit: 'each' }] },
        { name: 'crushed tomatoes', line_item_measurements: [{ quantity: 28, unit: 'oz can' }], filters: { brand_filters: ['Muir Glen'] } },
        { name: 'feta', line_item_measurements: [{ quantity: 1, unit: 'each' }], product_ids: [123456], filters: { health_filters: ['VEGAN'] } },
      ],
      landing_page_configuration: { partner_linkback_url: 'https://brand.example/recipes/shakshuka', enable_pantry_items: true },
    });
    const d = r.body.data;
    assert.match(d.targetUrl, new RegExp(`^${PAGES_ORIGIN}/store/recipes/\\d+$`));
    assert.equal(d.targetUrl, call.answer.products_link_url);
    assert.deepEqual(d.options, body.options);
    const v = await w.visit(pathOf(d.shortLink));
    assert.equal(v.status, 302);
    assert.equal(v.headers.get('location'), d.targetUrl);
  });

  it('refuses invalid line items at their key paths without reaching Instacart', async () => {
    const before = ic.log.length;
    const base = shoppingList().products;
    const cases = [
      ['invalid health filter', [base[0], { ...base[1], healthFilters: ['ORGANIC', 'KETO'] }], [['products[1].healthFilters', 'invalid_enum']]],
      ['zero quantity', [{ name: 'milk', quantity: 0 }], [['products[0].quantity', 'out_of_range']]],
      ['negative measurement', [base[2], { name: 'flour', measurements: [{ quantity: 1, unit: 'cup' }, { quantity: -0.1, unit: 'cup' }] }],
        [['products[1].measurements[1].quantity', 'out_of_range']]],
      ['unknown unit', [base[0], { name: 'salt', quantity: 1, unit: 'pinch' }], [['products[1].unit', 'invalid_enum']]],
      ['missing name', [base[0], base[1], { displayText: 'Soup', upcs: ['051000012616'] }], [['products[2].name', 'required']]],
      ['upcs with productIds', [{ name: 'soup', upcs: ['051000012616'], productIds: [42] }], [['products[0]', 'conflict']]],
      ['duplicate upcs across items', [base[2], base[0], { name: 'more soup', upcs: ['051000012616'] }], [['products', 'duplicate']]],
    ];
    for (const [what, products, expected] of cases) {
      const r = await create(shoppingList({ products }));
      assert.equal(r.status, 400, `${what}: ${r.text}`);
      assert.equal(r.body.error.code, 'validation_failed');
      assert.deepEqual(detailKeys(r), expected, what);
    }
    const dup = await create(shoppingList({ products: [base[2], { name: 'more soup', upcs: ['051000012616'] }] }));
    assert.equal(dup.body.error.details[0].message,
      'Duplicate product identifiers found: upc 051000012616 (products[0] and products[1])');

    // All problems of one request at once, Instacart options included.
    const many = await create(shoppingList({
      products: [{ name: '', quantity: -1, unit: 'smidgen', healthFilters: ['PALEO'] }, { name: 'x', upcs: ['123'] }],
      options: { expiresInDays: 400, recipe: { servings: 2 } },
    }));
    assert.equal(many.status, 400);
    assert.deepEqual(detailKeys(many), [
      ['products[0].name', 'too_short'],
      ['products[0].quantity', 'out_of_range'],
      ['products[0].unit', 'invalid_enum'],
      ['products[0].healthFilters', 'invalid_enum'],
      ['products[1].upcs[0]', 'invalid_format'],
      ['options.expiresInDays', 'out_of_range'],
      ['options.recipe', 'not_allowed'],
    ]);
    const none = await create(shoppingList({ products: undefined }));
    assert.deepEqual(detailKeys(none), [['products', 'required']]);
    assert.equal(ic.log.length, before, 'no invalid request reached Instacart');
  });

  it('relays Instacart 400s as 400s at our key paths, in both error forms, caching nothing', async () => {
    ic.answerNext(400, { errors: [
      { message: 'Invalid health filters: ["INVALID"]', code: 1001, meta: { key: 'line_items[1].filters.health_filters' } },
      { message: 'Line item cannot have both product_ids and upcs. They are mutually exclusive.', code: 1001, meta: { key: 'line_items[2].base' } },
      { message: 'Duplicate product identifiers found: upc 051000012616', code: 1001, meta: { key: 'line_items' } },
    ] });
    const r = await create(shoppingList({ publicName: 'Relay probe' }));
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.code, 'validation_failed');
    assert.deepEqual(r.body.error.details, [
      { key: 'products[1].healthFilters', code: 'rejected_by_instacart', message: 'Invalid health filters: ["INVALID"]' },
      { key: 'products[2]', code: 'rejected_by_instacart', message: 'Line item cannot have both product_ids and upcs. They are mutually exclusive.' },
      { key: 'products', code: 'rejected_by_instacart', message: 'Duplicate product identifiers found: upc 051000012616' },
    ]);
    // The single-error form; a measurement sent for `quantity`/`unit` maps back to that field.
    ic.answerNext(400, { error: { message: 'Invalid quantity: -0.1. Cannot be lower than or equal to 0.0', code: 1001,
      meta: { key: 'line_items[1].line_item_measurements[0].quantity' } } });
    const one = await create(shoppingList({ publicName: 'Relay probe' }));
    assert.equal(one.status, 400);
    assert.deepEqual(detailKeys(one), [['products[1].quantity', 'rejected_by_instacart']]);
    ic.answerNext(400, { error: { message: 'Invalid quantity: 0', code: 1001, meta: { key: 'line_items[0].line_item_measurements[1].quantity' } } });
    const measured = await create(shoppingList({ publicName: 'Relay probe' }));
    assert.deepEqual(detailKeys(measured), [['products[0].measurements[1].quantity', 'rejected_by_instacart']]);
    ic.answerNext(400, { error: { message: 'There were issues with your request', code: 9999 } });
    const generic = await create(shoppingList({ publicName: 'Relay probe' }));
    assert.deepEqual(generic.body.error.details, [{ key: '', code: 'rejected_by_instacart', message: 'There were issues with your request' }]);

    // Nothing was cached: the same content calls Instacart again, and now succeeds.
    const before = ic.log.length;
    const ok = await create(shoppingList({ publicName: 'Relay probe' }));
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ic.log.length, before + 1);
  });

  it('upstream 500: fallbackUrl → 201 with a warning; without → 502 upstream_failed and nothing stored', async () => {
    ic.mode = 'error500';
    const content = { publicName: 'Outage list', products: [{ name: 'limes', quantity: 6 }] };
    const fb = await create(shoppingList({ ...content, fallbackUrl: 'https://brand.example/tacos', tracking: { utmSource: 'qr' } }));
    assert.equal(fb.status, 201, fb.text);
    assert.equal(ic.log.at(-1).status, 500);
    const d = fb.body.data;
    assert.equal(d.targetUrl, 'https://brand.example/tacos?utm_source=qr');
    assert.equal(d.warnings.length, 1);
    assert.equal(d.warnings[0].code, 'instacart_unavailable');
    assert.match(d.warnings[0].message, /Instacart answered 500/);
    const v = await w.visit(`/${d.shortId}`);
    assert.equal(v.headers.get('location'), d.targetUrl);

    const keysBefore = kvKeys();
    const calls = ic.log.length;
    const idem = { 'idempotency-key': `outage-${randomBytes(6).toString('hex')}` };
    const r = await create(shoppingList(content), { headers: idem });
    assert.equal(r.status, 502, r.text);
    assert.equal(ic.log.length, calls + 1);
    assert.equal(r.body.error.code, 'upstream_failed');
    assert.match(r.body.error.message, /Instacart answered 500/);
    assert.match(r.body.error.correlationId, /^req_/);
    assert.ok(!r.text.includes(API_KEY));
    assert.deepEqual(kvKeys(), keysBefore, 'no link, redirect, QR code, cached URL or idempotent answer stored');

    // Instacart is back: the same request (same Idempotency-Key) creates the link afresh.
    ic.reset();
    const retry = await create(shoppingList(content), { headers: idem });
    assert.equal(retry.status, 201, retry.text);
    assert.equal(retry.headers.get('idempotent-replayed'), null);
    assert.equal(ic.log.length, calls + 2);
    assert.match(retry.body.data.targetUrl, PAGE_URL);
  });

  it('malformed answers and a refused key are failures too (fallback or 502)', async () => {
    ic.mode = 'malformed';
    const m = await create(shoppingList({ publicName: 'Malformed probe', fallbackUrl: 'https://brand.example/' }));
    assert.equal(m.status, 201, m.text);
    assert.equal(m.body.data.targetUrl, 'https://brand.example/');
    assert.match(m.body.data.warnings[0].message, /without a valid products_link_url/);
    const m2 = await create(shoppingList({ publicName: 'Malformed probe' }));
    assert.equal(m2.status, 502);
    assert.equal(m2.body.error.code, 'upstream_failed');

    // Instacart refusing our key is our configuration, not the caller's request: never a 400.
    ic.reset();
    ic.apiKey = 'another-key';
    const k = await create(shoppingList({ publicName: 'Key probe' }));
    assert.equal(k.status, 502, k.text);
    assert.equal(ic.log.at(-1).status, 401);
    assert.match(k.body.error.message, /refused our API key/);
    assert.ok(!k.text.includes(API_KEY));
  });

  it('an Instacart that does not answer times out (~8 s) into the fallback', { timeout: 30_000 }, async () => {
    ic.mode = 'hang';
    const t0 = Date.now();
    const r = await create(shoppingList({ publicName: 'Timeout probe', fallbackUrl: 'https://brand.example/slow' }));
    const took = Date.now() - t0;
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.data.targetUrl, 'https://brand.example/slow');
    assert.match(r.body.data.warnings[0].message, /did not answer within 8 s/);
    assert.ok(took >= 7500 && took < 15_000, `took ${took} ms`);
  });

  it('logs upstream failures, never the API key', () => {
    const log = w.log();
    assert.match(log, /instacart: Instacart answered 500/);
    assert.match(log, /instacart: Instacart refused our API key \(401\)/);
    assert.match(log, /instacart: Instacart did not answer within 8 s/);
    assert.ok(!log.includes(API_KEY));
    assert.ok(!log.includes(API_KEY.slice(9)));
  });
});
