// Exactly-once writes, request limits, HEAD, redirect safety, revocation, rate limiting.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { useWorker, walmartCart } from './harness.mjs';
import { revokeLocalKey } from '../scripts/keys.mjs';

const w = useWorker({ vars: { CUSTOM_DESTINATION_HOSTS: JSON.stringify({ proj_locked: ['brand.example'] }) } });

describe('exactly-once idempotency', () => {
  it('twenty concurrent creates with one Idempotency-Key store exactly one link', async () => {
    const key = await w.newKey({ projects: ['proj_idem'] });
    const headers = { 'idempotency-key': 'burst-create-0001' };
    const body = walmartCart({ projectId: 'proj_idem' });
    const results = await Promise.all(Array.from({ length: 20 }, () => w.api('POST', '/v1/links', { body, headers, key })));
    const created = results.filter((r) => r.status === 201);
    const inProgress = results.filter((r) => r.status === 409);
    assert.equal(created.length + inProgress.length, 20, JSON.stringify(results.map((r) => r.status)));
    for (const r of inProgress) assert.equal(r.body.error.code, 'idempotency_request_in_progress');
    const ids = new Set(created.map((r) => r.body.data.id));
    assert.equal(ids.size, 1, 'every 201 is the same link');
    assert.ok(created.filter((r) => r.headers.get('idempotent-replayed') === null).length <= 1);
    const list = await w.api('GET', '/v1/links?projectId=proj_idem&limit=100', { key });
    assert.equal(list.body.data.length, 1, 'exactly one link stored');
    // After it finished, a retry is a replay of that link.
    const again = await w.api('POST', '/v1/links', { body, headers, key });
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.body.data.id, [...ids][0]);
  });

  it('a failed write releases the key for a corrected retry', async () => {
    const headers = { 'idempotency-key': 'fix-and-retry-0001' };
    const bad = await w.api('POST', '/v1/links', { body: walmartCart({ name: '' }), headers });
    assert.equal(bad.status, 400);
    const good = await w.api('POST', '/v1/links', { body: walmartCart(), headers });
    assert.equal(good.status, 201);
    // A business-rule refusal (422) is not stored either.
    const ruleHeaders = { 'idempotency-key': 'fix-and-retry-0002' };
    const rule = await w.api('POST', '/v1/links', { body: walmartCart({ intent: 'product_detail' }), headers: ruleHeaders });
    assert.equal(rule.status, 422, rule.text);
    const fixed = await w.api('POST', '/v1/links', { body: walmartCart({ intent: 'product_detail', products: [{ retailerProductId: '1' }] }), headers: ruleHeaders });
    assert.equal(fixed.status, 201, fixed.text);
    assert.equal(fixed.headers.get('idempotent-replayed'), null);
  });
});

describe('HEAD', () => {
  it('answers every GET route of the API as GET does, without a body', async () => {
    const link = (await w.api('POST', '/v1/links', { body: walmartCart() })).body.data;
    const paths = [
      `/v1/links/${link.id}`,
      '/v1/links?projectId=proj_123&limit=2',
      `/v1/links/${link.id}/qr-codes`,
      `/v1/links/${link.id}/stats`,
      '/v1/openapi.json',
      '/v1/links/lnk_01JZ4TDK6A0NV2HG6R3Q7E28Y9',
    ];
    for (const path of paths) {
      const get = await w.api('GET', path);
      const head = await w.api('HEAD', path);
      assert.equal(head.status, get.status, path);
      assert.equal(head.text, '', `${path}: no body`);
      assert.equal(head.headers.get('content-type'), get.headers.get('content-type'), path);
      assert.ok(head.headers.get('x-correlation-id'), path);
    }
    assert.equal((await w.api('GET', `/v1/links/${link.id}`)).status, 200);
    // HEAD is authenticated like GET.
    const anonymous = await w.api('HEAD', `/v1/links/${link.id}`, { key: '' });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.text, '');
    // Where GET is not allowed, neither is HEAD; Allow names HEAD wherever GET is.
    for (const [path, allow] of [[`/v1/links/${link.id}`, 'GET, HEAD, PATCH'], ['/v1/links', 'GET, HEAD, POST'], [`/v1/links/${link.id}/qr-codes`, 'GET, HEAD, POST']]) {
      const r = await w.api('PUT', path, { body: {} });
      assert.equal(r.status, 405, path);
      assert.equal(r.headers.get('allow'), allow, path);
    }
  });
});

