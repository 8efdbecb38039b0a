//! `GET /v1/openapi.json`: the OpenAPI 3.1 document of the `/v1` API (checked in at the
//! repository root, embedded at build time). No key needed.

use super::text_response;
use worker::{Headers, Response};

pub const DOCUMENT: &str = include_str!("../../openapi.json");

pub fn serve() -> Response {
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/json");
    let _ = headers.set("cache-control", "public, max-age=300");
    let _ = headers.set("access-control-allow-origin", "*");
    text_response(200, DOCUMENT.to_string(), headers)
}
