//! The call to the Instacart Developer Platform that makes an Instacart link's destination:
//! the URL cache first (Instacart asks partners to reuse URLs), then `POST` to Instacart with
//! a time limit, then what its answer means (`retailers::instacart::interpret`). The API key is
//! a secret: it is sent in the `Authorization` header and nowhere else (not in errors, not in
//! logs; the cache key holds only a hash of it).
//!
//! Paths are absolute (`crate::http::…`) so the module works wherever it is declared.

use crate::domain::retailers::instacart::{self as ic, Outcome, Page, UpstreamRequest};
use crate::http::errors::ApiError;
use crate::http::now_ms;
use crate::store::{InstacartUrl, Store};
use serde_json::{json, Value};
use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;
use wasm_bindgen::JsValue;
use worker::{AbortController, Delay, Env, Fetch, Headers, Method, Request, RequestInit};

/// Instacart's development host; production is `https://connect.instacart.com`.
pub const DEFAULT_BASE_URL: &str = "https://connect.dev.instacart.tools";
pub const BASE_URL_VAR: &str = "INSTACART_API_BASE_URL";
pub const API_KEY_SECRET: &str = "INSTACART_API_KEY";
/// How long Instacart has to answer (headers and body) before the link falls back.
pub const TIMEOUT: Duration = Duration::from_secs(8);
/// Larger answers are not read (Instacart's are a few hundred bytes).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// An Instacart link's destination, and what the caller should be told about it.
pub struct Resolved {
    pub url: String,
    /// `{"code", "message"}` objects for the response's `warnings` (empty when all went well).
    pub warnings: Vec<Value>,
}

struct Config {
    base_url: String,
    api_key: String,
}

/// The base URL var (default: the development host) and the key (a secret; a plain var is
/// accepted too, as local development passes it). `None` without a key.
fn config(env: &Env) -> Option<Config> {
    let base = env
        .var(BASE_URL_VAR)
        .map(|v| v.to_string())
        .unwrap_or_default();
    let base = base.trim().trim_end_matches('/');
    let api_key = env
        .secret(API_KEY_SECRET)
        .map(|s| s.to_string())
        .or_else(|_| env.var(API_KEY_SECRET).map(|v| v.to_string()))
        .ok()
        .filter(|k| !k.trim().is_empty())?;
    Some(Config {
        base_url: if base.is_empty() {
            DEFAULT_BASE_URL.to_string()
        } else {
            base.to_string()
        },
        api_key,
    })
}

/// The page's URL: from the cache when the same content was sent before, else from Instacart
/// (and then cached), with the link's `retailer_key`. When Instacart is unavailable,
/// `fallback` with a warning, else 502 `upstream_failed`; when Instacart refuses the content,
/// a 422 at our keys.
pub async fn destination(
    env: &Env,
    store: &Store,
    page: &Page,
    fallback: Option<&str>,
) -> Result<Resolved, ApiError> {
    let Some(config) = config(env) else {
        return unavailable("is not configured (no API key)", fallback);
    };
    let req = ic::request(page);
    let hash = ic::content_hash(&config.base_url, &config.api_key, &req);
    // A cache that cannot be read is a miss (the error is logged by the store).
    if let Ok(Some(cached)) = store.instacart_url(&hash).await {
        return Ok(Resolved {
            url: ic::page_url(&cached.url, page),
            warnings: Vec::new(),
        });
    }
    let outcome = match call(&config, &req).await {
        Ok((status, body)) => ic::interpret(status, &body, page),
        Err(reason) => Outcome::Unavailable(reason),
    };
    match outcome {
        Outcome::Created(url) => {
            let rec = InstacartUrl {
                url: url.clone(),
                at: now_ms(),
            };
            if store
                .put_instacart_url(&hash, &rec, ic::cache_ttl_secs(page))
                .await
                .is_err()
            {
                worker::console_error!("instacart: the page URL could not be cached");
            }
            Ok(Resolved {
                url: ic::page_url(&url, page),
                warnings: Vec::new(),
            })
        }
        Outcome::Rejected(details) => Err(ApiError::unprocessable(details)),
        Outcome::Unavailable(reason) => unavailable(&reason, fallback),
    }
}

/// Instacart could not make the page: the fallback with a warning, or 502.
fn unavailable(reason: &str, fallback: Option<&str>) -> Result<Resolved, ApiError> {
    worker::console_error!("instacart: Instacart {reason}");
    match fallback {
        Some(url) => Ok(Resolved {
            url: url.to_string(),
            warnings: vec![json!({
                "code": "instacart_unavailable",
                "message": format!(
                    "Instacart {reason}: the link points at fallbackUrl instead of an Instacart page"
                ),
            })],
        }),
        None => Err(ApiError::new(
            502,
            "upstream_failed",
            format!(
                "Instacart {reason}. No link was created: retry later, or give a fallbackUrl to \
                 create the link anyway"
            ),
        )),
    }
}

/// `POST {base}{path}` with the bearer key, within `TIMEOUT`. Returns the status and body, or
/// why there is none (a phrase that follows "Instacart …", without the key).
async fn call(config: &Config, req: &UpstreamRequest) -> Result<(u16, String), String> {
    let url = format!("{}{}", config.base_url, req.endpoint.path);
    let headers = Headers::new();
    let auth = format!("Bearer {}", config.api_key);
    for (name, value) in [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("accept", "application/json"),
    ] {
        headers
            .set(name, value)
            .map_err(|_| format!("could not be called (invalid {name} header)"))?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(JsValue::from_str(&req.body_json())));
    let request = Request::new_with_init(&url, &init)
        .map_err(|_| format!("could not be called (check {BASE_URL_VAR})"))?;

    // The race decides the outcome; the abort makes the runtime drop the connection too.
    let controller = AbortController::default();
    let signal = controller.signal();
    let exchange = async {
        let mut resp = Fetch::Request(request)
            .send_with_signal(&signal)
            .await
            .map_err(|_| "could not be reached".to_string())?;
        let status = resp.status_code();
        let declared = resp
            .headers()
            .get("content-length")
            .ok()
            .flatten()
            .and_then(|v| v.trim().parse::<usize>().ok());
        if declared.is_some_and(|n| n > MAX_ANSWER_BYTES) {
            return Ok((status, String::new()));
        }
        let body = resp
            .text()
            .await
            .map_err(|_| format!("answered {status} with an unreadable body"))?;
        Ok((
            status,
            if body.len() > MAX_ANSWER_BYTES {
                String::new()
            } else {
                body
            },
        ))
    };
    match with_timeout(exchange, TIMEOUT).await {
        Some(result) => result,
        None => {
            controller.abort();
            Err(format!("did not answer within {} s", TIMEOUT.as_secs()))
        }
    }
}

/// `fut`'s output, or `None` when `limit` passes first (a race with a timer; `fut` is dropped).
pub(crate) async fn with_timeout<F: Future>(fut: F, limit: Duration) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let mut timer = pin!(Delay::from(limit));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}
