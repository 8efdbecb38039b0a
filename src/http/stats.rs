//! Clicks: recording a visit (after the response, from the redirect) and
//! `GET /v1/links/{linkId}/stats`, which fans out to the link's click shards and merges.

use super::auth::authenticate;
use super::errors::ApiError;
use super::links::load_link;
use super::{json_data, now_ms, random16, random_bytes, Ctx};
use crate::domain::batcher::{Batcher, MAX_PENDING_VISITS};
use crate::domain::client::VisitorHasher;
use crate::domain::error::FieldError;
use crate::domain::ids::ulid_id;
pub use crate::domain::stats::EventKind;
use crate::domain::stats::{
    answer, batch_parts, ceil_to, click_event, floor_to, keep_batching, parse_visits, shard_for,
    shard_name, ClickEvent, Granularity, Partial, StockOutcome, BATCH_STALE_MS, BATCH_WINDOW_MS,
    CLICK_SHARDS, DAY_MS, HOUR_MS, MAX_BUCKETS,
};
use crate::domain::stockouts::{project_rows, ProjectRows};
use crate::domain::time::parse_rfc3339;
use futures_util::future::join_all;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{js_sys, web_sys, Context, Env, Method, Request, RequestInit, Response, Stub};

/// The Durable Object binding of `LinkClicks` (see wrangler.toml).
pub const CLICKS_BINDING: &str = "CLICKS";

fn shard_stub(env: &Env, link_id: &str, shard: u32) -> worker::Result<Stub> {
    env.durable_object(CLICKS_BINDING)?
        .id_from_name(&shard_name(link_id, shard))?
        .get_stub()
}

/// A var read once per isolate (vars are fixed for its life), kept as what `parse` makes of
/// it (`None` when unset).
fn isolate_var<T: Copy + 'static>(
    cell: &'static std::thread::LocalKey<std::cell::OnceCell<T>>,
    env: &Env,
    name: &str,
    parse: impl FnOnce(Option<String>) -> T,
) -> T {
    cell.with(|c| *c.get_or_init(|| parse(env.var(name).ok().map(|v| v.to_string()))))
}

/// Whether visits are recorded (`CLICK_RECORDING` var; "off" only for benchmarks).
pub fn recording_on(env: &Env) -> bool {
    thread_local! {
        static ON: std::cell::OnceCell<bool> = const { std::cell::OnceCell::new() };
    }
    isolate_var(&ON, env, "CLICK_RECORDING", |v| v.as_deref() != Some("off"))
}

/// How many times slower than real time the batch's timer runs (`CLICK_BATCH_SCALE` var, a
/// whole number from 1 to 100; 1 unless set). Only for measuring under a slowed-down runtime
/// (bench/instructions.mjs runs workerd under valgrind, ~20–40× slower): scaling the window
/// keeps batches as large as at full speed, so the per-batch costs weigh what they do in
/// production. The batching rules are unchanged: `keep_batching` sees the unscaled age.
fn batch_scale(env: &Env) -> u32 {
    thread_local! {
        static SCALE: std::cell::OnceCell<u32> = const { std::cell::OnceCell::new() };
    }
    isolate_var(&SCALE, env, "CLICK_BATCH_SCALE", |v| {
        v.and_then(|v| v.parse::<u32>().ok())
            .filter(|k| (1..=100).contains(k))
            .unwrap_or(1)
    })
}

/// Whether the zone has Cloudflare Bot Management (`BOT_MANAGEMENT` var, `on`): then every
/// visit's `request.cf.botManagement.verifiedBot` is read (see `visit_fields`).
fn bot_management(env: &Env) -> bool {
    thread_local! {
        static ON: std::cell::OnceCell<bool> = const { std::cell::OnceCell::new() };
    }
    isolate_var(&ON, env, "BOT_MANAGEMENT", |v| v.as_deref() == Some("on"))
}

