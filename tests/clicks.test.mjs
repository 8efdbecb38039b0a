// Every visit counted in the link's Durable Objects, bots and previews told apart,
// and the stats API.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useWorker, walmartCart, pathOf } from './harness.mjs';
import { devVars } from '../scripts/lib.mjs';

const w = useWorker();

const UA = {
  iphoneInstagram: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 334.0.4.32.98 (iPhone15,3; iOS 17_5; en_US; en; scale=3.00; 1290x2796; 606458627)',
  ipad: 'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  android: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.122 Mobile Safari/537.36',
  facebook: 'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
  slack: 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
  whatsapp: 'WhatsApp/2.23.20.0 A',
};

async function newLink() {
  const r = await w.api('POST', '/v1/links', { body: walmartCart() });
  assert.equal(r.status, 201, r.text);
  return r.body.data;
}

/** Polls the stats until `done(data)` holds (events are recorded after the response). */
async function statsWhen(id, done, query = '') {
  const deadline = Date.now() + 20_000;
  let last;
  while (Date.now() < deadline) {
    const r = await w.api('GET', `/v1/links/${id}/stats${query}`);
    assert.equal(r.status, 200, r.text);
    last = r.body.data;
    if (done(last)) return last;
    await new Promise((res) => setTimeout(res, 200));
  }
  assert.fail(`stats never settled: ${JSON.stringify(last)}`);
}

const count = (list, value) => (list.find((x) => x.value === value) ?? { clicks: 0 }).clicks;

