// What the API answers: a replayed write is the first response again (status, body, Location,
// Content-Type), errors stay smaller than the requests that caused them, URLs are stored and
// shown as shoppers reach them, and the admin token is checked exactly.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useWorker, walmartCart } from './harness.mjs';
import { devVars } from '../scripts/lib.mjs';

const w = useWorker();

describe('idempotent replays', () => {
  it('a replayed create answers the first status, body, Location and Content-Type', async () => {
    const headers = { 'idempotency-key': 'replay-headers-0001' };
    const first = await w.api('POST', '/v1/links', { body: walmartCart(), headers });
    assert.equal(first.status, 201, first.text);
    assert.equal(first.headers.get('location'), `/v1/links/${first.body.data.id}`);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const again = await w.api('POST', '/v1/links', { body: walmartCart(), headers });
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.headers.get('location'), first.headers.get('location'));
    assert.equal(again.headers.get('content-type'), first.headers.get('content-type'));
    assert.equal(again.headers.get('content-type'), 'application/json');
    assert.equal(again.text, first.text);
    assert.notEqual(again.headers.get('x-correlation-id'), first.headers.get('x-correlation-id'), 'each request has its own');
  });

  it('replayed changes and QR codes answer their first response (no Location where there was none)', async () => {
    const link = await w.api('POST', '/v1/links', { body: walmartCart() });
    const id = link.body.data.id;
    const patch = { headers: { 'idempotency-key': 'replay-patch-0001' }, body: { name: 'Renamed' } };
    const p1 = await w.api('PATCH', `/v1/links/${id}`, patch);
    const p2 = await w.api('PATCH', `/v1/links/${id}`, patch);
    assert.deepEqual([p1.status, p2.status], [200, 200]);
    assert.equal(p2.headers.get('idempotent-replayed'), 'true');
    assert.equal(p2.text, p1.text);
    assert.equal(p2.headers.get('location'), null);
    assert.equal(p2.headers.get('content-type'), 'application/json');
    const qr = { headers: { 'idempotency-key': 'replay-qr-0001' }, body: { identifier: 'shelf-1', name: 'Shelf' } };
    const q1 = await w.api('POST', `/v1/links/${id}/qr-codes`, qr);
    const q2 = await w.api('POST', `/v1/links/${id}/qr-codes`, qr);
    assert.deepEqual([q1.status, q2.status], [201, 201]);
    assert.equal(q2.text, q1.text);
    assert.equal(q2.headers.get('location'), q1.headers.get('location'));
  });
});

describe('error size', () => {
  it('64.8 KB of unknown fields answers 100 details, smaller than the request', async () => {
    const body = walmartCart();
    let n = 0;
    while (JSON.stringify(body).length < 64_800) body[`field${n++}`] = 1;
    const raw = JSON.stringify(body);
    const r = await w.api('POST', '/v1/links', { raw, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400);
    const details = r.body.error.details;
    assert.equal(details.length, 100);
    const listed = new Set();
    for (const d of details.slice(0, 99)) {
      assert.match(d.key, /^field\d+$/);
      assert.deepEqual(d, { key: d.key, code: 'unknown_field', message: `Unknown field '${d.key}'` });
      listed.add(d.key);
    }
    assert.equal(listed.size, 99);
    const last = details[99];
    assert.equal(last.key, '');
    assert.equal(last.code, 'too_many_problems');
    assert.equal(last.message, `${n - 99} more problems were found; only the first 99 are listed`);
    assert.ok(r.text.length < raw.length / 4, `${r.text.length} bytes answered to ${raw.length}`);
  });

  it('an unknown field names the field it resembles, not the whole list', async () => {
    const r = await w.api('POST', '/v1/links', { body: walmartCart({ tracking: { utm: { utm_source: 'ig', Medium: 'email' }, colour: 'red' } }) });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body.error.details.sort((a, b) => a.key.localeCompare(b.key)), [
      { key: 'tracking.colour', code: 'unknown_field', message: "Unknown field 'colour'" },
      { key: 'tracking.utm.Medium', code: 'unknown_field', message: "Unknown field 'Medium'; did you mean 'medium'?" },
      { key: 'tracking.utm.utm_source', code: 'unknown_field', message: "Unknown field 'utm_source'" },
    ]);
    const link = await w.api('POST', '/v1/links', { body: walmartCart() });
    const p = await w.api('PATCH', `/v1/links/${link.body.data.id}`, { body: { Name: 'x' } });
    assert.equal(p.status, 400);
    assert.equal(p.body.error.details[0].message, "Unknown field 'Name'; did you mean 'name'?");
  });
});

