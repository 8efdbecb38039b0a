// A local stand-in for Walmart's affiliate Product Lookup API:
// `GET /api-proxy/service/affil/product/v2/items?ids={1–20 item ids}&zipCode={ZIP}`, answered
// `{"items": [{"itemId": 123, "stock": "Available", "offerId": …, …}]}` (item ids as numbers, as
// Walmart writes them; items it does not know left out). Every request must carry
// `WM_CONSUMER.ID`, `WM_CONSUMER.INTIMESTAMP` (epoch ms, within Walmart's signature lifetime),
// `WM_SEC.KEY_VERSION` and `WM_SEC.AUTH_SIGNATURE`, the base64 RSASSA-PKCS1-v1_5 SHA-256
// signature of "{consumerId}\n{timestamp}\n{keyVersion}\n", which is verified against the
// public key of a key pair made by the test; anything else is 401. Stock is set per (item,
// ZIP). Switches make it fail like a real upstream can: 500, malformed JSON, no answer at all,
// or an answer after a delay. Every request is logged (ids, ZIP, whether it was signed right).
import { createServer } from 'node:http';
import { generateKeyPairSync, verify } from 'node:crypto';

export const LOOKUP_PATH = '/api-proxy/service/affil/product/v2/items';
/** How old a signature's timestamp may be (Walmart's signatures expire after a few minutes). */
export const SIGNATURE_TTL_MS = 180_000;

/** An RSA key pair as Walmart's onboarding makes one: PKCS#8 private key, SPKI public key. */
export function makeKeyPair() {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

/** Starts the stand-in on a free port of 127.0.0.1. */
export async function startWalmartStandin({ publicKey, consumerId, keyVersion }) {
  const s = {
    url: '',
    /** Every request: { path, ids, zip, signed, status, at }. */
    log: [],
    /** 'ok' | 'error500' | 'malformed' | 'hang' (never answers) | 'slow' (answers after delayMs). */
    mode: 'ok',
    delayMs: 30_000,
    /** `${itemId}@${zip}` or `${itemId}` (any ZIP) → stock value; default 'Available'. */
    stock: new Map(),
    /** Item ids Walmart does not know (left out of answers). */
    unknown: new Set(),
  };
  const held = new Set();
  const stockOf = (id, zip) => s.stock.get(`${id}@${zip}`) ?? s.stock.get(id) ?? 'Available';
  const send = (res, entry, status, payload) => {
    entry.status = status;
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
  };
  const signedRight = (h) => {
    const id = h['wm_consumer.id'];
    const ts = h['wm_consumer.intimestamp'];
    const version = h['wm_sec.key_version'];
    const signature = h['wm_sec.auth_signature'];
    if (id !== consumerId || version !== keyVersion || !/^\d{13}$/.test(ts ?? '') || !signature) return false;
    if (Math.abs(Date.now() - Number(ts)) > SIGNATURE_TTL_MS) return false;
    try {
      return verify('sha256', Buffer.from(`${id}\n${ts}\n${version}\n`), publicKey, Buffer.from(signature, 'base64'));
    } catch {
      return false;
    }
  };
  const server = createServer((req, res) => {
    const u = new URL(req.url, 'http://standin');
    const ids = (u.searchParams.get('ids') ?? '').split(',').filter(Boolean);
    const zip = u.searchParams.get('zipCode');
    const entry = { path: u.pathname, ids, zip, signed: signedRight(req.headers), at: Date.now() };
    s.log.push(entry);
    if (u.pathname !== LOOKUP_PATH || req.method !== 'GET') {
      return send(res, entry, 404, { errors: [{ code: 404, message: 'Not found' }] });
    }
    if (!entry.signed) return send(res, entry, 401, { errors: [{ code: 401, message: 'UNAUTHORIZED' }] });
    if (ids.length < 1 || ids.length > 20 || !ids.every((id) => /^\d{1,20}$/.test(id)) || !/^\d{5}$/.test(zip ?? '')) {
      return send(res, entry, 400, { errors: [{ code: 4000, message: 'Invalid ids or zipCode' }] });
    }
    if (s.mode === 'hang') {
      held.add(res);
      res.on('close', () => held.delete(res));
      return undefined;
    }
    if (s.mode === 'error500') return send(res, entry, 500, { errors: [{ code: 5000, message: 'Internal error' }] });
    if (s.mode === 'malformed') return send(res, entry, 200, '<html><body>Service Unavailable</body></html>');
    const answer = {
      items: ids.filter((id) => !s.unknown.has(id)).map((id) => {
        const stock = stockOf(id, zip);
        return {
          itemId: Number(id), parentItemId: Number(id), name: `Item ${id}`, salePrice: 9.97, upc: '000000000000',
          stock, availableOnline: stock !== 'Not available', offerType: 'ONLINE_AND_STORE', offerId: `OF${id}`,
        };
      }),
    };
    if (s.mode === 'slow') {
      held.add(res);
      res.on('close', () => held.delete(res));
      const t = setTimeout(() => { held.delete(res); send(res, entry, 200, answer); }, s.delayMs);
      res.on('close', () => clearTimeout(t));
      return undefined;
    }
    return send(res, entry, 200, answer);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  s.url = `http://127.0.0.1:${server.address().port}`;
  /** Requests that asked about exactly `ids` (any order) at `zip`. */
  s.calls = (ids, zip) => {
    const want = [...ids].sort().join(',');
    return s.log.filter((e) => e.zip === zip && [...e.ids].sort().join(',') === want);
  };
  /** Requests held open right now (hang and slow modes). */
  s.open = () => held.size;
  /** Back to answering at once; held requests are dropped. */
  s.reset = () => {
    s.mode = 'ok';
    for (const res of held) res.destroy();
    held.clear();
  };
  s.close = () => new Promise((resolve) => {
    s.reset();
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
  return s;
}
