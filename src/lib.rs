//! in2carts-edge: shoppable links on Cloudflare Workers.
//!
//! This file is the fetch entry: it routes and maps errors. Logic lives in `domain` (pure),
//! the surfaces in `http`, storage in `store`.

pub mod clicks;
pub mod domain;
pub mod http;
pub mod idempotency;
pub mod link_home;
pub mod projects;
pub mod stockouts;
pub mod store;

use http::errors::ApiError;
use http::{admin, links, qr_codes, redirect, with_correlation, Ctx};
use wasm_bindgen::prelude::*;
use worker::{event, js_sys, web_sys, Context, Env, Method, Request, Response};

/// The entry takes the runtime's own request object: the redirect and the QR image, the
/// shopper-facing paths, read only its URL, method and a header or two (workers-rs's
/// `Request` wrapper also reads `request.cf` up front, which neither needs).
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, ctx: Context) -> worker::Result<web_sys::Response> {
    let url = req.url();
    let path = domain::ids::url_path(&url);
    if let Some(refused) = http::config::refusal(&env, path, &req) {
        return Ok(refused);
    }
    let method = req.method();
    if method == "GET" || method == "HEAD" {
        if let Some(short_id) = domain::ids::redirect_target(path) {
            return Ok(redirect::handle(req, &url, &env, &ctx, short_id, method == "GET").await);
        }
        match domain::ids::qr_path(path) {
            Some(domain::ids::QrPath::Image(qr_id)) => {
                let resp = match http::qr_image::handle(&req, &url, &env, &ctx, qr_id).await {
                    Ok(resp) => resp,
                    Err(e) => plain_error(e, &Request::from(req)),
                };
                return Ok(resp.into());
            }
            Some(domain::ids::QrPath::Printed(identifier)) => {
                return Ok(
                    redirect::printed(req, &url, &env, &ctx, identifier, method == "GET").await,
                );
            }
            None => {}
        }
    }
    Ok(route(Request::from(req), env, ctx).await.into())
}

/// The redirect's fast path, in two synchronous halves that `src/worker.js` joins with one
/// `then` (an async export pays for wasm-bindgen's promise and closure bridging on every
/// call). The entry reads the request's method and URL once and hands them to both halves
/// (each read from Rust is a runtime getter call plus a string copy). First half, for a
/// `GET|HEAD` (the entry checks the method): if the path is `/{shortId}`, the KV read of its
/// record, not awaited; `undefined` for any other path (the entry then calls `fetch`).
#[wasm_bindgen]
pub fn redirect_lookup(url: &str, env: &Env) -> Option<js_sys::Promise> {
    if http::config::misconfigured(env) {
        return None;
    }
    let short_id = domain::ids::redirect_target(domain::ids::url_path(url))?;
    store::fast::redirect_read(env, short_id).ok()
}

/// Second half: the response from the record the lookup returned (its bytes; the entry wraps
/// KV's `ArrayBuffer` in a `Uint8Array`, copied into Wasm memory natively), or to its absence.
/// `undefined` when that alone cannot answer (a miss for an id that may be a link created
/// moments ago, which asks the link's home object; a capped link); the entry then calls
/// `fetch`, which takes the full path. `is_get` is false for `HEAD`. The answer is a
/// `Response`, or, for an active link with backups whose availability this isolate does not
/// hold yet, a promise of one (the entry returns either from its `then`).
#[wasm_bindgen]
pub fn redirect_answer(
    req: web_sys::Request,
    url: &str,
    is_get: bool,
    env: &Env,
    ctx: worker::worker_sys::Context,
    raw: Option<Vec<u8>>,
) -> Option<JsValue> {
    let Some(raw) = raw else {
        let short_id = domain::ids::redirect_target(domain::ids::url_path(url))?;
        return redirect::miss_now(env, short_id).map(JsValue::from);
    };
    redirect::answer_now(req, url, env, ctx, &raw, is_get)
}

async fn route(req: Request, env: Env, ctx: Context) -> Response {
    let path = req.path();
    let trimmed = path.trim_start_matches('/');
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    let segments: Vec<&str> = trimmed.split('/').collect();
    match segments.as_slice() {
        ["v1", rest @ ..] => api(req, env, rest).await,
        ["qr", qr_id] => match http::method_of(&req) {
            Method::Get | Method::Head => {
                match http::qr_image::handle(req.inner(), &req.inner().url(), &env, &ctx, qr_id)
                    .await
                {
                    Ok(resp) => resp,
                    Err(e) => plain_error(e, &req),
                }
            }
            _ => plain_error(method_not_allowed("GET, HEAD"), &req),
        },
        ["_admin", rest @ ..] => match admin::handle(req, &env, rest).await {
            Ok(resp) => resp,
            Err(e) => e.into_response("-"),
        },
        [word] | ["w", word] if domain::ids::is_reserved_segment(word) => redirect::not_found(),
        [short_id] if !short_id.is_empty() => match http::method_of(&req) {
            Method::Get | Method::Head => redirect_routed(&req, &env, &ctx, short_id).await,
            _ => method_not_allowed_page("GET, HEAD"),
        },
        ["w", short_id] if !short_id.is_empty() => match http::method_of(&req) {
            Method::Get | Method::Head => redirect_routed(&req, &env, &ctx, short_id).await,
            _ => method_not_allowed_page("GET, HEAD"),
        },
        [short_id, retailer] if !short_id.is_empty() => match http::method_of(&req) {
            Method::Get | Method::Head => offer_routed(&req, &env, &ctx, short_id, retailer).await,
            _ => method_not_allowed_page("GET, HEAD"),
        },
        _ => redirect::not_found(),
    }
}

