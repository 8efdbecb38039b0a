//! `GET /v1/projects/{projectId}/out-of-stock?from&to&format`: the project's out-of-stock
//! report (visits of its links with backups, those that met an out-of-stock product, swaps;
//! by day, by US state, the most frequent swaps), from the project's report object, as JSON or,
//! with `format=csv` or `Accept: text/csv`, as CSV.

use super::auth::authenticate;
use super::errors::ApiError;
use super::stats::STOCKOUTS_BINDING;
use super::{json_data, now_ms, text_response, Ctx};
use crate::domain::error::FieldError;
use crate::domain::stockouts::{report, report_csv, report_range, ReportRows};
use crate::domain::time::parse_rfc3339;
use worker::{Headers, Request, Response};

pub async fn get(req: Request, cx: &Ctx, project_id: &str) -> Result<Response, ApiError> {
    let store = crate::store::Store::new(&cx.env)?;
    let caller = authenticate(&req, &store, &cx.env).await?;
    caller.require_scope("stats:read")?;
    caller.require_project(project_id)?;
    let url = req.url().map_err(|_| ApiError::internal())?;
    let mut problems = Vec::new();
    let (mut from, mut to, mut csv) = (None, None, None);
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "from" | "to" => match parse_rfc3339(&v) {
                Some(ms) if k == "from" => from = Some(ms),
                Some(ms) => to = Some(ms),
                None => problems.push(FieldError::new(
                    k.as_ref(),
                    "invalid_datetime",
                    "Must be an RFC 3339 date-time such as 2026-05-20T07:19:00Z",
                )),
            },
            "format" => match v.as_ref() {
                "json" => csv = Some(false),
                "csv" => csv = Some(true),
                _ => problems.push(FieldError::new(
                    "format",
                    "invalid_enum",
                    "Must be one of: json, csv",
                )),
            },
            _ => {}
        }
    }
    let range = report_range(from, to, now_ms());
    if let Err(more) = &range {
        problems.extend(more.iter().cloned());
    }
    let (from_day, to_day) = match range {
        Ok(r) if problems.is_empty() => r,
        _ => return Err(ApiError::validation(problems)),
    };
    let csv = csv.unwrap_or_else(|| wants_csv(&req));
    let rows = fetch_rows(cx, project_id, from_day, to_day).await?;
    let data = report(project_id, from_day, to_day, &rows);
    if !csv {
        return Ok(json_data(200, &data.to_string()));
    }
    let headers = Headers::new();
    let _ = headers.set("content-type", "text/csv; charset=utf-8");
    let _ = headers.set("cache-control", "no-store");
    let name: String = project_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let _ = headers.set(
        "content-disposition",
        &format!("attachment; filename=\"out-of-stock-{name}.csv\""),
    );
    Ok(text_response(200, report_csv(&data), headers))
}

/// `Accept` names `text/csv` before (or without) JSON.
fn wants_csv(req: &Request) -> bool {
    let accept = req
        .headers()
        .get("accept")
        .ok()
        .flatten()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let pos = |t: &str| accept.find(t);
    match (pos("text/csv"), pos("application/json")) {
        (Some(c), Some(j)) => c < j,
        (Some(_), None) => true,
        _ => false,
    }
}

async fn fetch_rows(
    cx: &Ctx,
    project_id: &str,
    from_day: i64,
    to_day: i64,
) -> Result<ReportRows, ApiError> {
    let stub = cx
        .env
        .durable_object(STOCKOUTS_BINDING)?
        .id_from_name(project_id)?
        .get_stub()?;
    let mut resp = stub
        .fetch_with_str(&format!(
            "https://stockouts/report?from={from_day}&to={to_day}"
        ))
        .await?;
    if resp.status_code() != 200 {
        return Err(ApiError::internal());
    }
    resp.json::<ReportRows>()
        .await
        .map_err(|_| ApiError::internal())
}
