//! API-key authentication and authorisation: 401 for a missing, unknown or revoked key;
//! 403 for a key without the scope, the retailer scope or the project.

use super::errors::ApiError;
use crate::domain::ids::{sha256_hex, API_KEY_PREFIX};
use crate::store::{ApiKeyRecord, Store};
use worker::{Env, Request};

pub const API_KEY_HEADER: &str = "x-incarts-api-key";

/// The scopes of operations; each retailer adds its own (`retailers:<name>`, from the registry).
pub const OPERATION_SCOPES: [&str; 5] = [
    "links:write",
    "links:read",
    "qr-codes:write",
    "qr-codes:read",
    "stats:read",
];

/// Whether a key can hold `scope`.
pub fn is_scope(scope: &str) -> bool {
    OPERATION_SCOPES.contains(&scope)
        || crate::domain::retailers::retailer_scopes().contains(&scope)
}

pub struct Caller {
    /// SHA-256 of the presented key; scopes idempotency records to this key.
    pub key_hash: String,
    pub key: ApiKeyRecord,
}

/// The rate-limiting binding of the admin API (wrangler.toml `[[ratelimits]]`), per API key.
pub const RATE_LIMITER_BINDING: &str = "API_RATE_LIMITER";

/// Authenticates the caller and takes one request from its key's rate limit. The limit fails
/// closed: without the binding the API is `misconfigured` (503); when the limiter cannot
/// answer, the request is refused with 503 `rate_limiter_unavailable` (with `Retry-After`),
/// never let through unlimited.
pub async fn authenticate(req: &Request, store: &Store, env: &Env) -> Result<Caller, ApiError> {
    let caller = identify(req, store).await?;
    let Ok(limiter) = env.rate_limiter(RATE_LIMITER_BINDING) else {
        worker::console_error!("misconfigured: the {RATE_LIMITER_BINDING} binding is missing");
        return Err(super::config::misconfigured_error(&format!(
            "the {RATE_LIMITER_BINDING} rate-limiting binding is missing"
        )));
    };
    match limiter.limit(caller.key_hash.clone()).await {
        Ok(outcome) if outcome.success => Ok(caller),
        Ok(_) => Err(ApiError::new(
            429,
            "rate_limited",
            "Too many requests for this API key; retry after the Retry-After delay",
        )
        .with_header("retry-after", "60")),
        Err(e) => {
            worker::console_error!("rate limiter error: {e}");
            Err(ApiError::new(
                503,
                "rate_limiter_unavailable",
                "The rate limiter could not be reached, so the request was not processed; retry shortly",
            )
            .with_header("retry-after", "1"))
        }
    }
}

async fn identify(req: &Request, store: &Store) -> Result<Caller, ApiError> {
    let Some(presented) = req.headers().get(API_KEY_HEADER).ok().flatten() else {
        return Err(ApiError::unauthorized(
            "Missing API key: send it in the X-Incarts-API-Key header",
        ));
    };
    let presented = presented.trim();
    // Malformed keys are refused without a storage lookup.
    if !presented.starts_with(API_KEY_PREFIX) || !(20..=128).contains(&presented.len()) {
        return Err(ApiError::unauthorized("Invalid API key"));
    }
    let key_hash = sha256_hex(presented.as_bytes());
    match store.api_key(&key_hash).await? {
        Some(key) => Ok(Caller { key_hash, key }),
        None => Err(ApiError::unauthorized("Invalid API key")),
    }
}

impl Caller {
    pub fn require_scope(&self, scope: &str) -> Result<(), ApiError> {
        if self.key.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "This API key lacks the '{scope}' scope"
            )))
        }
    }

    /// For a project the caller names (a create's `projectId`, a list's query): 403.
    pub fn require_project(&self, project_id: &str) -> Result<(), ApiError> {
        if self.sees(project_id) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "This API key has no access to the project given",
            ))
        }
    }

    /// Whether resources of `project_id` are visible to this key. A link of another project
    /// is answered 404, exactly as a link that does not exist.
    pub fn sees(&self, project_id: &str) -> bool {
        self.key.projects.iter().any(|p| p == project_id)
    }
}
