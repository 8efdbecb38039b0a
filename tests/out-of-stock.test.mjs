// Backups per shopper ZIP, end to end: the worker under wrangler dev asks a local stand-in of
// Walmart's affiliate Product Lookup API (tests/walmart-standin.mjs), which checks every
// request's signature against the public key of a key pair made here (the private key, a
// multi-line PKCS#8 PEM, reaches the worker as WALMART_PRIVATE_KEY). Shoppers' ZIPs and states
// come in Cloudflare's visitor location headers, as the edge adds them.
import { after, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { useWorker, pathOf, statsWhen } from './harness.mjs';
import { makeKeyPair, startWalmartStandin } from './walmart-standin.mjs';

const { publicKey, privateKey } = makeKeyPair();
const CONSUMER_ID = randomUUID();
const KEY_VERSION = '2';
const wm = await startWalmartStandin({ publicKey, consumerId: CONSUMER_ID, keyVersion: KEY_VERSION });
after(() => wm.close());
const WALMART = {
  WALMART_API_BASE_URL: wm.url,
  WALMART_CONSUMER_ID: CONSUMER_ID,
  WALMART_KEY_VERSION: KEY_VERSION,
  WALMART_PRIVATE_KEY: privateKey,
};

beforeEach(() => wm.reset());
const w = useWorker({ vars: WALMART });

/** Item ids no other test uses (availability is cached per item set and ZIP). */
let next = 400_000_000 + Math.floor(Math.random() * 1_000_000) * 100;
const ids = (n) => Array.from({ length: n }, () => String(next++));

/** A Walmart cart: `[primary, quantity, backups]` per line. */
function cart(lines, extra = {}) {
  return {
    projectId: 'proj_123',
    name: 'Backups basket',
    retailer: 'walmart',
    intent: 'add_to_cart',
    products: lines.map(([id, quantity, backups]) => ({ retailerProductId: id, quantity, backupProductIds: backups })),
    tracking: { utm: { source: 'newsletter' } },
    ...extra,
  };
}

const CART = 'https://www.walmart.com/sc/cart/addToCart?items=';
/** A shopper's tap from a ZIP in a state, as Cloudflare's edge forwards it. */
const shopper = (zip, region = 'NY') => ({
  'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'cf-ipcountry': 'US',
  'cf-postal-code': zip,
  'cf-region-code': region,
});

async function location(w, shortId, headers) {
  const r = await w.visit(`/${shortId}`, { headers });
  assert.equal(r.status, 302);
  await r.arrayBuffer();
  return r.headers.get('location');
}

/** Visits until the cart is `expected` (availability is cached after the first visits), 20 s at most. */
async function locationWhen(w, shortId, headers, expected) {
  const deadline = Date.now() + 20_000;
  let last;
  while (Date.now() < deadline) {
    last = await location(w, shortId, headers);
    if (last === expected) return last;
    await new Promise((r) => setTimeout(r, 150));
  }
  assert.equal(last, expected, 'the cart never became the expected one');
  return last;
}

describe('redirects with backups', () => {

  it('send shoppers from a ZIP where the primary is out of stock to the backup, others to the primary, one lookup per ZIP', async () => {
    const [p, b1, b2, q] = ids(4);
    wm.stock.set(`${p}@10001`, 'Not available');
    wm.stock.set(`${b2}@10001`, 'Limited Supply');
    wm.unknown.add(b1); // Walmart does not know it: unknown, so never swapped in
    const r = await w.api('POST', '/v1/links', { body: cart([[p, 2, [b1, b2]], [q, 1, []]]) });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.data.warnings, undefined);
    const { shortId, targetUrl } = r.body.data;
    assert.equal(targetUrl, `${CART}${p}_2,${q}_1&utm_source=newsletter`);

    const swapped = `${CART}${b2}_2,${q}_1&utm_source=newsletter`;
    await locationWhen(w, shortId, shopper('10001'), swapped);
    // ZIP+4 is the same ZIP.
    for (let i = 0; i < 10; i++) assert.equal(await location(w, shortId, shopper(i % 2 ? '10001' : '10001-2345')), swapped);
    // Another ZIP: the primary is in stock there.
    for (let i = 0; i < 10; i++) assert.equal(await location(w, shortId, shopper('94105', 'CA')), targetUrl);
    await new Promise((res) => setTimeout(res, 500));
    const all = [p, q, b1, b2];
    assert.equal(wm.calls(all, '10001').length, 1, JSON.stringify(wm.log));
    assert.equal(wm.calls(all, '94105').length, 1, JSON.stringify(wm.log));
    assert.ok(wm.log.every((e) => e.signed && e.status === 200), JSON.stringify(wm.log));
    // Primaries first, then backups by rank.
    assert.deepEqual(wm.calls(all, '10001')[0].ids, [p, q, b1, b2]);
  });

  it('keep quantities, order, store id and a forwarded query when they swap', async () => {
    const [p1, p2, b] = ids(3);
    wm.stock.set(`${p2}@30301`, 'Not available');
    const body = cart([[p1, 3, []], [p2, 4, [b]]], {
      location: { storeId: '5678' }, options: { forwardQuery: true },
    });
    const r = await w.api('POST', '/v1/links', { body });
    assert.equal(r.status, 201, r.text);
    const shortId = r.body.data.shortId;
    const expected = `${CART}${p1}_3,${b}_4&storeId=5678&utm_source=newsletter&coupon=SAVE10`;
    const deadline = Date.now() + 20_000;
    let last;
    while (Date.now() < deadline && last !== expected) {
      const v = await w.visit(`/${shortId}?coupon=SAVE10`, { headers: shopper('30301', 'GA') });
      last = v.headers.get('location');
      await v.arrayBuffer();
    }
    assert.equal(last, expected);
  });

  it('answer at once with the primaries while Walmart stalls, and ask once per ZIP while it fails', async () => {
    const [p, b] = ids(2);
    wm.stock.set(`${p}@60601`, 'Not available');
    const r = await w.api('POST', '/v1/links', { body: cart([[p, 1, [b]]]) });
    assert.equal(r.status, 201, r.text);
    const { shortId, targetUrl } = r.body.data;
    wm.mode = 'slow'; // answers after 30 s
    for (let i = 0; i < 10; i++) assert.equal(await location(w, shortId, shopper('60601', 'IL')), targetUrl);
    // One lookup, and every redirect was answered before Walmart answered it.
    const stalled = wm.calls([p, b], '60601');
    assert.equal(stalled.length, 1);
    assert.equal(stalled[0].status, undefined);

    for (const [mode, zip] of [['error500', '60602'], ['malformed', '60603'], ['hang', '60604']]) {
      wm.reset();
      wm.mode = mode;
      wm.stock.set(`${p}@${zip}`, 'Not available');
      for (let i = 0; i < 15; i++) assert.equal(await location(w, shortId, shopper(zip, 'IL')), targetUrl, mode);
      await new Promise((res) => setTimeout(res, 300));
      assert.equal(wm.calls([p, b], zip).length, 1, `${mode}: ${JSON.stringify(wm.calls([p, b], zip))}`);
    }
  });

  it('use the link\'s ZIP for shoppers whose own is not a US ZIP', async () => {
    const [p, b] = ids(2);
    wm.stock.set(`${p}@72712`, 'Not available');
    const r = await w.api('POST', '/v1/links', {
      body: cart([[p, 1, [b]]], { location: { zipCode: '72712' } }),
    });
    assert.equal(r.status, 201, r.text);
    const abroad = { ...shopper('M5V 2T6', 'ON'), 'cf-ipcountry': 'CA' };
    assert.equal(await location(w, r.body.data.shortId, abroad), `${CART}${b}_1&utm_source=newsletter`);
  });
});