/// A redirect that did not take the entry's fast path (a short id the fast path leaves to
/// the router, such as `qr`).
async fn redirect_routed(req: &Request, env: &Env, ctx: &Context, short_id: &str) -> Response {
    let raw = <web_sys::Request as Clone>::clone(req.inner());
    let is_get = http::method_of(req) == Method::Get;
    let resp = redirect::handle(raw, &req.inner().url(), env, ctx, short_id, is_get).await;
    Response::from(resp)
}

/// A retailer chosen on a where-to-buy page: `/{shortId}/{retailer}`.
async fn offer_routed(
    req: &Request,
    env: &Env,
    ctx: &Context,
    short_id: &str,
    retailer: &str,
) -> Response {
    let raw = <web_sys::Request as Clone>::clone(req.inner());
    let is_get = http::method_of(req) == Method::Get;
    let url = req.inner().url();
    Response::from(http::page::offer(raw, &url, env, ctx, short_id, retailer, is_get).await)
}

async fn api(req: Request, env: Env, rest: &[&str]) -> Response {
    let correlation_id = match http::correlation_id(&req) {
        Ok(id) => id,
        Err((id, e)) => return with_correlation(e.into_response(&id), &id),
    };
    let cx = Ctx {
        base_url: http::base_url(&env, &req),
        request_origin: http::request_origin(&req),
        env,
        correlation_id,
    };
    if let Err(e) = http::check_request_bounds(&req) {
        return with_correlation(e.into_response(&cx.correlation_id), &cx.correlation_id);
    }
    // HEAD is answered as GET wherever GET is; the runtime sends the headers without the body.
    let method = match http::method_of(&req) {
        Method::Head => Method::Get,
        m => m,
    };
    let result = match (rest, method) {
        (["openapi.json"], Method::Get) => Ok(http::openapi::serve()),
        (["openapi.json"], _) => Err(method_not_allowed("GET, HEAD")),
        (["links"], Method::Post) => links::create(req, &cx).await,
        (["links"], Method::Get) => http::lifecycle::list(req, &cx).await,
        (["links"], _) => Err(method_not_allowed("GET, HEAD, POST")),
        (["links", "bulk"], Method::Post) => http::bulk::create(req, &cx).await,
        (["links", "bulk"], _) => Err(method_not_allowed("POST")),
        (["links", id], Method::Get) => links::get(req, &cx, id).await,
        (["links", id], Method::Patch) => http::lifecycle::update(req, &cx, id).await,
        (["links", _], _) => Err(method_not_allowed("GET, HEAD, PATCH")),
        (["links", id, "qr-codes"], Method::Post) => qr_codes::create(req, &cx, id).await,
        (["links", id, "qr-codes"], Method::Get) => qr_codes::list(req, &cx, id).await,
        (["links", _, "qr-codes"], _) => Err(method_not_allowed("GET, HEAD, POST")),
        (["links", id, "stats"], Method::Get) => http::stats::get(req, &cx, id).await,
        (["links", _, "stats"], _) => Err(method_not_allowed("GET, HEAD")),
        (["projects", id, "out-of-stock"], Method::Get) => http::stockouts::get(req, &cx, id).await,
        (["projects", _, "out-of-stock"], _) => Err(method_not_allowed("GET, HEAD")),
        _ => Err(ApiError::not_found("Route")),
    };
    let resp = result.unwrap_or_else(|e| e.into_response(&cx.correlation_id));
    with_correlation(resp, &cx.correlation_id)
}

fn method_not_allowed(allow: &'static str) -> ApiError {
    ApiError::new(
        405,
        "method_not_allowed",
        format!("Allowed methods: {allow}"),
    )
    .with_header("allow", allow)
}

fn method_not_allowed_page(allow: &str) -> Response {
    let mut resp = http::shopper_page(405, "Method not allowed", "Use GET.");
    let _ = resp.headers_mut().set("allow", allow);
    resp
}

/// An error on a non-API surface (QR images): the same envelope, with a generated
/// correlation id.
fn plain_error(e: ApiError, req: &Request) -> Response {
    let id = match http::correlation_id(req) {
        Ok(id) | Err((id, _)) => id,
    };
    with_correlation(e.into_response(&id), &id)
}
