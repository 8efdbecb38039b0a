//! Walmart availability from the Workers runtime: the signed lookup (`fetch` with a time
//! limit, the signature made with WebCrypto from `WALMART_PRIVATE_KEY`), and where answers are
//! kept so that a redirect never waits on Walmart: an in-isolate map in front of the Cache API.
//!
//! Why the Cache API (per Cloudflare location) rather than KV or a Durable Object: stock is
//! per ZIP, and the shoppers of a ZIP are served by the locations near it, so a per-location
//! copy is exactly as fresh as each location needs; a write costs nothing beyond the location
//! (KV writes are global, billed and rate-limited per key; a Durable Object is one place
//! every location would call); and a read is local. Each (item set, ZIP) is asked of Walmart at
//! most once per `FRESH_MS` per location: a redirect that finds no fresh answer answers with
//! what it has (the primaries, when it has nothing) and leaves one refresh behind it
//! (`ctx.wait_until`), which an in-isolate set of refreshes in flight and a short "refresh in
//! progress" marker in the location's cache keep to one per location.
//!
//! Nothing here can fail a shopper's request or a link's creation: a lookup that times out,
//! is refused or answers nonsense is a snapshot that knows nothing (the primaries), kept for
//! `FAILED_FRESH_MS`.

use crate::domain::availability::{
    base64_encode, cache_key, lookup_ids, lookup_urls, parse_answer, pending_key, private_key_der,
    signature_input, Snapshot, Stock, DEFAULT_BASE_URL, FAILED_FRESH_MS, PENDING_SECS, USABLE_MS,
};
use crate::domain::record::CartLine;
use crate::http::now_ms;
use futures_util::future::join_all;
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{
    js_sys, web_sys, AbortController, Cache, Context, Env, Fetch, Headers, Method, Request,
    RequestInit, Response,
};

pub const BASE_URL_VAR: &str = "WALMART_API_BASE_URL";
pub const CONSUMER_ID_SECRET: &str = "WALMART_CONSUMER_ID";
pub const KEY_VERSION_SECRET: &str = "WALMART_KEY_VERSION";
pub const PRIVATE_KEY_SECRET: &str = "WALMART_PRIVATE_KEY";
/// How long Walmart has to answer every lookup of a refresh (headers and bodies).
pub const TIMEOUT: Duration = Duration::from_millis(2500);
/// Larger answers are not read (twenty items' full records are a few tens of KB).
const MAX_ANSWER_BYTES: usize = 512 * 1024;
/// Most snapshots an isolate keeps in memory (beyond, the map starts over).
const MAX_REMEMBERED: usize = 2048;

/// FNV-1a for the isolate's maps: their keys are our own cache keys (no one chooses them),
/// and the default SipHash showed up in the redirect's CPU profile.
type Fnv = std::hash::BuildHasherDefault<FnvHasher>;

#[derive(Default)]
struct FnvHasher(u64);

impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
        self.0 = h;
    }
}

/// The client's settings: all three secrets set, else the feature is off.
struct Client {
    base_url: String,
    consumer_id: String,
    key_version: String,
    /// The PKCS#8 key, or why `WALMART_PRIVATE_KEY` cannot be used (then every lookup fails).
    key: Result<Vec<u8>, &'static str>,
}

/// A secret, or a plain var of that name (local runs and tests pass them as vars).
fn setting(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
        .filter(|v| !v.trim().is_empty())
}

thread_local! {
    static CLIENT: OnceCell<Option<Rc<Client>>> = const { OnceCell::new() };
    /// Snapshots by cache key, as this isolate last read or made them.
    static REMEMBERED: RefCell<HashMap<String, Rc<Snapshot>, Fnv>> = RefCell::new(HashMap::default());
    /// Cache keys this isolate is refreshing, with when each refresh started (one that has
    /// not ended after `PENDING_SECS` is taken for lost: its task was cancelled).
    static IN_FLIGHT: RefCell<HashMap<String, i64, Fnv>> = RefCell::new(HashMap::default());
    /// When a lookup made for a link's creation last failed (creations then skip Walmart for
    /// `FAILED_FRESH_MS`, so a bulk create does not wait on a Walmart that is down, link by link).
    static CREATE_FAILED_AT: Cell<i64> = const { Cell::new(i64::MIN) };
}