describe('URLs as shoppers reach them', () => {
  const typed = {
    customUrl: 'https://ｂｒａｎｄ.example/ｓｕｍｍｅｒ?x=ｙ',
    fallbackUrl: 'https://при\u00ADмер.рф/ка\u00ADталог',
  };
  const normalised = {
    customUrl: 'https://brand.example/%EF%BD%93%EF%BD%95%EF%BD%8D%EF%BD%8D%EF%BD%85%EF%BD%92?x=%EF%BD%99',
    fallbackUrl: 'https://xn--e1afmkfd.xn--p1ai/%D0%BA%D0%B0%C2%AD%D1%82%D0%B0%D0%BB%D0%BE%D0%B3',
  };

  it('customUrl and fallbackUrl are stored, shown and followed in their normalised form', async () => {
    for (const [k, v] of Object.entries(normalised)) assert.equal(new URL(typed[k]).href, v, 'what a browser makes of it');
    const created = await w.api('POST', '/v1/links', {
      body: { projectId: 'proj_123', name: 'IDN', retailer: 'custom', intent: 'custom_url', ...typed },
    });
    assert.equal(created.status, 201, created.text);
    const { id, shortId } = created.body.data;
    for (const data of [created.body.data, (await w.api('GET', `/v1/links/${id}`)).body.data]) {
      assert.equal(data.customUrl, normalised.customUrl);
      assert.equal(data.fallbackUrl, normalised.fallbackUrl);
      assert.equal(data.targetUrl, normalised.customUrl);
    }
    assert.equal((await w.visit(`/${shortId}`)).headers.get('location'), normalised.customUrl);
    // Changed, then disabled: the fallback is followed as shown.
    const p = await w.api('PATCH', `/v1/links/${id}`, { body: { customUrl: 'https://ＳＨＯＰ.brand.example/ａ', status: 'disabled' } });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.data.customUrl, 'https://shop.brand.example/%EF%BD%81');
    const v = await w.visit(`/${shortId}`);
    assert.equal(v.status, 302);
    assert.equal(v.headers.get('location'), normalised.fallbackUrl);
  });

  it('a URL within the limit as typed but over it once encoded is refused at its key', async () => {
    const r = await w.api('POST', '/v1/links', {
      body: { projectId: 'proj_123', name: 'long', retailer: 'custom', intent: 'custom_url', customUrl: `https://brand.example/${'ａ'.repeat(600)}` },
    });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body.error.details.map((d) => [d.key, d.code]), [['customUrl', 'too_long']]);
  });
});

describe('admin token', () => {
  it('only the exact token opens /_admin; anything else is a plain 404', async () => {
    const token = devVars().ADMIN_TOKEN;
    const call = (authorization) => fetch(`${w.url}/_admin/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
      body: JSON.stringify({ keyHash: 'a'.repeat(64), projects: ['proj_admin'], scopes: ['links:read'] }),
    });
    const flipped = (token[0] === 'a' ? 'b' : 'a') + token.slice(1);
    for (const wrong of [undefined, '', 'Bearer', `Bearer ${token.slice(0, -1)}`, `Bearer ${token}x`, `Bearer ${flipped}`, token, `bearer ${token}`]) {
      const r = await call(wrong);
      assert.equal(r.status, 404, String(wrong));
      assert.equal((await r.json()).error.code, 'not_found');
    }
    const ok = await call(`Bearer ${token}`);
    assert.equal(ok.status, 201);
    assert.deepEqual((await ok.json()).data.projects, ['proj_admin']);
  });
});
