//! Link lifecycle: the derived status (schedule, disable, used up), `PATCH /v1/links/{id}`
//! and `GET /v1/links?projectId=…` (newest first, cursor pages).

use super::auth::authenticate;
use super::auth::Caller;
use super::errors::ApiError;
use super::idempotency::{write, Written};
use super::links::{check_destinations, load_link, redirect_record, resolve_destination};
use super::qr_codes::publish_record;
use super::{now_ms, text_response, Ctx};
use crate::domain::ids::is_ulid_id;
use crate::domain::link::{validate_link, MAX_TAG_LEN, TOP_LEVEL_FIELDS};
use crate::domain::record::{status_at, Status};
use crate::domain::retailers::append_params;
use crate::domain::time::format_rfc3339;
use crate::domain::upgrade;
use crate::domain::validate::{char_len, json_type, unknown_field_message, Problems};
use crate::store::{durable, Store, StoredLink};
use futures_util::future::join_all;
use serde_json::{json, Map, Value};
use worker::{Env, Headers, Request, Response};

/// A link's status now: the schedule and the disable flag, and for capped links the use
/// count kept by the link's home object.
pub async fn status_now(env: &Env, link: &StoredLink, now: i64) -> Status {
    let status = status_at(link.disabled, link.starts_at, link.expires_at, now);
    match (status, link.max_clicks) {
        (Status::Active, Some(max)) => match durable::uses(env, &link.short_id).await {
            Ok(n) if n >= max => Status::Expired,
            Ok(_) => Status::Active,
            Err(_) => Status::Unavailable,
        },
        (s, _) => s,
    }
}

/// The API representation with the status derived now, in today's shapes (a link stored by
/// an earlier version is upgraded as it is read), with `products` and `metadata` always there.
pub async fn representation_now(env: &Env, link: &StoredLink, now: i64) -> Map<String, Value> {
    let mut data = link.data.clone();
    upgrade::link(&mut data);
    data.entry("products").or_insert_with(|| json!([]));
    data.entry("metadata").or_insert_with(|| json!({}));
    let status = status_now(env, link, now).await;
    data.insert("status".into(), json!(status.as_str()));
    data
}

/// Fields a PATCH may change (`status` is `active` or `disabled`).
const PATCHABLE: [&str; 9] = [
    "name",
    "publicName",
    "products",
    "customUrl",
    "fallbackUrl",
    "options",
    "tracking",
    "metadata",
    "status",
];

/// RFC 7396 JSON merge patch: objects merge recursively, `null` removes, anything else
/// replaces.
fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

pub async fn update(req: Request, cx: &Ctx, link_id: &str) -> Result<Response, ApiError> {
    write(
        req,
        cx,
        "links:write",
        &format!("PATCH /v1/links/{link_id}"),
        async |store: &Store, caller: &Caller, body| {
            update_link(cx, store, caller, link_id, body).await
        },
    )
    .await
}

async fn update_link(
    cx: &Ctx,
    store: &Store,
    caller: &Caller,
    link_id: &str,
    body: Value,
) -> Result<Written, ApiError> {
    let mut link = load_link(store, caller, link_id).await?;
    upgrade::link(&mut link.data);

    let Value::Object(patch) = &body else {
        return Err(ApiError::field(
            "",
            "invalid_type",
            format!(
                "Request body must be a JSON object, got {}",
                json_type(&body)
            ),
        ));
    };
    // An empty patch changes nothing: no rewrite, no new destination.
    if patch.is_empty() {
        return answer(cx, caller, &link).await;
    }
    let mut p = Problems::default();
    for k in patch.keys() {
        if !PATCHABLE.contains(&k.as_str()) {
            let shown: String = k.chars().take(64).collect();
            let msg = if TOP_LEVEL_FIELDS.contains(&k.as_str()) {
                format!("'{shown}' cannot be changed after creation")
            } else {
                unknown_field_message(&shown, &PATCHABLE)
            };
            p.push(shown, "not_patchable", msg);
        }
    }
    let disabled = match patch.get("status") {
        None => link.disabled,
        Some(Value::String(s)) if s == "disabled" => true,
        Some(Value::String(s)) if s == "active" => false,
        Some(_) => {
            p.push(
                "status",
                "invalid_enum",
                "status must be 'active' or 'disabled'",
            );
            link.disabled
        }
    };
    // The link's request as it stands, with the patch merged in, is validated whole.
    let mut merged = Value::Object(
        link.data
            .iter()
            .filter(|(k, _)| TOP_LEVEL_FIELDS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    );
    let mut fields_patch = patch.clone();
    fields_patch.remove("status");
    merge_patch(&mut merged, &Value::Object(fields_patch));
    let spec = match validate_link(&merged) {
        Ok(spec) => spec,
        Err(invalid) => {
            p.absorb(invalid);
            return Err(p
                .into_invalid()
                .map_or_else(ApiError::internal, ApiError::from));
        }
    };
    if let Some(invalid) = p.into_invalid() {
        return Err(invalid.into());
    }
    caller.require_scope(spec.retailer.scope())?;
    check_destinations(cx, &spec)?;
    let (dest, warnings) = resolve_destination(cx, store, &spec).await?;
    let target_url = append_params(&dest, &spec.tracking.params);

    // The new representation: identity fields kept, request fields replaced.
    let mut data: Map<String, Value> = link
        .data
        .iter()
        .filter(|(k, _)| !TOP_LEVEL_FIELDS.contains(&k.as_str()) && k.as_str() != "warnings")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, v) in &spec.fields {
        data.insert(k.clone(), v.clone());
    }
    if !data.contains_key("publicName") {
        data.insert("publicName".into(), json!(spec.name));
    }
    data.insert("targetUrl".into(), json!(target_url));
    data.insert("updatedAt".into(), json!(format_rfc3339(now_ms())));
    if !warnings.is_empty() {
        data.insert("warnings".into(), Value::Array(warnings));
    }
    link.data = data;
    link.disabled = disabled;
    link.starts_at = spec.options.starts_at;
    link.expires_at = spec.options.expires_at;
    link.max_clicks = spec.options.max_clicks;

    // The home object keeps its own QR markers; what it stores is what KV gets.
    let mut record = redirect_record(&spec, link_id, &target_url, &link.qr_codes);
    record.disabled = disabled;
    let record_json = serde_json::to_string(&record).map_err(|_| ApiError::internal())?;
    let stored = durable::put_home_record(&cx.env, &link.short_id, &record_json, false)
        .await?
        .ok_or_else(ApiError::internal)?;
    store.put_link(link_id, &link).await?;
    durable::index_link(&cx.env, &link.project_id, link_id, &spec.tracking.tags).await?;
    publish_record(&cx.env, store, &link.short_id, &stored).await?;
    answer(cx, caller, &link).await
}

