// Instacart shopping-list and recipe links, end to end: the worker under wrangler dev calls a
// local stand-in that speaks Instacart's documented contract (tests/instacart-standin.mjs).
// Line items travel in options.instacart.shoppingList.lineItems / options.instacart.recipe.ingredients.
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

/** A three-item list: a measured item, a health filter with display text, a UPC. */
const ITEMS = [
  { name: 'all-purpose flour', measurements: [{ quantity: 2, unit: 'cups' }, { quantity: 32, unit: 'tbs' }] },
  { name: 'whole milk', displayText: 'Organic whole milk', healthFilters: ['ORGANIC'], quantity: 0.5, unit: 'gallon' },
  { name: 'tomato soup', upcs: ['051000012616'] },
];
/** Where line items of a shopping list are, in requests and in error keys. */
const LI = 'options.instacart.shoppingList.lineItems';

/**
 * A shopping-list link of `lineItems` (default: ITEMS); `list` adds to options.instacart.shoppingList,
 * `instacart` to options.instacart; the rest to the body.
 */
function shoppingList({ lineItems = ITEMS, list = {}, instacart = {}, ...extra } = {}) {
  return {
    projectId: 'proj_123',
    name: 'Taco night list',
    publicName: 'Taco night',
    retailer: 'instacart',
    intent: 'shopping_list',
    options: { instacart: { shoppingList: { lineItems: structuredClone(lineItems), ...list }, ...instacart } },
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
    assert.deepEqual(d.products, []);
    // Line items are echoed where they were sent, normalised (default quantity filled in).
    const echoed = d.options.instacart.shoppingList.lineItems;
    assert.equal(echoed.length, 3);
    assert.deepEqual(echoed[2], { name: 'tomato soup', upcs: ['051000012616'], quantity: 1 });
    assert.deepEqual(echoed[1], ITEMS[1]);
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
    const tracked = await create(shoppingList({ tracking: { utm: { source: 'instagram', campaign: 'tacos' } } }));
    assert.equal(tracked.body.data.targetUrl, `${url}?utm_source=instagram&utm_campaign=tacos`);
    assert.equal(ic.log.length, before, 'no upstream call for the same content');
    const v = await w.visit(`/${again.body.data.shortId}`);
    assert.equal(v.headers.get('location'), url);

    // A change of content is a new page.
    const changed = shoppingList();
    changed.options.instacart.shoppingList.lineItems[1].quantity = 1;
    const c = await create(changed);
    assert.equal(c.status, 201, c.text);
    assert.equal(ic.log.length, before + 1);
    assert.deepEqual(ic.log.at(-1).body.line_items[1].line_item_measurements, [{ quantity: 1, unit: 'gallon' }]);
    assert.notEqual(c.body.data.targetUrl, url);
    assert.match(c.body.data.targetUrl, PAGE_URL);
  });

  it('sends the shopping list title, image and instructions when given', async () => {
    const r = await create(shoppingList({
      list: { title: 'Tacos tonight', imageUrl: 'https://img.brand.example/tacos.jpg', instructions: ['Warm the tortillas'] },
      instacart: { expiresInDays: 7, partnerLinkbackUrl: 'https://brand.example/tacos' },
    }));
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(ic.log.at(-1).body, {
      ...EXPECTED_LIST_REQUEST,
      title: 'Tacos tonight',
      image_url: 'https://img.brand.example/tacos.jpg',
      instructions: ['Warm the tortillas'],
      expires_in: 7,
      landing_page_configuration: { partner_linkback_url: 'https://brand.example/tacos' },
    });
    const sent = r.body.data.options.instacart;
    assert.equal(sent.shoppingList.title, 'Tacos tonight');
    assert.equal(sent.expiresInDays, 7);
    assert.equal(sent.partnerLinkbackUrl, 'https://brand.example/tacos');
    // Without a public name, the title is the link's name.
    const named = shoppingList();
    delete named.publicName;
    const n = await create(named);
    assert.equal(n.status, 201, n.text);
    assert.equal(ic.log.at(-1).body.title, 'Taco night list');
  });

  it('creates a recipe page through the recipe endpoint with the recipe fields', async () => {
    const before = ic.log.length;
    const recipe = {
      servings: 4, cookingTime: 35, author: 'Test Kitchen',
      instructions: ['Simmer the tomatoes', 'Crack in the eggs'],
      imageUrl: 'https://img.brand.example/shakshuka.jpg',
      ingredients: [
        { name: 'eggs', quantity: 6 },
        { name: 'crushed tomatoes', measurements: [{ quantity: 28, unit: 'oz can' }], brandFilters: ['Muir Glen'] },
        { name: 'feta', healthFilters: ['vegan'], productIds: [123456] },
      ],
    };
    const body = {
      projectId: 'proj_123',
      name: 'Shakshuka',
      retailer: 'instacart',
      intent: 'recipe',
      options: {
        instacart: {
          expiresInDays: 90,
          partnerLinkbackUrl: 'https://brand.example/recipes/shakshuka',
          enablePantryItems: true,
          recipe,
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
    assert.deepEqual(d.products, []);
    const echoed = d.options.instacart;
    assert.equal(echoed.expiresInDays, 90);
    assert.equal(echoed.partnerLinkbackUrl, 'https://brand.example/recipes/shakshuka');
    assert.equal(echoed.enablePantryItems, true);
    for (const k of ['servings', 'cookingTime', 'author', 'instructions', 'imageUrl']) assert.deepEqual(echoed.recipe[k], recipe[k], k);
    assert.equal(echoed.recipe.ingredients.length, 3);
    assert.deepEqual(echoed.recipe.ingredients[1], recipe.ingredients[1]);
    const v = await w.visit(pathOf(d.shortLink));
    assert.equal(v.status, 302);
    assert.equal(v.headers.get('location'), d.targetUrl);
  });

  it('refuses invalid line items at their key paths without reaching Instacart', async () => {
    const before = ic.log.length;
    const base = ITEMS;
    const cases = [
      ['invalid health filter', [base[0], { ...base[1], healthFilters: ['ORGANIC', 'KETO'] }], [[`${LI}[1].healthFilters`, 'invalid_enum']]],
      ['zero quantity', [{ name: 'milk', quantity: 0 }], [[`${LI}[0].quantity`, 'out_of_range']]],
      ['negative measurement', [base[2], { name: 'flour', measurements: [{ quantity: 1, unit: 'cup' }, { quantity: -0.1, unit: 'cup' }] }],
        [[`${LI}[1].measurements[1].quantity`, 'out_of_range']]],
      ['unknown unit', [base[0], { name: 'salt', quantity: 1, unit: 'pinch' }], [[`${LI}[1].unit`, 'invalid_enum']]],
      ['missing name', [base[0], base[1], { displayText: 'Soup', upcs: ['051000012616'] }], [[`${LI}[2].name`, 'required']]],
      ['upcs with productIds', [{ name: 'soup', upcs: ['051000012616'], productIds: [42] }], [[`${LI}[0]`, 'conflict']]],
      ['no items', [], [[LI, 'invalid_length']]],
    ];
    for (const [what, lineItems, expected] of cases) {
      const r = await create(shoppingList({ lineItems }));
      assert.equal(r.status, 400, `${what}: ${r.text}`);
      assert.equal(r.body.error.code, 'validation_failed');
      assert.deepEqual(detailKeys(r), expected, what);
    }
    // The same product twice is a business rule (422), with both places named.
    const dup = await create(shoppingList({ lineItems: [base[2], base[0], { name: 'more soup', upcs: ['051000012616'] }] }));
    assert.equal(dup.status, 422, dup.text);
    assert.deepEqual(detailKeys(dup), [[LI, 'duplicate']]);
    assert.equal(dup.body.error.details[0].message,
      `Duplicate product identifiers found: upc 051000012616 (${LI}[0] and ${LI}[2])`);

    // All shape problems of one request at once, Instacart options included.
    const many = await create(shoppingList({
      lineItems: [{ name: '', quantity: -1, unit: 'smidgen', healthFilters: ['PALEO'] }, { name: 'x', upcs: ['123'] }],
      instacart: { expiresInDays: 400, retailerKey: 'bad key' },
    }));
    assert.equal(many.status, 400);
    assert.deepEqual(detailKeys(many), [
      ['options.instacart.expiresInDays', 'out_of_range'],
      ['options.instacart.retailerKey', 'invalid_format'],
      [`${LI}[0].name`, 'too_short'],
      [`${LI}[0].quantity`, 'out_of_range'],
      [`${LI}[0].unit`, 'invalid_enum'],
      [`${LI}[0].healthFilters`, 'invalid_enum'],
      [`${LI}[1].upcs[0]`, 'invalid_format'],
    ]);
    const ingredient = await create({
      projectId: 'proj_123', name: 'Soup', retailer: 'instacart', intent: 'recipe',
      options: { instacart: { recipe: { servings: 0, ingredients: [{ name: 'leek', unit: 'handful' }] } } },
    });
    assert.equal(ingredient.status, 400, ingredient.text);
    assert.deepEqual(detailKeys(ingredient), [
      ['options.instacart.recipe.servings', 'out_of_range'],
      ['options.instacart.recipe.ingredients[0].unit', 'invalid_enum'],
    ]);

    // What the intent needs, and what it does not use: business rules (422).
    const rules = [
      [shoppingList({ options: undefined }), [['options.instacart.shoppingList', 'required']]],
      [{ ...shoppingList(), intent: 'recipe' }, [['options.instacart.recipe', 'required'], ['options.instacart.shoppingList', 'not_allowed']]],
      [shoppingList({ instacart: { recipe: { ingredients: [{ name: 'eggs' }] } } }), [['options.instacart.recipe', 'not_allowed']]],
      [shoppingList({ instacart: { enablePantryItems: true } }), [['options.instacart.enablePantryItems', 'not_allowed']]],
      [shoppingList({ products: [{ retailerProductId: '123' }] }), [['products', 'not_allowed']]],
    ];
    for (const [body, expected] of rules) {
      if (body.options === undefined) delete body.options;
      const r = await create(body);
      assert.equal(r.status, 422, `${JSON.stringify(expected)}: ${r.text}`);
      assert.equal(r.body.error.code, 'unprocessable');
      assert.deepEqual(detailKeys(r).sort(), expected.sort());
    }
    assert.equal(ic.log.length, before, 'no invalid request reached Instacart');
  });

  it('relays Instacart 400s as 422 rejected_by_instacart at our key paths, in both error forms, caching nothing', async () => {
    ic.answerNext(400, { errors: [
      { message: 'Invalid health filters: ["INVALID"]', code: 1001, meta: { key: 'line_items[1].filters.health_filters' } },
      { message: 'Line item cannot have both product_ids and upcs. They are mutually exclusive.', code: 1001, meta: { key: 'line_items[2].base' } },
      { message: 'Duplicate product identifiers found: upc 051000012616', code: 1001, meta: { key: 'line_items' } },
    ] });
    const r = await create(shoppingList({ publicName: 'Relay probe' }));
    assert.equal(r.status, 422, r.text);
    assert.equal(r.body.error.code, 'unprocessable');
    assert.deepEqual(r.body.error.details, [
      { key: `${LI}[1].healthFilters`, code: 'rejected_by_instacart', message: 'Invalid health filters: ["INVALID"]' },
      { key: `${LI}[2]`, code: 'rejected_by_instacart', message: 'Line item cannot have both product_ids and upcs. They are mutually exclusive.' },
      { key: LI, code: 'rejected_by_instacart', message: 'Duplicate product identifiers found: upc 051000012616' },
    ]);
    // The single-error form; a measurement sent for `quantity`/`unit` maps back to that field.
    ic.answerNext(400, { error: { message: 'Invalid quantity: -0.1. Cannot be lower than or equal to 0.0', code: 1001,
      meta: { key: 'line_items[1].line_item_measurements[0].quantity' } } });
    const one = await create(shoppingList({ publicName: 'Relay probe' }));
    assert.equal(one.status, 422);
    assert.deepEqual(detailKeys(one), [[`${LI}[1].quantity`, 'rejected_by_instacart']]);
    ic.answerNext(400, { error: { message: 'Invalid quantity: 0', code: 1001, meta: { key: 'line_items[0].line_item_measurements[1].quantity' } } });
    const measured = await create(shoppingList({ publicName: 'Relay probe' }));
    assert.deepEqual(detailKeys(measured), [[`${LI}[0].measurements[1].quantity`, 'rejected_by_instacart']]);
    // Recipe fields map back under options.instacart too.
    ic.answerNext(400, { errors: [
      { message: 'Invalid expires_in: 400. Maximum is 365 days', code: 1001, meta: { key: 'expires_in' } },
      { message: 'Name is required', code: 1001, meta: { key: 'ingredients[0].name' } },
    ] });
    const recipe = await create({
      projectId: 'proj_123', name: 'Relay recipe', retailer: 'instacart', intent: 'recipe',
      options: { instacart: { expiresInDays: 30, recipe: { ingredients: [{ name: 'eggs' }] } } },
    });
    assert.equal(recipe.status, 422, recipe.text);
    assert.deepEqual(detailKeys(recipe), [
      ['options.instacart.expiresInDays', 'rejected_by_instacart'],
      ['options.instacart.recipe.ingredients[0].name', 'rejected_by_instacart'],
    ]);
    ic.answerNext(400, { error: { message: 'There were issues with your request', code: 9999 } });
    const generic = await create(shoppingList({ publicName: 'Relay probe' }));
    assert.equal(generic.status, 422);
    // An answer that names no field is about the request as a whole (key '').
    assert.deepEqual(generic.body.error.details, [{ key: '', code: 'rejected_by_instacart', message: 'There were issues with your request' }]);

    // Nothing was cached: the same content calls Instacart again, and now succeeds.
    const before = ic.log.length;
    const ok = await create(shoppingList({ publicName: 'Relay probe' }));
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ic.log.length, before + 1);
  });

  it('upstream 500: fallbackUrl → 201 with a warning; without → 502 upstream_failed and nothing stored', async () => {
    ic.mode = 'error500';
    const content = { publicName: 'Outage list', lineItems: [{ name: 'limes', quantity: 6 }] };
    const fb = await create(shoppingList({ ...content, fallbackUrl: 'https://brand.example/tacos', tracking: { utm: { source: 'qr' } } }));
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
