// Concurrent writes to one link: QR code creates are serialised by the link's home object, so
// none is lost, no two share a scan marker, the cap holds, and nothing is left behind.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useWorker, walmartCart, pathOf } from './harness.mjs';

const w = useWorker();

async function newLink() {
  const r = await w.api('POST', '/v1/links', { body: walmartCart() });
  assert.equal(r.status, 201, r.text);
  return r.body.data;
}

function createQr(linkId, identifier) {
  return w.api('POST', `/v1/links/${linkId}/qr-codes`, {
    body: { identifier, name: `Code ${identifier}` },
  });
}

describe('concurrent QR code creates', () => {
  it('8 at once: all created, all listed, each with its own marker', async () => {
    const link = await newLink();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => createQr(link.id, `shelf-${i}`)));
    assert.deepEqual(results.map((r) => r.status), Array(8).fill(201));
    const markers = results.map((r) => new URL(r.body.data.encodedUrl).searchParams.get('qr'));
    assert.equal(new Set(markers).size, 8, `markers ${markers}`);
    assert.ok(markers.every((m) => Number(m) >= 2 && Number(m) <= 9), `markers ${markers}`);
    const list = await w.api('GET', `/v1/links/${link.id}/qr-codes`);
    assert.equal(list.status, 200);
    assert.equal(list.body.data.length, 9);
    assert.deepEqual(
      list.body.data.map((q) => q.identifier).sort(),
      ['default', ...Array.from({ length: 8 }, (_, i) => `shelf-${i}`)].sort(),
    );
  });

  it('30 at once with room for 20: exactly 20 created, distinct markers, the rest 409 limit_reached, none orphaned', async () => {
    const link = await newLink();
    // 1 default + 29 named = 30 of the 50 allowed: room for 20 more.
    for (let i = 0; i < 29; i += 1) {
      const r = await createQr(link.id, `pre-${i}`);
      assert.equal(r.status, 201, r.text);
    }
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => createQr(link.id, `race-${i}`)));
    const created = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status !== 201);
    assert.equal(created.length, 20);
    assert.equal(refused.length, 10);
    for (const r of refused) {
      assert.equal(r.status, 409);
      assert.equal(r.body.error.code, 'limit_reached');
    }
    const markers = created.map((r) => new URL(r.body.data.encodedUrl).searchParams.get('qr'));
    assert.equal(new Set(markers).size, 20);
    const list = await w.api('GET', `/v1/links/${link.id}/qr-codes`);
    assert.equal(list.body.data.length, 50);
    const listed = new Set(list.body.data.map((q) => q.id));
    for (const r of created) assert.ok(listed.has(r.body.data.id), `${r.body.data.id} listed`);
    // A refused create leaves no image behind, and every created code's scan is attributed.
    const scan = created[0].body.data;
    const img = await w.visit(`/qr/${scan.id}`);
    assert.equal(img.status, 200);
    const v = await w.visit(pathOf(scan.encodedUrl), {
      headers: { 'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148' },
    });
    assert.equal(v.status, 302);
    assert.equal(v.headers.get('location'), link.targetUrl);
  });

  it('the same identifier twice at once: one 201, one 409 duplicate_identifier', async () => {
    const link = await newLink();
    const results = await Promise.all([createQr(link.id, 'endcap'), createQr(link.id, 'endcap')]);
    assert.deepEqual(results.map((r) => r.status).sort(), [201, 409]);
    assert.equal(results.find((r) => r.status === 409).body.error.code, 'duplicate_identifier');
    const list = await w.api('GET', `/v1/links/${link.id}/qr-codes`);
    assert.deepEqual(list.body.data.map((q) => q.identifier), ['default', 'endcap']);
  });

  it('a PATCH racing QR creates keeps every code and its marker in the redirect', async () => {
    const link = await newLink();
    const [a, , b] = await Promise.all([
      createQr(link.id, 'aisle-1'),
      w.api('PATCH', `/v1/links/${link.id}`, { body: { name: 'Renamed' } }),
      createQr(link.id, 'aisle-2'),
    ]);
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    const list = await w.api('GET', `/v1/links/${link.id}/qr-codes`);
    assert.deepEqual(list.body.data.map((q) => q.identifier).sort(), ['aisle-1', 'aisle-2', 'default']);
    // A further edit after the race still keeps both markers.
    const p = await w.api('PATCH', `/v1/links/${link.id}`, { body: { publicName: 'Again' } });
    assert.equal(p.status, 200, p.text);
    const stats0 = await w.api('GET', `/v1/links/${link.id}/stats`);
    assert.equal(stats0.status, 200);
    for (const q of [a.body.data, b.body.data]) {
      const v = await w.visit(pathOf(q.encodedUrl), { headers: { 'user-agent': 'Mozilla/5.0 (Linux; Android 14) Mobile' } });
      assert.equal(v.status, 302);
    }
  });
});