fn client(env: &Env) -> Option<Rc<Client>> {
    CLIENT.with(|c| {
        c.get_or_init(|| {
            let consumer_id = setting(env, CONSUMER_ID_SECRET)?;
            let key_version = setting(env, KEY_VERSION_SECRET)?;
            let pem = setting(env, PRIVATE_KEY_SECRET)?;
            let key = private_key_der(&pem);
            if let Err(why) = key {
                worker::console_error!(
                    "walmart availability: {PRIVATE_KEY_SECRET} cannot be used ({why}); every lookup fails"
                );
            }
            let base = env
                .var(BASE_URL_VAR)
                .map(|v| v.to_string())
                .unwrap_or_default();
            let base = base.trim().trim_end_matches('/');
            Some(Rc::new(Client {
                base_url: if base.is_empty() {
                    DEFAULT_BASE_URL.to_string()
                } else {
                    base.to_string()
                },
                consumer_id: consumer_id.trim().to_string(),
                key_version: key_version.trim().to_string(),
                key,
            }))
        })
        .clone()
    })
}

/// Whether availability is on (`WALMART_CONSUMER_ID`, `WALMART_KEY_VERSION` and
/// `WALMART_PRIVATE_KEY` are set). Off, links with backups behave as links without.
pub fn enabled(env: &Env) -> bool {
    client(env).is_some()
}

/// The snapshot this isolate holds for a key.
pub fn remembered(key: &str) -> Option<Rc<Snapshot>> {
    REMEMBERED.with(|m| m.borrow().get(key).cloned())
}

fn remember(key: &str, snapshot: Rc<Snapshot>) {
    REMEMBERED.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= MAX_REMEMBERED && !m.contains_key(key) {
            m.clear();
        }
        m.insert(key.to_string(), snapshot);
    });
}

/// What a cart is asked about at a ZIP, and the key of its answer.
pub struct CartQuery {
    pub ids: Vec<String>,
    pub zip: String,
    pub key: String,
}

impl CartQuery {
    pub fn new(lines: &[CartLine], zip: &str) -> CartQuery {
        let ids = lookup_ids(lines);
        let key = cache_key(zip, &ids);
        CartQuery {
            ids,
            zip: zip.to_string(),
            key,
        }
    }
}

/// The location's cached snapshot of a key (a miss when the cache cannot be read).
pub async fn cached(key: &str) -> Option<Snapshot> {
    let mut resp = Cache::default().get(key, false).await.ok()??;
    let text = resp.text().await.ok()?;
    serde_json::from_str(&text).ok()
}

async fn cache_put(key: &str, snapshot: &Snapshot) {
    let ttl = if snapshot.failed {
        FAILED_FRESH_MS
    } else {
        USABLE_MS
    };
    let body = serde_json::to_string(snapshot).unwrap_or_default();
    if let Err(e) = Cache::default().put(key, cacheable(body, ttl / 1000)).await {
        worker::console_error!("walmart availability: the cache refused a snapshot ({e})");
    }
}

fn cacheable(body: String, max_age_secs: i64) -> Response {
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/json");
    let _ = headers.set("cache-control", &format!("max-age={max_age_secs}"));
    super::text_response(200, body, headers)
}

/// Makes sure the cart's availability at the ZIP gets refreshed, after the response: at most
/// one refresh per key in this isolate at a time, and none while another isolate of the
/// location has one in progress or has just made a fresh snapshot.
pub fn refresh_later(env: &Env, ctx: &Context, q: CartQuery) {
    let now = now_ms();
    let started = IN_FLIGHT.with(|f| {
        let mut f = f.borrow_mut();
        match f.get(&q.key) {
            Some(at) if now.saturating_sub(*at) < i64::from(PENDING_SECS) * 1000 => false,
            _ => {
                f.insert(q.key.clone(), now);
                true
            }
        }
    });
    if !started {
        return;
    }
    let env = env.clone();
    ctx.wait_until(async move {
        let _done = InFlight(q.key.clone());
        let now = now_ms();
        if let Some(s) = cached(&q.key).await {
            if s.fresh(now) {
                remember(&q.key, Rc::new(s));
                return;
            }
        }
        let pending = pending_key(&q.key);
        let cache = Cache::default();
        if let Ok(Some(_)) = cache.get(pending.as_str(), false).await {
            return;
        }
        let _ = cache
            .put(
                pending.as_str(),
                cacheable(String::new(), i64::from(PENDING_SECS)),
            )
            .await;
        let snapshot = Rc::new(lookup(&env, &q.ids, &q.zip).await);
        remember(&q.key, snapshot.clone());
        cache_put(&q.key, &snapshot).await;
        let _ = cache.delete(pending.as_str(), false).await;
    });
}

