// QR images that scan (decoded with zbarimg, a decoder nobody here wrote), fill their size with
// the requested quiet zone, caching, named QR codes and scan attribution.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
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

/** Reads a served PNG (1-bit, two-colour palette, filter None or Up): { w, h, grey } with grey 0 = dark. */
function readPng(bytes) {
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let pos = 8;
  let w, h, palette;
  const idat = [];
  while (pos < bytes.length) {
    const len = bytes.readUInt32BE(pos);
    const kind = bytes.toString('latin1', pos + 4, pos + 8);
    const data = bytes.subarray(pos + 8, pos + 8 + len);
    if (kind === 'IHDR') {
      [w, h] = [data.readUInt32BE(0), data.readUInt32BE(4)];
      assert.deepEqual([data[8], data[9]], [1, 3], '1 bit per pixel, palette');
    } else if (kind === 'PLTE') palette = data;
    else if (kind === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  const lum = (i) => 0.299 * palette[3 * i] + 0.587 * palette[3 * i + 1] + 0.114 * palette[3 * i + 2];
  const dark = lum(1) < lum(0) ? 1 : 0;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = Math.ceil(w / 8) + 1;
  assert.equal(raw.length, stride * h);
  const grey = new Uint8Array(w * h);
  let above = Buffer.alloc(stride - 1);
  for (let y = 0; y < h; y++) {
    const filter = raw[y * stride];
    let line = raw.subarray(y * stride + 1, (y + 1) * stride);
    assert.ok(filter === 0 || filter === 2, `filter type ${filter}`);
    if (filter === 2) line = Buffer.from(line.map((b, i) => (b + above[i]) & 0xff)); // Up
    for (let x = 0; x < w; x++) {
      const bit = (line[x >> 3] >> (7 - (x & 7))) & 1;
      grey[y * w + x] = bit === dark ? 0 : 255;
    }
    above = line;
  }
  return { w, h, grey };
}

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** An 8-bit greyscale PNG of `grey` (w × h). */
function greyPng({ w, h, grey }) {
  const chunk = (kind, data) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(kind, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth; colour type 0 (grey), no interlace
  const raw = Buffer.alloc((w + 1) * h);
  for (let y = 0; y < h; y++) raw.set(grey.subarray(y * w, (y + 1) * w), y * (w + 1) + 1);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** Half the size: each pixel the average of a 2 × 2 block, as an image shown or printed smaller. */
function halve({ w, h, grey }) {
  const [hw, hh] = [w >> 1, h >> 1];
  const out = new Uint8Array(hw * hh);
  for (let y = 0; y < hh; y++) {
    for (let x = 0; x < hw; x++) {
      const at = (dx, dy) => grey[(2 * y + dy) * w + 2 * x + dx];
      out[y * hw + x] = Math.round((at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1)) / 4);
    }
  }
  return { w: hw, h: hh, grey: out };
}

/**
 * The light border around the code on each side, in pixels, and the module width: the top-left
 * finder pattern's top edge is 7 modules of dark.
 */
function borders({ w, h, grey }) {
  const dark = (x, y) => grey[y * w + x] === 0;
  const rowDark = (y) => { for (let x = 0; x < w; x++) if (dark(x, y)) return true; return false; };
  const colDark = (x) => { for (let y = 0; y < h; y++) if (dark(x, y)) return true; return false; };
  let top = 0; while (!rowDark(top)) top++;
  let bottom = 0; while (!rowDark(h - 1 - bottom)) bottom++;
  let left = 0; while (!colDark(left)) left++;
  let right = 0; while (!colDark(w - 1 - right)) right++;
  let run = 0; while (dark(left + run, top)) run++;
  return { top, bottom, left, right, module: run / 7 };
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

  it('the code fills the PNG: the border is the quiet zone asked for, within a module, at every size and EC level', async () => {
    const base = pathOf(link.qrCode.imageUrl);
    const smallest = {};
    for (const margin of [0, 1, 4, 16]) {
      for (const ec of ['L', 'M', 'Q', 'H']) {
        const r = await w.api('GET', `${base}?size=64&ec=${ec}&margin=${margin}`, { key: '' });
        if (r.status === 200) {
          smallest[`${ec}${margin}`] = 64;
          continue;
        }
        assert.equal(r.status, 400, `${ec} ${margin}`);
        const m = r.body.error.details[0].message.match(/use size (\d+) or more/);
        assert.ok(m, r.body.error.details[0].message);
        smallest[`${ec}${margin}`] = Number(m[1]);
      }
    }
    const sizes = { 0: [128, 301], 1: [160], 4: [96, 100, 128, 150, 160, 200, 256, 333, 512, 1000], 16: [160, 256, 700] };
    let measured = 0;
    for (const [margin, list] of Object.entries(sizes)) {
      for (const ec of ['L', 'M', 'Q', 'H']) {
        for (const size of list) {
          const least = smallest[`${ec}${margin}`];
          const { res, bytes } = await image(`${base}?size=${size}&ec=${ec}&margin=${margin}`);
          if (size < least) {
            assert.equal(res.status, 400, `size ${size} ec ${ec} margin ${margin} is under ${least}`);
            continue;
          }
          assert.equal(res.status, 200, `size ${size} ec ${ec} margin ${margin}`);
          const img = readPng(bytes);
          assert.deepEqual([img.w, img.h], [size, size]);
          const b = borders(img);
          assert.ok(b.module >= 2, `${size}/${ec}/${margin}: ${b.module} px per module`);
          for (const side of ['top', 'bottom', 'left', 'right']) {
            const modules = b[side] / b.module;
            assert.ok(Math.abs(modules - Number(margin)) <= 1,
              `size ${size} ec ${ec} margin ${margin}: ${side} border ${b[side]} px = ${modules.toFixed(2)} modules`);
          }
          measured++;
        }
      }
    }
    assert.ok(measured >= 50, `${measured} images measured`);
  });

  it('still decodes after a 50 % downscale at 160 px and EC Q', async () => {
    const { bytes } = await image(`${pathOf(link.qrCode.imageUrl)}?size=160&ec=Q`);
    const half = halve(readPng(bytes));
    assert.equal(half.w, 80);
    assert.equal(decode(greyPng(half), 'png'), link.qrCode.encodedUrl);
  });

  it('refuses a size under 2 px per module with a 400 that names the smallest size that works', async () => {
    const base = pathOf(link.qrCode.imageUrl);
    const r = await w.api('GET', `${base}?size=64&ec=H`, { key: '' });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.code, 'validation_failed');
    assert.equal(r.body.error.details.length, 1);
    const d = r.body.error.details[0];
    assert.equal(d.key, 'size');
    assert.equal(d.code, 'invalid_option');
    const least = Number(d.message.match(/use size (\d+) or more/)[1]);
    assert.ok(least > 64 && least <= 418, d.message);
    const below = await w.api('GET', `${base}?size=${least - 1}&ec=H`, { key: '' });
    assert.equal(below.status, 400);
    assert.equal(below.body.error.details[0].key, 'size');
    const { res, bytes } = await image(`${base}?size=${least}&ec=H`);
    assert.equal(res.status, 200);
    assert.equal(decode(bytes, 'png'), link.qrCode.encodedUrl);
    // A quiet zone of 0 needs fewer pixels.
    assert.equal((await image(`${base}?size=${least - 16}&ec=H&margin=0`)).res.status, 200);
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

  it('refuses a saved style too small for its code, naming the smallest size that works', async () => {
    let r = await w.api('POST', `/v1/links/${link.id}/qr-codes`, { body: { identifier: 'tiny-one', name: 'Tiny', style: { size: 64, ec: 'H' } } });
    assert.equal(r.status, 400, r.text);
    assert.deepEqual(r.body.error.details.map((d) => [d.key, d.code]), [['style.size', 'invalid_style']]);
    const least = Number(r.body.error.details[0].message.match(/use size (\d+) or more/)[1]);
    r = await w.api('POST', `/v1/links/${link.id}/qr-codes`, { body: { identifier: 'small-one', name: 'Small', style: { size: least, ec: 'H' } } });
    assert.equal(r.status, 201, r.text);
    const { bytes } = await image(pathOf(r.body.data.imageUrl));
    assert.equal(bytes.readUInt32BE(16), least);
    assert.equal(decode(bytes, 'png'), r.body.data.encodedUrl);

    r = await w.api('POST', '/v1/links', { body: walmartCart({ defaultQrCode: { style: { size: 64, ec: 'H' } } }) });
    assert.equal(r.status, 400, r.text);
    assert.deepEqual(r.body.error.details.map((d) => [d.key, d.code]), [['defaultQrCode.style.size', 'invalid_style']]);
    assert.match(r.body.error.details[0].message, /use size \d+ or more/);
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