/// What a PATCH answers: the link, for a key that may read it (`links:read`); else only its
/// id and `updatedAt`, so a write-only key learns nothing it did not send.
async fn answer(cx: &Ctx, caller: &Caller, link: &StoredLink) -> Result<Written, ApiError> {
    let data = if caller.require_scope("links:read").is_ok() {
        representation_now(&cx.env, link, now_ms()).await
    } else {
        let mut m = Map::new();
        for k in ["id", "updatedAt"] {
            if let Some(v) = link.data.get(k) {
                m.insert(k.into(), v.clone());
            }
        }
        m
    };
    Ok(Written {
        status: 200,
        data: serde_json::to_string(&data).unwrap_or_default(),
        location: None,
    })
}

pub const MAX_PAGE: u32 = 100;
pub const DEFAULT_PAGE: u32 = 20;

/// `GET /v1/links?projectId=…&limit=…&cursor=…`: newest first; `cursor` is the last id of
/// the previous page, so pages never skip or repeat a link.
pub async fn list(req: Request, cx: &Ctx) -> Result<Response, ApiError> {
    let store = Store::new(&cx.env)?;
    let caller = authenticate(&req, &store, &cx.env).await?;
    caller.require_scope("links:read")?;
    let url = req.url().map_err(|_| ApiError::internal())?;
    let mut p = Problems::default();
    let (mut project, mut limit, mut cursor, mut tag) = (None, DEFAULT_PAGE, None, None);
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "projectId" => project = Some(v.into_owned()),
            "limit" => match v.parse::<u32>() {
                Ok(n) if (1..=MAX_PAGE).contains(&n) => limit = n,
                _ => p.push(
                    "limit",
                    "out_of_range",
                    format!("limit must be 1–{MAX_PAGE}"),
                ),
            },
            "tag" => {
                if (1..=MAX_TAG_LEN).contains(&char_len(&v)) {
                    tag = Some(v.into_owned());
                } else {
                    p.push(
                        "tag",
                        "invalid_length",
                        format!("tag must be 1–{MAX_TAG_LEN} characters"),
                    );
                }
            }
            "cursor" => {
                if is_ulid_id("lnk_", &v) {
                    cursor = Some(v.into_owned());
                } else {
                    p.push(
                        "cursor",
                        "invalid_format",
                        "cursor must be a nextCursor value",
                    );
                }
            }
            _ => {}
        }
    }
    // A key with one project may leave projectId out.
    let project = match project {
        Some(pr) => pr,
        None if caller.key.projects.len() == 1 => caller.key.projects[0].clone(),
        None => {
            p.push("projectId", "required", "'projectId' is required");
            String::new()
        }
    };
    if !p.is_empty() {
        return Err(ApiError::validation(p.shape));
    }
    caller.require_project(&project)?;
    let mut ids = durable::list_links(
        &cx.env,
        &project,
        cursor.as_deref(),
        tag.as_deref(),
        limit + 1,
    )
    .await?;
    let more = ids.len() > limit as usize;
    ids.truncate(limit as usize);
    let now = now_ms();
    let links = join_all(ids.iter().map(|id| store.link(id))).await;
    // The statuses of capped links are asked of their home objects all at once.
    let found: Vec<StoredLink> = links.into_iter().flatten().flatten().collect();
    let items: Vec<Value> = join_all(
        found
            .iter()
            .map(|link| representation_now(&cx.env, link, now)),
    )
    .await
    .into_iter()
    .map(Value::Object)
    .collect();
    let next = if more { ids.last().cloned() } else { None };
    let body = json!({"data": items, "nextCursor": next});
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/json");
    let _ = headers.set("cache-control", "no-store");
    Ok(text_response(200, body.to_string(), headers))
}
