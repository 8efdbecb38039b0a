//! `GET /{shortId}` and `HEAD`: one KV read, one JSON parse, one 302. Nothing else runs
//! before the response, except for the two cases that need strong consistency:
//! - a KV miss (a link created moments ago at another location) asks the link's home
//!   Durable Object before answering 404, guarded by the short id's check character and a
//!   short negative cache;
//! - a capped link (`options.maxClicks`) takes a use from its home object, atomically.
//!   Clients that do not use it up (bots, link previews, tools, an empty User-Agent, `HEAD`)
//!   never get its destination: they get a neutral page titled with the link's public name.

use super::availability::{self as stock, CartQuery};
use super::{now_ms, shopper_page, shopper_page_with_head, stats, text_response};
use crate::domain::availability::{decide, shopper_zip, Snapshot};
use crate::domain::client;
use crate::domain::ids::{has_valid_check, is_plausible_short_id};
use crate::domain::record::{
    escape_html, preview_head, with_cart_items, RedirectRecord, Status, QR_PARAM,
};
use crate::domain::stats::StockOutcome;
use crate::store::{durable, fast, PrintedQr};
use wasm_bindgen::prelude::*;
use worker::{web_sys, worker_sys, Cache, Context, Env, Headers, Response};

/// How long a confirmed-unknown short id is remembered at a location.
const NEGATIVE_TTL_SECS: u32 = 30;

/// `url` is `req.url()`; `is_get` false for HEAD.
pub async fn handle(
    req: web_sys::Request,
    url: &str,
    env: &Env,
    ctx: &Context,
    short_id: &str,
    is_get: bool,
) -> web_sys::Response {
    if !is_plausible_short_id(short_id) {
        return not_found().into();
    }
    let raw = match fast::redirect_raw(env, short_id).await {
        Ok(Some(raw)) => raw,
        Ok(None) => match authoritative(env, ctx, short_id).await {
            Some(raw) => raw.into_bytes(),
            None => return not_found().into(),
        },
        Err(_) => return unavailable().into(),
    };
    let Some(record) = parse_record(&raw) else {
        worker::console_error!("unreadable redirect record for a short id");
        return not_found().into();
    };
    let now = now_ms();
    let mut status = record.status(now);
    let mut preview = None;
    if status == Status::Active {
        if let Some(max) = record.max_clicks {
            let ua = req.headers().get("user-agent").ok().flatten();
            let shopper = is_get && client::classify(ua.as_deref(), None).bot.is_none();
            status = capped_status(env, short_id, max, shopper).await;
            if status == Status::Active && !shopper {
                preview = Some(preview_title(env, &record).await);
            }
        }
    }
    if status == Status::Active && preview.is_none() && has_backups(env, &record) {
        let Some(b) = &record.backups else {
            return not_found().into();
        };
        let shopper = stock::shopper(&req);
        let region = shopper.region();
        let known = match shopper_zip(shopper.postal_code(), b.zip.as_deref()) {
            Some(zip) => stock::known(env, ctx, CartQuery::new(&b.lines, zip), now).await,
            None => None,
        };
        let known = known.as_deref();
        return stocked_answer(req, url, env, ctx, record, now, is_get, region, known);
    }
    answer(
        req, url, env, ctx, record, status, now, is_get, preview, short_id,
    )
}

/// Whether the record's cart may take backups (the record has them, availability is on).
fn has_backups(env: &Env, record: &RedirectRecord) -> bool {
    record.backups.is_some() && stock::enabled(env)
}

/// The title of a capped link's preview page: its public name from the record, or, for a
/// record written before records carried it, from the stored link.
async fn preview_title(env: &Env, record: &RedirectRecord) -> String {
    if let Some(title) = &record.preview_title {
        return title.clone();
    }
    let stored = match crate::store::Store::new(env) {
        Ok(store) => store.link(&record.link_id).await.ok().flatten(),
        Err(_) => None,
    };
    stored
        .and_then(|link| {
            ["publicName", "name"]
                .iter()
                .find_map(|k| link.data.get(*k)?.as_str().map(str::to_string))
        })
        .unwrap_or_else(|| "Shared link".to_string())
}

