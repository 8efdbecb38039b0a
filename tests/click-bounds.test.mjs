// What a visitor controls cannot make a link lose clicks or grow its stats without bound:
// referrer hosts are bounded before they are stored, batches stay within the storage's limits,
// and every breakdown answers its top values plus one `(other)` bucket.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useWorker, walmartCart } from './harness.mjs';

const w = useWorker();

const ANDROID = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.122 Mobile Safari/537.36';

async function newLink() {
  const r = await w.api('POST', '/v1/links', { body: walmartCart() });
  assert.equal(r.status, 201, r.text);
  return r.body.data;
}

/** Polls the stats until `done(data)` holds (clicks are recorded after the response). */
async function statsWhen(id, done) {
  const deadline = Date.now() + 20_000;
  let last;
  while (Date.now() < deadline) {
    const r = await w.api('GET', `/v1/links/${id}/stats`);
    assert.equal(r.status, 200, r.text.slice(0, 500));
    last = r;
    if (done(r.body.data)) return r;
    await new Promise((res) => setTimeout(res, 250));
  }
  assert.fail(`stats never settled: clicks ${last?.body?.data?.clicks}, ${last?.text.length} bytes`);
}

/** Runs `jobs` (functions returning promises) with at most `n` in flight. */
async function pooled(jobs, n = 32) {
  const out = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]();
    }
  }));
  return out;
}

const tap = (link, headers) => async () => {
  const r = await w.visit(`/${link.shortId}`, { headers: { 'user-agent': ANDROID, ...headers } });
  await r.arrayBuffer();
  return r.status;
};

const count = (list, value) => (list.find((x) => x.value === value) ?? { clicks: 0 }).clicks;

describe('oversized referrers', () => {
  it('a flood of 100 KB referrer hosts beside 100 ordinary visits: every visit counted, the flood as (invalid)', async () => {
    const link = await newLink();
    const jobs = [];
    // One visitor (same IP and User-Agent): every visit lands on the same click shard, in the
    // same batches as the flood.
    const ip = { 'x-real-ip': '203.0.113.50' };
    for (let i = 0; i < 100; i++) {
      jobs.push(tap(link, { ...ip, referer: 'https://l.instagram.com/' }));
      if (i < 40) jobs.push(tap(link, { ...ip, referer: `https://a${i}-${'a'.repeat(100_000)}.com/` }));
    }
    // Longer than DNS allows (254 characters), and not a host at all.
    jobs.push(tap(link, { ...ip, referer: `https://${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(71)}/` }));
    jobs.push(tap(link, { ...ip, referer: 'https://exa_mple!.com/' }));
    const statuses = await pooled(jobs);
    assert.deepEqual(new Set(statuses), new Set([302]));
    const { body: { data: d } } = await statsWhen(link.id, (x) => x.clicks >= 142);
    await new Promise((res) => setTimeout(res, 500));
    const again = (await w.api('GET', `/v1/links/${link.id}/stats`)).body.data;
    assert.equal(again.clicks, 142);
    assert.equal(d.clicks, 142);
    assert.equal(count(d.breakdowns.referrer, 'l.instagram.com'), 100);
    assert.equal(count(d.breakdowns.referrer, '(invalid)'), 42);
    assert.equal(d.breakdowns.referrer.length, 2, JSON.stringify(d.breakdowns.referrer).slice(0, 500));
  });

  it('a host of exactly 253 characters is kept', async () => {
    const link = await newLink();
    const host = `${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(61)}.${'e'.repeat(61)}.example`;
    assert.equal(host.length, 253);
    assert.equal(await tap(link, { referer: `https://${host.toUpperCase()}:8443/path?q=1` })(), 302);
    const { body: { data: d } } = await statsWhen(link.id, (x) => x.clicks >= 1);
    assert.deepEqual(d.breakdowns.referrer, [{ value: host, clicks: 1 }]);
  });
});

describe('breakdowns are bounded', () => {
  it('1,000 distinct referrers: the top 50 values and one (other) bucket, totals adding up, under 64 KiB', async () => {
    const link = await newLink();
    const jobs = [];
    // Five popular hosts, each from its own visitor.
    const popular = [20, 15, 10, 8, 6];
    popular.forEach((n, p) => {
      for (let i = 0; i < n; i++) jobs.push(tap(link, { 'x-real-ip': `198.51.100.${p}`, referer: `https://pop-${p}.example/x` }));
    });
    // Twenty direct visits, and a thousand hosts seen once each (long but valid DNS names,
    // with a long path that is not stored).
    for (let i = 0; i < 20; i++) jobs.push(tap(link, { 'x-real-ip': '198.51.100.9' }));
    const single = (i) => `s-${String(i).padStart(4, '0')}-${'q'.repeat(56)}.${'r'.repeat(60)}.${'s'.repeat(60)}.example`;
    for (let i = 0; i < 1000; i++) {
      jobs.push(tap(link, { 'x-real-ip': `10.9.${i >> 8}.${i & 255}`, referer: `https://${single(i)}/${'p'.repeat(4000)}` }));
    }
    const total = jobs.length;
    const statuses = await pooled(jobs);
    assert.deepEqual(new Set(statuses), new Set([302]));
    const r = await statsWhen(link.id, (x) => x.clicks >= total);
    assert.ok(r.text.length < 64 * 1024, `answer of ${r.text.length} bytes`);
    const d = r.body.data;
    assert.equal(d.clicks, total);
    const ref = d.breakdowns.referrer;
    assert.equal(ref.length, 51, 'fifty values and (other)');
    assert.deepEqual(ref.slice(0, 6), [
      { value: '(none)', clicks: 20 },
      { value: 'pop-0.example', clicks: 20 },
      { value: 'pop-1.example', clicks: 15 },
      { value: 'pop-2.example', clicks: 10 },
      { value: 'pop-3.example', clicks: 8 },
      { value: 'pop-4.example', clicks: 6 },
    ]);
    // Ties in clicks are ordered by value.
    const singles = Array.from({ length: 44 }, (_, i) => ({ value: single(i), clicks: 1 }));
    assert.deepEqual(ref.slice(6, 50), singles);
    assert.deepEqual(ref[50], { value: '(other)', clicks: 1000 - 44 });
    assert.equal(ref.reduce((a, b) => a + b.clicks, 0), d.clicks);
    // The other breakdowns are small and unchanged: no (other) bucket.
    assert.deepEqual(d.breakdowns.device, [{ value: 'mobile', clicks: total }]);
    assert.deepEqual(d.breakdowns.country.map((x) => x.clicks), [total]);
  });
});
