//! `/v1/links`: create and read shoppable links.

use super::auth::{authenticate, Caller};
use super::errors::ApiError;
use super::idempotency::{write, Written};
use super::lifecycle::representation_now;
use super::{json_data, now_ms, random16, random_bytes, Ctx};
use crate::domain::error::FieldError;
use crate::domain::ids::{is_ulid_id, short_id_from_bytes, ulid_id};
use crate::domain::link::{validate_link, LinkSpec};
use crate::domain::qr_code::{
    check_fits, probe_short_link, qr_object, QrInit, QrSpec, DEFAULT_MARKER,
};
use crate::domain::record::RedirectRecord;
use crate::domain::retailers::{self, append_params, Intent, Retailer};
use crate::domain::time::format_rfc3339;
use crate::domain::validate::Problems;
use crate::store::durable::{HomeCreate, QrEntry};
use crate::store::{durable, PrintedQr, Store, StoredLink, StoredQr};
use serde_json::{json, Map, Value};
use worker::{Request, Response};

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
    let spec = validate_link(&body)?;
    let created = create_from_spec(cx, store, caller, &spec, true).await?;
    Ok(Written {
        status: 201,
        data: created.body,
        location: Some(format!("/v1/links/{}", created.link_id)),
    })
}

/// A created link: its id, what its project index needs, and its representation (JSON).
pub struct Created {
    pub link_id: String,
    pub project_id: String,
    pub tags: Vec<String>,
    pub body: String,
}

/// Creates a validated link: authorisation, destination, the claims of its short id and
/// printed QR identifiers, then storage. With `index`, the link joins its project's index
/// here; a bulk create indexes its links together instead.
pub async fn create_from_spec(
    cx: &Ctx,
    store: &Store,
    caller: &Caller,
    spec: &LinkSpec,
    index: bool,
) -> Result<Created, ApiError> {
    caller.require_project(&spec.project_id)?;
    caller.require_scope(spec.retailer.scope())?;
    super::where_to_buy::require_scopes(caller, spec)?;
    check_destinations(cx, spec)?;
    // The default QR code's style must suit the URL it encodes, which holds the short id: it is
    // checked against the longest URL the id can give, before anything is fetched or written.
    let mut p = Problems::default();
    let probe = probe_short_link(&cx.base_url, spec.short_id.as_deref());
    check_fits(
        &format!("{probe}?qr={DEFAULT_MARKER}"),
        &spec.default_qr.style,
        "defaultQrCode.style",
        &mut p,
    );
    if let Some(invalid) = p.into_invalid() {
        return Err(invalid.into());
    }
    super::where_to_buy::check_offer_destinations(cx, spec)?;
    // A where-to-buy link's destination is its page; its offers have theirs.
    let multi = spec.retailer == Retailer::Multi;
    let (dest, mut warnings) = if multi {
        (String::new(), Vec::new())
    } else {
        resolve_destination(cx, store, spec).await?
    };
    let offers = super::where_to_buy::resolve(cx, store, spec).await?;
    warnings.extend(offers.warnings.iter().cloned());
    let target_url = if multi {
        String::new()
    } else {
        append_params(&dest, &spec.tracking.params)
    };

    let now = now_ms();
    let link_id = ulid_id("lnk_", now, random16()?);
    // The default code (marker 1), then the printed ones (2, 3, …).
    let mut codes: Vec<(String, &QrSpec)> =
        vec![(ulid_id("qr_", now, random16()?), &spec.default_qr)];
    for q in &spec.printed_qr {
        codes.push((ulid_id("qr_", now, random16()?), q));
    }
    let entries: Vec<QrEntry> = codes
        .iter()
        .enumerate()
        .map(|(i, (id, q))| QrEntry {
            marker: (i + 1).to_string(),
            id: id.clone(),
            identifier: q.identifier.clone(),
        })
        .collect();
    let qr_ids: Vec<String> = codes.iter().map(|(id, _)| id.clone()).collect();
    let mut record = redirect_record(spec, &link_id, &target_url, &qr_ids);
    record.page = offers.record(spec);

    // Claims first, each strongly consistent: the printed identifiers (unique across the
    // service), then the short id, in the link's home object, which also lets a redirect
    // resolve before KV has replicated the record.
    claim_printed(&cx.env, spec, &link_id).await?;
    let (short_id, record) = match claim_short_id(&cx.env, spec, &record, &entries).await {
        Ok(claimed) => claimed,
        Err(e) => {
            release_printed(&cx.env, spec, &link_id).await;
            return Err(e);
        }
    };
    let created_at = format_rfc3339(now);
    let short_link = format!("{}/{}", cx.base_url, short_id);

    let objects: Vec<Map<String, Value>> = codes
        .iter()
        .zip(&entries)
        .map(|((qr_id, q), e)| {
            let printed = e.marker != DEFAULT_MARKER;
            let encoded = printed.then(|| format!("{}/qr/{}", cx.base_url, q.identifier));
            qr_object(&QrInit {
                base_url: &cx.base_url,
                qr_id,
                link_id: &link_id,
                spec: q,
                short_link: &short_link,
                marker: &e.marker,
                is_default: !printed,
                created_at: &created_at,
                encoded_url: encoded.as_deref(),
            })
        })
        .collect();

    let mut data = spec.fields.clone();
    data.insert("id".into(), json!(link_id));
    if !data.contains_key("publicName") {
        data.insert("publicName".into(), json!(spec.name));
    }
    data.insert("shortId".into(), json!(short_id));
    data.insert("shortLink".into(), json!(short_link));
    data.insert(
        "targetUrl".into(),
        json!(if multi { &short_link } else { &target_url }),
    );
    offers.annotate(&mut data);
    if let Some(default) = objects.first() {
        data.insert("qrCode".into(), Value::Object(default.clone()));
    }
    data.insert("createdAt".into(), json!(created_at));
    data.insert("updatedAt".into(), json!(created_at));
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
        qr_codes: qr_ids,
    };
    // The redirect records are written last: once an address resolves, everything behind it
    // exists. When a write fails, what was written and claimed is taken back, so a retry (the
    // Idempotency-Key is released with the error) finds nothing half made.
    let qr_ids: Vec<String> = objects
        .iter()
        .filter_map(|d| d.get("id").and_then(Value::as_str).map(str::to_string))
        .collect();
    let written: Result<(), ApiError> = async {
        // One code for most links; printed codes (imports) are few: written in turn.
        for (data, qr_id) in objects.into_iter().zip(&qr_ids) {
            let q = StoredQr {
                data,
                link_id: link_id.clone(),
                project_id: spec.project_id.clone(),
            };
            store.put_qr(qr_id, &q).await?;
        }
        store.put_link(&link_id, &stored).await?;
        for e in entries.iter().skip(1) {
            let rec = PrintedQr {
                short_id: short_id.clone(),
                marker: e.marker.clone(),
            };
            store.put_printed_qr(&e.identifier, &rec).await?;
        }
        store.put_redirect(&short_id, &record).await?;
        if index {
            durable::index_link(&cx.env, &spec.project_id, &link_id, &spec.tracking.tags).await?;
        }
        Ok(())
    }
    .await;
    if let Err(e) = written {
        for id in &qr_ids {
            let _ = store.delete_qr(id).await;
        }
        let _ = store.delete_link(&link_id).await;
        for e in entries.iter().skip(1) {
            let _ = store.delete_printed_qr(&e.identifier).await;
        }
        let _ = store.delete_redirect(&short_id).await;
        let _ = durable::release_home(&cx.env, &short_id).await;
        release_printed(&cx.env, spec, &link_id).await;
        return Err(e);
    }

    let body =
        serde_json::to_string(&representation_now(&cx.env, &stored, now).await).unwrap_or_default();
    Ok(Created {
        link_id,
        project_id: spec.project_id.clone(),
        tags: spec.tracking.tags.clone(),
        body,
    })
}

