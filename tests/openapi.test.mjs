// The OpenAPI document (openapi.json, served at GET /v1/openapi.json) matches the
// routes in src/lib.rs, both ways, and real responses of the worker match its schemas
// (validated with Ajv's JSON Schema 2020-12 validator, the dialect of OpenAPI 3.1).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import { useWorker, walmartCart, pathOf, statsWhen } from './harness.mjs';
import { ROOT } from '../scripts/lib.mjs';

const DOC = JSON.parse(readFileSync(join(ROOT, 'openapi.json'), 'utf8'));
const PHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

// ---------------------------------------------------------------------------------------------
// Routes: what src/lib.rs dispatches, and what the document describes
// ---------------------------------------------------------------------------------------------

/** `"links", id, "stats"` → `/links/{}/stats`; null for a catch-all (`rest @ ..`). */
function template(segments) {
  const parts = segments.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.some((p) => p.includes('..'))) return null;
  return '/' + parts.map((p) => (/^"(.*)"$/.test(p) ? p.slice(1, -1) : '{}')).join('/');
}

/** Methods named in a match pattern such as `Method::Get | Method::Head`; HEAD goes with GET. */
function methodsOf(pattern) {
  const ms = [...pattern.matchAll(/Method::([A-Za-z]+)/g)].map((m) => m[1].toLowerCase());
  return ms.filter((m) => !(m === 'head' && ms.includes('get')));
}

/**
 * Every `METHOD path` that src/lib.rs routes to a handler: the arms of `api()`
 * (`(["links", id, "stats"], Method::Get) => …`, under /v1) and the shopper arms of `route()`
 * (`["qr", qr_id] => match req.method() { Method::Get | Method::Head => …`). Arms whose method
 * is `_` only answer 405 and are not routes.
 */
export function routesFromSource(src) {
  const routes = new Set();
  const apiStart = src.indexOf('async fn api(');
  const routeStart = src.indexOf('async fn route(');
  assert.ok(apiStart >= 0 && routeStart >= 0, 'src/lib.rs has route() and api()');
  const apiSrc = src.slice(apiStart, src.indexOf('\n}\n', apiStart));
  for (const m of apiSrc.matchAll(/\(\s*\[([^\]]*)\]\s*,\s*((?:Method::[A-Za-z]+\s*\|?\s*)+)\)\s*=>/g)) {
    const t = template(m[1]);
    if (t) for (const method of methodsOf(m[2])) routes.add(`${method} /v1${t}`);
  }
  const routeSrc = src.slice(routeStart, src.indexOf('\n}\n', routeStart));
  for (const m of routeSrc.matchAll(/^\s*\[([^\]]*)\][^\n]*=>\s*match [^{]*\{\s*((?:Method::[A-Za-z]+\s*\|?\s*)+)=>/gm)) {
    const t = template(m[1]);
    if (t) for (const method of methodsOf(m[2])) routes.add(`${method} ${t}`);
  }
  return routes;
}

function routesFromDocument(doc) {
  const routes = new Set();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      if (item[method]) routes.add(`${method} ${path.replace(/\{[^}]+\}/g, '{}')}`);
    }
  }
  return routes;
}

