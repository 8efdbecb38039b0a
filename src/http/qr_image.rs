//! `GET /qr/{qrId}`: the QR image, rendered on demand (PNG, or SVG with `format=svg`), with a
//! strong ETag and kept in the Workers Cache API so a repeat request does not render again.

use super::errors::ApiError;
use super::text_response;
use crate::domain::ids::is_ulid_id;
use crate::domain::qr::{self, Format, Style};
use crate::store::Store;
use worker::{web_sys, Cache, Context, Env, Headers, Response};

/// Images never change for a given URL (a QR code's encoded URL and style are fixed).
const CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

#[derive(Default)]
struct Options {
    format: Option<String>,
    size: Option<String>,
    margin: Option<String>,
    ec: Option<String>,
    fg: Option<String>,
    bg: Option<String>,
}

/// The image options from the query of the serialized request URL.
fn options(url: &str) -> Options {
    let mut o = Options::default();
    if let Some((_, query)) = url.split_once('?') {
        let query = query.split_once('#').map_or(query, |(q, _)| q);
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match k.as_ref() {
                "format" => &mut o.format,
                "size" => &mut o.size,
                "margin" => &mut o.margin,
                "ec" => &mut o.ec,
                "fg" => &mut o.fg,
                "bg" => &mut o.bg,
                _ => continue,
            };
            *slot = Some(v.chars().take(32).collect());
        }
    }
    o
}

/// The cache key: the image's identity, independent of parameter order and unknown
/// parameters (which cannot be used to fill the cache with copies).
fn cache_key(qr_id: &str, o: &Options) -> String {
    let enc = |v: &Option<String>| super::links::encode_opt(v.as_deref());
    // The renderer's version is part of the key: a new renderer never answers with an old
    // renderer's cached image.
    format!(
        "https://qr-cache.in2carts.invalid/{qr_id}?r={}&f={}&s={}&m={}&e={}&fg={}&bg={}",
        qr::RENDERER_VERSION,
        enc(&o.format),
        enc(&o.size),
        enc(&o.margin),
        enc(&o.ec),
        enc(&o.fg),
        enc(&o.bg)
    )
}

fn etag_matches(req: &web_sys::Request, etag: &str) -> bool {
    req.headers()
        .get("if-none-match")
        .ok()
        .flatten()
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

fn not_modified(etag: &str) -> Response {
    let headers = Headers::new();
    let _ = headers.set("etag", etag);
    let _ = headers.set("cache-control", CACHE_CONTROL);
    text_response(304, String::new(), headers)
}

/// `url` is `req.url()`.
pub async fn handle(
    req: &web_sys::Request,
    url: &str,
    env: &Env,
    ctx: &Context,
    qr_id: &str,
) -> Result<Response, ApiError> {
    if !is_ulid_id("qr_", qr_id) {
        return Err(ApiError::not_found("QR code"));
    }
    let opts = options(url);
    let key = cache_key(qr_id, &opts);
    let cache = Cache::default();
    if let Ok(Some(hit)) = cache.get(key.as_str(), true).await {
        let etag = hit.headers().get("etag").ok().flatten().unwrap_or_default();
        if etag_matches(req, &etag) {
            return Ok(not_modified(&etag));
        }
        // Cached responses have immutable headers: answer with a fresh response around the
        // cached body stream (the bytes never pass through Wasm).
        let headers = hit.headers().clone();
        let _ = headers.set("x-qr-cache", "hit");
        return Ok(Response::builder()
            .with_status(200)
            .with_headers(headers)
            .body(hit.body().clone()));
    }

    let store = Store::new(env)?;
    let stored = store
        .qr(qr_id)
        .await?
        .ok_or_else(|| ApiError::not_found("QR code"))?;
    let encoded = stored
        .data
        .get("encodedUrl")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let base = stored_style(&stored.data);
    let format = match opts.format.as_deref() {
        None => Format::Png,
        Some(f) => Format::parse(f).ok_or_else(|| {
            ApiError::field("format", "invalid_option", "format must be png or svg")
        })?,
    };
    let style = qr::style_from_options(
        &base,
        opts.size.as_deref(),
        opts.margin.as_deref(),
        opts.ec.as_deref(),
        opts.fg.as_deref(),
        opts.bg.as_deref(),
    )
    .and_then(|style| match qr::size_problem(&encoded, &style) {
        // The module count depends on the encoded URL, so the size is checked against it here.
        Some(p) => Err(vec![p]),
        None => Ok(style),
    })
    .map_err(|problems| {
        let mut e = ApiError::validation(
            problems
                .into_iter()
                .map(|p| crate::domain::error::FieldError::new(p.key, "invalid_option", p.message))
                .collect(),
        );
        e.message = "These QR image options cannot be rendered as a code that scans".into();
        e
    })?;
    let etag = qr::etag(&encoded, &style, format);
    if etag_matches(req, &etag) {
        return Ok(not_modified(&etag));
    }
    let body = qr::render(&encoded, &style, format).map_err(|_| {
        ApiError::new(
            422,
            "unrenderable",
            "This QR code's URL is too long to encode",
        )
    })?;
    let headers = Headers::new();
    let _ = headers.set("content-type", qr::content_type(format));
    let _ = headers.set("etag", &etag);
    let _ = headers.set("cache-control", CACHE_CONTROL);
    let _ = headers.set("access-control-allow-origin", "*");
    let mut resp = Response::builder()
        .with_status(200)
        .with_headers(headers)
        .fixed(body);
    if let Ok(copy) = resp.cloned() {
        ctx.wait_until(async move {
            let _ = Cache::default().put(key.as_str(), copy).await;
        });
    }
    let _ = resp.headers_mut().set("x-qr-cache", "miss");
    Ok(resp)
}

/// The QR code's saved default style (a named QR code's, or `defaultQrCode`'s).
fn stored_style(data: &serde_json::Map<String, serde_json::Value>) -> Style {
    let Some(s) = data.get("style") else {
        return Style::default();
    };
    let text = |k: &str| {
        s.get(k).map(|v| match v {
            serde_json::Value::String(t) => t.clone(),
            other => other.to_string(),
        })
    };
    qr::style_from_options(
        &Style::default(),
        text("size").as_deref(),
        text("margin").as_deref(),
        text("ec").as_deref(),
        text("fg").as_deref(),
        text("bg").as_deref(),
    )
    .unwrap_or_default()
}
