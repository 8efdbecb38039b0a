//! `GET /qr/{qrId}`: the QR image, rendered on demand (PNG, or SVG with `format=svg`), with a
//! strong ETag and kept in the Workers Cache API so a repeat request does not render again.

use super::errors::ApiError;
use super::text_response;
use crate::domain::error::FieldError;
use crate::domain::ids::is_ulid_id;
use crate::domain::qr::{self, Format, Style};
use crate::store::Store;
use worker::{web_sys, Cache, Context, Env, Headers, Response};

/// Images never change for a given URL (a QR code's encoded URL and style are fixed).
const CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// Longest value of an image option: longer values are refused, never cut (a cut could
/// turn `0000…0512junk` into `512`).
const MAX_OPTION_CHARS: usize = 32;

/// The option keys in the order their problems are listed.
const OPTION_KEYS: [&str; 6] = ["format", "size", "margin", "ec", "fg", "bg"];

#[derive(Default)]
struct Options {
    format: Option<String>,
    size: Option<String>,
    margin: Option<String>,
    ec: Option<String>,
    fg: Option<String>,
    bg: Option<String>,
    /// Options given with a value longer than `MAX_OPTION_CHARS` (their slot stays empty).
    too_long: Vec<&'static str>,
}

/// The image options from the query of the serialized request URL.
fn options(url: &str) -> Options {
    let mut o = Options::default();
    if let Some((_, query)) = url.split_once('?') {
        let query = query.split_once('#').map_or(query, |(q, _)| q);
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let (key, slot) = match k.as_ref() {
                "format" => ("format", &mut o.format),
                "size" => ("size", &mut o.size),
                "margin" => ("margin", &mut o.margin),
                "ec" => ("ec", &mut o.ec),
                "fg" => ("fg", &mut o.fg),
                "bg" => ("bg", &mut o.bg),
                _ => continue,
            };
            if v.chars().count() > MAX_OPTION_CHARS {
                *slot = None;
                if !o.too_long.contains(&key) {
                    o.too_long.push(key);
                }
            } else {
                *slot = Some(v.into_owned());
                o.too_long.retain(|k| *k != key);
            }
        }
    }
    o
}

/// The format and style the options ask for, on top of the QR code's saved style; every
/// problem at once, each at its option's key.
fn requested(base: &Style, opts: &Options) -> Result<(Format, Style), ApiError> {
    let mut problems: Vec<FieldError> = opts
        .too_long
        .iter()
        .map(|key| {
            FieldError::new(
                *key,
                "invalid_option",
                format!("{key} must be at most {MAX_OPTION_CHARS} characters"),
            )
        })
        .collect();
    let format = match opts.format.as_deref() {
        None => Some(Format::Png),
        Some(f) => Format::parse(f),
    };
    if format.is_none() {
        problems.push(FieldError::new(
            "format",
            "invalid_option",
            "format must be png or svg",
        ));
    }
    let style = qr::style_from_options(
        base,
        opts.size.as_deref(),
        opts.margin.as_deref(),
        opts.ec.as_deref(),
        opts.fg.as_deref(),
        opts.bg.as_deref(),
    );
    match (format, style) {
        (Some(format), Ok(style)) if problems.is_empty() => return Ok((format, style)),
        (_, Err(style_problems)) => problems.extend(
            style_problems
                .into_iter()
                .filter(|p| !opts.too_long.contains(&p.key))
                .map(|p| FieldError::new(p.key, "invalid_option", p.message)),
        ),
        _ => {}
    }
    let rank = |key: &str| OPTION_KEYS.iter().position(|k| *k == key);
    problems.sort_by_key(|p| rank(&p.key));
    let mut e = ApiError::validation(problems);
    e.message = "These QR image options cannot be rendered as a code that scans".into();
    Err(e)
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
    // Only complete options name a cached image (a too-long one is dropped from the key).
    let cached = if opts.too_long.is_empty() {
        cache.get(key.as_str(), true).await
    } else {
        Ok(None)
    };
    if let Ok(Some(hit)) = cached {
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
    let (format, style) = requested(&base, &opts)?;
    // The module count depends on the encoded URL, so the size is checked against it here.
    if let Some(p) = qr::size_problem(&encoded, &style) {
        let mut e = ApiError::validation(vec![FieldError::new(p.key, "invalid_option", p.message)]);
        e.message = "These QR image options cannot be rendered as a code that scans".into();
        return Err(e);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(url: &str) -> Result<(Format, Style), Vec<String>> {
        requested(&Style::default(), &options(url))
            .map_err(|e| e.details.into_iter().map(|d| d.key).collect())
    }

    #[test]
    fn options_are_refused_when_too_long_never_cut() {
        let padded = format!("{}512junk", "0".repeat(MAX_OPTION_CHARS - 3));
        assert_eq!(
            keys(&format!("https://x/qr/q?size={padded}")),
            Err(vec!["size".into()])
        );
        let padded_ok = format!("{}512", "0".repeat(MAX_OPTION_CHARS - 3));
        assert_eq!(
            keys(&format!("https://x/qr/q?size={padded_ok}")).map(|(_, s)| s.size),
            Ok(512)
        );
        assert_eq!(
            keys("https://x/qr/q?size=512junk"),
            Err(vec!["size".into()])
        );
        let long = "a".repeat(MAX_OPTION_CHARS + 1);
        let all = format!(
            "https://x/qr/q?bg={long}&fg={long}&ec={long}&margin={long}&size={long}&format={long}"
        );
        let o = options(&all);
        assert_eq!(o.too_long.len(), 6);
        assert_eq!(
            keys(&all),
            Err(OPTION_KEYS.iter().map(|k| k.to_string()).collect())
        );
        let e = requested(&Style::default(), &o).unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.details[0].code, "invalid_option");
        assert_eq!(e.details[0].message, "format must be at most 32 characters");
    }

    #[test]
    fn every_problem_is_listed_in_key_order() {
        let long = "1".repeat(40);
        assert_eq!(
            keys(&format!(
                "https://x/qr/q?fg=zzz&size={long}&format=gif&margin=99"
            )),
            Err(vec![
                "format".into(),
                "size".into(),
                "margin".into(),
                "fg".into()
            ])
        );
        // The last value of a repeated option counts.
        assert_eq!(
            keys(&format!("https://x/qr/q?size={long}&size=256")).map(|(_, s)| s.size),
            Ok(256)
        );
        assert!(keys(&format!("https://x/qr/q?size=256&size={long}")).is_err());
        assert_eq!(
            keys("https://x/qr/q?format=svg&ec=H").map(|(f, s)| (f, s.ec)),
            Ok((Format::Svg, qr::EcLevel::H))
        );
    }
}
