// Where-to-buy links: one short link, a page rendered at the edge, one button per retailer.
// Each offer is its retailer's own link (validated, authorised, resolved and tracked as one),
// the page shows offers that are not active as unavailable, `/{shortId}/{retailer}` redirects
// to the offer's exact destination, and stats count page views and choices apart. Also the new
// retailers' destinations as the API answers them (Amazon with its project's Associates tag,
// Kroger, Instacart product pages).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { pathOf, statsWhen, useWorker, walmartCart } from './harness.mjs';
import { DESTINATIONS, whereToBuy } from './where-to-buy-fixtures.mjs';

const PHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

const w = useWorker({ vars: { AMAZON_ASSOCIATE_TAGS: '{"proj_123": "brand-20"}' } });

async function create(body) {
  const r = await w.api('POST', '/v1/links', { body });
  assert.equal(r.status, 201, r.text);
  return r.body.data;
}
const shopper = (path, opts = {}) => w.visit(path, { ...opts, headers: { 'user-agent': PHONE, ...(opts.headers ?? {}) } });

describe('a where-to-buy link', () => {
  it('is created with each offer resolved as its retailer would, its targetUrl its page', async () => {
    const link = await create(whereToBuy());
    assert.equal(link.retailer, 'multi');
    assert.equal(link.intent, 'where_to_buy');
    assert.equal(link.targetUrl, link.shortLink);
    assert.equal(link.status, 'active');
    assert.deepEqual(link.offers.map((o) => [o.retailer, o.targetUrl, o.status]),
      Object.entries(DESTINATIONS).map(([r, u]) => [r, u, 'active']));
    assert.deepEqual(link.offers[0].products, [{ retailerProductId: '123456789', quantity: 2, backupProductIds: [] }]);
    assert.equal(link.page.brandColor, '#1a237e');
    assert.deepEqual(link.products, []);
    const read = await w.api('GET', `/v1/links/${link.id}`);
    assert.deepEqual(read.body.data.offers, link.offers);
    const listed = await w.api('GET', '/v1/links?projectId=proj_123&tag=wtb');
    assert.deepEqual(listed.body.data.map((l) => l.id), [link.id]);
  });

  it('answers 200 with its page: title, items, one button per retailer, strict headers, small', async () => {
    const link = await create(whereToBuy());
    for (const path of [`/${link.shortId}`, `/w/${link.shortId}`]) {
      const r = await shopper(path);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(r.headers.get('x-robots-tag'), 'noindex');
      assert.equal(r.headers.get('cache-control'), 'private, no-store');
      assert.equal(r.headers.get('location'), null);
      const csp = r.headers.get('content-security-policy');
      assert.match(csp, /^default-src 'none'; img-src https:; style-src 'sha256-[A-Za-z0-9+/]+=*' 'sha256-[A-Za-z0-9+/]+=*'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'$/);
      const html = await r.text();
      assert.match(html, /<title>Summer grill kit<\/title>/);
      assert.match(html, /<meta name="robots" content="noindex">/);
      assert.match(html, /<h1>Summer grill kit<\/h1><p class="sub">Pick your store<\/p>/);
      assert.match(html, /Charcoal briquets<span class="z">20 lb<\/span>/);
      const buttons = [...html.matchAll(/<a class="buy" href="([^"]+)">([^<]+)<\/a>/g)].map((m) => [m[1], m[2]]);
      assert.deepEqual(buttons, [
        [`/${link.shortId}/walmart`, 'Buy at Walmart'], [`/${link.shortId}/target`, 'Buy at Target'],
        [`/${link.shortId}/amazon`, 'Buy at Amazon'], [`/${link.shortId}/instacart`, 'Buy at Instacart'],
      ]);
      for (const img of html.match(/<img [^>]+>/g)) assert.match(img, /loading="lazy"/);
      assert.ok(!html.includes('<script'), 'no client JavaScript');
      assert.ok(gzipSync(Buffer.from(html)).length < 14 * 1024);
    }
    const head = await shopper(`/${link.shortId}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-type'), 'text/html; charset=utf-8');
  });

  it('each button redirects to its offer’s exact destination; other retailers and links are 404', async () => {
    const link = await create(whereToBuy());
    for (const [retailer, url] of Object.entries(DESTINATIONS)) {
      const r = await shopper(`/${link.shortId}/${retailer}`);
      assert.equal(r.status, 302, retailer);
      assert.equal(r.headers.get('location'), url, retailer);
      assert.equal(r.headers.get('cache-control'), 'private, no-store');
      const head = await shopper(`/${link.shortId}/${retailer}`, { method: 'HEAD' });
      assert.equal(head.headers.get('location'), url);
    }
    for (const path of [`/${link.shortId}/kroger`, `/${link.shortId}/costco`, `/${link.shortId}/multi`, '/zzzzzzz/walmart', '/api/walmart']) {
      const r = await shopper(path);
      assert.equal(r.status, 404, path);
      assert.equal(r.headers.get('x-robots-tag'), 'noindex');
    }
    const single = await create(walmartCart());
    assert.equal((await shopper(`/${single.shortId}/walmart`)).status, 404, 'a single-retailer link has no offers');
    const post = await w.visit(`/${link.shortId}/walmart`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  it('shows a disabled or expired offer as unavailable, and its address goes to its fallback or 410', async () => {
    const body = whereToBuy();
    body.offers[1].status = 'disabled';
    body.offers[2].options = { ...body.offers[2].options, expiresAt: iso(Date.now() - 60_000) };
    body.offers[3].options = { ...body.offers[3].options, startsAt: iso(Date.now() + 3_600_000) };
    body.offers[3].fallbackUrl = 'https://www.instacart.com/store/publix';
    const link = await create(body);
    assert.deepEqual(link.offers.map((o) => o.status), ['active', 'disabled', 'expired', 'pending']);
    const html = await (await shopper(`/${link.shortId}`)).text();
    assert.deepEqual([...html.matchAll(/<a class="buy" href="([^"]+)"/g)].map((m) => m[1]), [`/${link.shortId}/walmart`]);
    assert.match(html, /<span class="buy off" aria-disabled="true">Target: not available<\/span>/);
    assert.match(html, /<span class="buy off" aria-disabled="true">Amazon: not available<\/span>/);
    assert.match(html, /<span class="buy off" aria-disabled="true">Instacart: coming soon<\/span>/);
    assert.equal((await shopper(`/${link.shortId}/target`)).status, 410);
    assert.equal((await shopper(`/${link.shortId}/amazon`)).status, 410);
    const soon = await shopper(`/${link.shortId}/instacart`);
    assert.equal(soon.status, 302);
    assert.equal(soon.headers.get('location'), 'https://www.instacart.com/store/publix');

    // Switched back on (the offers sent again, as written): a button again.
    const offers = body.offers.map((o) => ({ ...o, status: 'active' }));
    const p = await w.api('PATCH', `/v1/links/${link.id}`, { body: { offers } });
    assert.equal(p.status, 200, p.text);
    assert.deepEqual(p.body.data.offers.map((o) => o.status), ['active', 'active', 'expired', 'pending']);
    const again = await (await shopper(`/${link.shortId}`)).text();
    assert.match(again, new RegExp(`href="/${link.shortId}/target">Buy at Target`));
    assert.equal((await shopper(`/${link.shortId}/target`)).headers.get('location'), DESTINATIONS.target);
    // A change of the page only keeps the offers (their destinations too).
    const t = await w.api('PATCH', `/v1/links/${link.id}`, { body: { page: { title: 'Grill kit' } } });
    assert.equal(t.status, 200, t.text);
    assert.equal(t.body.data.offers[0].targetUrl, DESTINATIONS.walmart);
    assert.match(await (await shopper(`/${link.shortId}`)).text(), /<h1>Grill kit<\/h1>/);
  });

  it('a disabled or ended link answers as any link: its fallback or 410, page and offers alike', async () => {
    const link = await create(whereToBuy({ fallbackUrl: 'https://brand.example/where-to-buy' }));
    const p = await w.api('PATCH', `/v1/links/${link.id}`, { body: { status: 'disabled' } });
    assert.equal(p.status, 200, p.text);
    for (const path of [`/${link.shortId}`, `/${link.shortId}/walmart`]) {
      const r = await shopper(path);
      assert.equal(r.status, 302, path);
      assert.equal(r.headers.get('location'), 'https://brand.example/where-to-buy');
    }
    const ended = await create(whereToBuy({ options: { expiresAt: iso(Date.now() + 1500) } }));
    await new Promise((r) => setTimeout(r, Date.parse(ended.options.expiresAt) - Date.now() + 1000));
    assert.equal((await shopper(`/${ended.shortId}`)).status, 410);
    assert.equal((await shopper(`/${ended.shortId}/amazon`)).status, 410);
  });

  it('counts page views and choices apart: pageViews, retailerClicks, clickThroughRate, scans', async () => {
    const link = await create(whereToBuy());
    for (let i = 0; i < 3; i++) assert.equal((await shopper(`/${link.shortId}`)).status, 200);
    const scan = await shopper(pathOf(link.qrCode.encodedUrl));
    assert.equal(scan.status, 200, 'a QR scan lands on the page');
    for (const r of ['walmart', 'walmart', 'amazon']) assert.equal((await shopper(`/${link.shortId}/${r}`)).status, 302);
    await shopper(`/${link.shortId}`, { method: 'HEAD' }); // not a view
    const d = await statsWhen(w, link.id, (s) => s.pageViews >= 4 && s.retailerClicks.walmart >= 2 && s.retailerClicks.amazon >= 1);
    assert.equal(d.pageViews, 4);
    assert.equal(d.clicks, 4, 'clicks are the visits of the link: its page views');
    assert.equal(d.qrScans, 1);
    assert.deepEqual(d.retailerClicks, { walmart: 2, target: 0, amazon: 1, instacart: 0 });
    assert.equal(d.clickThroughRate, 0.75);
    assert.deepEqual(d.breakdowns.retailer, [{ value: 'walmart', clicks: 2 }, { value: 'amazon', clicks: 1 }]);
    assert.deepEqual(d.breakdowns.qrCode, [{ value: 'default', qrId: link.qrCode.id, clicks: 1 }]);
    assert.equal(d.series.reduce((a, b) => a + b.clicks, 0), 4);

    // A single-retailer link has its retailer breakdown too, and no page.
    const single = await create(walmartCart());
    for (let i = 0; i < 2; i++) assert.equal((await shopper(`/${single.shortId}`)).status, 302);
    const s = await statsWhen(w, single.id, (x) => x.clicks >= 2);
    assert.deepEqual([s.pageViews, s.retailerClicks, s.clickThroughRate, s.breakdowns.retailer],
      [0, { walmart: 2 }, null, [{ value: 'walmart', clicks: 2 }]]);
  });

  it('a printed QR code of a where-to-buy link opens its page, counted as a scan', async () => {
    const link = await create(whereToBuy({ shortId: 'grill-kit-wtb', legacyQrCodes: [{ identifier: 'grill-endcap', name: 'Endcap' }] }));
    const r = await shopper('/qr/grill-endcap');
    assert.equal(r.status, 200);
    assert.match(await r.text(), /href="\/grill-kit-wtb\/walmart"/);
    const d = await statsWhen(w, link.id, (s) => s.qrScans >= 1);
    assert.equal(d.pageViews, 1);
    assert.equal(d.breakdowns.qrCode[0].value, 'grill-endcap');
  });
});

describe('where-to-buy requests', () => {
  const keys = (r) => r.body.error.details.map((e) => [e.key, e.code]);

  it('shape problems are 400 at the offer’s and the page’s key paths', async () => {
    const body = whereToBuy();
    body.offers[0].products[0].quantity = 0;
    body.offers[2].colour = 'red';
    body.page.items.push({ size: 'x' });
    body.page.logoUrl = 'http://cdn.brand.example/logo.png';
    const r = await w.api('POST', '/v1/links', { body });
    assert.equal(r.status, 400, r.text);
    assert.deepEqual(keys(r), [
      ['offers[0].products[0].quantity', 'out_of_range'], ['offers[2].colour', 'unknown_field'],
      ['page.logoUrl', 'invalid_url'], ['page.items[2].name', 'required'],
    ]);
    const one = await w.api('POST', '/v1/links', { body: whereToBuy({ offers: whereToBuy().offers.slice(0, 1) }) });
    assert.equal(one.status, 400);
    assert.deepEqual(keys(one), [['offers', 'invalid_length']]);
  });

  it('rule problems are 422: a too-light brand colour says why, offers break their retailers’ rules', async () => {
    const pale = await w.api('POST', '/v1/links', { body: whereToBuy({ page: { title: 'T', brandColor: '#ffcc00' } }) });
    assert.equal(pale.status, 422, pale.text);
    assert.deepEqual(keys(pale), [['page.brandColor', 'insufficient_contrast']]);
    assert.match(pale.body.error.details[0].message, /contrast is 1\.\d\d:1, below the 4\.5:1 WCAG AA/);
    const body = whereToBuy();
    body.offers[1].products.push({ retailerProductId: '87654321' });
    body.offers[2].products[0].retailerProductId = '123456789';
    body.offers[3].retailer = 'walmart';
    const r = await w.api('POST', '/v1/links', { body });
    assert.equal(r.status, 422, r.text);
    assert.deepEqual(keys(r), [
      ['offers[1].products', 'too_many'], ['offers[2].products[0].retailerProductId', 'invalid_id'],
      ['offers[3].retailer', 'duplicate'], ['offers[3].options.instacart', 'not_allowed'],
    ]);
    const loop = whereToBuy();
    loop.offers[0] = { retailer: 'custom', intent: 'custom_url', customUrl: `${w.url}/zzzzzzz` };
    const l = await w.api('POST', '/v1/links', { body: loop });
    assert.equal(l.status, 422, l.text);
    assert.deepEqual(keys(l), [['offers[0].customUrl', 'redirect_loop']]);
    const missing = await w.api('POST', '/v1/links', { body: { projectId: 'proj_123', name: 'n', retailer: 'multi', intent: 'where_to_buy' } });
    assert.equal(missing.status, 422);
    assert.deepEqual(keys(missing), [['offers', 'required'], ['page', 'required']]);
  });

  it('needs retailers:multi and the scope of every offer’s retailer', async () => {
    const base = ['links:write', 'links:read', 'retailers:walmart', 'retailers:target', 'retailers:instacart'];
    const noAmazon = await w.newKey({ scopes: [...base, 'retailers:multi'] });
    const r = await w.api('POST', '/v1/links', { body: whereToBuy(), key: noAmazon });
    assert.equal(r.status, 403, r.text);
    assert.match(r.body.error.message, /retailers:amazon/);
    const noMulti = await w.newKey({ scopes: [...base, 'retailers:amazon'] });
    const m = await w.api('POST', '/v1/links', { body: whereToBuy(), key: noMulti });
    assert.equal(m.status, 403);
    assert.match(m.body.error.message, /retailers:multi/);
    const all = await w.newKey({ scopes: [...base, 'retailers:amazon', 'retailers:multi'] });
    assert.equal((await w.api('POST', '/v1/links', { body: whereToBuy(), key: all })).status, 201);
  });
});

describe('the new retailers’ destinations', () => {
  it('Amazon carts carry the link’s tag, else the project’s; product pages none', async () => {
    const products = [{ retailerProductId: 'B07XJ8C8F5', quantity: 2 }];
    const cart = await create({ projectId: 'proj_123', name: 'a', retailer: 'amazon', intent: 'add_to_cart', products });
    assert.equal(cart.targetUrl, 'https://www.amazon.com/gp/aws/cart/add.html?AssociateTag=brand-20&ASIN.1=B07XJ8C8F5&Quantity.1=2');
    const own = await create({ projectId: 'proj_123', name: 'a', retailer: 'amazon', intent: 'add_to_cart', products, options: { amazon: { associateTag: 'own-21' } } });
    assert.equal(own.targetUrl, 'https://www.amazon.com/gp/aws/cart/add.html?AssociateTag=own-21&ASIN.1=B07XJ8C8F5&Quantity.1=2');
    const page = await create({ projectId: 'proj_123', name: 'a', retailer: 'amazon', intent: 'product_detail', products: [{ retailerProductId: 'B07XJ8C8F5' }] });
    assert.equal(page.targetUrl, 'https://www.amazon.com/dp/B07XJ8C8F5');
    const v = await shopper(`/${cart.shortId}`);
    assert.equal(v.headers.get('location'), cart.targetUrl);
  });

  it('Kroger and Instacart product pages', async () => {
    const kroger = await create({ projectId: 'proj_123', name: 'k', retailer: 'kroger', intent: 'product_detail', products: [{ retailerProductId: '0001111041700' }] });
    assert.equal(kroger.targetUrl, 'https://www.kroger.com/p/-/0001111041700');
    const ic = await create({ projectId: 'proj_123', name: 'i', retailer: 'instacart', intent: 'product_detail', products: [{ retailerProductId: 324877 }], options: { instacart: { retailerKey: 'publix' } } });
    assert.equal(ic.targetUrl, 'https://www.instacart.com/products/324877?retailerSlug=publix');
    assert.deepEqual(ic.products, [{ retailerProductId: '324877', quantity: 1, backupProductIds: [] }]);
    assert.equal((await shopper(`/${ic.shortId}`)).headers.get('location'), ic.targetUrl);
    const bad = await w.api('POST', '/v1/links', { body: { projectId: 'proj_123', name: 'k', retailer: 'kroger', intent: 'product_detail', products: [{ retailerProductId: '1111041700' }] } });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error.details[0].code, 'invalid_id');
  });
});

describe('an unreadable AMAZON_ASSOCIATE_TAGS', () => {
  const m = useWorker({ vars: { AMAZON_ASSOCIATE_TAGS: '["acme-tag-99"]' } });

  it('refuses Amazon carts without their own tag (503, naming it) and leaves other links alone', async () => {
    const products = [{ retailerProductId: 'B07XJ8C8F5' }];
    const r = await m.api('POST', '/v1/links', { body: { projectId: 'proj_123', name: 'a', retailer: 'amazon', intent: 'add_to_cart', products } });
    assert.equal(r.status, 503, r.text);
    assert.equal(r.body.error.code, 'misconfigured');
    assert.match(r.body.error.message, /AMAZON_ASSOCIATE_TAGS must be a JSON object/);
    assert.ok(!r.body.error.message.includes('acme-tag-99'), 'never a value of the setting');
    const own = await m.api('POST', '/v1/links', { body: { projectId: 'proj_123', name: 'a', retailer: 'amazon', intent: 'add_to_cart', products, options: { amazon: { associateTag: 'own-21' } } } });
    assert.equal(own.status, 201, own.text);
    assert.equal((await m.api('POST', '/v1/links', { body: walmartCart() })).status, 201);
  });
});
