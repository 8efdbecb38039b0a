// A local stand-in for the Instacart Developer Platform, speaking its documented contract:
// `POST /idp/v1/products/products_link` and `POST /idp/v1/products/recipe`, bearer auth,
// `{"products_link_url": ...}` on success, and its documented 400 answers, in the single-error
// form (`{"error": {...}}`) for one problem and the multiple-errors form (`{"errors": [...]}`)
// for several. Switches make it fail like a real upstream can: 500, no answer at all,
// malformed JSON; `answerNext` queues one-off answers.
// Every request is logged so tests can assert what reached "Instacart" (and what did not).
import { createServer } from 'node:http';

export const HEALTH_FILTERS = ['ORGANIC', 'GLUTEN_FREE', 'FAT_FREE', 'VEGAN', 'KOSHER', 'SUGAR_FREE', 'LOW_FAT'];
export const PAGES_ORIGIN = 'https://customers.dev.instacart.tools';

const ROUTES = {
  '/idp/v1/products/products_link': { items: 'line_items', page: 'shopping_lists' },
  '/idp/v1/products/recipe': { items: 'ingredients', page: 'recipes' },
};

const err = (message, code, key) => ({ message, code, ...(key ? { meta: { key } } : {}) });
const MISSING = err('There were issues with your request', 9999);

/** Instacart's checks of a request body (its documented 400 answers). Returns a list of errors. */
export function checkBody(route, body) {
  const { items } = ROUTES[route];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [MISSING];
  if (typeof body.title !== 'string' || body.title === '') return [MISSING];
  const list = body[items];
  if (!Array.isArray(list) || list.length === 0) return [MISSING];
  const errors = [];
  if (route.endsWith('products_link') && body.link_type !== undefined && !['shopping_list', 'recipe'].includes(body.link_type)) {
    errors.push(err(`Invalid link_type: ${body.link_type}`, 1001, 'link_type'));
  }
  if (body.expires_in !== undefined && !(Number.isInteger(body.expires_in) && body.expires_in >= 1 && body.expires_in <= 365)) {
    errors.push(err(`Invalid expires_in: ${body.expires_in}. Maximum is 365 days`, 1001, 'expires_in'));
  }
  const seen = new Map();
  list.forEach((li, i) => {
    const at = `${items}[${i}]`;
    if (typeof li !== 'object' || li === null) { errors.push(err('Invalid line item', 1001, at)); return; }
    if (typeof li.name !== 'string' || li.name === '') errors.push(err('Name is required', 1001, `${at}.name`));
    const health = li.filters?.health_filters ?? [];
    const bad = health.filter((h) => !HEALTH_FILTERS.includes(h));
    if (bad.length) errors.push(err(`Invalid health filters: ${JSON.stringify(bad)}`, 1001, `${at}.filters.health_filters`));
    (li.line_item_measurements ?? []).forEach((m, j) => {
      if (m.quantity !== undefined && !(m.quantity > 0)) {
        errors.push(err(`Invalid quantity: ${m.quantity}. Cannot be lower than or equal to 0.0`, 1001, `${at}.line_item_measurements[${j}].quantity`));
      }
    });
    if (li.product_ids && li.upcs) {
      errors.push(err('Line item cannot have both product_ids and upcs. They are mutually exclusive.', 1001, `${at}.base`));
    }
    for (const [kind, ids] of [['product_id', li.product_ids ?? []], ['upc', li.upcs ?? []]]) {
      for (const id of ids) {
        const k = `${kind} ${id}`;
        if (seen.has(k) && seen.get(k) !== i) errors.push(err(`Duplicate product identifiers found: ${k}`, 1001, items));
        seen.set(k, i);
      }
    }
  });
  return errors;
}

/** Starts the stand-in on a free port of 127.0.0.1. */
export async function startStandin({ apiKey }) {
  const s = {
    url: '',
    apiKey,
    /** Every request: { method, path, authorization, contentType, accept, body, status, answer }. */
    log: [],
    /** 'ok' | 'error500' | 'hang' (never answers) | 'malformed' (200 with broken JSON). */
    mode: 'ok',
    queued: [],
    next: 1000,
  };
  const hanging = new Set();
  const send = (res, entry, status, payload) => {
    const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
    entry.status = status;
    entry.answer = payload;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(text);
  };
  const server = createServer(async (req, res) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    let body;
    try { body = JSON.parse(raw); } catch { body = undefined; }
    const entry = {
      method: req.method,
      path: req.url,
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
      accept: req.headers.accept,
      body,
      raw,
    };
    s.log.push(entry);
    if (s.mode === 'hang') { hanging.add(res); return; }
    if (s.queued.length) {
      const { status, body: answer } = s.queued.shift();
      return send(res, entry, status, answer);
    }
    if (s.mode === 'error500') return send(res, entry, 500, { error: { message: 'Internal server error', code: 5000 } });
    if (s.mode === 'malformed') return send(res, entry, 200, '{"products_link_url": "https://customers.dev.insta');
    const route = ROUTES[req.url];
    if (!route) return send(res, entry, 404, { error: { message: 'Not found', code: 4040 } });
    if (req.method !== 'POST') return send(res, entry, 405, { error: { message: 'Method not allowed', code: 4050 } });
    if (req.headers.authorization !== `Bearer ${s.apiKey}`) {
      return send(res, entry, 401, { error: { message: 'Unauthorized: invalid API key', code: 1000 } });
    }
    if (!/^application\/json/.test(req.headers['content-type'] ?? '') || body === undefined) {
      return send(res, entry, 400, { error: MISSING });
    }
    const errors = checkBody(req.url, body);
    if (errors.length === 1) return send(res, entry, 400, { error: errors[0] });
    if (errors.length > 1) return send(res, entry, 400, { errors });
    s.next += 1;
    return send(res, entry, 200, { products_link_url: `${PAGES_ORIGIN}/store/${route.page}/${s.next}` });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  s.url = `http://127.0.0.1:${server.address().port}`;
  /** Queues a one-off answer (served before any mode or check). */
  s.answerNext = (status, body) => { s.queued.push({ status, body }); };
  /** Back to answering normally; hanging requests are released. */
  s.reset = () => {
    s.mode = 'ok';
    s.queued = [];
    s.apiKey = apiKey;
    for (const res of hanging) res.destroy();
    hanging.clear();
  };
  s.close = () => new Promise((resolve) => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
  return s;
}
