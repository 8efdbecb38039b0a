//! `/v1/links/{linkId}/qr-codes`: named QR codes of a link (create, list).

use super::auth::authenticate;
use super::auth::Caller;
use super::errors::ApiError;
use super::idempotency::{write, Written};
use super::links::{load_link, qr_object, QrInit};
use super::{now_ms, random16, Ctx};
use crate::domain::ids::ulid_id;
use crate::domain::link::{check_qr_style_fits, qr_encoded_url, validate_qr_spec};
use crate::domain::record::RedirectRecord;
use crate::domain::time::format_rfc3339;
use crate::domain::validate::{json_type, Problems};
use crate::store::{durable, Store, StoredQr};
use serde_json::Value;
use worker::{Request, Response};

/// QR codes per link (their markers are read on every redirect of the link).
pub const MAX_QR_CODES: usize = 50;

pub async fn create(req: Request, cx: &Ctx, link_id: &str) -> Result<Response, ApiError> {
    write(
        req,
        cx,
        "qr-codes:write",
        &format!("POST /v1/links/{link_id}/qr-codes"),
        async |store: &Store, caller: &Caller, body| {
            create_qr(cx, store, caller, link_id, body).await
        },
    )
    .await
}

async fn create_qr(
    cx: &Ctx,
    store: &Store,
    caller: &Caller,
    link_id: &str,
    body: Value,
) -> Result<Written, ApiError> {
    let mut link = load_link(store, link_id).await?;
    caller.require_project(&link.project_id)?;

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
    let (name, style) = validate_qr_spec(obj, "", true, &mut p);
    let marker = (link.qr_codes.len() + 1).to_string();
    let short_link = link
        .data
        .get("shortLink")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    // The style must suit the URL this code will encode (its module count depends on it).
    if let Some(style) = &style {
        if let Err(e) = check_qr_style_fits(&qr_encoded_url(&short_link, &marker), style, "") {
            p.push(e.key, e.code, e.message);
        }
    }
    let (Some(name), Some(style), true) = (name, style, p.is_empty()) else {
        return Err(ApiError::validation(p.into_vec()));
    };
    if link.qr_codes.len() >= MAX_QR_CODES {
        return Err(ApiError::new(
            409,
            "limit_reached",
            format!("A link has at most {MAX_QR_CODES} QR codes"),
        ));
    }

    let now = now_ms();
    let qr_id = ulid_id("qr_", now, random16()?);
    let created_at = format_rfc3339(now);
    let qr = qr_object(&QrInit {
        base_url: &cx.base_url,
        qr_id: &qr_id,
        link_id,
        name: &name,
        short_link: &short_link,
        marker: &marker,
        is_default: false,
        created_at: &created_at,
        style: &style,
    });
    store
        .put_qr(
            &qr_id,
            &StoredQr {
                data: qr.clone(),
                link_id: link_id.to_string(),
                project_id: link.project_id.clone(),
            },
        )
        .await?;
    link.qr_codes.push(qr_id.clone());
    store.put_link(link_id, &link).await?;
    // The redirect learns the new marker, so scans of this code are attributed to it.
    if let Some(raw) = durable::home_record(&cx.env, &link.short_id).await? {
        let mut rec: RedirectRecord =
            serde_json::from_str(&raw).map_err(|_| ApiError::internal())?;
        rec.qr.push((marker, qr_id.clone()));
        let json = serde_json::to_string(&rec).map_err(|_| ApiError::internal())?;
        durable::put_home_record(&cx.env, &link.short_id, &json, false).await?;
        store.put_redirect(&link.short_id, &rec).await?;
    }

    let body = serde_json::to_string(&qr).unwrap_or_default();
    Ok(Written {
        status: 201,
        data: body,
        location: None,
    })
}

pub async fn list(req: Request, cx: &Ctx, link_id: &str) -> Result<Response, ApiError> {
    let store = Store::new(&cx.env)?;
    let caller = authenticate(&req, &store, &cx.env).await?;
    caller.require_scope("qr-codes:read")?;
    let link = load_link(&store, link_id).await?;
    caller.require_project(&link.project_id)?;
    let mut items = Vec::with_capacity(link.qr_codes.len());
    for id in &link.qr_codes {
        if let Some(q) = store.qr(id).await? {
            items.push(Value::Object(q.data));
        }
    }
    let body = serde_json::json!({"data": items, "nextCursor": null});
    let headers = worker::Headers::new();
    let _ = headers.set("content-type", "application/json");
    let _ = headers.set("cache-control", "no-store");
    Ok(super::text_response(200, body.to_string(), headers))
}
