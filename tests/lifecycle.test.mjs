// Schedule, expiry, single use, disable, update, forward, list.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
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
    assert.equal(bot.status, 200);
    assert.equal(bot.headers.get('location'), null);
    const head = await visit(link, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('location'), null);
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

  it('bots, link previews, tools, no User-Agent and HEAD get a neutral page, never the destination, and use nothing up', async () => {
    const publicName = 'Tom\'s <grill> & "kit"';
    const link = await create({ publicName, options: { maxClicks: 1 }, fallbackUrl: 'https://brand.example/used' });
    const title = 'Tom&#39;s &lt;grill&gt; &amp; &quot;kit&quot;';
    const clients = [
      { headers: { 'user-agent': 'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)' } },
      { headers: { 'user-agent': 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)' } },
      { headers: { 'user-agent': 'WhatsApp/2.23.20.0 A' } },
      { headers: { 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' } },
      { headers: { 'user-agent': 'curl/8.5.0' } },
      { headers: { 'user-agent': 'Wget/1.21.4' } },
      { headers: { 'user-agent': 'python-requests/2.32.3' } },
      { headers: { 'user-agent': '' } },
      { method: 'HEAD' },
      { method: 'HEAD', headers: { 'user-agent': 'curl/8.5.0' } },
    ];
    const host = new URL(link.targetUrl).host;
    const check = async (res, what) => {
      assert.equal(res.status, 200, what);
      assert.equal(res.headers.get('x-robots-tag'), 'noindex', what);
      assert.match(res.headers.get('content-type'), /^text\/html/, what);
      assert.equal(res.headers.get('cache-control'), 'no-store', what);
      for (const [name, value] of res.headers) {
        assert.ok(!value.includes(host), `${what}: ${name} names the destination`);
        assert.ok(!value.includes('brand.example'), `${what}: ${name} names the fallback`);
      }
      const body = await res.text();
      assert.ok(!body.includes(host) && !body.includes('brand.example'), `${what}: the body names a destination`);
      return body;
    };
    const answers = await Promise.all(clients.map((c) => w.visit(`/${link.shortId}`, { method: c.method, headers: { 'user-agent': '', ...c.headers } })));
    for (let i = 0; i < clients.length; i++) {
      const what = JSON.stringify(clients[i]);
      const body = await check(answers[i], what);
      if (clients[i].method === 'HEAD') assert.equal(body, '', `${what}: HEAD has no body`);
      else {
        assert.ok(body.includes(`<meta property="og:title" content="${title}">`), `${what}: ${body}`);
        assert.ok(body.includes(`<title>${title}</title>`), what);
        assert.ok(body.includes('<meta name="robots" content="noindex">'), what);
      }
    }
    // No User-Agent header at all (fetch always sends one).
    const bare = await new Promise((resolve, reject) => {
      http.get(`${w.url}/${link.shortId}`, (res) => {
        let body = '';
        res.on('data', (c) => { body += c; });
        res.on('end', () => resolve({ status: res.statusCode, location: res.headers.location, body }));
      }).on('error', reject);
    });
    assert.equal(bare.status, 200);
    assert.equal(bare.location, undefined);
    assert.ok(bare.body.includes(`content="${title}"`) && !bare.body.includes(host));

    // None of them used the link: its one shopper still gets the destination, the next the
    // fallback. Used up, the others get what any visitor gets: the fallback.
    assert.equal((await visit(link)).headers.get('location'), link.targetUrl);
    assert.equal((await visit(link)).headers.get('location'), 'https://brand.example/used');
    const late = await w.visit(`/${link.shortId}`, { headers: { 'user-agent': 'curl/8.5.0' } });
    assert.equal(late.status, 302);
    assert.equal(late.headers.get('location'), 'https://brand.example/used');

    // An uncapped link redirects everyone, as before.
    const open = await create({});
    for (const c of clients) {
      const r = await w.visit(`/${open.shortId}`, { method: c.method, headers: { 'user-agent': '', ...c.headers } });
      assert.equal(r.status, 302, JSON.stringify(c));
      assert.equal(r.headers.get('location'), open.targetUrl);
    }
  });

  it('a renamed capped link is previewed under its new public name', async () => {
    const link = await create({ options: { maxClicks: 3 } });
    const bot = { headers: { 'user-agent': 'facebookexternalhit/1.1' } };
    let body = await (await visit(link, bot)).text();
    assert.ok(body.includes('<meta property="og:title" content="Summer grilling basket">'), body);
    const p = await w.api('PATCH', `/v1/links/${link.id}`, { body: { publicName: 'Grill night' } });
    assert.equal(p.status, 200, p.text);
    body = await (await visit(link, bot)).text();
    assert.ok(body.includes('<meta property="og:title" content="Grill night">'), body);
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