/// Claims every printed identifier of the link; when one is another link's, releases the
/// others and answers 409 `duplicate_identifier` at its key.
async fn claim_printed(env: &worker::Env, spec: &LinkSpec, link_id: &str) -> Result<(), ApiError> {
    if spec.printed_qr.is_empty() {
        return Ok(());
    }
    let mut claims = Vec::with_capacity(spec.printed_qr.len());
    for q in &spec.printed_qr {
        claims.push(durable::claim_printed(env, &q.identifier, link_id).await);
    }
    let mut taken = Vec::new();
    let mut failed = false;
    for (i, c) in claims.iter().enumerate() {
        match c {
            Ok(true) => {}
            Ok(false) => taken.push(FieldError::new(
                format!("legacyQrCodes[{i}].identifier"),
                "duplicate_identifier",
                format!(
                    "The QR identifier '{}' is already used by another link",
                    spec.printed_qr[i].identifier
                ),
            )),
            Err(_) => failed = true,
        }
    }
    if taken.is_empty() && !failed {
        return Ok(());
    }
    release_printed(env, spec, link_id).await;
    if failed {
        return Err(ApiError::internal());
    }
    let mut e = ApiError::new(
        409,
        "duplicate_identifier",
        "A printed QR identifier is already used by another link",
    );
    e.details = taken;
    Err(e)
}

/// Gives back the printed identifiers this link claimed (best effort: a claim left behind only
/// keeps an identifier of a link that was never created).
async fn release_printed(env: &worker::Env, spec: &LinkSpec, link_id: &str) {
    for q in &spec.printed_qr {
        let _ = durable::release_printed(env, &q.identifier, link_id).await;
    }
}

