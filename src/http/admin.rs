//! Operator endpoints used by `npm run keys` against a running local worker: register a key
//! (by its hash: the key itself never reaches the worker) and revoke one; and, for tests, roll
//! a link's clicks up now and deliver a click batch to a shard as a redirect's isolate would
//! (`domain::stats::batch_body`: retries must count once). They exist only
//! when the `ADMIN_TOKEN` secret is set (locally from `.dev.vars`); otherwise they are 404.
//! Against a deployed worker the CLI writes the namespace through wrangler instead.

use super::auth::is_scope;
use super::errors::ApiError;
use super::{json_data, now_ms};
use crate::domain::stats::CLICK_SHARDS;
use crate::domain::time::format_rfc3339;
use crate::store::{ApiKeyRecord, Store};
use serde::Deserialize;
use worker::{Env, Method, Request, Response};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewKey {
    key_hash: String,
    projects: Vec<String>,
    scopes: Vec<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    prefix: String,
}

fn authorised(req: &Request, env: &Env) -> bool {
    let Ok(token) = env.secret("ADMIN_TOKEN").map(|s| s.to_string()) else {
        return false;
    };
    if token.len() < 32 {
        return false;
    }
    let presented = req
        .headers()
        .get("authorization")
        .ok()
        .flatten()
        .unwrap_or_default();
    let expected = format!("Bearer {token}");
    // Over SHA-256 digests of both, in constant time: neither the token's length nor how
    // much of it a guess got right shows in the timing.
    crate::domain::config::tokens_match(presented.as_bytes(), expected.as_bytes())
}

fn is_hash(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

pub async fn handle(mut req: Request, env: &Env, rest: &[&str]) -> Result<Response, ApiError> {
    if !authorised(&req, env) {
        return Err(ApiError::not_found("Route"));
    }
    let store = Store::new(env)?;
    match (req.method(), rest) {
        (Method::Post, ["keys"]) => {
            let body: NewKey = req
                .json()
                .await
                .map_err(|_| ApiError::new(400, "invalid_json", "Expected a key registration"))?;
            if !is_hash(&body.key_hash) || body.projects.is_empty() {
                return Err(ApiError::field(
                    "keyHash",
                    "invalid_format",
                    "keyHash must be a lowercase SHA-256 hex digest; projects must not be empty",
                ));
            }
            if let Some(bad) = body.scopes.iter().find(|s| !is_scope(s)) {
                return Err(ApiError::field(
                    "scopes",
                    "invalid_enum",
                    format!("Unknown scope '{bad}'"),
                ));
            }
            let rec = ApiKeyRecord {
                projects: body.projects,
                scopes: body.scopes,
                name: body.name,
                prefix: body.prefix,
                created_at: format_rfc3339(now_ms()),
            };
            store.put_api_key(&body.key_hash, &rec).await?;
            Ok(json_data(
                201,
                &serde_json::to_string(&rec).unwrap_or_default(),
            ))
        }
        (Method::Delete, ["keys", hash]) if is_hash(hash) => {
            let existed = store.api_key(hash).await?.is_some();
            store.delete_api_key(hash).await?;
            Ok(json_data(200, &format!("{{\"revoked\":{existed}}}")))
        }
        (Method::Post, ["links", link_id, "rollup"]) => {
            #[derive(Deserialize)]
            struct Q {
                cutoff: Option<i64>,
            }
            let q: Q = req.query().map_err(|_| {
                ApiError::field(
                    "cutoff",
                    "invalid_type",
                    "cutoff must be epoch milliseconds",
                )
            })?;
            super::stats::rollup_now(env, link_id, q.cutoff.unwrap_or_else(now_ms)).await?;
            Ok(json_data(200, "{\"rolledUp\":true}"))
        }
        (Method::Post, ["links", link_id, "clicks", shard]) => {
            let shard = shard
                .parse::<u32>()
                .ok()
                .filter(|s| *s < CLICK_SHARDS)
                .ok_or_else(|| {
                    ApiError::field(
                        "shard",
                        "out_of_range",
                        format!("shard must be 0 to {}", CLICK_SHARDS - 1),
                    )
                })?;
            let body = req.text().await.map_err(|_| ApiError::internal())?;
            let clicks = super::stats::deliver_body(env, link_id, shard, &body)
                .await
                .map_err(|e| ApiError::new(400, "invalid_batch", e))?;
            Ok(json_data(200, &format!("{{\"clicks\":{clicks}}}")))
        }
        _ => Err(ApiError::not_found("Route")),
    }
}
