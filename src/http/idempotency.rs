//! `Idempotency-Key` on writes: the header's limits, and running a write at most once per
//! key (claim, then finish or abort) through the `IdempotencyKey` Durable Object.

use super::auth::{authenticate, Caller};
use super::errors::ApiError;
use super::{json_data, read_json_within, text_response, valid_header_token, Ctx, MAX_BODY_BYTES};
use crate::domain::ids::sha256_hex;
use crate::idempotency::Begin;
use crate::store::Store;
use serde_json::Value;
use std::future::Future;
use worker::{Env, Headers, Method, Request, RequestInit, Response};

pub const IDEMPOTENCY_BINDING: &str = "IDEMPOTENCY";

/// The `Idempotency-Key` header, validated (8–128 visible ASCII characters).
pub fn idempotency_key(req: &Request) -> Result<Option<String>, ApiError> {
    match req.headers().get("idempotency-key").ok().flatten() {
        None => Ok(None),
        Some(v) if valid_header_token(&v) => Ok(Some(v)),
        Some(_) => Err(ApiError::field(
            "Idempotency-Key",
            "invalid_header",
            "Idempotency-Key must be 8–128 visible ASCII characters",
        )),
    }
}

/// A finished write: status, `data` JSON, and an optional `Location`.
pub struct Written {
    pub status: u16,
    pub data: String,
    pub location: Option<String>,
}

impl Written {
    fn into_response(self) -> Response {
        let mut resp = json_data(self.status, &self.data);
        if let Some(l) = self.location {
            let _ = resp.headers_mut().set("location", &l);
        }
        resp
    }
}

async fn call(env: &Env, name: &str, path: &str, body: String) -> Result<String, ApiError> {
    let stub = env
        .durable_object(IDEMPOTENCY_BINDING)?
        .id_from_name(name)?
        .get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(wasm_bindgen::JsValue::from_str(&body)));
    let mut resp = stub
        .fetch_with_request(Request::new_with_init(
            &format!("https://idem{path}"),
            &init,
        )?)
        .await?;
    Ok(resp.text().await?)
}

/// Runs `work` once per (API key, Idempotency-Key): the first request claims the key and its
/// response is kept; a retry with the same request gets that response again
/// (`Idempotent-Replayed: true`); a concurrent retry gets 409
/// `idempotency_request_in_progress`; another request with the same key gets 409
/// `idempotency_key_reused`. A failed write releases the key so it can be retried.
pub async fn once<F>(
    env: &Env,
    api_key_hash: &str,
    idem: Option<&str>,
    request_hash: &str,
    work: F,
) -> Result<Response, ApiError>
where
    F: Future<Output = Result<Written, ApiError>>,
{
    let Some(idem) = idem else {
        return work.await.map(Written::into_response);
    };
    let name = format!("{api_key_hash}:{}", sha256_hex(idem.as_bytes()));
    if let Some(earlier) = begin(env, &name, request_hash).await? {
        return Ok(earlier);
    }
    settle(env, &name, work.await).await
}

/// Claims the key for this request: `None` when it owns the key now, else the answer (the
/// replay of the first response, or 409). Not generic, so the writes share one copy.
async fn begin(env: &Env, name: &str, request_hash: &str) -> Result<Option<Response>, ApiError> {
    let begin: Begin = serde_json::from_str(&call(env, name, "/begin", request_hash.into()).await?)
        .map_err(|_| ApiError::internal())?;
    match begin {
        Begin::Claimed => Ok(None),
        Begin::InProgress => Err(ApiError::new(
            409,
            "idempotency_request_in_progress",
            "A request with this Idempotency-Key is still being processed; retry shortly",
        )
        .with_header("retry-after", "1")),
        Begin::Conflict => Err(ApiError::new(
            409,
            "idempotency_key_reused",
            "This Idempotency-Key was already used with a different request",
        )),
        Begin::Done {
            status,
            body,
            headers,
        } => Ok(Some(replay(status, &body, &headers))),
    }
}

/// After the write: its response is remembered (status, body and `REPLAYED_HEADERS`), or,
/// when it failed, the key is released.
async fn settle(
    env: &Env,
    name: &str,
    result: Result<Written, ApiError>,
) -> Result<Response, ApiError> {
    match result {
        Ok(w) => {
            let (status, data) = (w.status, w.data.clone());
            let resp = w.into_response();
            let headers: String = REPLAYED_HEADERS
                .iter()
                .filter_map(|h| {
                    resp.headers()
                        .get(h)
                        .ok()
                        .flatten()
                        .map(|v| format!("{h}: {v}\n"))
                })
                .collect();
            let finish =
                serde_json::json!({"status": status, "body": data, "headers": headers}).to_string();
            call(env, name, "/finish", finish).await?;
            Ok(resp)
        }
        Err(e) => {
            let _ = call(env, name, "/abort", String::new()).await;
            Err(e)
        }
    }
}

/// The headers of a first response that its replays carry too (the correlation id is each
/// request's own).
pub const REPLAYED_HEADERS: [&str; 2] = ["content-type", "location"];

/// The remembered response: the first one's status, body and `REPLAYED_HEADERS`, plus
/// `Idempotent-Replayed: true`.
fn replay(status: u16, data: &str, headers: &str) -> Response {
    let out = Headers::new();
    // Responses remembered before their headers were kept were all JSON.
    let _ = out.set("content-type", "application/json");
    let _ = out.set("cache-control", "no-store");
    for (k, v) in headers.lines().filter_map(|l| l.split_once(": ")) {
        if REPLAYED_HEADERS.contains(&k) {
            let _ = out.set(k, v);
        }
    }
    let _ = out.set("idempotent-replayed", "true");
    text_response(status, format!("{{\"data\":{data}}}"), out)
}

/// The common shape of every admin write: authenticate, check `scope`, read the JSON body,
/// then run `work` at most once per Idempotency-Key. `op` (method and path) is hashed with
/// the body, so the same key with another request is refused.
pub async fn write<F>(
    req: Request,
    cx: &Ctx,
    scope: &str,
    op: &str,
    work: F,
) -> Result<Response, ApiError>
where
    F: AsyncFnOnce(&Store, &Caller, Value) -> Result<Written, ApiError>,
{
    write_within(req, cx, scope, op, MAX_BODY_BYTES, work).await
}

/// `write` for a body of up to `limit` bytes.
pub async fn write_within<F>(
    mut req: Request,
    cx: &Ctx,
    scope: &str,
    op: &str,
    limit: usize,
    work: F,
) -> Result<Response, ApiError>
where
    F: AsyncFnOnce(&Store, &Caller, Value) -> Result<Written, ApiError>,
{
    let store = Store::new(&cx.env)?;
    let caller = authenticate(&req, &store, &cx.env).await?;
    caller.require_scope(scope)?;
    let idem = idempotency_key(&req)?;
    let body = read_json_within(&mut req, limit).await?;
    let request_hash = sha256_hex(format!("{op}\n{body}").as_bytes());
    once(
        &cx.env,
        &caller.key_hash,
        idem.as_deref(),
        &request_hash,
        work(&store, &caller, body),
    )
    .await
}
