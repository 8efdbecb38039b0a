//! `/v1/links`: create and read shoppable links.

use super::auth::{authenticate, Caller};
use super::errors::ApiError;
use super::idempotency::{write, Written};
use super::lifecycle::representation_now;
use super::{json_data, now_ms, random16, random_bytes, Ctx};
use crate::domain::ids::{is_ulid_id, short_id_from_bytes, ulid_id};
use crate::domain::link::{
    check_qr_style_fits, qr_encoded_url, qr_style_json, validate_link, LinkSpec,
};
use crate::domain::qr;
use crate::domain::record::RedirectRecord;
use crate::domain::retailers::{append_params, destination};
use crate::domain::time::format_rfc3339;
use crate::store::{durable, Store, StoredLink, StoredQr};
use serde_json::{json, Map, Value};
use worker::{Request, Response};

/// The marker of a link's default QR code in its encoded URL (`?qr=1`); named QR codes
/// get 2, 3, … in order of creation.
pub const DEFAULT_QR_MARKER: &str = "1";

/// What a QR code object is made of.
pub struct QrInit<'a> {
    pub base_url: &'a str,
    pub qr_id: &'a str,
    pub link_id: &'a str,
    pub name: &'a str,
    pub short_link: &'a str,
    pub marker: &'a str,
    pub is_default: bool,
    pub created_at: &'a str,
    pub style: &'a qr::Style,
}

/// The API object of a QR code. Its `encodedUrl` is the short link plus the QR code's
/// marker, so a scan is told from a tap and attributed to the code that was scanned.
pub fn qr_object(q: &QrInit) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(q.qr_id));
    m.insert("linkId".into(), json!(q.link_id));
    m.insert("name".into(), json!(q.name));
    m.insert(
        "imageUrl".into(),
        json!(format!("{}/qr/{}", q.base_url, q.qr_id)),
    );
    m.insert(
        "encodedUrl".into(),
        json!(qr_encoded_url(q.short_link, q.marker)),
    );
    m.insert("isDefault".into(), json!(q.is_default));
    m.insert("style".into(), qr_style_json(q.style));
    m.insert("createdAt".into(), json!(q.created_at));
    m
}

pub async fn create(req: Request, cx: &Ctx) -> Result<Response, ApiError> {
    write(
        req,
        cx,
        "links:write",
        "POST /v1/links",
        async |store: &Store, caller: &Caller, body| create_link(cx, store, caller, body).await,
    )
    .await
}