/// A visit waiting to become a click event: the request (only its headers and `cf` are
/// read, after the response is sent), the link, the scanned QR code and the time of the visit.
struct Visit {
    req: web_sys::Request,
    link_id: String,
    qr: Option<String>,
    now: i64,
    /// What the visit was: of the link, of its where-to-buy page, or a retailer chosen there.
    kind: EventKind,
    /// For a link with backups: what the visit's cart met, and the shopper's US state as the
    /// redirect read it.
    stock: Option<(StockOutcome, &'static str)>,
}

thread_local! {
    /// Visits of this isolate not yet handed to their shards, and the batch collecting them
    /// (`domain::batcher`). Only data lives here: the work on them always runs inside the
    /// `wait_until` of a request that is still alive (the one that opened the batch), so the
    /// runtime keeps the isolate until it is done.
    static BATCHER: RefCell<Batcher<Visit>> = const { RefCell::new(Batcher::new()) };
}

/// Closes its batch when the batch's task ends, however it ends: also when the runtime drops
/// the task's future. (A task the runtime cancels without dropping it never ends; its batch
/// is given up when it stops taking, see `domain::batcher`.)
struct CloseOnDrop(u64);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        let generation = self.0;
        BATCHER.with(|b| {
            if let Ok(mut b) = b.try_borrow_mut() {
                b.close(generation);
            }
        });
    }
}

/// Queues a visit for recording: all that runs before the response is a push onto a list.
/// Visits are batched per isolate: the first visit of a batch registers one
/// `ctx.wait_until` task. Every `BATCH_WINDOW_MS` (every response of the window being on its
/// way) it builds the click events of the visits queued meanwhile, which releases their
/// requests; then it delivers the batch with one Durable Object call per (link, shard) and
/// part (`domain::stats::batch_parts`), unless the isolate is busy enough that the batch
/// keeps collecting (`domain::stats::keep_batching`: at most `MAX_BATCH_AGE_MS`). The visits
/// that arrive meanwhile only append (at most `MAX_PENDING_VISITS` wait; beyond, the oldest
/// are dropped and logged). Failures are logged, never surfaced. Never inlined: a CPU profile
/// of a build with names then shows this step apart from the redirect (bench/profile.mjs).
#[inline(never)]
pub fn record_click(
    req: web_sys::Request,
    env: &Env,
    ctx: &Context,
    link_id: String,
    qr: Option<String>,
    now: i64,
) {
    record_visit(req, env, ctx, link_id, qr, EventKind::Visit, now, None);
}

/// `record_click` of a visit of another kind (a where-to-buy page view, a retailer chosen).
#[inline(never)]
pub fn record_event(
    req: web_sys::Request,
    env: &Env,
    ctx: &Context,
    link_id: String,
    qr: Option<String>,
    kind: EventKind,
    now: i64,
) {
    record_visit(req, env, ctx, link_id, qr, kind, now, None);
}

