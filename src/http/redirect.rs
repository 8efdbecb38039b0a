//! `GET /{shortId}` and `HEAD`: one KV read, one JSON parse, one 302. Nothing else runs
//! before the response.

use super::{now_ms, shopper_page, stats, text_response};
use crate::domain::ids::is_plausible_short_id;
use crate::domain::record::{RedirectRecord, Status};
use crate::store::Store;
use worker::{Context, Env, Headers, Method, Request, Response};

pub async fn handle(req: Request, env: &Env, ctx: &Context, short_id: &str) -> Response {
    if !is_plausible_short_id(short_id) {
        return not_found();
    }
    let raw = match Store::new(env) {
        Ok(store) => store.redirect_raw(short_id).await,
        Err(e) => Err(e),
    };
    let record: RedirectRecord = match raw {
        Ok(Some(raw)) => match serde_json::from_str(&raw) {
            Ok(r) => r,
            Err(_) => {
                worker::console_error!("unreadable redirect record for a short id");
                return not_found();
            }
        },
        Ok(None) => return not_found(),
        Err(_) => return unavailable(),
    };
    let url = req.url().ok();
    let query = url.as_ref().and_then(|u| u.query());
    let now = now_ms();
    let resp = match record.status(now) {
        Status::Active => found(&record.location(query)),
        inactive => match &record.fallback {
            Some(fallback) => found(fallback),
            None if inactive == Status::Pending => not_found(),
            None => shopper_page(
                410,
                "This link has ended",
                "The offer behind this link is no longer available.",
            ),
        },
    };
    // The visit is recorded after the response is on its way; HEAD is not a visit.
    if req.method() == Method::Get && stats::recording_on(env) {
        let qr = record.qr_for_query(query).map(str::to_string);
        ctx.wait_until(stats::record_click(
            req,
            env.clone(),
            record.link_id,
            qr,
            now,
        ));
    }
    resp
}

/// A 302 that no cache keeps (a cached redirect would hide edits and clicks).
pub fn found(location: &str) -> Response {
    let headers = Headers::new();
    let _ = headers.set("location", location);
    let _ = headers.set("cache-control", "private, no-store");
    text_response(302, String::new(), headers)
}

pub fn not_found() -> Response {
    shopper_page(
        404,
        "Link not found",
        "This link does not exist. Check the address, or scan the code again.",
    )
}

fn unavailable() -> Response {
    let mut resp = shopper_page(
        503,
        "Temporarily unavailable",
        "Please try again in a moment.",
    );
    let _ = resp.headers_mut().set("retry-after", "1");
    resp
}