async fn create_link(
    cx: &Ctx,
    store: &Store,
    caller: &Caller,
    body: Value,
) -> Result<Written, ApiError> {
    let spec = validate_link(&body).map_err(ApiError::validation)?;
    caller.require_project(&spec.project_id)?;
    caller.require_scope(spec.retailer.scope())?;
    check_destinations(cx, &spec)?;
    // The default QR code's style must suit the URL it encodes, which holds the short id: it is
    // checked with the id the link will get unless that one is taken, before anything is
    // fetched or written (a taken id's replacement is checked the same way).
    let id_key = super::short_id_key(&cx.env);
    let fits = |short_id: &str| {
        let short_link = format!("{}/{}", cx.base_url, short_id);
        check_qr_style_fits(
            &qr_encoded_url(&short_link, DEFAULT_QR_MARKER),
            &spec.default_qr_style,
            "defaultQrCode",
        )
        .map_err(|e| ApiError::validation(vec![e]))
    };
    let first_id = draw_short_id(&id_key)?;
    fits(&first_id)?;
    let (dest, warnings) = resolve_destination(cx, store, &spec).await?;
    let target_url = append_params(&dest, &spec.tracking.0);

    let now = now_ms();
    let link_id = ulid_id("lnk_", now, random16()?);
    let qr_id = ulid_id("qr_", now, random16()?);
    let qr_codes = vec![qr_id.clone()];
    let record = redirect_record(&spec, &link_id, &target_url, &qr_codes);
    // The link's home object is written first: it claims the short id (strongly consistent)
    // and lets a redirect resolve before KV has replicated the record.
    let short_id = claim_short_id(&cx.env, &record, &id_key, first_id, &fits).await?;
    let created_at = format_rfc3339(now);
    let short_link = format!("{}/{}", cx.base_url, short_id);

    let qr_name = spec
        .fields
        .get("defaultQrCode")
        .and_then(|q| q.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("Default QR code");
    let qr = qr_object(&QrInit {
        base_url: &cx.base_url,
        qr_id: &qr_id,
        link_id: &link_id,
        name: qr_name,
        short_link: &short_link,
        marker: DEFAULT_QR_MARKER,
        is_default: true,
        created_at: &created_at,
        style: &spec.default_qr_style,
    });

    let mut data = spec.fields.clone();
    data.insert("id".into(), json!(link_id));
    if !data.contains_key("publicName") {
        data.insert("publicName".into(), json!(spec.name));
    }
    data.insert("shortId".into(), json!(short_id));
    data.insert("shortLink".into(), json!(short_link));
    data.insert("targetUrl".into(), json!(target_url));
    data.insert("qrCode".into(), Value::Object(qr.clone()));
    data.insert("createdAt".into(), json!(created_at));
    if !warnings.is_empty() {
        data.insert("warnings".into(), Value::Array(warnings));
    }

    let stored = StoredLink {
        data,
        short_id: short_id.clone(),
        project_id: spec.project_id.clone(),
        disabled: false,
        starts_at: spec.options.starts_at,
        expires_at: spec.options.expires_at,
        max_clicks: spec.options.max_clicks,
        qr_codes,
    };
    let stored_qr = StoredQr {
        data: qr,
        link_id: link_id.clone(),
        project_id: spec.project_id.clone(),
    };
    // The redirect record is written last: once a short id resolves, everything behind it exists.
    store.put_qr(&qr_id, &stored_qr).await?;
    store.put_link(&link_id, &stored).await?;
    store.put_redirect(&short_id, &record).await?;
    durable::index_link(&cx.env, &spec.project_id, &link_id).await?;

    let body =
        serde_json::to_string(&representation_now(&cx.env, &stored, now).await).unwrap_or_default();
    Ok(Written {
        status: 201,
        data: body,
        location: Some(format!("/v1/links/{link_id}")),
    })
}

pub async fn get(req: Request, cx: &Ctx, link_id: &str) -> Result<Response, ApiError> {
    let store = Store::new(&cx.env)?;
    let caller = authenticate(&req, &store, &cx.env).await?;
    caller.require_scope("links:read")?;
    let link = load_link(&store, link_id).await?;
    caller.require_project(&link.project_id)?;
    let data = representation_now(&cx.env, &link, now_ms()).await;
    Ok(json_data(
        200,
        &serde_json::to_string(&data).unwrap_or_default(),
    ))
}

/// A stored link by id: 404 for malformed or unknown ids.
pub async fn load_link(store: &Store, link_id: &str) -> Result<StoredLink, ApiError> {
    if !is_ulid_id("lnk_", link_id) {
        return Err(ApiError::not_found("Link"));
    }
    store
        .link(link_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Link"))
}

/// The destination of a validated link: built here for Walmart, Target and custom links;
/// made by Instacart's API (cached by content) for Instacart pages. Returns the URL and any
/// warnings (an Instacart failure answered with the fallback URL).
pub async fn resolve_destination(
    cx: &Ctx,
    store: &Store,
    spec: &LinkSpec,
) -> Result<(String, Vec<Value>), ApiError> {
    match &spec.instacart {
        Some(page) => {
            let r =
                super::instacart::destination(&cx.env, store, page, spec.fallback_url.as_deref())
                    .await?;
            Ok((r.url, r.warnings))
        }
        None => Ok((
            destination(spec).map_err(|e| ApiError::field(e.key, "no_destination", e.message))?,
            Vec::new(),
        )),
    }
}

/// Redirect safety: `customUrl` / `fallbackUrl` may not point at this service, and must be on
/// the project's allow-list when one is configured (`CUSTOM_DESTINATION_HOSTS`, a JSON object
/// of project id → hosts; subdomains included).
pub fn check_destinations(cx: &Ctx, spec: &LinkSpec) -> Result<(), ApiError> {
    let mut urls = Vec::new();
    if let Some(u) = &spec.custom_url {
        urls.push(("customUrl", u.as_str()));
    }
    if let Some(u) = &spec.fallback_url {
        urls.push(("fallbackUrl", u.as_str()));
    }
    if urls.is_empty() {
        return Ok(());
    }
    let own: Vec<String> = url::Url::parse(&cx.base_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .into_iter()
        .collect();
    let allowed: Option<Vec<String>> = cx
        .env
        .var("CUSTOM_DESTINATION_HOSTS")
        .ok()
        .and_then(|v| {
            serde_json::from_str::<std::collections::HashMap<String, Vec<String>>>(&v.to_string())
                .ok()
        })
        .and_then(|mut m| m.remove(&spec.project_id));
    let problems = crate::domain::safety::check_destinations(&urls, &own, allowed.as_deref());
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(problems))
    }
}

/// The redirect record of a link; QR code `i` of `qr_codes` has the marker `i + 1`.
pub fn redirect_record(
    spec: &LinkSpec,
    link_id: &str,
    target_url: &str,
    qr_codes: &[String],
) -> RedirectRecord {
    RedirectRecord {
        dest: target_url.to_string(),
        fallback: spec.fallback_url.clone(),
        link_id: link_id.to_string(),
        starts_at: spec.options.starts_at,
        expires_at: spec.options.expires_at,
        max_clicks: spec.options.max_clicks,
        disabled: false,
        forward_query: spec.options.forward_query,
        qr: qr_codes
            .iter()
            .enumerate()
            .map(|(i, id)| ((i + 1).to_string(), id.clone()))
            .collect(),
    }
}

/// A fresh short id from random bytes.
fn draw_short_id(key: &[u8]) -> Result<String, ApiError> {
    for _ in 0..5 {
        let mut bytes = [0u8; 32];
        random_bytes(&mut bytes)?;
        if let Some(id) = short_id_from_bytes(&bytes, key) {
            return Ok(id);
        }
    }
    Err(ApiError::internal())
}

/// Claims `first` for the record in the link's home object, or, when it is taken, another
/// fresh id that `fits` accepts (a collision is astronomically rare, but the claim makes it
/// impossible).
async fn claim_short_id(
    env: &worker::Env,
    record: &RedirectRecord,
    key: &[u8],
    first: String,
    fits: &dyn Fn(&str) -> Result<(), ApiError>,
) -> Result<String, ApiError> {
    let json = serde_json::to_string(record).map_err(|_| ApiError::internal())?;
    let mut id = first;
    for attempt in 0..5 {
        if attempt > 0 {
            id = draw_short_id(key)?;
            fits(&id)?;
        }
        if durable::put_home_record(env, &id, &json, true).await? {
            return Ok(id);
        }
    }
    Err(ApiError::internal())
}

/// Percent-encodes an optional query value (empty when absent).
pub fn encode_opt(v: Option<&str>) -> String {
    v.map(crate::domain::retailers::encode).unwrap_or_default()
}
