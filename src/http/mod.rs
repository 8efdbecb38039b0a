//! The Workers glue: one file per surface, plus auth, errors and request context.

pub mod admin;
pub mod auth;
pub mod availability;
pub mod bulk;
pub mod config;
pub mod errors;
pub mod idempotency;
pub mod instacart;
pub mod lifecycle;
pub mod links;
pub mod openapi;
pub mod page;
pub mod qr_codes;
pub mod qr_image;
pub mod redirect;
pub mod stats;
pub mod stockouts;
pub mod where_to_buy;

use errors::ApiError;
use worker::{Env, Headers, Request, Response};

/// Builds a response with a body and headers (status set on the builder, so nothing is
/// immutable afterwards).
pub fn text_response(status: u16, body: String, headers: Headers) -> Response {
    Response::builder()
        .with_status(status)
        .with_headers(headers)
        .fixed(body.into_bytes())
}

/// `{"data": …}` with a status.
pub fn json_data(status: u16, data_json: &str) -> Response {
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/json");
    let _ = headers.set("cache-control", "no-store");
    text_response(status, format!("{{\"data\":{data_json}}}"), headers)
}

/// Milliseconds since the epoch (`Date.now()`, without constructing a `Date`).
pub fn now_ms() -> i64 {
    worker::js_sys::Date::now() as i64
}

/// Fills `buf` from the platform CSPRNG (crypto.getRandomValues in Workers).
pub fn random_bytes(buf: &mut [u8]) -> Result<(), ApiError> {
    getrandom::getrandom(buf).map_err(|_| ApiError::internal())
}

pub fn random16() -> Result<[u8; 16], ApiError> {
    let mut b = [0u8; 16];
    random_bytes(&mut b)?;
    Ok(b)
}

/// Per-request context of the admin API.
pub struct Ctx {
    pub env: Env,
    pub correlation_id: String,
    /// Origin used in `shortLink`, `imageUrl` and `encodedUrl`.
    pub base_url: String,
    /// The origin the request came in on (its `Host`): this service too.
    pub request_origin: String,
}