describe('the document and the router agree', () => {
  it('documents every route of src/lib.rs, and routes every documented path', () => {
    const routed = routesFromSource(readFileSync(join(ROOT, 'src', 'lib.rs'), 'utf8'));
    const documented = routesFromDocument(DOC);
    assert.ok(routed.size >= 10, `parsed too few routes from src/lib.rs: ${[...routed]}`);
    const undocumented = [...routed].filter((r) => !documented.has(r));
    const unrouted = [...documented].filter((r) => !routed.has(r));
    assert.deepEqual({ undocumented, unrouted }, { undocumented: [], unrouted: [] },
      `routes of src/lib.rs without a documented path: [${undocumented.join(', ')}]; ` +
      `documented operations src/lib.rs does not route: [${unrouted.join(', ')}]`);
  });

  it('the route parser sees through the forms src/lib.rs uses', () => {
    const src = `async fn route(req: Request) -> Response {
    match segments.as_slice() {
        ["v1", rest @ ..] => api(req, env, rest).await,
        ["qr", qr_id] => match req.method() {
            Method::Get | Method::Head => image(),
            _ => nope(),
        },
        [short_id] if !short_id.is_empty() => match req.method() {
            Method::Get | Method::Head => go(),
            _ => nope(),
        },
    }
}
async fn api(req: Request) -> Response {
    let result = match (rest, method) {
        (["openapi.json"], Method::Get | Method::Head) => Ok(doc()),
        (["openapi.json"], _) => Err(nope()),
        (["links", id, "stats"], Method::Get) => stats(id).await,
        (["links", id], Method::Patch) => update(id).await,
        _ => Err(not_found()),
    };
}
`;
    assert.deepEqual([...routesFromSource(src)].sort(), [
      'get /qr/{}', 'get /v1/links/{}/stats', 'get /v1/openapi.json', 'get /{}', 'patch /v1/links/{}',
    ]);
  });

  it('is a consistent OpenAPI 3.1 document: refs resolve, operation ids are unique, path parameters are declared', () => {
    assert.match(DOC.openapi, /^3\.1\./);
    const refs = [];
    (function walk(v) {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        if (typeof v.$ref === 'string') refs.push(v.$ref);
        Object.values(v).forEach(walk);
      }
    })(DOC);
    for (const r of refs) assert.ok(resolvePointer(r) !== undefined, `unresolved $ref ${r}`);
    const ids = [];
    for (const [path, item] of Object.entries(DOC.paths)) {
      for (const method of METHODS.filter((m) => item[m])) {
        const op = item[method];
        ids.push(op.operationId);
        const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map(deref);
        for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) {
          assert.ok(params.some((p) => p.in === 'path' && p.name === name && p.required), `${method} ${path}: {${name}} is not declared`);
        }
        assert.ok(Object.keys(op.responses).length > 0, `${method} ${path} has no responses`);
      }
    }
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  });
});

// ---------------------------------------------------------------------------------------------
// Responses against the schemas
// ---------------------------------------------------------------------------------------------

function resolvePointer(ref) {
  assert.ok(ref.startsWith('#/'), `only local refs: ${ref}`);
  return ref.slice(2).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((v, k) => (v === undefined ? undefined : v[k]), DOC);
}
function deref(v) {
  return v && v.$ref ? deref(resolvePointer(v.$ref)) : v;
}
const escape = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');

const DOC_ID = 'urn:in2carts:openapi';
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addFormat('date-time', (s) => /^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/.test(s) && !Number.isNaN(Date.parse(s)));
ajv.addFormat('uri', (s) => { try { return /^[a-z][a-z0-9+.-]*:/i.test(s) && Boolean(new URL(s)); } catch { return false; } });
ajv.addSchema({ ...DOC, $id: DOC_ID });

/** Validates `value` against the schema at a JSON pointer of the document. */
function validateAt(pointer, value, label) {
  const validate = ajv.getSchema(`${DOC_ID}#${pointer}`);
  assert.ok(validate, `no schema at ${pointer}`);
  const ok = validate(value);
  assert.ok(ok, `${label} does not match ${pointer}:\n${JSON.stringify(validate.errors, null, 1)}\n${JSON.stringify(value).slice(0, 2000)}`);
}

/** The documented path of a concrete request path (concrete paths before templates). */
function pathFor(path) {
  const pathname = path.split('?')[0];
  const tpls = Object.keys(DOC.paths).sort((a, b) => a.split('{').length - b.split('{').length);
  for (const tpl of tpls) {
    const re = new RegExp(`^${tpl.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`);
    if (re.test(pathname)) return tpl;
  }
  return assert.fail(`no documented path for ${pathname}`);
}

/** The documented operation of a request; an undocumented method gets the API's 405 answer. */
function operationFor(method, path) {
  const tpl = pathFor(path);
  const op = DOC.paths[tpl][method.toLowerCase()];
  if (op) return { tpl, op };
  return { tpl, op: { responses: { 405: { $ref: '#/components/responses/MethodNotAllowed' } } } };
}