describe('click recording and stats', () => {
  it('counts taps, scans, bots and ignores HEAD, exactly', async () => {
    const link = await newLink();
    const path = `/${link.shortId}`;
    const visits = [];
    for (let i = 0; i < 10; i++) {
      visits.push(w.visit(path, { headers: { 'user-agent': UA.iphoneInstagram, referer: 'https://l.instagram.com/?u=https%3A%2F%2Fx&e=AT0' } }));
    }
    for (const ua of [UA.facebook, UA.slack, UA.whatsapp]) visits.push(w.visit(path, { headers: { 'user-agent': ua } }));
    for (let i = 0; i < 2; i++) visits.push(w.visit(path, { method: 'HEAD', headers: { 'user-agent': UA.android } }));
    for (let i = 0; i < 4; i++) visits.push(w.visit(pathOf(link.qrCode.encodedUrl), { headers: { 'user-agent': UA.ipad } }));
    const responses = await Promise.all(visits);
    for (const r of responses) {
      assert.equal(r.status, 302);
      assert.equal(r.headers.get('location'), link.targetUrl);
    }
    const s = await statsWhen(link.id, (d) => d.clicks + d.botClicks >= 17);
    // Give stray late events (there must be none) a moment to show up.
    await new Promise((res) => setTimeout(res, 500));
    const d = (await w.api('GET', `/v1/links/${link.id}/stats`)).body.data;
    assert.deepEqual(d, s);
    assert.equal(d.clicks, 14);
    assert.equal(d.qrScans, 4);
    assert.equal(d.botClicks, 3);
    assert.equal(count(d.breakdowns.device, 'mobile'), 10);
    assert.equal(count(d.breakdowns.device, 'tablet'), 4);
    assert.equal(count(d.breakdowns.referrer, 'l.instagram.com'), 10);
    assert.equal(count(d.breakdowns.referrer, '(none)'), 4);
    assert.equal(count(d.breakdowns.browser, 'instagram'), 10);
    assert.equal(count(d.breakdowns.os, 'ios'), 14);
    assert.deepEqual(d.breakdowns.qrCode, [{ value: 'default', qrId: link.qrCode.id, clicks: 4 }]);
    for (const [name, list] of Object.entries(d.breakdowns)) {
      if (name === 'qrCode') continue;
      for (const item of list) assert.deepEqual(Object.keys(item).sort(), ['clicks', 'value'], name);
    }
    assert.equal(d.series.reduce((a, b) => a + b.clicks, 0), d.clicks);
    assert.equal(d.uniqueVisitors, 2, 'one phone and one tablet, same IP');
    for (const list of Object.values(d.breakdowns)) {
      for (let i = 1; i < list.length; i++) assert.ok(list[i - 1].clicks >= list[i].clicks, 'sorted by clicks');
    }
    assert.equal(d.breakdowns.country.reduce((a, b) => a + b.clicks, 0), 14);

    // Day granularity sums to the same; a range before the link has nothing.
    const day = (await w.api('GET', `/v1/links/${link.id}/stats?granularity=day`)).body.data;
    assert.equal(day.series.reduce((a, b) => a + b.clicks, 0), 14);
    const before = (await w.api('GET', `/v1/links/${link.id}/stats?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z`)).body.data;
    assert.equal(before.clicks, 0);
    assert.equal(before.series.length, 24);

    // Roll up as the hourly alarm would, with a cutoff past now (visitors into hourly unique
    // counts, batch ids forgotten): the answer does not change.
    const res = await fetch(`${w.url}/_admin/links/${link.id}/rollup?cutoff=${Date.now() + 7_200_000}`, {
      method: 'POST', headers: { authorization: `Bearer ${devVars().ADMIN_TOKEN}` },
    });
    assert.equal(res.status, 200, await res.text());
    const after = (await w.api('GET', `/v1/links/${link.id}/stats`)).body.data;
    assert.deepEqual(after, d);
  });

  it('the country comes from CF-IPCountry, else from request.cf', async () => {
    const link = await newLink();
    const path = `/${link.shortId}`;
    const tap = (country) => w.visit(path, {
      headers: { 'user-agent': UA.android, ...(country === undefined ? {} : { 'cf-ipcountry': country }) },
    });
    // Antarctica: no machine running this test is there, so the runtime's own country differs.
    const responses = await Promise.all([
      tap('AQ'), tap('AQ'), tap('AQ'), tap('<script>'), tap('Antarctica'), tap(undefined),
    ]);
    for (const r of responses) assert.equal(r.status, 302);
    const d = await statsWhen(link.id, (x) => x.clicks >= 6);
    assert.equal(d.clicks, 6);
    assert.equal(count(d.breakdowns.country, 'AQ'), 3);
    // A malformed header is not trusted: those taps take the runtime's country, like the
    // tap without the header.
    const others = d.breakdowns.country.filter((c) => c.value !== 'AQ');
    assert.equal(others.length, 1, JSON.stringify(d.breakdowns.country));
    assert.equal(others[0].clicks, 3);
    assert.match(others[0].value, /^([A-Z0-9]{2}|unknown)$/);
  });

  it('a burst of concurrent visits: every one a 302, every one counted', async () => {
    const link = await newLink();
    const N = 300;
    const responses = await Promise.all(Array.from({ length: N }, (_, i) =>
      w.visit(`/${link.shortId}`, { headers: { 'user-agent': UA.android, 'x-real-ip': `10.0.${i >> 8}.${i & 255}` } })));
    assert.equal(responses.filter((r) => r.status === 302).length, N);
    const d = await statsWhen(link.id, (x) => x.clicks >= N);
    await new Promise((res) => setTimeout(res, 500));
    const again = (await w.api('GET', `/v1/links/${link.id}/stats`)).body.data;
    assert.equal(again.clicks, N);
    assert.equal(d.clicks, N);
    assert.equal(again.botClicks, 0);
  });

  it('403 without stats:read, 404 for another project; 400 on a bad range', async () => {
    const link = await newLink();
    const noStats = await w.newKey({ scopes: ['links:read'] });
    let r = await w.api('GET', `/v1/links/${link.id}/stats`, { key: noStats });
    assert.equal(r.status, 403);
    const other = await w.newKey({ projects: ['proj_other'], scopes: ['stats:read'] });
    r = await w.api('GET', `/v1/links/${link.id}/stats`, { key: other });
    assert.equal(r.status, 404);
    r = await w.api('GET', `/v1/links/${link.id}/stats?from=yesterday&granularity=week`);
    assert.equal(r.status, 400);
    assert.deepEqual(r.body.error.details.map((x) => x.key), ['from', 'granularity']);
    r = await w.api('GET', `/v1/links/${link.id}/stats?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`);
    assert.equal(r.status, 400);
    assert.equal(r.body.error.details[0].key, 'to');
    r = await w.api('GET', '/v1/links/lnk_01JZ4TDK6A0NV2HG6R3Q7E28Y9/stats');
    assert.equal(r.status, 404);
  });
});

