//! Typed access to the Durable Objects: a link's home (`LinkHome`, named `s:{shortId}`) and a
//! project's index (`ProjectIndex`, named by the project id). Names are built only here.

use crate::domain::retailers::encode;
use crate::http::errors::ApiError;
pub use crate::link_home::{HomeCreate, QrAdded, QrEntry};
use worker::{Env, Method, Request, RequestInit};

pub const LINK_HOME_BINDING: &str = "LINK_HOME";
pub const PROJECTS_BINDING: &str = "PROJECTS";

async fn call(
    env: &Env,
    binding: &str,
    name: &str,
    method: Method,
    path_and_query: &str,
    body: Option<&str>,
) -> Result<(u16, String), ApiError> {
    let stub = env
        .durable_object(binding)?
        .id_from_name(name)?
        .get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(method);
    if let Some(b) = body {
        init.with_body(Some(wasm_bindgen::JsValue::from_str(b)));
    }
    let req = Request::new_with_init(&format!("https://do{path_and_query}"), &init)?;
    let mut resp = stub.fetch_with_request(req).await?;
    let status = resp.status_code();
    Ok((status, resp.text().await.unwrap_or_default()))
}

fn home(short_id: &str) -> String {
    format!("s:{short_id}")
}

/// The object that holds the claim of a printed QR identifier.
fn printed(identifier: &str) -> String {
    format!("p:{identifier}")
}

/// Claims a printed QR identifier for a link: `false` when another link holds it.
pub async fn claim_printed(env: &Env, identifier: &str, link_id: &str) -> Result<bool, ApiError> {
    let body = serde_json::json!({ "owner": link_id }).to_string();
    let (status, _) = call(
        env,
        LINK_HOME_BINDING,
        &printed(identifier),
        Method::Put,
        "/claim",
        Some(&body),
    )
    .await?;
    match status {
        200 => Ok(true),
        409 => Ok(false),
        _ => Err(ApiError::internal()),
    }
}

/// Releases a printed QR identifier claimed by a link whose create did not finish.
pub async fn release_printed(env: &Env, identifier: &str, link_id: &str) -> Result<(), ApiError> {
    call(
        env,
        LINK_HOME_BINDING,
        &printed(identifier),
        Method::Delete,
        &format!("/claim?owner={}", encode(link_id)),
        None,
    )
    .await?;
    Ok(())
}

/// Writes a link's authoritative redirect record. With `create` (the body is then a
/// `HomeCreate`), claims the short id: `Ok(None)` when another link already holds it.
/// Answers the record as stored (its QR markers are the home object's own), which is what KV
/// must hold.
pub async fn put_home_record(
    env: &Env,
    short_id: &str,
    record_json: &str,
    create: bool,
) -> Result<Option<String>, ApiError> {
    let path = if create {
        "/record?create=1"
    } else {
        "/record"
    };
    let (status, body) = call(
        env,
        LINK_HOME_BINDING,
        &home(short_id),
        Method::Put,
        path,
        Some(record_json),
    )
    .await?;
    match status {
        200 => Ok(Some(body)),
        409 => Ok(None),
        _ => Err(ApiError::internal()),
    }
}

/// A link's QR codes in marker order, from its home object (the one place that adds them).
pub async fn qr_codes(env: &Env, short_id: &str) -> Result<Vec<QrEntry>, ApiError> {
    let (status, body) = call(
        env,
        LINK_HOME_BINDING,
        &home(short_id),
        Method::Get,
        "/qr",
        None,
    )
    .await?;
    match status {
        200 => serde_json::from_str(&body).map_err(|_| ApiError::internal()),
        404 => Ok(Vec::new()),
        _ => Err(ApiError::internal()),
    }
}

/// Why a QR code could not be added.
pub enum QrRefused {
    DuplicateIdentifier,
    LimitReached,
}

/// Adds a QR code to a link (at most `max`): its marker and the record as it now stands.
pub async fn add_qr(
    env: &Env,
    short_id: &str,
    entry: &QrEntry,
    max: usize,
) -> Result<Result<QrAdded, QrRefused>, ApiError> {
    let body = serde_json::to_string(entry).map_err(|_| ApiError::internal())?;
    let (status, answer) = call(
        env,
        LINK_HOME_BINDING,
        &home(short_id),
        Method::Post,
        &format!("/qr?max={max}"),
        Some(&body),
    )
    .await?;
    match (status, answer.as_str()) {
        (200, _) => serde_json::from_str(&answer)
            .map(Ok)
            .map_err(|_| ApiError::internal()),
        (409, a) if a.contains("duplicate_identifier") => Ok(Err(QrRefused::DuplicateIdentifier)),
        (409, _) => Ok(Err(QrRefused::LimitReached)),
        _ => Err(ApiError::internal()),
    }
}