/// `GET /qr/{identifier}`: a printed QR code. Its record (one KV read) names the link and the
/// code's scan marker; the visit is then the link's, as a scan of that code (the marker goes
/// first in the query, where a visitor's own `qr=` cannot displace it). An identifier KV does
/// not know is the 404 page, with no Durable Object call.
pub async fn printed(
    req: web_sys::Request,
    url: &str,
    env: &Env,
    ctx: &Context,
    identifier: &str,
    is_get: bool,
) -> web_sys::Response {
    if !crate::domain::qr_code::is_identifier(identifier) {
        return not_found().into();
    }
    let printed: PrintedQr = match fast::printed_qr_raw(env, identifier).await {
        Ok(Some(raw)) => match std::str::from_utf8(&raw)
            .ok()
            .and_then(|s| serde_json::from_str(s).ok())
        {
            Some(p) => p,
            None => return not_found().into(),
        },
        Ok(None) => return not_found().into(),
        Err(_) => return unavailable().into(),
    };
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scan_url = match query {
        Some(q) if !q.is_empty() => format!("{base}?{QR_PARAM}={}&{q}", printed.marker),
        _ => format!("{base}?{QR_PARAM}={}", printed.marker),
    };
    handle(req, &scan_url, env, ctx, &printed.short_id, is_get).await
}

/// The answer from a record KV returned, without awaiting anything: the entry module's
/// fast path (`redirect_answer` in lib.rs), which saves the async bridge. `None` when the
/// record needs more than that (a capped link takes a use from its home object) or cannot
/// be read; the caller then takes the full path, `handle`. An active link with backups is
/// answered at once when this isolate knows the cart's availability at the shopper's ZIP,
/// else with a promise of the answer after one Cache API read (`with_backups_now`).
pub fn answer_now(
    req: web_sys::Request,
    url: &str,
    env: &Env,
    ctx: worker_sys::Context,
    raw: &[u8],
    is_get: bool,
) -> Option<JsValue> {
    let record = parse_record(raw)?;
    let now = now_ms();
    let status = record.status(now);
    if status == Status::Active && record.max_clicks.is_some() {
        return None;
    }
    if status == Status::Active && has_backups(env, &record) {
        return Some(with_backups_now(req, url, env, ctx, record, now, is_get));
    }
    // Only a where-to-buy page needs its short id (its buttons' addresses).
    let short_id = match record.page {
        Some(_) => crate::domain::ids::redirect_target(crate::domain::ids::url_path(url))?,
        None => "",
    };
    Some(
        answer(
            req,
            url,
            env,
            &Context::new(ctx),
            record,
            status,
            now,
            is_get,
            None,
            short_id,
        )
        .into(),
    )
}

/// An active link with backups on the fast path: the response when this isolate holds the
/// cart's availability at the shopper's ZIP (or the ZIP is not known), else a promise of it
/// after one read of the location's cache. Never a call to Walmart: a missing or stale
/// answer is refreshed after the response.
fn with_backups_now(
    req: web_sys::Request,
    url: &str,
    env: &Env,
    js_ctx: worker_sys::Context,
    record: RedirectRecord,
    now: i64,
    is_get: bool,
) -> JsValue {
    let Some(b) = &record.backups else {
        return web_sys::Response::from(not_found()).into();
    };
    let shopper = stock::shopper(&req);
    let region = shopper.region();
    let Some(zip) = shopper_zip(shopper.postal_code(), b.zip.as_deref()) else {
        let ctx = Context::new(js_ctx);
        return stocked_answer(req, url, env, &ctx, record, now, is_get, region, None).into();
    };
    let q = CartQuery::new(&b.lines, zip);
    if let Some(s) = stock::remembered(&q.key).filter(|s| s.usable(now)) {
        let ctx = Context::new(js_ctx);
        if !s.fresh(now) {
            stock::refresh_later(env, &ctx, q);
        }
        return stocked_answer(req, url, env, &ctx, record, now, is_get, region, Some(&s)).into();
    }
    let (env, url) = (env.clone(), url.to_string());
    worker::wasm_bindgen_futures::future_to_promise(async move {
        let ctx = Context::new(js_ctx);
        let known = stock::known(&env, &ctx, q, now).await;
        let resp = stocked_answer(
            req,
            &url,
            &env,
            &ctx,
            record,
            now,
            is_get,
            region,
            known.as_deref(),
        );
        Ok(resp.into())
    })
    .into()
}