/** A `bat_` ULID made now (Crockford base32: 10 characters of time, 16 of randomness). */
function batchId() {
  const A = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let t = Date.now();
  let time = '';
  for (let i = 0; i < 10; i++) { time = A[t % 32] + time; t = Math.floor(t / 32); }
  let rand = '';
  for (let i = 0; i < 16; i++) rand += A[Math.floor(Math.random() * 32)];
  return `bat_${time}${rand}`;
}

describe('click batches as a shard receives them', () => {
  const deliver = (linkId, body, shard = 0) =>
    fetch(`${w.url}/_admin/links/${linkId}/clicks/${shard}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${devVars().ADMIN_TOKEN}` },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('a retried delivery counts once; a malformed batch stores nothing', async () => {
    const link = await newLink();
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const day = Math.floor(hour / 86_400_000);
    const batch = [
      batchId(),
      [
        [hour, 'US', 'mobile', 'ios', 'safari', 'l.instagram.com', '', 0, 3],
        [hour, 'CA', 'mobile', 'android', 'chrome', '', link.qrCode.id, 0, 2],
        [hour, 'US', 'bot', 'other', 'other', '', '', 1, 4],
      ],
      [[day, 'visitor-a', hour], [day, 'visitor-b', hour]],
    ];
    for (let i = 0; i < 2; i++) {
      const r = await deliver(link.id, batch);
      assert.equal(r.status, 200, await r.clone().text());
      assert.deepEqual(await r.json(), { data: { clicks: 9 } });
    }
    const expected = (d, clicks, unique) => {
      assert.equal(d.clicks, clicks);
      assert.equal(d.botClicks, 4);
      assert.equal(d.qrScans, 2);
      assert.equal(d.uniqueVisitors, unique);
      assert.equal(count(d.breakdowns.country, 'US'), clicks - 2);
      assert.equal(count(d.breakdowns.os, 'android'), 2);
      assert.deepEqual(d.breakdowns.qrCode, [{ value: 'default', qrId: link.qrCode.id, clicks: 2 }]);
      assert.equal(d.series.reduce((a, b) => a + b.clicks, 0), clicks);
    };
    let d = (await w.api('GET', `/v1/links/${link.id}/stats`)).body.data;
    expected(d, 5, 2);

    // Refused whole, with the reason; nothing of it is stored.
    const bad = structuredClone(batch);
    bad[0] = batchId();
    bad[1][0][0] = hour + 1;
    let r = await deliver(link.id, bad);
    assert.equal(r.status, 400);
    const err = (await r.json()).error;
    assert.equal(err.code, 'invalid_batch');
    assert.match(err.message, /count 0: hour is not a whole hour/);
    for (const body of ['[]', '{"a":1}', 'not json', JSON.stringify([batchId(), [[hour, 'US', 'mobile', 'ios', 'safari', '', '', 0, 0]], []])]) {
      r = await deliver(link.id, body);
      assert.equal(r.status, 400, body);
      await r.arrayBuffer();
    }
    r = await deliver(link.id, batch, 4);
    assert.equal(r.status, 400);
    assert.equal((await r.json()).error.details[0].key, 'shard');
    d = (await w.api('GET', `/v1/links/${link.id}/stats`)).body.data;
    expected(d, 5, 2);

    // A new batch adds to the same rows; a visitor seen that day is not counted again.
    r = await deliver(link.id, [batchId(), [[hour, 'US', 'mobile', 'ios', 'safari', 'l.instagram.com', '', 0, 1]], [[day, 'visitor-a', hour]]]);
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    d = (await w.api('GET', `/v1/links/${link.id}/stats`)).body.data;
    expected(d, 6, 2);
  });
});