describe('smart select when a link is created', () => {

  it('builds the cart with available backups in place of unavailable primaries, and says so', async () => {
    const [p, b1, b2, q, r1] = ids(5);
    wm.stock.set(`${p}@72712`, 'Not available');
    wm.stock.set(`${b1}@72712`, 'Not available');
    wm.stock.set(`${q}@72712`, 'Not available');
    wm.stock.set(`${r1}@72712`, 'Not available');
    const body = cart([[p, 2, [b1, b2]], [q, 1, [r1]]], { location: { zipCode: '72712-1234' } });
    const r = await w.api('POST', '/v1/links', { body });
    assert.equal(r.status, 201, r.text);
    const d = r.body.data;
    assert.equal(d.targetUrl, `${CART}${b2}_2,${q}_1&utm_source=newsletter`);
    assert.deepEqual(d.products.map((x) => x.retailerProductId), [p, q], 'the products stay as given');
    assert.deepEqual(d.warnings, [
      {
        code: 'substituted', key: 'products[0].retailerProductId', originalId: p, replacementId: b2,
        message: `Item ${p} is not available at ZIP 72712: the cart holds its backup ${b2} instead`,
      },
      {
        code: 'unavailable', key: 'products[1].retailerProductId', originalId: q,
        message: `Item ${q} is not available at ZIP 72712, nor is any backup of it: the cart keeps it`,
      },
    ]);
    // The answer is kept: shoppers of that ZIP get the same cart without another lookup.
    for (let i = 0; i < 5; i++) assert.equal(await location(w, d.shortId, shopper('72712', 'AR')), d.targetUrl);
    assert.equal(wm.calls([p, q, b1, r1, b2], '72712').length, 1);
    // GET echoes the warnings as the create answered them.
    const got = await w.api('GET', `/v1/links/${d.id}`);
    assert.deepEqual(got.body.data.warnings, d.warnings);
  });

  it('creates the link from the ids, with availability_unknown, when Walmart cannot be asked', async () => {
    for (const mode of ['hang', 'error500']) {
      wm.reset();
      wm.mode = mode;
      const [p, b] = ids(2);
      wm.stock.set(`${p}@72712`, 'Not available');
      const r = await w.api('POST', '/v1/links', { body: cart([[p, 1, [b]]], { location: { zipCode: '72712' } }) });
      assert.equal(r.status, 201, `${mode}: ${r.text}`);
      assert.equal(r.body.data.targetUrl, `${CART}${p}_1&utm_source=newsletter`);
      assert.deepEqual(r.body.data.warnings, [{
        code: 'availability_unknown', key: 'location.zipCode',
        message: "Walmart's availability at ZIP 72712 could not be checked: the cart holds the products as given",
      }], mode);
    }
  });

  it('asks nothing for links without backups or without a ZIP', async () => {
    const before = wm.log.length;
    const [p, b] = ids(2);
    for (const body of [
      cart([[p, 1, []]], { location: { zipCode: '72712' } }),
      cart([[p, 1, [b]]]),
    ]) {
      const r = await w.api('POST', '/v1/links', { body });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.body.data.warnings, undefined);
    }
    assert.equal(wm.log.length, before);
  });
});