/// The request's own origin.
pub fn request_origin(req: &Request) -> String {
    req.url()
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// The configured public base URL (`PUBLIC_BASE_URL`, which a deploy requires), or, when it
/// is empty (local development), the request's own origin.
pub fn base_url(env: &Env, req: &Request) -> String {
    config::public_base_url(env).unwrap_or_else(|| request_origin(req))
}

/// `X-Correlation-ID`: echoed when valid (8–128 visible ASCII characters), generated
/// (`req_` + ULID) when absent. An out-of-range value is an error, reported under a
/// generated id.
pub fn correlation_id(req: &Request) -> Result<String, (String, ApiError)> {
    let given = req.headers().get("x-correlation-id").ok().flatten();
    let generated = || crate::domain::ids::ulid_id("req_", now_ms(), random16().unwrap_or([7; 16]));
    match given {
        None => Ok(generated()),
        Some(v) if valid_header_token(&v) => Ok(v),
        Some(_) => Err((
            generated(),
            ApiError::field(
                "X-Correlation-ID",
                "invalid_header",
                "X-Correlation-ID must be 8–128 visible ASCII characters",
            ),
        )),
    }
}

/// 8–128 visible ASCII characters: the seed's limits for `Idempotency-Key` and
/// `X-Correlation-ID`.
pub fn valid_header_token(v: &str) -> bool {
    (8..=128).contains(&v.len()) && v.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// Adds the correlation id to a finished response.
pub fn with_correlation(mut resp: Response, correlation_id: &str) -> Response {
    let _ = resp.headers_mut().set("x-correlation-id", correlation_id);
    resp
}

/// A small HTML page for shoppers (unknown, expired or disabled links): never indexed.
/// `title` and `text` are HTML (callers escape what is not theirs).
pub fn shopper_page(status: u16, title: &str, text: &str) -> Response {
    shopper_page_with_head(status, title, text, "")
}

/// `shopper_page` with more tags in its `<head>` (link-preview metadata).
pub fn shopper_page_with_head(status: u16, title: &str, text: &str, head: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"robots\" content=\"noindex\"><title>{title}</title>{head}\
<style>body{{font:16px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;\
min-height:100vh;background:#f6f7f9;color:#1f2328}}main{{max-width:28rem;padding:2rem;\
text-align:center}}h1{{font-size:1.4rem}}</style></head><body><main><h1>{title}</h1>\
<p>{text}</p></main></body></html>"
    );
    let headers = Headers::new();
    let _ = headers.set("content-type", "text/html; charset=utf-8");
    let _ = headers.set("x-robots-tag", "noindex");
    let _ = headers.set("cache-control", "no-store");
    text_response(status, body, headers)
}

/// Largest request body the admin API reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest body of a bulk create (up to 100 links).
pub const MAX_BULK_BODY_BYTES: usize = 1024 * 1024;
/// How much of an oversized chunked upload is read (and discarded) before answering 413.
const MAX_DRAIN_BYTES: usize = 8 * 1024 * 1024;

/// Reads a JSON request body: 415 for a non-JSON content type, 413 beyond
/// `MAX_BODY_BYTES` (refused from `Content-Length` before reading), `invalid_json` for
/// anything serde cannot parse (including nesting deeper than its recursion limit).
pub async fn read_json(req: &mut Request) -> Result<serde_json::Value, ApiError> {
    read_json_within(req, MAX_BODY_BYTES).await
}

/// `read_json` with another size limit.
pub async fn read_json_within(
    req: &mut Request,
    limit: usize,
) -> Result<serde_json::Value, ApiError> {
    let headers = req.headers();
    if let Some(ct) = headers.get("content-type").ok().flatten() {
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if mime != "application/json" && !mime.ends_with("+json") {
            return Err(ApiError::new(
                415,
                "unsupported_media_type",
                format!("Content-Type must be application/json, got '{mime}'"),
            ));
        }
    }
    let declared = headers
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    // Read chunk by chunk and stop at the limit: a body without Content-Length (chunked) is
    // never held in memory beyond the limit.
    let mut bytes = Vec::new();
    if let Ok(mut stream) = req.stream() {
        use futures_util::StreamExt;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| {
                ApiError::new(400, "invalid_json", "The request body could not be read")
            })?;
            if bytes.len() + chunk.len() > limit {
                // Let the rest of the upload pass without keeping it (bounded), so the
                // connection is left in a clean state for the client's next request.
                let mut skipped = bytes.len() + chunk.len();
                while skipped < MAX_DRAIN_BYTES {
                    match stream.next().await {
                        Some(Ok(c)) => skipped += c.len(),
                        _ => break,
                    }
                }
                return Err(too_large(limit));
            }
            bytes.extend_from_slice(&chunk);
        }
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            400,
            "invalid_json",
            format!("The request body is not valid JSON: {e}"),
        )
    })
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        413,
        "payload_too_large",
        format!("Request bodies are limited to {limit} bytes"),
    )
}

/// Key of short ids' check character (`SHORT_ID_SECRET`, required).
pub fn short_id_key(env: &Env) -> Result<Vec<u8>, ApiError> {
    config::short_id_key(env)
}

/// Bounds on what the admin API reads from a request line and headers.
pub const MAX_URL_BYTES: usize = 4096;
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
pub const MAX_HEADERS: usize = 100;

/// 414 for an overlong URL, 431 for too many or too large headers (admin API only; the
/// redirect path stays minimal and the platform bounds it).
pub fn check_request_bounds(req: &Request) -> Result<(), ApiError> {
    let url_len = req.url().map(|u| u.as_str().len()).unwrap_or(0);
    if url_len > MAX_URL_BYTES {
        return Err(ApiError::new(
            414,
            "uri_too_long",
            format!("Request URLs are limited to {MAX_URL_BYTES} bytes"),
        ));
    }
    let (mut count, mut size) = (0usize, 0usize);
    for (k, v) in req.headers().entries() {
        count += 1;
        size += k.len() + v.len() + 4;
    }
    if count > MAX_HEADERS || size > MAX_HEADER_BYTES {
        return Err(ApiError::new(
            431,
            "headers_too_large",
            format!("At most {MAX_HEADERS} headers and {MAX_HEADER_BYTES} bytes of headers"),
        ));
    }
    Ok(())
}

/// The request method, with methods the runtime wrapper does not know (e.g. `QUERY`, which it
/// would read as GET) mapped to `REPORT`, which no route accepts: they get 405.
pub fn method_of(req: &Request) -> worker::Method {
    match req.inner().method().as_str() {
        "GET" => worker::Method::Get,
        "HEAD" => worker::Method::Head,
        "POST" => worker::Method::Post,
        "PUT" => worker::Method::Put,
        "PATCH" => worker::Method::Patch,
        "DELETE" => worker::Method::Delete,
        "OPTIONS" => worker::Method::Options,
        _ => worker::Method::Report,
    }
}
