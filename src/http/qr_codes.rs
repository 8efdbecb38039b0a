//! `/v1/links/{linkId}/qr-codes`: named QR codes of a link (create, list). The link's home
//! object adds each code, one at a time: it checks the identifier and the cap and hands out
//! the marker, so concurrent creates never collide.

use super::auth::authenticate;
use super::auth::Caller;
use super::errors::ApiError;
use super::idempotency::{write, Written};
use super::links::load_link;
use super::{now_ms, random16, Ctx};
use crate::domain::ids::ulid_id;
use crate::domain::qr_code::{
    check_fits, qr_object, validate_create, QrInit, DEFAULT_IDENTIFIER, MAX_QR_CODES,
};
use crate::domain::record::RedirectRecord;
use crate::domain::time::format_rfc3339;
use crate::domain::upgrade;
use crate::domain::validate::Problems;
use crate::store::durable::{self, QrEntry, QrRefused};
use crate::store::{Store, StoredQr};
use futures_util::future::join_all;
use serde_json::Value;
use worker::{Env, Request, Response};

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

fn duplicate(identifier: &str) -> ApiError {
    ApiError::new(
        409,
        "duplicate_identifier",
        format!("This link already has a QR code with identifier '{identifier}'"),
    )
}

async fn create_qr(
    cx: &Ctx,
    store: &Store,
    caller: &Caller,
    link_id: &str,
    body: Value,
) -> Result<Written, ApiError> {
    let link = load_link(store, caller, link_id).await?;
    let spec = validate_create(&body)?;
    if spec.identifier == DEFAULT_IDENTIFIER {
        return Err(duplicate(&spec.identifier));
    }
    // The style must suit the URL this code will encode; its marker is handed out below, so
    // the check takes the longest one (two digits: at most 50 codes).
    let short_link = link
        .data
        .get("shortLink")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut p = Problems::default();
    check_fits(&format!("{short_link}?qr=99"), &spec.style, "style", &mut p);
    if let Some(invalid) = p.into_invalid() {
        return Err(invalid.into());
    }

    let now = now_ms();
    let qr_id = ulid_id("qr_", now, random16()?);
    let entry = QrEntry {
        marker: String::new(),
        id: qr_id.clone(),
        identifier: spec.identifier.clone(),
    };
    let added = match durable::add_qr(&cx.env, &link.short_id, &entry, MAX_QR_CODES).await? {
        Ok(added) => added,
        Err(QrRefused::DuplicateIdentifier) => return Err(duplicate(&spec.identifier)),
        Err(QrRefused::LimitReached) => {
            return Err(ApiError::new(
                409,
                "limit_reached",
                format!("A link has at most {MAX_QR_CODES} QR codes"),
            ))
        }
    };
    let created_at = format_rfc3339(now);
    let qr = qr_object(&QrInit {
        base_url: &cx.base_url,
        qr_id: &qr_id,
        link_id,
        spec: &spec,
        short_link: &short_link,
        marker: &added.marker,
        is_default: false,
        created_at: &created_at,
        encoded_url: None,
    });
    let stored = StoredQr {
        data: qr.clone(),
        link_id: link_id.to_string(),
        project_id: link.project_id.clone(),
    };
    if let Err(e) = store.put_qr(&qr_id, &stored).await {
        // The code could not be stored: its marker is taken back, so nothing is orphaned.
        if let Ok(raw) = durable::remove_qr(&cx.env, &link.short_id, &qr_id).await {
            let _ = publish_record(&cx.env, store, &link.short_id, &raw).await;
        }
        return Err(e);
    }
    // The redirect learns the new marker, so scans of this code are attributed to it.
    publish_record(&cx.env, store, &link.short_id, &added.record).await?;

    Ok(Written {
        status: 201,
        data: serde_json::to_string(&qr).unwrap_or_default(),
        location: None,
    })
}

/// Writes the home object's record to KV, where redirects read it. Writes of concurrent
/// requests may land in either order, so the home object is read again afterwards and a newer
/// record written over an older one.
pub async fn publish_record(
    env: &Env,
    store: &Store,
    short_id: &str,
    record_json: &str,
) -> Result<(), ApiError> {
    let mut json = record_json.to_string();
    for _ in 0..3 {
        let rec: RedirectRecord = serde_json::from_str(&json).map_err(|_| ApiError::internal())?;
        store.put_redirect(short_id, &rec).await?;
        match durable::home_record(env, short_id).await? {
            Some(now) if now != json => json = now,
            _ => return Ok(()),
        }
    }
    Ok(())
}

pub async fn list(req: Request, cx: &Ctx, link_id: &str) -> Result<Response, ApiError> {
    let store = Store::new(&cx.env)?;
    let caller = authenticate(&req, &store, &cx.env).await?;
    caller.require_scope("qr-codes:read")?;
    let link = load_link(&store, &caller, link_id).await?;
    let entries = durable::qr_codes(&cx.env, &link.short_id).await?;
    let found = join_all(entries.iter().map(|e| store.qr(&e.id))).await;
    let mut items = Vec::with_capacity(entries.len());
    for q in found {
        if let Some(mut q) = q? {
            upgrade::qr(&mut q.data);
            items.push(Value::Object(q.data));
        }
    }
    let body = serde_json::json!({"data": items, "nextCursor": null});
    let headers = worker::Headers::new();
    let _ = headers.set("content-type", "application/json");
    let _ = headers.set("cache-control", "no-store");
    Ok(super::text_response(200, body.to_string(), headers))
}
