// A link may never send shoppers back to this service: every host the worker answers on is
// refused as a customUrl or fallbackUrl, however it is spelled. The worker runs with a public
// base URL and extra routed hosts, as a deployed one would.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { useWorker } from './harness.mjs';

const w = useWorker({
  vars: {
    PUBLIC_BASE_URL: 'https://go.in2carts.example',
    SERVICE_HOSTS: 'in2carts.example, кратко.example ,[2001:db8::7]',
  },
});

const custom = (extra) => ({ projectId: 'proj_123', name: 'loop', retailer: 'custom', intent: 'custom_url', customUrl: 'https://brand.example/p', ...extra });

/** POST /v1/links with a Host header of our choosing (fetch would not send one). */
function createWithHost(host, body) {
  const u = new URL(w.url);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: u.hostname, port: u.port, path: '/v1/links', method: 'POST',
      headers: { host, 'content-type': 'application/json', 'x-incarts-api-key': w.key },
    }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function refused(field, url, host) {
  const body = custom({ [field]: url });
  const r = host ? await createWithHost(host, body) : await w.api('POST', '/v1/links', { body });
  assert.equal(r.status, 422, `${field} ${url}: ${r.text}`);
  assert.deepEqual(r.body.error.details.map((d) => [d.key, d.code]), [[field, 'redirect_loop']], `${field} ${url}`);
}

describe('destinations that are this service', () => {
  it('loopback and unspecified addresses in every spelling', async () => {
    const port = new URL(w.url).port;
    for (const url of [
      `http://127.0.0.1:${port}/abc2345`,
      'http://localhost/abc2345',
      'http://LOCALHOST.:8787/x',
      'http://shop.localhost/',
      'http://[::1]/x',
      'http://[0:0:0:0:0:0:0:1]:8787/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::ffff:7f00:1]/',
      'http://[::]/',
      'http://0.0.0.0/',
      'http://0/',
      'http://127.1.2.3/',
      'http://127.1/',
      'http://2130706433/',
      'http://0x7f.0.0.1/',
      'http://0x7f000001/',
      'http://0177.0.0.1/',
      'http://１２７．０．０．１/',
    ]) {
      for (const field of ['customUrl', 'fallbackUrl']) await refused(field, url);
    }
  });

  it('the public base URL, the routed hosts, this worker on workers.dev, and the Host a request came with', async () => {
    for (const url of [
      'https://go.in2carts.example/abc2345',
      'https://GO.In2Carts.example./abc2345',
      'https://in2carts.example/',
      'https://www.in2carts.example/x',
      'https://КРАТКО.example/abc2345',
      'https://xn--80atbqhn.example/',
      'http://[2001:db8:0:0::7]/',
      'https://in2carts-edge.acme.workers.dev/abc2345',
      'https://in2carts-edge-staging.acme.workers.dev/',
      'https://1a2b3c4d-in2carts-edge.acme.workers.dev/',
    ]) {
      await refused('customUrl', url);
      await refused('fallbackUrl', url);
    }
    // A request whose Host header names another host: that host is this service too, and
    // so is the address it really reached.
    await refused('customUrl', 'https://spoofed.example/abc2345', 'spoofed.example');
    await refused('fallbackUrl', `http://127.0.0.1:${new URL(w.url).port}/abc2345`, 'spoofed.example');
    const other = await createWithHost('spoofed.example', custom({ customUrl: 'https://brand.example/x' }));
    assert.equal(other.status, 201, other.text);
  });

  it('other hosts are fine, and a change to one of ours is refused and changes nothing', async () => {
    const ok = await w.api('POST', '/v1/links', {
      body: custom({ customUrl: 'https://other-worker.acme.workers.dev/p', fallbackUrl: 'https://in2carts.example.brand.example/' }),
    });
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.body.data.shortLink, `https://go.in2carts.example/${ok.body.data.shortId}`);
    for (const customUrl of ['http://[::1]:8787/x', 'https://in2carts-edge.acme.workers.dev/']) {
      const p = await w.api('PATCH', `/v1/links/${ok.body.data.id}`, { body: { customUrl } });
      assert.equal(p.status, 422, p.text);
      assert.deepEqual(p.body.error.details.map((d) => [d.key, d.code]), [['customUrl', 'redirect_loop']]);
    }
    const v = await w.visit(`/${ok.body.data.shortId}`);
    assert.equal(v.status, 302);
    assert.equal(v.headers.get('location'), 'https://other-worker.acme.workers.dev/p');
  });
});