/// The 302 of an active link with backups: its cart as availability at the shopper's ZIP
/// makes it (`domain::availability::decide`; the record's cart when nothing is known), and the
/// visit queued for recording with what the cart met.
#[allow(clippy::too_many_arguments)]
fn stocked_answer(
    req: web_sys::Request,
    url: &str,
    env: &Env,
    ctx: &Context,
    record: RedirectRecord,
    now: i64,
    is_get: bool,
    region: &'static str,
    known: Option<&Snapshot>,
) -> web_sys::Response {
    let query = url.split_once('?').map(|(_, q)| q);
    let mut location = record.location(query);
    let decision = match (known, &record.backups) {
        (Some(s), Some(b)) => Some(decide(&b.lines, s)),
        _ => None,
    };
    if let Some(d) = &decision {
        location = with_cart_items(&location, &d.items);
    }
    let resp = found(&location);
    if is_get && stats::recording_on(env) {
        let qr = record.qr_for_query(query).map(str::to_string);
        let project = record.backups.map(|b| b.project_id).unwrap_or_default();
        let outcome = match decision {
            Some(d) => StockOutcome {
                project,
                out_of_stock: d.out_of_stock,
                swaps: d.swaps,
            },
            None => StockOutcome {
                project,
                ..StockOutcome::default()
            },
        };
        stats::record_stocked_click(req, env, ctx, record.link_id, qr, now, (outcome, region));
    }
    resp
}

/// A stored redirect record from its bytes. Parsed from `&str`, as everywhere else:
/// `from_slice` would add a second copy of the deserializer to the bundle.
pub(super) fn parse_record(raw: &[u8]) -> Option<RedirectRecord> {
    serde_json::from_str(std::str::from_utf8(raw).ok()?).ok()
}

/// The answer to a KV miss without awaiting anything, when there is one: an id whose check
/// character is wrong was never issued, so it is a 404 at once. `None` for an id that may
/// belong to a link created moments ago; the full path (`handle`) asks its home object.
/// `short_id` comes from `ids::redirect_target`, which already checked its format.
pub fn miss_now(env: &Env, short_id: &str) -> Option<web_sys::Response> {
    // Without its key (a misconfigured worker, refused before it gets here) nothing is known.
    let Ok(key) = super::short_id_key(env) else {
        return Some(unavailable().into());
    };
    (!has_valid_check(short_id, &key)).then(|| not_found().into())
}

/// The response for a link in `status`, and the visit queued for recording. `preview`: the
/// title of the page an active capped link answers instead of its destination to a client
/// that does not use it up. `short_id`: the link's, for a where-to-buy page (its buttons).
#[allow(clippy::too_many_arguments)]
fn answer(
    req: web_sys::Request,
    url: &str,
    env: &Env,
    ctx: &Context,
    record: RedirectRecord,
    status: Status,
    now: i64,
    is_get: bool,
    preview: Option<String>,
    short_id: &str,
) -> web_sys::Response {
    // The query string, sliced from the serialized URL (no full URL parse on this path).
    let query = url.split_once('?').map(|(_, q)| q);
    let mut kind = stats::EventKind::Visit;
    let resp = match status {
        Status::Active => match (preview, &record.page) {
            (Some(title), _) => preview_page(&title).into(),
            (None, Some(page)) => {
                kind = stats::EventKind::PageView;
                super::page::page(page, short_id, now)
            }
            (None, None) => found(&record.location(query)),
        },
        Status::Unavailable => return unavailable().into(),
        inactive => match &record.fallback {
            Some(fallback) => found(fallback),
            None if inactive == Status::Pending => not_found().into(),
            None => gone().into(),
        },
    };
    // The visit is recorded after the response is on its way; HEAD is not a visit.
    if is_get && stats::recording_on(env) {
        let qr = record.qr_for_query(query).map(str::to_string);
        stats::record_event(req, env, ctx, record.link_id, qr, kind, now);
    }
    resp
}