pub async fn get(req: Request, cx: &Ctx, link_id: &str) -> Result<Response, ApiError> {
    let store = Store::new(&cx.env)?;
    let caller = authenticate(&req, &store, &cx.env).await?;
    caller.require_scope("links:read")?;
    let link = load_link(&store, &caller, link_id).await?;
    let data = representation_now(&cx.env, &link, now_ms()).await;
    Ok(json_data(
        200,
        &serde_json::to_string(&data).unwrap_or_default(),
    ))
}

/// A stored link by id, when the caller's key can see it: 404 for malformed or unknown ids
/// and for links of projects the key has no access to (the answer never tells them apart).
pub async fn load_link(
    store: &Store,
    caller: &Caller,
    link_id: &str,
) -> Result<StoredLink, ApiError> {
    if !is_ulid_id("lnk_", link_id) {
        return Err(ApiError::not_found("Link"));
    }
    store
        .link(link_id)
        .await?
        .filter(|l| caller.sees(&l.project_id))
        .ok_or_else(|| ApiError::not_found("Link"))
}

/// The destination of a validated link: built here for Walmart, Target and custom links (a
/// Walmart cart with backups and a ZIP checked at that ZIP, `availability::smart_select`);
/// made by Instacart's API (cached by content) for Instacart pages. Returns the URL and any
/// warnings (an Instacart failure answered with the fallback URL, a substituted product).
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
        None => {
            // An Amazon cart without its own Associates tag takes its project's.
            let project_tag = if spec.retailer == Retailer::Amazon
                && spec.intent == Intent::AddToCart
                && spec.associate_tag.is_none()
            {
                super::config::associate_tag(cx, &spec.project_id)?
            } else {
                None
            };
            let mut order = spec.order();
            if order.associate_tag.is_none() {
                order.associate_tag = project_tag.as_deref();
            }
            let dest = retailers::destination(spec.retailer, &order)
                .map_err(|e| ApiError::rule(e.key, "no_destination", e.message))?;
            Ok(super::availability::smart_select(&cx.env, spec, dest).await)
        }
    }
}

/// Redirect safety: `customUrl` / `fallbackUrl` may not point at this service (any host it
/// answers on), and must be on the project's allow-list when one is configured
/// (`CUSTOM_DESTINATION_HOSTS`); see `config::check_destinations`.
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
    super::config::check_destinations(cx, &spec.project_id, &urls)
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
        preview_title: crate::domain::record::preview_title(
            spec.options.max_clicks,
            spec.fields
                .get("publicName")
                .and_then(Value::as_str)
                .unwrap_or(&spec.name),
        ),
        page: None,
        backups: crate::domain::availability::backups_for(spec),
    }
}

/// Claims the link's short id in its home object: the chosen one (409 `short_id_taken` when
/// another link holds it), else drawn until one is free (a collision is astronomically rare,
/// but the claim makes it impossible). Returns the id and the record as stored.
async fn claim_short_id(
    env: &worker::Env,
    spec: &LinkSpec,
    record: &RedirectRecord,
    entries: &[QrEntry],
) -> Result<(String, RedirectRecord), ApiError> {
    let create = HomeCreate {
        record: record.clone(),
        qr: entries.to_vec(),
    };
    let json = serde_json::to_string(&create).map_err(|_| ApiError::internal())?;
    let parse = |stored: String| {
        serde_json::from_str::<RedirectRecord>(&stored).map_err(|_| ApiError::internal())
    };
    if let Some(id) = &spec.short_id {
        return match durable::put_home_record(env, id, &json, true).await? {
            Some(stored) => Ok((id.clone(), parse(stored)?)),
            None => {
                let mut e = ApiError::new(
                    409,
                    "short_id_taken",
                    format!("The short id '{id}' is already taken"),
                );
                e.details = vec![FieldError::new(
                    "shortId",
                    "short_id_taken",
                    "Choose another short id, or leave it out to get one drawn",
                )];
                Err(e)
            }
        };
    }
    let key = super::short_id_key(env)?;
    for _ in 0..5 {
        let mut bytes = [0u8; 32];
        random_bytes(&mut bytes)?;
        let Some(id) = short_id_from_bytes(&bytes, &key) else {
            continue;
        };
        if let Some(stored) = durable::put_home_record(env, &id, &json, true).await? {
            return Ok((id, parse(stored)?));
        }
    }
    Err(ApiError::internal())
}

/// Percent-encodes an optional query value (empty when absent).
pub fn encode_opt(v: Option<&str>) -> String {
    v.map(crate::domain::retailers::encode).unwrap_or_default()
}
