//! Where-to-buy links at the edge: the page (`GET /{shortId}` of such a link, rendered by
//! `domain::page`) and the offer redirects its buttons lead to, `GET /{shortId}/{retailer}`:
//! a 302 to that offer's destination, with the offer's own lifecycle and fallback, counted as
//! the shopper's choice of that retailer.

use super::redirect::{authoritative, found, gone, not_found, parse_record, unavailable};
use super::{now_ms, stats};
use crate::domain::ids::{is_plausible_short_id, is_reserved_segment};
use crate::domain::record::{RedirectRecord, Status};
use crate::domain::retailers::Retailer;
use crate::domain::where_to_buy::PageRecord;
use crate::store::fast;
use wasm_bindgen::prelude::*;
use worker::{web_sys, Context, Env};

#[wasm_bindgen(inline_js = r#"
export function html_response(status, body, csp) {
  return new Response(body, { status, headers: {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": csp,
    "x-robots-tag": "noindex",
    "x-content-type-options": "nosniff",
    "cache-control": "private, no-store",
  } });
}
"#)]
extern "C" {
    /// An HTML response built in one call of the runtime's constructor (see
    /// `redirect::bodiless_response`).
    fn html_response(status: u16, body: &str, csp: &str) -> web_sys::Response;
}

/// The where-to-buy page of an active link, as it stands now.
pub fn page(page: &PageRecord, short_id: &str, now: i64) -> web_sys::Response {
    let r = crate::domain::page::render(page, short_id, now);
    html_response(200, &r.html, &r.csp)
}

/// `GET|HEAD /{shortId}/{retailer}`: the offer of `retailer` on the link's page. The link's
/// own state comes first (a link that is not active answers as its page would: its fallback,
/// 410 or 404); then the offer's: active, a 302 to its destination (the visitor's query
/// forwarded when the offer says so); not active, a 302 to its fallbackUrl, else 410 (404
/// before it starts). A link without a page, or without an offer of that retailer, is 404.
pub async fn offer(
    req: web_sys::Request,
    url: &str,
    env: &Env,
    ctx: &Context,
    short_id: &str,
    retailer: &str,
    is_get: bool,
) -> web_sys::Response {
    let Some(retailer) = Retailer::parse(retailer) else {
        return not_found().into();
    };
    if !is_plausible_short_id(short_id) || is_reserved_segment(short_id) {
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
        return not_found().into();
    };
    let Some(offer) = record
        .page
        .as_ref()
        .and_then(|p| p.offer(retailer.as_str()))
    else {
        return not_found().into();
    };
    let now = now_ms();
    let query = url.split_once('?').map(|(_, q)| q);
    let resp = match (record.status(now), offer.status(now)) {
        (Status::Active, Status::Active) => {
            let forward = RedirectRecord {
                dest: offer.dest.clone(),
                forward_query: offer.forward_query,
                qr: record.qr.clone(),
                ..Default::default()
            };
            found(&forward.location(query))
        }
        (Status::Active, inactive) => match &offer.fallback {
            Some(fallback) => found(fallback),
            None if inactive == Status::Pending => not_found().into(),
            None => gone().into(),
        },
        (Status::Unavailable, _) => return unavailable().into(),
        (inactive, _) => match &record.fallback {
            Some(fallback) => found(fallback),
            None if inactive == Status::Pending => not_found().into(),
            None => gone().into(),
        },
    };
    // A choice, not a visit of the link: never a scan (the page view was).
    if is_get && stats::recording_on(env) {
        let kind = stats::EventKind::Choice(retailer);
        stats::record_event(req, env, ctx, record.link_id, None, kind, now);
    }
    resp
}