/// A capped link: a shopper's GET takes a use (exactly `max` shoppers get through); bots,
/// link previews, tools and HEAD (`shopper` false) only look whether uses are left.
async fn capped_status(env: &Env, short_id: &str, max: u64, shopper: bool) -> Status {
    let left = if shopper {
        durable::claim_use(env, short_id, max).await
    } else {
        durable::uses(env, short_id).await.map(|n| n < max)
    };
    match left {
        Ok(true) => Status::Active,
        Ok(false) => Status::Expired,
        Err(_) => Status::Unavailable,
    }
}

/// The record from the link's home object, for ids KV does not know (yet). Only ids that
/// carry a valid check character get that far, and a confirmed miss is cached briefly.
pub(super) async fn authoritative(env: &Env, ctx: &Context, short_id: &str) -> Option<String> {
    let key = super::short_id_key(env).ok()?;
    if !has_valid_check(short_id, &key) {
        return None;
    }
    let key = format!("https://negative.in2carts.invalid/{short_id}");
    let cache = Cache::default();
    if let Ok(Some(_)) = cache.get(key.as_str(), true).await {
        return None;
    }
    match durable::home_record(env, short_id).await {
        Ok(Some(raw)) => Some(raw),
        Ok(None) => {
            let headers = Headers::new();
            let _ = headers.set("cache-control", &format!("max-age={NEGATIVE_TTL_SECS}"));
            let marker = text_response(200, String::new(), headers);
            ctx.wait_until(async move {
                let _ = Cache::default().put(key.as_str(), marker).await;
            });
            None
        }
        Err(_) => None,
    }
}

#[wasm_bindgen(inline_js = r#"
export function bodiless_response(status, location, cacheControl) {
  return new Response(null, { status, headers: { location, "cache-control": cacheControl } });
}
"#)]
extern "C" {
    /// A response without a body, built in one call of the runtime's constructor (a
    /// `Headers` object filled by `set` calls and then copied costs several times that).
    fn bodiless_response(status: u16, location: &str, cache_control: &JsValue)
        -> web_sys::Response;
}

/// A 302 that no cache keeps (a cached redirect would hide edits and clicks).
pub fn found(location: &str) -> web_sys::Response {
    thread_local! {
        static NO_STORE: JsValue = JsValue::from_str("private, no-store");
    }
    NO_STORE.with(|no_store| bodiless_response(302, location, no_store))
}

/// What an active capped link answers a client that does not use it up: a 200 page with the
/// link's public name for link previews (`og:title`), never indexed, and nothing of the
/// destination, so a bot, a tool or a `HEAD` cannot take a single-use link's destination
/// without using it.
fn preview_page(title: &str) -> Response {
    let t = escape_html(title);
    shopper_page_with_head(
        200,
        &t,
        "Open this link in your phone's browser to continue.",
        &preview_head(title),
    )
}

pub fn not_found() -> Response {
    shopper_page(
        404,
        "Link not found",
        "This link does not exist. Check the address, or scan the code again.",
    )
}

pub(super) fn gone() -> Response {
    shopper_page(
        410,
        "This link has ended",
        "The offer behind this link is no longer available.",
    )
}

pub(super) fn unavailable() -> Response {
    let mut resp = shopper_page(
        503,
        "Temporarily unavailable",
        "Please try again in a moment.",
    );
    let _ = resp.headers_mut().set("retry-after", "1");
    resp
}