/// Ends a key's refresh in this isolate however the task ends.
struct InFlight(String);

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.with(|f| {
            if let Ok(mut f) = f.try_borrow_mut() {
                f.remove(&self.0);
            }
        });
    }
}

/// What is known of a cart at a ZIP for a link's creation: a fresh answer this isolate or
/// location already has, else Walmart's, asked now within `TIMEOUT` and kept for the redirects
/// of this location. A failed lookup for a creation makes the next minute's creations skip
/// Walmart (a failed snapshot at once). `None` when the feature is off.
pub async fn lookup_now(env: &Env, q: &CartQuery) -> Option<Snapshot> {
    client(env)?;
    let now = now_ms();
    if let Some(s) = remembered(&q.key).filter(|s| s.fresh(now)) {
        return Some((*s).clone());
    }
    if let Some(s) = cached(&q.key).await.filter(|s| s.fresh(now)) {
        adopt(&q.key, s.clone());
        return Some(s);
    }
    if now.saturating_sub(CREATE_FAILED_AT.with(Cell::get)) < FAILED_FRESH_MS {
        return Some(Snapshot {
            at: now,
            failed: true,
            ..Snapshot::default()
        });
    }
    let snapshot = lookup(env, &q.ids, &q.zip).await;
    if snapshot.failed {
        CREATE_FAILED_AT.with(|c| c.set(now_ms()));
    }
    remember(&q.key, Rc::new(snapshot.clone()));
    cache_put(&q.key, &snapshot).await;
    Some(snapshot)
}

/// Every lookup of `ids` at `zip`, in parallel, all within `TIMEOUT`: a snapshot of what
/// answered (failed when any lookup did not).
async fn lookup(env: &Env, ids: &[String], zip: &str) -> Snapshot {
    let now = now_ms();
    let failed = || Snapshot {
        at: now,
        failed: true,
        ..Snapshot::default()
    };
    let Some(client) = client(env) else {
        return failed();
    };
    let client = &*client;
    let Ok(key) = &client.key else {
        return failed();
    };
    let controller = AbortController::default();
    let signal = controller.signal();
    let work = async {
        let timestamp = now_ms();
        let input = signature_input(&client.consumer_id, timestamp, &client.key_version);
        let signature = match JsFuture::from(walmart_signature(key, &input)).await {
            Ok(bytes) => base64_encode(&js_sys::Uint8Array::new(&bytes).to_vec()),
            Err(_) => {
                worker::console_error!(
                    "walmart availability: {PRIVATE_KEY_SECRET} is not an RSA private key WebCrypto can sign with"
                );
                return Vec::new();
            }
        };
        let calls = lookup_urls(&client.base_url, ids, zip)
            .into_iter()
            .map(|url| {
                let (signature, signal) = (&signature, &signal);
                async move {
                    let got = get(client, &url, timestamp, signature, signal).await;
                    if got.is_none() {
                        worker::console_error!("walmart availability: a lookup failed");
                    }
                    got
                }
            });
        join_all(calls).await
    };
    match super::instacart::with_timeout(work, TIMEOUT).await {
        Some(results) => Snapshot::from_results(now, &results),
        None => {
            controller.abort();
            worker::console_error!(
                "walmart availability: Walmart did not answer within {} ms",
                TIMEOUT.as_millis()
            );
            failed()
        }
    }
}

/// One signed lookup: the items' stock, or `None` (not reached, not 200, nonsense).
async fn get(
    client: &Client,
    url: &str,
    timestamp: i64,
    signature: &str,
    signal: &worker::AbortSignal,
) -> Option<Vec<(String, Stock)>> {
    let headers = Headers::new();
    for (name, value) in [
        ("WM_CONSUMER.ID", client.consumer_id.as_str()),
        ("WM_CONSUMER.INTIMESTAMP", timestamp.to_string().as_str()),
        ("WM_SEC.KEY_VERSION", client.key_version.as_str()),
        ("WM_SEC.AUTH_SIGNATURE", signature),
        ("accept", "application/json"),
    ] {
        headers.set(name, value).ok()?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers);
    let request = Request::new_with_init(url, &init).ok()?;
    let mut resp = Fetch::Request(request)
        .send_with_signal(signal)
        .await
        .ok()?;
    if resp.status_code() != 200 {
        return None;
    }
    let declared = resp
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_ANSWER_BYTES) {
        return None;
    }
    let body = resp.text().await.ok()?;
    if body.len() > MAX_ANSWER_BYTES {
        return None;
    }
    parse_answer(&body)
}