describe('out-of-stock counts', () => {

  it('link stats and the project report count visits that met an out-of-stock primary and every swap', async () => {
    const key = await w.newKey({ projects: ['proj_oos'] });
    const [p, b, q, c] = ids(4);
    for (const zip of ['10001', '73301']) {
      wm.stock.set(`${p}@${zip}`, 'Not available');
      wm.stock.set(`${q}@${zip}`, 'Not available');
    }
    wm.stock.set(`${c}@73301`, 'Not available');
    const r = await w.api('POST', '/v1/links', { key, body: cart([[p, 1, [b]], [q, 1, [c]]], { projectId: 'proj_oos' }) });
    assert.equal(r.status, 201, r.text);
    const { id, shortId } = r.body.data;
    // Warm both ZIPs' availability (those first visits may get the primaries), then count.
    const ny = `${CART}${b}_1,${c}_1&utm_source=newsletter`;
    const tx = `${CART}${b}_1,${q}_1&utm_source=newsletter`;
    await locationWhen(w, shortId, shopper('10001', 'NY'), ny);
    await locationWhen(w, shortId, shopper('73301', 'TX'), tx);
    const statsOf = async () => {
      const x = await w.api('GET', `/v1/links/${id}/stats`, { key });
      assert.equal(x.status, 200, x.text);
      return x.body.data;
    };
    const when = async (done) => {
      const deadline = Date.now() + 20_000;
      let last = await statsOf();
      while (!done(last) && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 200));
        last = await statsOf();
      }
      assert.ok(done(last), JSON.stringify(last));
      return last;
    };
    const warm = await when((d) => d.clicks >= 2);
    await new Promise((res) => setTimeout(res, 1500));
    const base = await statsOf();
    assert.ok(warm.clicks >= 2);
    for (let i = 0; i < 6; i++) assert.equal(await location(w, shortId, shopper('10001', 'NY')), ny);
    for (let i = 0; i < 4; i++) assert.equal(await location(w, shortId, shopper('73301', 'TX')), tx);
    // A bot's visit is swapped too, but not counted.
    const bot = await w.visit(`/${shortId}`, { headers: { ...shopper('10001'), 'user-agent': 'Googlebot/2.1 (+http://www.google.com/bot.html)' } });
    assert.equal(bot.headers.get('location'), ny);

    const stats = await when((d) => d.clicks === base.clicks + 10 && d.botClicks === base.botClicks + 1);
    // Every shopper visit met an out-of-stock primary: the warm-up ones too, when they knew it.
    const warmOos = base.outOfStock;
    assert.equal(stats.outOfStock, warmOos + 10);
    const count = (orig, repl) => stats.substitutions.find((s) => s.originalId === orig && s.replacementId === repl)?.count ?? 0;
    const baseCount = (orig, repl) => base.substitutions.find((s) => s.originalId === orig && s.replacementId === repl)?.count ?? 0;
    assert.equal(count(p, b) - baseCount(p, b), 10);
    assert.equal(count(q, c) - baseCount(q, c), 6);
    assert.deepEqual(stats.substitutions.map((s) => [s.originalId, s.replacementId]), [[p, b], [q, c]], 'by count, most first');
    const region = Object.fromEntries(stats.breakdowns.region.map((x) => [x.value, x.clicks]));
    assert.equal(region.NY, stats.clicks - region.TX);
    assert.ok(region.TX >= 4);

    // The project's report: the same visits, from the project's report object.
    const report = async (query = '', headers = {}) => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const x = await w.api('GET', `/v1/projects/proj_oos/out-of-stock${query}`, { key, headers });
        assert.equal(x.status, 200, x.text);
        if (typeof x.body === 'string' || x.body.data.totals.visits === stats.clicks || Date.now() > deadline) return x;
        await new Promise((res) => setTimeout(res, 200));
      }
    };
    const j = (await report()).body.data;
    assert.equal(j.projectId, 'proj_oos');
    assert.deepEqual(j.totals, { visits: stats.clicks, outOfStock: stats.outOfStock, substitutions: count(p, b) + count(q, c) });
    assert.equal(j.byDay.length, 30);
    const today = new Date().toISOString().slice(0, 10);
    assert.deepEqual(j.byDay.at(-1), { date: today, ...j.totals });
    const byRegion = Object.fromEntries(j.byRegion.map((x) => [x.region, x]));
    assert.equal(byRegion.TX.visits, region.TX);
    assert.equal(byRegion.NY.visits, region.NY);
    // In New York both lines swap; in Texas only the first (the second's backup is out too).
    assert.equal(byRegion.NY.substitutions, 2 * byRegion.NY.outOfStock);
    assert.equal(byRegion.TX.substitutions, byRegion.TX.outOfStock);
    assert.deepEqual(j.topSubstitutions, [
      { originalId: p, replacementId: b, count: count(p, b) },
      { originalId: q, replacementId: c, count: count(q, c) },
    ]);

    // The same report as CSV, by format=csv or by Accept.
    for (const [query, headers] of [['?format=csv', {}], ['', { accept: 'text/csv' }]]) {
      const x = await report(query, headers);
      assert.match(x.headers.get('content-type'), /^text\/csv/);
      const lines = x.text.trim().split('\r\n');
      assert.equal(lines[0], 'section,date,region,originalId,replacementId,visits,outOfStock,substitutions');
      assert.equal(lines[1], `total,,,,,${j.totals.visits},${j.totals.outOfStock},${j.totals.substitutions}`);
      assert.ok(lines.includes(`day,${today},,,,${j.totals.visits},${j.totals.outOfStock},${j.totals.substitutions}`), x.text);
      assert.ok(lines.includes(`region,,TX,,,${byRegion.TX.visits},${byRegion.TX.outOfStock},${byRegion.TX.substitutions}`), x.text);
      assert.ok(lines.includes(`substitution,,,${p},${b},,,${count(p, b)}`), x.text);
      assert.equal(lines.length, 1 + 1 + 30 + j.byRegion.length + 2);
    }
  });

  it('the report needs stats:read and the project, and checks its query', async () => {
    const noStats = await w.newKey({ projects: ['proj_oos'], scopes: ['links:read'] });
    const other = await w.newKey({ projects: ['proj_other'] });
    for (const key of [noStats, other]) {
      const r = await w.api('GET', '/v1/projects/proj_oos/out-of-stock', { key });
      assert.equal(r.status, 403, r.text);
      assert.equal(r.body.error.code, 'forbidden');
    }
    const key = await w.newKey({ projects: ['proj_oos'] });
    const bad = await w.api('GET', '/v1/projects/proj_oos/out-of-stock?format=xml&from=yesterday', { key });
    assert.equal(bad.status, 400, bad.text);
    assert.deepEqual(bad.body.error.details.map((d) => [d.key, d.code]).sort(), [['format', 'invalid_enum'], ['from', 'invalid_datetime']]);
    const backwards = await w.api('GET', '/v1/projects/proj_oos/out-of-stock?from=2026-05-02T00:00:00Z&to=2026-05-01T00:00:00Z', { key });
    assert.equal(backwards.status, 400);
    assert.deepEqual(backwards.body.error.details.map((d) => [d.key, d.code]), [['to', 'out_of_range']]);
    const long = await w.api('GET', '/v1/projects/proj_oos/out-of-stock?from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z', { key });
    assert.deepEqual(long.body.error.details.map((d) => [d.key, d.code]), [['from', 'out_of_range']]);
    const empty = await w.api('GET', '/v1/projects/proj_oos/out-of-stock?from=2026-05-01T10:00:00Z&to=2026-05-03T00:00:00Z', { key });
    assert.equal(empty.status, 200, empty.text);
    assert.deepEqual(empty.body.data.byDay.map((d) => d.date), ['2026-05-01', '2026-05-02']);
    assert.deepEqual(empty.body.data.totals, { visits: 0, outOfStock: 0, substitutions: 0 });
    const post = await w.api('POST', '/v1/projects/proj_oos/out-of-stock', { key, body: {} });
    assert.equal(post.status, 405);
  });
});

describe('without Walmart settings', () => {
  const off = useWorker();

  it('links with backups behave as links without', async () => {
    const [p, b] = ids(2);
    wm.stock.set(`${p}@10001`, 'Not available');
    const before = wm.log.length;
    const r = await off.api('POST', '/v1/links', { body: cart([[p, 1, [b]]], { location: { zipCode: '10001' } }) });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.data.warnings, undefined);
    const { id, shortId, targetUrl } = r.body.data;
    assert.equal(targetUrl, `${CART}${p}_1&utm_source=newsletter`);
    for (let i = 0; i < 3; i++) assert.equal(await location(off, shortId, shopper('10001')), targetUrl);
    const stats = await statsWhen(off, id, (d) => d.clicks === 3);
    assert.equal(stats.outOfStock, 0);
    assert.deepEqual(stats.substitutions, []);
    assert.equal(wm.log.length, before);
    assert.equal(pathOf(r.body.data.shortLink), `/${shortId}`);
  });
});
