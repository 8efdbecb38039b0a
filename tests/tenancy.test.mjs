// What a key may see and change: another project's link is a 404 exactly like a missing one,
// a write-only key learns nothing from a PATCH, and an empty patch changes nothing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useWorker, walmartCart } from './harness.mjs';

const w = useWorker();

describe('tenant isolation and write-only keys', () => {
  it("a link of another project answers 404, as a link that does not exist, and never names the project", async () => {
    const theirs = await w.newKey({ projects: ['proj_other'] });
    const created = await w.api('POST', '/v1/links', { key: theirs, body: walmartCart({ projectId: 'proj_other' }) });
    assert.equal(created.status, 201, created.text);
    const id = created.body.data.id;
    const missing = 'lnk_01J0000000000000000000000Z';
    for (const [method, suffix, body] of [
      ['GET', '', undefined], ['PATCH', '', { name: 'x' }], ['GET', '/stats', undefined],
      ['GET', '/qr-codes', undefined], ['POST', '/qr-codes', { identifier: 'abc', name: 'x' }],
    ]) {
      const a = await w.api(method, `/v1/links/${id}${suffix}`, { body });
      const b = await w.api(method, `/v1/links/${missing}${suffix}`, { body });
      assert.equal(a.status, 404, `${method} ${suffix}: ${a.text}`);
      assert.equal(b.status, 404, `${method} ${suffix}: ${b.text}`);
      assert.equal(a.body.error.code, 'not_found');
      assert.equal(a.body.error.message, b.body.error.message);
      assert.ok(!a.text.includes('proj_other'), a.text);
    }
    const forbidden = await w.api('POST', '/v1/links', { body: walmartCart({ projectId: 'proj_other' }) });
    assert.equal(forbidden.status, 403);
    assert.ok(!forbidden.text.includes('proj_other'), forbidden.text);
    // The owner still sees it.
    const own = await w.api('GET', `/v1/links/${id}`, { key: theirs });
    assert.equal(own.status, 200);
  });

  it('an empty patch changes nothing, and a key without links:read is answered only id and updatedAt', async () => {
    const created = await w.api('POST', '/v1/links', { body: walmartCart() });
    const link = created.body.data;
    const writeOnly = await w.newKey({ scopes: ['links:write', 'retailers:walmart'] });
    const empty = await w.api('PATCH', `/v1/links/${link.id}`, { key: writeOnly, body: {} });
    assert.equal(empty.status, 200, empty.text);
    assert.deepEqual(empty.body.data, { id: link.id, updatedAt: link.createdAt });
    const after = await w.api('GET', `/v1/links/${link.id}`);
    assert.equal(after.body.data.updatedAt, link.createdAt);
    assert.equal(after.body.data.targetUrl, link.targetUrl);
    const renamed = await w.api('PATCH', `/v1/links/${link.id}`, { key: writeOnly, body: { name: 'Renamed' } });
    assert.equal(renamed.status, 200, renamed.text);
    assert.deepEqual(Object.keys(renamed.body.data).sort(), ['id', 'updatedAt']);
    assert.ok(!renamed.text.includes('walmart.com'), renamed.text);
    const read = await w.api('GET', `/v1/links/${link.id}`);
    assert.equal(read.body.data.name, 'Renamed');
    assert.equal(read.body.data.updatedAt, renamed.body.data.updatedAt);
    // With links:read the whole link comes back.
    const full = await w.api('PATCH', `/v1/links/${link.id}`, { body: {} });
    assert.equal(full.body.data.name, 'Renamed');
    assert.equal(full.body.data.targetUrl, link.targetUrl);
  });
});