/**
 * Asserts that a response is documented for its operation: the status, the media type, the body
 * (against the schema), and the response headers (required ones present, values per schema).
 */
function assertConforms(method, path, res) {
  const { tpl, op } = operationFor(method, path);
  const label = `${method} ${path} → ${res.status}`;
  let response = op.responses[String(res.status)];
  assert.ok(response, `${label}: status ${res.status} is not documented for ${method} ${tpl}`);
  let pointer = `/paths/${escape(tpl)}/${method.toLowerCase()}/responses/${res.status}`;
  if (response.$ref) {
    pointer = response.$ref.slice(1);
    response = deref(response);
  }
  for (const [name, h] of Object.entries(response.headers ?? {})) {
    const header = deref(h);
    const value = res.headers.get(name);
    if (header.required) assert.ok(value !== null, `${label}: required header ${name} is missing`);
    if (value !== null && header.schema) {
      const hp = h.$ref ? `${h.$ref.slice(1)}/schema` : `${pointer}/headers/${escape(name)}/schema`;
      validateAt(hp, value, `${label} header ${name}`);
    }
  }
  const type = (res.headers.get('content-type') ?? '').split(';')[0].trim();
  if (!response.content) return;
  assert.ok(response.content[type], `${label}: content type ${type || '(none)'} is not documented (${Object.keys(response.content)})`);
  if (type === 'application/json') {
    validateAt(`${pointer}/content/${escape(type)}/schema`, res.body, label);
  }
}