/// `record_click` for a visit of a link with backups: also what its cart met (counted in the
/// link's stats and, per project, in the out-of-stock report) and the shopper's US state.
#[inline(never)]
pub fn record_stocked_click(
    req: web_sys::Request,
    env: &Env,
    ctx: &Context,
    link_id: String,
    qr: Option<String>,
    now: i64,
    stock: (StockOutcome, &'static str),
) {
    record_visit(
        req,
        env,
        ctx,
        link_id,
        qr,
        EventKind::Visit,
        now,
        Some(stock),
    );
}

#[allow(clippy::too_many_arguments)]
fn record_visit(
    req: web_sys::Request,
    env: &Env,
    ctx: &Context,
    link_id: String,
    qr: Option<String>,
    kind: EventKind,
    now: i64,
    stock: Option<(StockOutcome, &'static str)>,
) {
    let scale = batch_scale(env);
    let visit = Visit {
        req,
        link_id,
        qr,
        now,
        kind,
        stock,
    };
    let stale_ms = (BATCH_STALE_MS * u64::from(scale)) as i64;
    let Some(generation) = BATCHER.with(|b| b.borrow_mut().push(visit, now, stale_ms)) else {
        return;
    };
    let env = env.clone();
    let window_ms = BATCH_WINDOW_MS as u32 * scale;
    ctx.wait_until(async move {
        let open = CloseOnDrop(generation);
        let mut batch = Vec::new();
        // In unscaled windows (see `batch_scale`).
        let mut age_ms = 0;
        loop {
            // A plain timer promise: `worker::Delay` builds a wasm-bindgen closure per wait,
            // which costs more than the wait's own `setTimeout` (CPU profile, README).
            let _ = JsFuture::from(sleep(window_ms)).await;
            age_ms += BATCH_WINDOW_MS;
            // From here to the end of the loop nothing awaits: no visit can slip between
            // the last take and the close, so each visit is in exactly one batch.
            let taken = BATCHER.with(|b| b.borrow_mut().take(generation, now_ms()));
            // `None`: this batch was given up for lost; a newer one collects.
            let Some((visits, dropped)) = taken else {
                break;
            };
            if dropped > 0 {
                worker::console_error!(
                    "click recording: {dropped} visits dropped (more than {MAX_PENDING_VISITS} waiting)"
                );
            }
            let in_window = visits.len();
            match build_events(&env, visits) {
                Ok(mut events) => batch.append(&mut events),
                Err(e) => worker::console_error!("click events: {e}"),
            }
            if !keep_batching(in_window, batch.len(), age_ms) {
                break;
            }
        }
        drop(open);
        deliver_batch(&env, batch).await;
    });
}

#[wasm_bindgen(inline_js = r#"
const FIELD = "\u001f", ROW = "\u001e", SEP = /[\u001e\u001f]/, SEPS = /[\u001e\u001f]/g;
const COUNTRY = /^[A-Z0-9]{2}$/;
const UTF8 = new TextEncoder();
// Header values are cut before they reach Wasm: a hostile 100 KB Referer must not cost more
// than a real one. The limits are above what is read: the User-Agent's first 1,024 bytes
// (client::UA_SCAN_LIMIT, plus the byte after), a referrer host of at most 253 characters
// (a longer one, even cut, stays longer and is stored as "(invalid)"), an IP address.
const clean = (v, max) => {
  if (v == null) return "";
  let s = String(v);
  if (s.length > max) s = s.slice(0, max);
  return SEP.test(s) ? s.replace(SEPS, " ") : s;
};
export function visit_fields(requests, botManagement) {
  let out = "";
  for (let i = 0; i < requests.length; i++) {
    const r = requests[i], h = r.headers;
    let country = h.get("cf-ipcountry"), region = h.get("cf-region-code"), bot;
    const fromHeader = country !== null && COUNTRY.test(country);
    if (!fromHeader || botManagement) {
      const cf = r.cf || {};
      if (!fromHeader) country = cf.country;
      region ??= cf.regionCode;
      bot = cf.botManagement ? cf.botManagement.verifiedBot : undefined;
    }
    if (i > 0) out += ROW;
    out += clean(h.get("user-agent"), 2048) + FIELD + clean(h.get("referer"), 2048) + FIELD +
      clean(h.get("cf-connecting-ip") ?? h.get("x-real-ip"), 64) + FIELD + clean(country, 8) + FIELD +
      (bot === true ? "1" : bot === false ? "0" : "") + FIELD + clean(region, 8);
  }
  return UTF8.encode(out);
}
"#)]
extern "C" {
    /// The six `VisitFields` of every request, in one call (see `domain::stats::parse_visits`),
    /// as UTF-8. Bytes rather than a string: they enter Wasm memory with one native copy,
    /// where wasm-bindgen passes a string in with a JavaScript loop over its characters
    /// (callgrind put that loop at about a fifth of recording's instructions).
    ///
    /// `request.cf` is read only when it is needed: the runtime parses it from JSON and
    /// freezes it on first access, which callgrind put at about half of recording's
    /// instructions. The country comes from the `CF-IPCountry` header that Cloudflare adds
    /// (IP Geolocation, on by default), from `cf.country` when the header is missing or not
    /// a country code. `botManagement.verifiedBot` is read whenever `cf` is, and always
    /// with `botManagement` (`BOT_MANAGEMENT` var): without Cloudflare Bot Management the
    /// runtime fills in `verifiedBot: false`, which says nothing.
    fn visit_fields(requests: &js_sys::Array, bot_management: bool) -> js_sys::Uint8Array;
}

/// The click events of a batch of visits: one JS call reads what the requests say
/// (headers and `cf`); the rest is pure (`domain::stats::click_event`).
fn build_events(env: &Env, visits: Vec<Visit>) -> Result<Vec<Pending>, ApiError> {
    let requests: js_sys::Array = visits.iter().map(|v| JsValue::from(&v.req)).collect();
    let bytes = visit_fields(&requests, bot_management(env)).to_vec();
    let text = std::str::from_utf8(&bytes).map_err(|_| ApiError::internal())?;
    let fields = parse_visits(text, visits.len()).ok_or_else(ApiError::internal)?;
    let visitors = visitor_hasher(env)?;
    Ok(visits
        .into_iter()
        .zip(fields.iter())
        .map(|(v, f)| {
            let mut event = click_event(f, &visitors, v.qr, v.now).of_kind(v.kind);
            if let Some((outcome, region)) = v.stock {
                event.stock = Some(outcome);
                event.region = region;
            }
            (v.link_id, shard_for(&event.visitor), event)
        })
        .collect())
}

/// The visitor hasher, keyed by `VISITOR_HASH_SECRET` (required: a misconfigured worker
/// records nothing, as it serves nothing), prepared once per isolate.
fn visitor_hasher(env: &Env) -> Result<VisitorHasher, ApiError> {
    thread_local! {
        static HASHER: std::cell::OnceCell<VisitorHasher> = const { std::cell::OnceCell::new() };
    }
    HASHER.with(|h| {
        if let Some(hasher) = h.get() {
            return Ok(hasher.clone());
        }
        let key = super::config::visitor_hash_key(env)?;
        Ok(h.get_or_init(|| VisitorHasher::new(&key)).clone())
    })
}

/// A click ready for delivery: (link id, shard, event).
type Pending = (String, u32, ClickEvent);

/// One call per (link, shard) and part, in parallel: a shard's events counted into parts
/// that stay within what it stores in one statement (`domain::stats::batch_parts`); one retry
/// each (the part's batch id makes a repeated delivery count once).
async fn deliver_batch(env: &Env, batch: Vec<Pending>) {
    let projects = project_rows(batch.iter().map(|(_, _, e)| e));
    let mut groups: BTreeMap<(String, u32), Vec<ClickEvent>> = BTreeMap::new();
    for (link_id, shard, event) in batch {
        groups.entry((link_id, shard)).or_default().push(event);
    }
    let parts: Vec<_> = groups
        .iter()
        .flat_map(|((link_id, shard), events)| {
            batch_parts(events)
                .into_iter()
                .map(move |part| (link_id.as_str(), *shard, part))
        })
        .collect();
    // One `getRandomValues` call for every batch id.
    let mut random = vec![0u8; 16 * parts.len()];
    if let Err(e) = random_bytes(&mut random) {
        worker::console_error!("click delivery failed: no randomness ({e:?})");
        return;
    }
    let now = now_ms();
    let calls = parts
        .into_iter()
        .zip(random.chunks_exact(16))
        .map(|((link_id, shard, part), r)| {
            let bytes: [u8; 16] = r.try_into().unwrap_or_default();
            let body = part.body(&ulid_id("bat_", now, bytes));
            (link_id, shard, part.clicks, body)
        })
        .map(|(link_id, shard, n, body)| async move {
            for attempt in 0..2 {
                match deliver_body(env, link_id, shard, &body).await {
                    Ok(_) => return,
                    Err(e) if attempt == 1 => {
                        worker::console_error!("click delivery failed ({n} clicks): {e}")
                    }
                    Err(_) => {}
                }
            }
        });
    let reports = deliver_project_rows(env, projects);
    futures_util::future::join(join_all(calls), reports).await;
}

/// The Durable Object binding of `ProjectStockouts` (see wrangler.toml).
pub const STOCKOUTS_BINDING: &str = "STOCKOUTS";

/// A batch's visits of links with backups, counted per project, to each project's report
/// object: one call per project and part, one retry each (the batch id makes a repeated
/// delivery count once).
async fn deliver_project_rows(env: &Env, projects: BTreeMap<String, ProjectRows>) {
    let now = now_ms();
    let mut failed = false;
    let bodies: Vec<(String, String)> = projects
        .into_iter()
        .flat_map(|(project, rows)| {
            rows.bodies(|| match random16() {
                Ok(r) => ulid_id("bat_", now, r),
                Err(_) => {
                    failed = true;
                    String::new()
                }
            })
            .into_iter()
            .map(move |body| (project.clone(), body))
            .collect::<Vec<_>>()
        })
        .collect();
    if failed {
        worker::console_error!("out-of-stock delivery failed: no randomness");
        return;
    }
    let calls = bodies.iter().map(|(project, body)| async move {
        for attempt in 0..2 {
            let call = record_clicks(env, STOCKOUTS_BINDING, project, body.as_bytes());
            match JsFuture::from(call).await {
                Ok(_) => return,
                Err(e) if attempt == 1 => worker::console_error!(
                    "out-of-stock delivery failed: {}",
                    e.dyn_into::<js_sys::Error>()
                        .map(|e| String::from(e.message()))
                        .unwrap_or_default()
                ),
                Err(_) => {}
            }
        }
    });
    join_all(calls).await;
}

#[wasm_bindgen(inline_js = r#"
export async function record_clicks(env, binding, name, batch) {
  const shards = env[binding];
  return await shards.get(shards.idFromName(name)).record(batch.slice());
}
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
"#)]
extern "C" {
    /// A promise that resolves after `ms` milliseconds.
    fn sleep(ms: u32) -> js_sys::Promise;
    /// `LinkClicks::record` on the named shard, by JS RPC. `batch` is a view of Wasm
    /// memory; the call sends a copy of it.
    fn record_clicks(env: &JsValue, binding: &str, name: &str, batch: &[u8]) -> js_sys::Promise;
}

/// Delivers a batch body to a shard (also for operators and tests, as given:
/// `POST /_admin/links/{id}/clicks/{shard}`). Answers the shard's count of the batch's
/// clicks, or the shard's refusal.
pub async fn deliver_body(env: &Env, link_id: &str, shard: u32, body: &str) -> Result<u32, String> {
    let call = record_clicks(
        env,
        CLICKS_BINDING,
        &shard_name(link_id, shard),
        body.as_bytes(),
    );
    match JsFuture::from(call).await {
        Ok(n) => Ok(n.as_f64().map_or(0, |n| n as u32)),
        Err(e) => Err(e
            .dyn_into::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_else(|_| "the shard refused the batch".into())),
    }
}

/// `GET /v1/links/{linkId}/stats?from&to&granularity`.
pub async fn get(req: Request, cx: &Ctx, link_id: &str) -> Result<Response, ApiError> {
    let store = crate::store::Store::new(&cx.env)?;
    let caller = authenticate(&req, &store, &cx.env).await?;
    caller.require_scope("stats:read")?;
    let link = load_link(&store, &caller, link_id).await?;

    let created = link
        .data
        .get("createdAt")
        .and_then(Value::as_str)
        .and_then(parse_rfc3339)
        .unwrap_or(0);
    let (from, to, granularity) = range(&req, created, now_ms())?;
    let partial = fetch_partials(&cx.env, link_id, from, to).await?;
    let mut data = answer(&partial, from, to, granularity);
    let codes: Vec<(String, String)> = crate::store::durable::qr_codes(&cx.env, &link.short_id)
        .await?
        .into_iter()
        .map(|e| (e.id, e.identifier))
        .collect();
    crate::domain::qr_code::name_breakdown(&mut data, &codes);
    let retailer = link.data.get("retailer").and_then(Value::as_str);
    let offers: Vec<&str> = link
        .data
        .get("offers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|o| o.get("retailer")?.as_str())
                .collect()
        })
        .unwrap_or_default();
    crate::domain::stats::add_retailer_stats(&mut data, &partial, retailer.unwrap_or(""), &offers);
    Ok(json_data(200, &data.to_string()))
}

/// 9999-12-31T23:00:00Z: the latest end of a stats range (its last hour still has a four-digit
/// year when written as RFC 3339).
const MAX_RANGE_END: i64 = 253_402_297_200_000;

/// Parses and checks the query; the range is widened to whole hours, the resolution of the
/// stored counts (clicks are counted per hour before they are stored).
fn range(req: &Request, created: i64, now: i64) -> Result<(i64, i64, Granularity), ApiError> {
    let url = req.url().map_err(|_| ApiError::internal())?;
    let mut problems = Vec::new();
    let (mut from, mut to, mut granularity) = (None, None, None);
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "from" | "to" => match parse_rfc3339(&v) {
                Some(ms) if k == "from" => from = Some(ms),
                Some(ms) => to = Some(ms),
                None => problems.push(FieldError::new(
                    k.as_ref(),
                    "invalid_datetime",
                    "Must be an RFC 3339 date-time such as 2026-05-20T07:19:00Z",
                )),
            },
            "granularity" => match Granularity::parse(&v) {
                Some(g) => granularity = Some(g),
                None => problems.push(FieldError::new(
                    "granularity",
                    "invalid_enum",
                    "Must be one of: hour, day",
                )),
            },
            _ => {}
        }
    }
    let given_from = from.is_some();
    let start = from.unwrap_or(created);
    if to.is_some_and(|t| t <= start) {
        problems.push(FieldError::new(
            "to",
            "out_of_range",
            if given_from {
                "to must be after from"
            } else {
                "to must be after from (the link's creation when from is left out)"
            },
        ));
    }
    let from = floor_to(start, HOUR_MS);
    let end = ceil_to(to.unwrap_or(now).max(0), HOUR_MS);
    let to = end.max(from + HOUR_MS);
    // The answer's `to` (and series) must stay writable as RFC 3339 (four-digit years).
    if to > MAX_RANGE_END {
        problems.push(FieldError::new(
            if end > MAX_RANGE_END { "to" } else { "from" },
            "out_of_range",
            "The range, widened to whole hours, must end by 9999-12-31T23:00:00Z",
        ));
    }
    let granularity = granularity.unwrap_or(if to - from <= 7 * DAY_MS {
        Granularity::Hour
    } else {
        Granularity::Day
    });
    if (to - from) / granularity.ms() > MAX_BUCKETS {
        problems.push(FieldError::new(
            "granularity",
            "out_of_range",
            format!("At most {MAX_BUCKETS} buckets: use a shorter range or granularity=day"),
        ));
    }
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    Ok((from, to, granularity))
}

/// Every shard's share, fetched in parallel and merged.
pub async fn fetch_partials(
    env: &Env,
    link_id: &str,
    from: i64,
    to: i64,
) -> Result<Partial, ApiError> {
    let calls = (0..CLICK_SHARDS).map(|shard| async move {
        let stub = shard_stub(env, link_id, shard)?;
        let mut resp = stub
            .fetch_with_str(&format!("https://clicks/stats?from={from}&to={to}"))
            .await?;
        resp.json::<Partial>().await
    });
    let mut total = Partial::default();
    for r in join_all(calls).await {
        total = total.merge(r?);
    }
    Ok(total)
}

/// Rolls up every shard of a link now (operators and tests: `POST /_admin/links/{id}/rollup`).
pub async fn rollup_now(env: &Env, link_id: &str, cutoff: i64) -> Result<(), ApiError> {
    for shard in 0..CLICK_SHARDS {
        let stub = shard_stub(env, link_id, shard)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post);
        let url = format!("https://clicks/rollup?cutoff={cutoff}");
        stub.fetch_with_request(Request::new_with_init(&url, &init)?)
            .await?;
    }
    Ok(())
}
