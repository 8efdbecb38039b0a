// Baseline for `npm run bench`: what the Workers runtime charges for the simplest redirect.
// GET /{id}: one KV read (same key scheme, same stored record and cacheTtl as the Rust
// worker) and a 302 with the same Cache-Control; unknown ids get a bare 404.
// GET /qr/{id}: the floor of a cached QR image: one Cache API match, answered with the cached
// body and headers plus `x-qr-cache: hit` (404 when not cached).
// PUT /__seed/{id}, PUT /__seed_qr/{id} (bench only, need SEED_TOKEN): store a redirect record
// under s:{id} / put a PNG (the request body) in the cache for /qr/{id}.

const CACHE_TTL = 60; // the Rust worker's REDIRECT_CACHE_TTL

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path.startsWith('/__seed/')) return seed(request, env, path.slice(8));
    if (path.startsWith('/__seed_qr/')) return seedQr(request, env, path.slice(11));
    if (path.startsWith('/qr/')) return qr(path.slice(4));
    const raw = await env.LINKS.get('s:' + path.slice(1), { cacheTtl: CACHE_TTL });
    if (raw === null) return new Response('Not found', { status: 404 });
    const record = JSON.parse(raw);
    return new Response(null, {
      status: 302,
      headers: { location: record.d, 'cache-control': 'private, no-store' },
    });
  },
};

const qrKey = (id) => `https://qr-cache.in2carts.invalid/${id}`;

async function qr(id) {
  const hit = await caches.default.match(qrKey(id));
  if (!hit) return new Response('Not found', { status: 404 });
  const resp = new Response(hit.body, hit);
  resp.headers.set('x-qr-cache', 'hit');
  return resp;
}

function allowed(request, env) {
  const token = env.SEED_TOKEN;
  return request.method === 'PUT' && token && request.headers.get('authorization') === `Bearer ${token}`;
}

async function seed(request, env, id) {
  if (!allowed(request, env)) return new Response('Forbidden', { status: 403 });
  await env.LINKS.put('s:' + id, await request.text());
  return new Response(null, { status: 204 });
}

async function seedQr(request, env, id) {
  if (!allowed(request, env)) return new Response('Forbidden', { status: 403 });
  const png = await request.arrayBuffer();
  await caches.default.put(qrKey(id), new Response(png, {
    headers: {
      'content-type': 'image/png',
      'cache-control': 'public, max-age=31536000, immutable',
      etag: `"${id}"`,
      'access-control-allow-origin': '*',
    },
  }));
  return new Response(null, { status: 204 });
}