#[wasm_bindgen(inline_js = r#"
let signingKey = null;
export function walmart_signature(der, text) {
  signingKey ??= crypto.subtle.importKey("pkcs8", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["sign"]);
  return signingKey.then((key) => crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, new TextEncoder().encode(text)));
}
const SEP = "\u001f", UTF8 = new TextEncoder();
const clip = (v, n) => {
  if (v == null) return "";
  const s = typeof v === "string" ? v : String(v);
  return s.length > n || s.includes(SEP) ? s.slice(0, n).replaceAll(SEP, "") : s;
};
export function shopper_location(r) {
  const h = r.headers;
  let zip = h.get("cf-postal-code"), region = h.get("cf-region-code"), country = h.get("cf-ipcountry");
  if (zip === null || region === null || country === null) {
    const cf = r.cf || {};
    zip ??= cf.postalCode;
    region ??= cf.regionCode;
    country ??= cf.country;
  }
  return UTF8.encode(clip(zip, 16) + SEP + clip(region, 8) + SEP + clip(country, 8));
}
"#)]
extern "C" {
    /// The RSASSA-PKCS1-v1_5 SHA-256 signature of `text` (an `ArrayBuffer`) with the PKCS#8
    /// key `der`, imported once per isolate.
    fn walmart_signature(der: &[u8], text: &str) -> js_sys::Promise;
    /// The shopper's postal code, region and country, `\u{1f}`-separated, as UTF-8 (bytes
    /// enter Wasm with one native copy, a string through a JavaScript loop): the
    /// `CF-Postal-Code`, `CF-Region-Code` and `CF-IPCountry` headers (Cloudflare's visitor
    /// location headers), `request.cf` for any that is missing.
    fn shopper_location(req: &web_sys::Request) -> js_sys::Uint8Array;
}

/// Where the shopper is, as Cloudflare says: postal code, region code and country code.
pub struct Shopper(String);

impl Shopper {
    fn part(&self, i: usize) -> &str {
        self.0.split('\u{1f}').nth(i).unwrap_or_default()
    }
    pub fn postal_code(&self) -> &str {
        self.part(0)
    }
    /// The US state (`availability::us_region`), "" when not in the US or not known.
    pub fn region(&self) -> &'static str {
        crate::domain::availability::us_region(self.part(1), self.part(2))
    }
}

pub fn shopper(req: &web_sys::Request) -> Shopper {
    Shopper(String::from_utf8(shopper_location(req).to_vec()).unwrap_or_default())
}

/// Keeps a snapshot read from the location's cache for this isolate's next redirects.
pub fn adopt(key: &str, snapshot: Snapshot) -> Rc<Snapshot> {
    let s = Rc::new(snapshot);
    remember(key, s.clone());
    s
}

/// What is known of a cart at a ZIP, for a redirect: this isolate's snapshot, else the
/// location's cached one (one Cache API read). A snapshot that is missing or stale leaves a
/// refresh behind (`refresh_later`); a stale one still decides the cart meanwhile.
pub async fn known(env: &Env, ctx: &Context, q: CartQuery, now: i64) -> Option<Rc<Snapshot>> {
    if let Some(s) = remembered(&q.key).filter(|s| s.usable(now)) {
        if !s.fresh(now) {
            refresh_later(env, ctx, q);
        }
        return Some(s);
    }
    let s = cached(&q.key)
        .await
        .filter(|s| s.usable(now))
        .map(|s| adopt(&q.key, s));
    if s.as_ref().is_none_or(|s| !s.fresh(now)) {
        refresh_later(env, ctx, q);
    }
    s
}

/// A Walmart cart with backups, checked at its `location.zipCode` while the link is created
/// (within `TIMEOUT`): unavailable primaries get their first available backup in `dest`, and
/// the warnings say what was done, or that Walmart could not be asked. Any other link, or
/// availability off: `dest` as it is, no warnings. The answer is kept for the redirects.
pub async fn smart_select(
    env: &Env,
    spec: &crate::domain::link::LinkSpec,
    dest: String,
) -> (String, Vec<serde_json::Value>) {
    let Some(b) = crate::domain::availability::backups_for(spec) else {
        return (dest, Vec::new());
    };
    let Some(zip) = b.zip.as_deref() else {
        return (dest, Vec::new());
    };
    let q = CartQuery::new(&b.lines, zip);
    let Some(known) = lookup_now(env, &q).await else {
        return (dest, Vec::new());
    };
    let (decision, warnings) = crate::domain::availability::create_warnings(&b.lines, zip, &known);
    (
        crate::domain::record::with_cart_items(&dest, &decision.items),
        warnings,
    )
}