/// Takes back a QR code that could not be stored: the record as it now stands.
pub async fn remove_qr(env: &Env, short_id: &str, qr_id: &str) -> Result<String, ApiError> {
    let (status, body) = call(
        env,
        LINK_HOME_BINDING,
        &home(short_id),
        Method::Delete,
        &format!("/qr?id={}", encode(qr_id)),
        None,
    )
    .await?;
    if status == 200 {
        Ok(body)
    } else {
        Err(ApiError::internal())
    }
}

/// Gives a claimed short id back (a create that could not finish): the id is free again.
pub async fn release_home(env: &Env, short_id: &str) -> Result<(), ApiError> {
    call(
        env,
        LINK_HOME_BINDING,
        &home(short_id),
        Method::Delete,
        "/record",
        None,
    )
    .await?;
    Ok(())
}

/// The authoritative redirect record, for a redirect that missed in KV.
pub async fn home_record(env: &Env, short_id: &str) -> Result<Option<String>, ApiError> {
    let (status, body) = call(
        env,
        LINK_HOME_BINDING,
        &home(short_id),
        Method::Get,
        "/record",
        None,
    )
    .await?;
    Ok((status == 200).then_some(body))
}

#[derive(serde::Deserialize)]
struct Claim {
    ok: bool,
}

#[derive(serde::Deserialize)]
struct Uses {
    n: u64,
}

/// Takes one use of a capped link; `false` when all `max` uses are taken.
pub async fn claim_use(env: &Env, short_id: &str, max: u64) -> Result<bool, ApiError> {
    let (_, body) = call(
        env,
        LINK_HOME_BINDING,
        &home(short_id),
        Method::Post,
        &format!("/claim?max={max}"),
        None,
    )
    .await?;
    serde_json::from_str::<Claim>(&body)
        .map(|c| c.ok)
        .map_err(|_| ApiError::internal())
}

/// How many uses of a capped link are taken.
pub async fn uses(env: &Env, short_id: &str) -> Result<u64, ApiError> {
    let (_, body) = call(
        env,
        LINK_HOME_BINDING,
        &home(short_id),
        Method::Get,
        "/uses",
        None,
    )
    .await?;
    serde_json::from_str::<Uses>(&body)
        .map(|u| u.n)
        .map_err(|_| ApiError::internal())
}

/// Adds a link to its project's index, with its tags (`tracking.tags`).
pub async fn index_link(
    env: &Env,
    project_id: &str,
    link_id: &str,
    tags: &[String],
) -> Result<(), ApiError> {
    let body = serde_json::json!({"id": link_id, "tags": tags}).to_string();
    let (status, _) = call(
        env,
        PROJECTS_BINDING,
        project_id,
        Method::Post,
        "/add",
        Some(&body),
    )
    .await?;
    if status == 200 {
        Ok(())
    } else {
        Err(ApiError::internal())
    }
}

/// Adds several links of one project to its index in one call: `(link id, tags)`.
pub async fn index_links(
    env: &Env,
    project_id: &str,
    links: &[(&str, &[String])],
) -> Result<(), ApiError> {
    let entries: Vec<serde_json::Value> = links
        .iter()
        .map(|(id, tags)| serde_json::json!({"id": id, "tags": tags}))
        .collect();
    let body = serde_json::Value::Array(entries).to_string();
    let (status, _) = call(
        env,
        PROJECTS_BINDING,
        project_id,
        Method::Post,
        "/add",
        Some(&body),
    )
    .await?;
    if status == 200 {
        Ok(())
    } else {
        Err(ApiError::internal())
    }
}

/// Up to `limit` link ids of a project, newest first, strictly older than `before`; with
/// `tag`, only links carrying it.
pub async fn list_links(
    env: &Env,
    project_id: &str,
    before: Option<&str>,
    tag: Option<&str>,
    limit: u32,
) -> Result<Vec<String>, ApiError> {
    let mut path = format!("/list?limit={limit}");
    if let Some(b) = before {
        path.push_str("&before=");
        path.push_str(&encode(b));
    }
    if let Some(t) = tag {
        path.push_str("&tag=");
        path.push_str(&encode(t));
    }
    let (_, body) = call(env, PROJECTS_BINDING, project_id, Method::Get, &path, None).await?;
    serde_json::from_str(&body).map_err(|_| ApiError::internal())
}
