// QR images that scan (decoded with zbarimg, a decoder nobody here wrote), caching,
// named QR codes and scan attribution.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useWorker, walmartCart, pathOf } from './harness.mjs';

const w = useWorker();
const dir = mkdtempSync(join(tmpdir(), 'qr-test-'));
let n = 0;

/** Decodes an image with zbarimg; SVGs are rasterized with rsvg-convert first. */
function decode(bytes, ext) {
  let file = join(dir, `img${n++}.${ext}`);
  writeFileSync(file, bytes);
  if (ext === 'svg') {
    const png = file.replace(/\.svg$/, '.png');
    execFileSync('rsvg-convert', ['-o', png, file]);
    file = png;
  }
  const out = execFileSync('zbarimg', ['--quiet', '--raw', '-Sdisable', '-Sqrcode.enable', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out.replace(/\n$/, '');
}

async function image(path, headers = {}) {
  const res = await w.visit(path, { headers });
  return { res, bytes: Buffer.from(await res.arrayBuffer()) };
}

let link;
async function ensureLink() {
  if (link) return;
  const r = await w.api('POST', '/v1/links', { body: walmartCart() });
  assert.equal(r.status, 201, r.text);
  link = r.body.data;
}

describe('QR images', () => {
  before(ensureLink);
  it('the default imageUrl is a PNG that decodes to its encodedUrl at every size and EC level', async () => {
    for (const size of [128, 512, 1024]) {
      for (const ec of ['L', 'M', 'Q', 'H']) {
        const { res, bytes } = await image(`${pathOf(link.qrCode.imageUrl)}?size=${size}&ec=${ec}`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('content-type'), 'image/png');
        assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47]);
        assert.equal(bytes.readUInt32BE(16), size, 'PNG width');
        assert.equal(bytes.readUInt32BE(20), size, 'PNG height');
        assert.equal(decode(bytes, 'png'), link.qrCode.encodedUrl, `size ${size} ec ${ec}`);
      }
    }
    const { bytes } = await image(pathOf(link.qrCode.imageUrl));
    assert.equal(bytes.readUInt32BE(16), 512, 'default size');
    assert.equal(decode(bytes, 'png'), link.qrCode.encodedUrl);
  });

  it('the SVG with custom colours decodes too', async () => {
    const { res, bytes } = await image(`${pathOf(link.qrCode.imageUrl)}?format=svg&fg=1a237e&bg=fffde7&size=400`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/svg+xml');
    const text = bytes.toString('utf8');
    assert.match(text, /^<svg/);
    assert.match(text, /#1a237e/);
    assert.match(text, /#fffde7/);
    assert.equal(decode(bytes, 'svg'), link.qrCode.encodedUrl);
  });

  it('has a strong ETag, answers If-None-Match with 304, and caches renders', async () => {
    const path = `${pathOf(link.qrCode.imageUrl)}?size=300`;
    const first = await image(path);
    const etag = first.res.headers.get('etag');
    assert.match(etag, /^"[^"]+"$/);
    assert.match(first.res.headers.get('cache-control'), /public.*max-age=\d{6,}/);
    const second = await image(path);
    assert.equal(second.res.headers.get('etag'), etag);
    assert.deepEqual(second.bytes, first.bytes);
    assert.equal(second.res.headers.get('x-qr-cache'), 'hit');
    const cond = await image(path, { 'if-none-match': etag });
    assert.equal(cond.res.status, 304);
    assert.equal(cond.bytes.length, 0);
    const other = await image(`${pathOf(link.qrCode.imageUrl)}?size=301`);
    assert.notEqual(other.res.headers.get('etag'), etag);
    const stale = await image(path, { 'if-none-match': '"something-else"' });
    assert.equal(stale.res.status, 200);
  });

  it('refuses unreadable colours and absurd options with a 400 that says why', async () => {
    const base = pathOf(link.qrCode.imageUrl);
    const cases = [
      ['size=10', 'size'], ['size=100000', 'size'], ['size=abc', 'size'], ['margin=99', 'margin'],
      ['ec=X', 'ec'], ['fg=ffffff&bg=ffffff', 'fg'], ['fg=eeeeee', 'fg'], ['fg=ffffff&bg=000000', 'fg'],
      ['fg=zzz', 'fg'], ['bg=12345', 'bg'], ['format=gif', 'format'],
    ];
    for (const [q, key] of cases) {
      const r = await w.api('GET', `${base}?${q}`, { key: '' });
      assert.equal(r.status, 400, q);
      assert.equal(r.body.error.details[0].key, key, q);
      assert.ok(r.body.error.details[0].message.length > 10, q);
    }
  });

  it('refuses a too-long option at its key instead of cutting it into a valid one', async () => {
    const base = pathOf(link.qrCode.imageUrl);
    const pad = '0'.repeat(28);
    for (const [q, key] of [
      [`size=${pad}0512junk`, 'size'], [`margin=${pad}0004junk`, 'margin'], [`ec=${'M'.repeat(40)}`, 'ec'],
      [`fg=${'0'.repeat(40)}`, 'fg'], [`bg=ffffff${'%20'.repeat(40)}`, 'bg'], [`format=png${'x'.repeat(40)}`, 'format'],
      ['size=512junk', 'size'],
    ]) {
      const r = await w.api('GET', `${base}?${q}`, { key: '' });
      assert.equal(r.status, 400, q);
      assert.equal(r.body.error.code, 'validation_failed', q);
      assert.deepEqual(r.body.error.details.map((d) => d.key), [key], q);
    }
    // Every problem at once, in key order; a valid image still renders with the padded value
    // that fits (32 characters).
    const r = await w.api('GET', `${base}?fg=${'1'.repeat(33)}&size=${pad}0512junk&format=gif`, { key: '' });
    assert.deepEqual(r.body.error.details.map((d) => d.key), ['format', 'size', 'fg']);
    const { res, bytes } = await image(`${base}?size=${'0'.repeat(29)}256`);
    assert.equal(res.status, 200);
    assert.equal(bytes.readUInt32BE(16), 256);
  });

  it('404 for unknown QR ids', async () => {
    for (const id of ['qr_01JZ4TDK6A0NV2HG6R3Q7E28Y9', 'qr_default', 'nope']) {
      const r = await w.api('GET', `/qr/${id}`, { key: '' });
      assert.equal(r.status, 404, id);
    }
  });
});

describe('named QR codes and attribution', () => {
  before(ensureLink);
  it('403 without qr-codes:write, 201 with it, listed afterwards, each scannable and redirecting', async () => {
    const noQr = await w.newKey({ scopes: ['links:write', 'links:read', 'retailers:walmart'] });
    let r = await w.api('POST', `/v1/links/${link.id}/qr-codes`, { body: { identifier: 'shelf-tag', name: 'Shelf tag' }, key: noQr });
    assert.equal(r.status, 403);
    assert.equal((await w.api('GET', `/v1/links/${link.id}/qr-codes`, { key: noQr })).status, 403);

    const created = [];
    const bodies = [
      { identifier: 'shelf-tag', name: 'Shelf tag' },
      { identifier: 'Poster-2026', name: 'Poster', metadata: { store: 17, aisle: 'B' }, style: { size: 1024, ec: 'H', fg: '#0d47a1' } },
    ];
    for (const body of bodies) {
      r = await w.api('POST', `/v1/links/${link.id}/qr-codes`, { body });
      assert.equal(r.status, 201, r.text);
      const q = r.body.data;
      assert.match(q.id, /^qr_[0-9A-Z]{26}$/);
      assert.equal(q.linkId, link.id);
      assert.equal(q.identifier, body.identifier);
      assert.equal(q.name, body.name);
      assert.deepEqual(q.metadata, body.metadata ?? {});
      assert.equal(q.isDefault, false);
      assert.equal(q.imageUrl, `${w.url}/qr/${q.id}`);
      assert.ok(q.encodedUrl.startsWith(link.shortLink + '?'), q.encodedUrl);
      created.push(q);
    }
    assert.deepEqual(created[0].style, { size: 512, margin: 4, ec: 'M', fg: '#000000', bg: '#ffffff' });
    assert.deepEqual(created[1].style, { size: 1024, margin: 4, ec: 'H', fg: '#0d47a1', bg: '#ffffff' });
    const urls = new Set([link.qrCode.encodedUrl, ...created.map((q) => q.encodedUrl)]);
    assert.equal(urls.size, 3, 'every QR code has its own encoded URL');

    const list = await w.api('GET', `/v1/links/${link.id}/qr-codes`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.data.map((q) => q.id), [link.qrCode.id, ...created.map((q) => q.id)]);
    assert.deepEqual(list.body.data.map((q) => q.identifier), ['default', 'shelf-tag', 'Poster-2026']);
    assert.deepEqual(list.body.data.slice(1), created);
    assert.equal(list.body.nextCursor, null);

    for (const q of created) {
      const { res, bytes } = await image(pathOf(q.imageUrl));
      assert.equal(res.status, 200);
      if (q.style.size === 1024) assert.equal(bytes.readUInt32BE(16), 1024, 'saved style is the default');
      const decoded = decode(bytes, 'png');
      assert.equal(decoded, q.encodedUrl);
      const v = await w.visit(pathOf(decoded));
      assert.equal(v.status, 302);
      assert.equal(v.headers.get('location'), link.targetUrl, 'the marker never reaches the destination');
    }
  });

  it('validates named QR codes and keeps other projects out', async () => {
    const post = (body, opts = {}) => w.api('POST', `/v1/links/${link.id}/qr-codes`, { body, ...opts });
    const keys = (r) => r.body.error.details.map((d) => d.key);
    let r = await post({ identifier: 'bad-style', name: '', style: { fg: 'red', size: 5 } });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'validation_failed');
    assert.deepEqual(keys(r), ['name', 'style.size', 'style.fg']);
    r = await post({});
    assert.deepEqual(keys(r), ['identifier', 'name']);
    for (const identifier of ['ab', 'a b', 'x'.repeat(65), 'shelf_tag', 'été', 42]) {
      r = await post({ identifier, name: 'x' });
      assert.equal(r.status, 400, `${identifier}: ${r.text}`);
      assert.deepEqual(keys(r), ['identifier'], String(identifier));
    }
    for (const [body, key] of [
      [{ identifier: 'big-meta', name: 'x', metadata: { blob: 'x'.repeat(4100) } }, 'metadata'],
      [{ identifier: 'list-meta', name: 'x', metadata: [1] }, 'metadata'],
      [{ identifier: 'long-name', name: 'n'.repeat(121) }, 'name'],
      [{ identifier: 'flat-style', name: 'x', size: 256 }, 'size'],
      [{ identifier: 'odd-style', name: 'x', style: { ec: 'X' } }, 'style.ec'],
      [{ identifier: 'odd-style', name: 'x', style: { margin: 17 } }, 'style.margin'],
      [{ identifier: 'odd-style', name: 'x', style: { bg: '#12345g' } }, 'style.bg'],
      [{ identifier: 'odd-style', name: 'x', style: { shape: 'round' } }, 'style.shape'],
    ]) {
      r = await post(body);
      assert.equal(r.status, 400, `${key}: ${r.text}`);
      assert.deepEqual(keys(r), [key], key);
    }
    r = await w.api('POST', '/v1/links/lnk_01JZ4TDK6A0NV2HG6R3Q7E28Y9/qr-codes', { body: { identifier: 'nowhere', name: 'x' } });
    assert.equal(r.status, 404);
    const other = await w.newKey({ projects: ['proj_other'] });
    r = await post({ identifier: 'other-project', name: 'x' }, { key: other });
    assert.equal(r.status, 404, 'a link of another project is not found');
  });

  it('an identifier is unique within its link; "default" belongs to the default code', async () => {
    const l = await w.api('POST', '/v1/links', { body: walmartCart() });
    assert.equal(l.status, 201, l.text);
    const id = l.body.data.id;
    const post = (body) => w.api('POST', `/v1/links/${id}/qr-codes`, { body });
    const first = await post({ identifier: 'flyer', name: 'Flyer' });
    assert.equal(first.status, 201, first.text);
    for (const identifier of ['flyer', 'default']) {
      const r = await post({ identifier, name: 'Again' });
      assert.equal(r.status, 409, `${identifier}: ${r.text}`);
      assert.equal(r.body.error.code, 'duplicate_identifier');
      assert.match(r.body.error.correlationId, /^req_/);
    }
    // Another link may use the same identifier.
    const again = await w.api('POST', `/v1/links/${link.id}/qr-codes`, { body: { identifier: 'flyer', name: 'Flyer' } });
    assert.equal(again.status, 201, again.text);
    const list = await w.api('GET', `/v1/links/${id}/qr-codes`);
    assert.deepEqual(list.body.data.map((q) => q.identifier), ['default', 'flyer']);
  });

  it('a link holds at most 50 QR codes, its default one included', async () => {
    const key = await w.newKey(); // a key of its own: these calls do not eat into the others' rate
    const l = await w.api('POST', '/v1/links', { body: walmartCart(), key });
    assert.equal(l.status, 201, l.text);
    const id = l.body.data.id;
    for (let i = 1; i < 50; i++) {
      const r = await w.api('POST', `/v1/links/${id}/qr-codes`, { body: { identifier: `code-${i}`, name: `Code ${i}` }, key });
      assert.equal(r.status, 201, `${i}: ${r.text}`);
    }
    const r = await w.api('POST', `/v1/links/${id}/qr-codes`, { body: { identifier: 'code-50', name: 'One too many' }, key });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.body.error.code, 'limit_reached');
  });

  it('defaultQrCode sets the default code name and style', async () => {
    const r = await w.api('POST', '/v1/links', {
      body: walmartCart({
        defaultQrCode: { name: 'Package back', metadata: { print: 'run-7' }, style: { size: 256, margin: 2, ec: 'Q', fg: '#1b5e20', bg: '#ffffff' } },
      }),
    });
    assert.equal(r.status, 201, r.text);
    const q = r.body.data.qrCode;
    assert.equal(q.identifier, 'default');
    assert.equal(q.name, 'Package back');
    assert.deepEqual(q.metadata, { print: 'run-7' });
    assert.deepEqual(q.style, { size: 256, margin: 2, ec: 'Q', fg: '#1b5e20', bg: '#ffffff' });
    const { bytes } = await image(pathOf(q.imageUrl));
    assert.equal(bytes.readUInt32BE(16), 256);
    assert.equal(decode(bytes, 'png'), q.encodedUrl);
  });
});