describe('limits', () => {
  it('2 MiB body → 413; form body → 415; DELETE on a read-only path → 405 with Allow; deep JSON → 400', async () => {
    const big = JSON.stringify(walmartCart({ metadata: { blob: 'x'.repeat(2 * 1024 * 1024) } }));
    let r = await w.api('POST', '/v1/links', { raw: big, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 413);
    assert.equal(r.body.error.code, 'payload_too_large');
    r = await w.api('POST', '/v1/links', { raw: 'projectId=proj_123&name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(r.status, 415);
    assert.equal(r.body.error.code, 'unsupported_media_type');
    r = await w.api('DELETE', '/v1/links/lnk_01JZ4TDK6A0NV2HG6R3Q7E28Y9');
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'GET, HEAD, PATCH');
    assert.equal(r.body.error.code, 'method_not_allowed');
    r = await w.api('DELETE', '/v1/links/lnk_01JZ4TDK6A0NV2HG6R3Q7E28Y9/stats');
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'GET, HEAD');
    const deep = '{"metadata":' + '{"a":'.repeat(300) + '1' + '}'.repeat(300) + '}';
    r = await w.api('POST', '/v1/links', { raw: deep, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400);
    // Without Content-Length (a chunked stream), the limit holds too.
    const chunked = await new Promise((resolve, reject) => {
      const u = new URL(`${w.url}/v1/links`);
      const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: false,
        headers: { 'content-type': 'application/json', 'x-incarts-api-key': w.key, 'transfer-encoding': 'chunked' } }, (res) => {
        let text = '';
        res.on('data', (d) => { text += d; });
        res.on('end', () => resolve({ status: res.statusCode, text }));
      });
      req.on('error', (e) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
      for (let i = 0; i < 40; i++) req.write('x'.repeat(4096));
      req.end();
    });
    assert.equal(chunked.status, 413);
    assert.equal(JSON.parse(chunked.text).error.code, 'payload_too_large');
    r = await w.api('GET', `/v1/links?projectId=${'p'.repeat(5000)}`);
    assert.equal(r.status, 414);
    const many = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`x-h${i}`, 'v']));
    r = await w.api('GET', '/v1/links', { headers: many });
    assert.equal(r.status, 431);
  });
});

describe('redirect safety', () => {
  it('a link can never redirect to this service; a project allow-list is enforced', async () => {
    const own = new URL(w.url);
    for (const field of ['customUrl', 'fallbackUrl']) {
      const body = { projectId: 'proj_123', name: 'loop', retailer: 'custom', intent: 'custom_url', customUrl: 'https://brand.example/' };
      body[field] = `http://${own.host}/abc2345`;
      const r = await w.api('POST', '/v1/links', { body });
      assert.equal(r.status, 422, r.text);
      assert.equal(r.body.error.code, 'unprocessable');
      assert.deepEqual(r.body.error.details.map((d) => [d.key, d.code]), [[field, 'redirect_loop']]);
    }
    const key = await w.newKey({ projects: ['proj_locked'] });
    const base = { projectId: 'proj_locked', name: 'x', retailer: 'custom', intent: 'custom_url' };
    let r = await w.api('POST', '/v1/links', { body: { ...base, customUrl: 'https://evil.example/' }, key });
    assert.equal(r.status, 422, r.text);
    assert.deepEqual(r.body.error.details.map((d) => [d.key, d.code]), [['customUrl', 'host_not_allowed']]);
    r = await w.api('POST', '/v1/links', { body: { ...base, customUrl: 'https://shop.brand.example/p' }, key });
    assert.equal(r.status, 201, r.text);
    // Patching it to another host is refused and changes nothing.
    const p = await w.api('PATCH', `/v1/links/${r.body.data.id}`, { body: { customUrl: 'https://evil.example/' }, key });
    assert.equal(p.status, 422, p.text);
    assert.equal(p.body.error.details[0].code, 'host_not_allowed');
    const v = await w.visit(`/${r.body.data.shortId}`);
    assert.equal(v.headers.get('location'), 'https://shop.brand.example/p');
  });
});

describe('keys', () => {
  it('a revoked key gets 401 at once', async () => {
    const key = await w.newKey();
    assert.equal((await w.api('GET', '/v1/links?projectId=proj_123&limit=1', { key })).status, 200);
    assert.equal(await revokeLocalKey(w.url, key), true);
    const r = await w.api('GET', '/v1/links?projectId=proj_123&limit=1', { key });
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, 'unauthorized');
  });

  it('rate limits a key with 429 and Retry-After, without affecting other keys', async () => {
    const key = await w.newKey({ scopes: ['links:read'] });
    let limited;
    for (let i = 0; i < 400 && !limited; i += 20) {
      const batch = await Promise.all(Array.from({ length: 20 }, () => w.api('GET', '/v1/links/lnk_01JZ4TDK6A0NV2HG6R3Q7E28Y9', { key })));
      limited = batch.find((r) => r.status === 429);
      for (const r of batch) assert.ok(r.status === 404 || r.status === 429, String(r.status));
    }
    assert.ok(limited, 'the limit was reached');
    assert.equal(limited.body.error.code, 'rate_limited');
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    assert.equal((await w.api('GET', '/v1/links/lnk_01JZ4TDK6A0NV2HG6R3Q7E28Y9')).status, 404, 'other keys are not limited');
  });
});
