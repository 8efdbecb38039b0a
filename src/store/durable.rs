//! Typed access to the Durable Objects: a link's home (`LinkHome`, named `s:{shortId}`) and a
//! project's index (`ProjectIndex`, named by the project id). Names are built only here.

use crate::http::errors::ApiError;
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

/// Writes a link's authoritative redirect record. With `create`, claims the short id:
/// `Ok(false)` when another link already holds it.
pub async fn put_home_record(
    env: &Env,
    short_id: &str,
    record_json: &str,
    create: bool,
) -> Result<bool, ApiError> {
    let path = if create {
        "/record?create=1"
    } else {
        "/record"
    };
    let (status, _) = call(
        env,
        LINK_HOME_BINDING,
        &home(short_id),
        Method::Put,
        path,
        Some(record_json),
    )
    .await?;
    match status {
        200 => Ok(true),
        409 => Ok(false),
        _ => Err(ApiError::internal()),
    }
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

pub async fn index_link(env: &Env, project_id: &str, link_id: &str) -> Result<(), ApiError> {
    let (status, _) = call(
        env,
        PROJECTS_BINDING,
        project_id,
        Method::Post,
        &format!("/add?id={}", crate::domain::retailers::encode(link_id)),
        None,
    )
    .await?;
    if status == 200 {
        Ok(())
    } else {
        Err(ApiError::internal())
    }
}

/// Up to `limit` link ids of a project, newest first, strictly older than `before`.
pub async fn list_links(
    env: &Env,
    project_id: &str,
    before: Option<&str>,
    limit: u32,
) -> Result<Vec<String>, ApiError> {
    let mut path = format!("/list?limit={limit}");
    if let Some(b) = before {
        path.push_str("&before=");
        path.push_str(&crate::domain::retailers::encode(b));
    }
    let (_, body) = call(env, PROJECTS_BINDING, project_id, Method::Get, &path, None).await?;
    serde_json::from_str(&body).map_err(|_| ApiError::internal())
}
