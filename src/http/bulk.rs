//! `POST /v1/links/bulk`: up to 100 links in one request, each validated, authorised and
//! created on its own, with one result per item, in order. The links are created in parallel
//! and join their projects' indexes in one call per project, so a bulk create costs a few
//! round trips of storage, not one per link. `Idempotency-Key` covers the whole request.

use super::auth::Caller;
use super::errors::ApiError;
use super::idempotency::{write_within, Written};
use super::links::{create_from_spec, Created};
use super::{Ctx, MAX_BULK_BODY_BYTES};
use crate::domain::link::validate_link;
use crate::domain::validate::{bounded_array, json_type, reject_unknown, Problems};
use crate::store::{durable, Store};
use futures_util::future::join_all;
use serde_json::{json, Value};
use worker::{Request, Response};

/// Links per bulk request.
pub const MAX_BULK_LINKS: usize = 100;
/// Links created at the same time (each is a few storage calls).
const PARALLEL: usize = 25;

pub async fn create(req: Request, cx: &Ctx) -> Result<Response, ApiError> {
    write_within(
        req,
        cx,
        "links:write",
        "POST /v1/links/bulk",
        MAX_BULK_BODY_BYTES,
        async |store: &Store, caller: &Caller, body| bulk(cx, store, caller, body).await,
    )
    .await
}

async fn bulk(cx: &Ctx, store: &Store, caller: &Caller, body: Value) -> Result<Written, ApiError> {
    let mut p = Problems::default();
    let Value::Object(obj) = &body else {
        return Err(ApiError::field(
            "",
            "invalid_type",
            format!(
                "Request body must be a JSON object, got {}",
                json_type(&body)
            ),
        ));
    };
    reject_unknown(obj, &["links"], "", &mut p);
    if !obj.contains_key("links") {
        p.push("links", "required", "'links' is required");
    }
    let items = bounded_array(obj, "links", "", (1, MAX_BULK_LINKS), "links", &mut p);
    // Each item is a link create body: an object, else the request itself is malformed.
    for (i, item) in items.into_iter().flatten().enumerate() {
        if !item.is_object() {
            p.push(
                format!("links[{i}]"),
                "invalid_type",
                format!("Must be an object, got {}", json_type(item)),
            );
        }
    }
    if let Some(invalid) = p.into_invalid() {
        return Err(invalid.into());
    }
    let items = items.map(Vec::as_slice).unwrap_or_default();

    let specs: Vec<_> = items.iter().map(validate_link).collect();
    let mut outcomes: Vec<Option<Result<Created, ApiError>>> = Vec::with_capacity(items.len());
    for chunk in specs.chunks(PARALLEL) {
        let done = join_all(chunk.iter().map(|spec| async move {
            match spec {
                Ok(spec) => Some(create_from_spec(cx, store, caller, spec, false).await),
                Err(invalid) => Some(Err(ApiError::from(invalid.clone()))),
            }
        }))
        .await;
        outcomes.extend(done);
    }

    // Every created link joins its project's index: one call per project.
    type Entries<'a> = Vec<(&'a str, &'a [String])>;
    let mut projects: Vec<(&str, Entries)> = Vec::new();
    for c in outcomes.iter().flatten().flatten() {
        let entry = (c.link_id.as_str(), c.tags.as_slice());
        match projects.iter_mut().find(|(p, _)| *p == c.project_id) {
            Some((_, links)) => links.push(entry),
            None => projects.push((c.project_id.as_str(), vec![entry])),
        }
    }
    for r in join_all(
        projects
            .iter()
            .map(|(project, links)| durable::index_links(&cx.env, project, links)),
    )
    .await
    {
        r?;
    }

    let results: Vec<Value> = outcomes
        .into_iter()
        .enumerate()
        .map(|(index, outcome)| match outcome {
            Some(Ok(c)) => {
                let data: Value = serde_json::from_str(&c.body).unwrap_or(Value::Null);
                json!({"index": index, "status": 201, "data": data})
            }
            Some(Err(e)) => json!({
                "index": index,
                "status": e.status,
                "error": e.object(&cx.correlation_id),
            }),
            None => json!({
                "index": index,
                "status": 500,
                "error": ApiError::internal().object(&cx.correlation_id),
            }),
        })
        .collect();
    Ok(Written {
        status: 200,
        data: Value::Array(results).to_string(),
        location: None,
    })
}