describe('real responses match the document', () => {
  const w = useWorker();
  const call = async (method, path, opts) => {
    const res = await w.api(method, path, opts);
    assertConforms(method, path, res);
    return res;
  };

  it('serves this document at /v1/openapi.json without a key', async () => {
    const r = await w.api('GET', '/v1/openapi.json', { key: null });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.match(r.body.openapi, /^3\./);
    assert.deepEqual(r.body, DOC, 'the served document is the checked-in openapi.json');
    assertConforms('GET', '/v1/openapi.json', r);
  });

  it('links: create, read, list, change, QR codes, stats', async () => {
    const full = () => walmartCart({
      products: [{ retailerProductId: '123456789', quantity: 2, backupProductIds: ['987654321', 555555555] }, { retailerProductId: 42 }],
      location: { storeId: 2280, zipCode: '72712' },
      tracking: { utm: { source: 'ig', medium: 'social', campaign: 'c', term: 't', content: 'x' }, tags: ['openapi', 'q3'], params: { ref: 'pk', n: 2, on: true } },
      fallbackUrl: 'https://www.walmart.com/',
      options: { startsAt: '2026-01-01T00:00:00Z', maxClicks: 100, forwardQuery: true },
      metadata: { campaign: { id: 7 } },
      defaultQrCode: { name: 'Shelf', metadata: { shelf: 3 }, style: { size: '256', ec: 'q', fg: '#1a237e' } },
    });
    const created = await call('POST', '/v1/links', {
      body: full(),
      headers: { 'idempotency-key': 'openapi-test-0001', 'x-correlation-id': 'corr-openapi-1' },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers.get('x-correlation-id'), 'corr-openapi-1');
    const id = created.body.data.id;
    const replay = await call('POST', '/v1/links', {
      body: full(),
      headers: { 'idempotency-key': 'openapi-test-0001' },
    });
    assert.equal(replay.status, 201, replay.text);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');

    assert.equal((await call('GET', `/v1/links/${id}`)).status, 200);
    const list = await call('GET', '/v1/links?projectId=proj_123&limit=1');
    assert.equal(list.status, 200, list.text);
    const tagged = await call('GET', '/v1/links?projectId=proj_123&tag=openapi&limit=10');
    assert.equal(tagged.status, 200, tagged.text);
    assert.deepEqual(tagged.body.data.map((l) => l.id), [id]);
    const patched = await call('PATCH', `/v1/links/${id}`, {
      body: { name: 'Renamed', publicName: null, tracking: { params: { n: null } }, options: { maxClicks: null }, status: 'disabled' },
    });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.body.data.status, 'disabled');
    const merge = await call('PATCH', `/v1/links/${id}`, {
      raw: JSON.stringify({ status: 'active' }), headers: { 'content-type': 'application/merge-patch+json' },
    });
    assert.equal(merge.status, 200, merge.text);

    const qrBody = { identifier: 'window-01', name: 'Window', metadata: { side: 'left' }, style: { size: 1024, margin: '2', bg: '#ffffff' } };
    const qr = await call('POST', `/v1/links/${id}/qr-codes`, { body: qrBody, headers: { 'idempotency-key': 'openapi-qr-0001' } });
    assert.equal(qr.status, 201, qr.text);
    const qrReplay = await call('POST', `/v1/links/${id}/qr-codes`, { body: qrBody, headers: { 'idempotency-key': 'openapi-qr-0001' } });
    assert.equal(qrReplay.status, 201, qrReplay.text);
    assert.equal(qrReplay.headers.get('idempotent-replayed'), 'true');
    const dupQr = await call('POST', `/v1/links/${id}/qr-codes`, { body: { identifier: 'window-01', name: 'Again' } });
    assert.equal(dupQr.status, 409, dupQr.text);
    assert.equal(dupQr.body.error.code, 'duplicate_identifier');
    assert.equal((await call('GET', `/v1/links/${id}/qr-codes`)).status, 200);
    // A scan, so the stats carry a QR code breakdown entry to check against its schema.
    const scan = await w.visit(pathOf(qr.body.data.encodedUrl), { headers: { 'user-agent': PHONE } });
    assert.equal(scan.status, 302);
    await statsWhen(w, id, (d) => d.qrScans >= 1);
    const stats = await call('GET', `/v1/links/${id}/stats`);
    assert.equal(stats.status, 200);
    assert.deepEqual(stats.body.data.breakdowns.qrCode, [{ value: 'window-01', qrId: qr.body.data.id, clicks: 1 }]);
    assert.equal((await call('GET', `/v1/links/${id}/stats?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&granularity=day`)).status, 200);
    const report = await call('GET', '/v1/projects/proj_123/out-of-stock');
    assert.equal(report.status, 200);
    assert.equal(report.body.data.byDay.length, 30);
    const csv = await call('GET', '/v1/projects/proj_123/out-of-stock?format=csv&from=2026-01-01T00:00:00Z&to=2026-01-03T00:00:00Z');
    assert.equal(csv.status, 200);
    assert.equal(csv.text.split('\r\n')[2], 'day,2026-01-01,,,,0,0,0');
    assert.equal((await call('GET', '/v1/projects/proj_other/out-of-stock')).status, 403);
    assert.equal((await call('GET', '/v1/projects/proj_123/out-of-stock?format=pdf')).status, 400);

    // Shopper surfaces.
    const png = await w.visit(pathOf(qr.body.data.imageUrl));
    assertConforms('GET', pathOf(qr.body.data.imageUrl), { status: png.status, headers: png.headers });
    assert.equal(png.status, 200);
    const svg = await w.visit(`${pathOf(qr.body.data.imageUrl)}?format=svg`);
    assertConforms('GET', pathOf(qr.body.data.imageUrl), { status: svg.status, headers: svg.headers });
    const cached = await w.visit(pathOf(qr.body.data.imageUrl), { headers: { 'if-none-match': png.headers.get('etag') } });
    assert.equal(cached.status, 304);
    assertConforms('GET', pathOf(qr.body.data.imageUrl), { status: cached.status, headers: cached.headers });
    const go = await w.visit(`/${created.body.data.shortId}`);
    assert.equal(go.status, 302);
    assertConforms('GET', `/${created.body.data.shortId}`, { status: go.status, headers: go.headers });
    const gone = await w.visit('/zzzzzzz');
    assert.equal(gone.status, 404);
    assertConforms('GET', '/zzzzzzz', { status: gone.status, headers: gone.headers });
  });

  it('where-to-buy links: create, page, offer redirect, change, stats', async () => {
    const example = DOC.paths['/v1/links'].post.requestBody.content['application/json'].examples.whereToBuy.value;
    const created = await call('POST', '/v1/links', { body: example });
    assert.equal(created.status, 201, created.text);
    const link = created.body.data;
    assert.equal(link.offers.length, 4);
    const page = await w.visit(`/${link.shortId}`, { headers: { 'user-agent': PHONE } });
    assert.equal(page.status, 200);
    assertConforms('GET', `/${link.shortId}`, { status: page.status, headers: page.headers });
    const go = await w.visit(`/${link.shortId}/amazon`, { headers: { 'user-agent': PHONE } });
    assert.equal(go.status, 302);
    assert.equal(go.headers.get('location'), link.offers[2].targetUrl);
    assertConforms('GET', `/${link.shortId}/amazon`, { status: go.status, headers: go.headers });
    const none = await w.visit(`/${link.shortId}/kroger`);
    assert.equal(none.status, 404);
    assertConforms('GET', `/${link.shortId}/kroger`, { status: none.status, headers: none.headers });
    const offers = example.offers.map((o, i) => (i === 1 ? { ...o, status: 'disabled' } : o));
    const patched = await call('PATCH', `/v1/links/${link.id}`, { body: { offers, page: { subtitle: null } } });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.body.data.offers[1].status, 'disabled');
    const gone = await w.visit(`/${link.shortId}/target`);
    assert.equal(gone.status, 410);
    assertConforms('GET', `/${link.shortId}/target`, { status: gone.status, headers: gone.headers });
    await statsWhen(w, link.id, (d) => d.pageViews >= 1 && d.retailerClicks.amazon >= 1 && d.retailerClicks.target >= 1);
    const stats = await call('GET', `/v1/links/${link.id}/stats`);
    assert.equal(stats.status, 200);
    // Two choices (a tap on the ended offer's address is one too) for one page view.
    assert.deepEqual(stats.body.data.retailerClicks, { walmart: 0, target: 1, amazon: 1, instacart: 0 });
    assert.equal(stats.body.data.clickThroughRate, 2);
  });

  it('the request examples of the document are accepted', async () => {
    const examples = DOC.paths['/v1/links'].post.requestBody.content['application/json'].examples;
    assert.ok(Object.keys(examples).length >= 5);
    for (const [name, { value }] of Object.entries(examples)) {
      validateAt('/components/schemas/LinkCreate', value, `example ${name}`);
      const r = await call('POST', '/v1/links', { body: value });
      // Instacart is not configured for this worker: a recipe without fallbackUrl cannot be made.
      const expected = name === 'instacartRecipe' ? 502 : 201;
      assert.equal(r.status, expected, `${name}: ${r.text}`);
    }
  });

  it('errors: validation, JSON, auth, scope, project, unknown link, method, media type, size, idempotency, correlation id', async () => {
    const bad = await call('POST', '/v1/links', { body: { projectId: '', name: 'x'.repeat(161), retailer: 'costco', products: [{ retailerProductId: 'abc', quantity: 0 }], utm_source: 'x' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'validation_failed');
    assert.ok(bad.body.error.details.length >= 4, bad.text);
    const rule = await call('POST', '/v1/links', { body: walmartCart({ retailer: 'target' }) });
    assert.equal(rule.status, 422, rule.text);
    assert.equal(rule.body.error.code, 'unprocessable');
    const ruleLink = await call('POST', '/v1/links', { body: walmartCart() });
    assert.equal(ruleLink.status, 201, ruleLink.text);
    const rulePatch = await call('PATCH', `/v1/links/${ruleLink.body.data.id}`, { body: { customUrl: 'https://brand.example/' } });
    assert.equal(rulePatch.status, 422, rulePatch.text);
    const notJson = await call('POST', '/v1/links', { raw: '{"projectId":', headers: { 'content-type': 'application/json' } });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.error.code, 'invalid_json');
    assert.equal((await call('GET', '/v1/links/lnk_01J0ZK8B3D6QW1E9Y4M2T5V7XA', { key: null })).status, 401);
    assert.equal((await call('GET', '/v1/links/lnk_01J0ZK8B3D6QW1E9Y4M2T5V7XA', { key: 'i2c_not-a-real-key-000000' })).status, 401);
    const readOnly = await w.newKey({ scopes: ['links:read'] });
    assert.equal((await call('POST', '/v1/links', { body: walmartCart(), key: readOnly })).status, 403);
    assert.equal((await call('POST', '/v1/links', { body: walmartCart({ projectId: 'proj_other' }) })).status, 403);
    assert.equal((await call('GET', '/v1/links?projectId=proj_other')).status, 403);
    assert.equal((await call('GET', '/v1/links/lnk_01J0ZK8B3D6QW1E9Y4M2T5V7XA')).status, 404);
    assert.equal((await call('GET', '/v1/links/lnk_01J0ZK8B3D6QW1E9Y4M2T5V7XA/stats')).status, 404);
    assert.equal((await call('POST', '/v1/links/not-an-id/qr-codes', { body: { identifier: 'nowhere', name: 'x' } })).status, 404);
    assert.equal((await call('GET', '/v1/links/lnk_01J0ZK8B3D6QW1E9Y4M2T5V7XA/qr-codes')).status, 404);
    assert.equal((await call('PATCH', '/v1/links/lnk_01J0ZK8B3D6QW1E9Y4M2T5V7XA', { body: {} })).status, 404);
    const del = await call('DELETE', '/v1/links/lnk_01J0ZK8B3D6QW1E9Y4M2T5V7XA');
    assert.equal(del.status, 405);
    assert.equal(del.headers.get('allow'), 'GET, HEAD, PATCH');
    assert.equal((await call('PUT', '/v1/links')).status, 405);
    assert.equal((await call('POST', '/v1/openapi.json', { key: null })).status, 405);
    assert.equal((await call('POST', '/v1/links', { raw: 'projectId=proj_123', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status, 415);
    assert.equal((await call('POST', '/v1/links', { raw: JSON.stringify({ metadata: 'x'.repeat(70 * 1024) }), headers: { 'content-type': 'application/json' } })).status, 413);
    const first = await call('POST', '/v1/links', { body: walmartCart(), headers: { 'idempotency-key': 'openapi-test-0002' } });
    assert.equal(first.status, 201, first.text);
    const reused = await call('POST', '/v1/links', { body: walmartCart({ name: 'Other' }), headers: { 'idempotency-key': 'openapi-test-0002' } });
    assert.equal(reused.status, 409);
    assert.equal((await call('POST', '/v1/links', { body: walmartCart(), headers: { 'idempotency-key': 'short' } })).status, 400);
    const corr = await call('GET', '/v1/links', { headers: { 'x-correlation-id': 'short' } });
    assert.equal(corr.status, 400);
    assert.equal(corr.body.error.details[0].key, 'X-Correlation-ID');
    const stats = await call('GET', `/v1/links/${first.body.data.id}/stats?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z&granularity=week`);
    assert.equal(stats.status, 400);
    const far = await call('GET', `/v1/links/${first.body.data.id}/stats?from=9999-12-31T23:30:00Z`);
    assert.equal(far.status, 400, far.text);
    const qrBad = await call('POST', `/v1/links/${first.body.data.id}/qr-codes`, { body: { identifier: 'pale', name: 'Pale', style: { fg: '#eeeeee' } } });
    assert.equal(qrBad.status, 400);
    const qrShape = await call('POST', `/v1/links/${first.body.data.id}/qr-codes`, { body: { identifier: 'a b', name: 'x' } });
    assert.equal(qrShape.status, 400);
    assert.equal(qrShape.body.error.details[0].key, 'identifier');
    assert.equal((await call('GET', '/v1/links?limit=0&cursor=nope')).status, 400);
  });
});
