//! The error envelope, in one place. Handlers return `ApiError` values; only this file turns
//! them into JSON. At most `MAX_DETAILS` details are listed (the last one then says how many
//! more problems there were), so an error is never many times larger than its request.

use crate::domain::error::{cap_details, FieldError, Invalid, Kind};
use serde::Serialize;
use worker::{Headers, Response};

#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub details: Vec<FieldError>,
    pub headers: Vec<(&'static str, String)>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            headers: Vec::new(),
        }
    }
    pub fn validation(details: Vec<FieldError>) -> Self {
        ApiError {
            details,
            ..Self::new(
                400,
                "validation_failed",
                "There were issues with your request",
            )
        }
    }
    /// A well-formed request that breaks a business rule or a retailer capability.
    pub fn unprocessable(details: Vec<FieldError>) -> Self {
        ApiError {
            details,
            ..Self::new(
                422,
                "unprocessable",
                "The request is well-formed but breaks a business rule",
            )
        }
    }
    pub fn field(key: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(key, code, message)])
    }
    /// One business-rule problem at `key`.
    pub fn rule(key: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self::unprocessable(vec![FieldError::new(key, code, message)])
    }
    pub fn unauthorized(message: &str) -> Self {
        Self::new(401, "unauthorized", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "forbidden", message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(404, "not_found", format!("{what} not found"))
    }
    pub fn internal() -> Self {
        Self::new(500, "internal", "Something went wrong on our side")
    }
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The error object of the envelope (`{"code", "message", "correlationId", "details"}`), as
    /// a bulk create's per-item results carry it.
    pub fn object(&self, correlation_id: &str) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("code".into(), self.code.into());
        m.insert("message".into(), self.message.clone().into());
        m.insert("correlationId".into(), correlation_id.into());
        if !self.details.is_empty() {
            m.insert(
                "details".into(),
                serde_json::to_value(cap_details(self.details.clone())).unwrap_or_default(),
            );
        }
        serde_json::Value::Object(m)
    }

    pub fn into_response(mut self, correlation_id: &str) -> Response {
        self.details = cap_details(std::mem::take(&mut self.details));
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            code: &'a str,
            message: &'a str,
            correlation_id: &'a str,
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            details: &'a [FieldError],
        }
        #[derive(Serialize)]
        struct Envelope<'a> {
            error: Body<'a>,
        }
        let body = serde_json::to_string(&Envelope {
            error: Body {
                code: self.code,
                message: &self.message,
                correlation_id,
                details: &self.details,
            },
        })
        .unwrap_or_else(|_| String::from(r#"{"error":{"code":"internal"}}"#));
        let headers = Headers::new();
        let _ = headers.set("content-type", "application/json");
        let _ = headers.set("cache-control", "no-store");
        for (k, v) in &self.headers {
            let _ = headers.set(k, v);
        }
        super::text_response(self.status, body, headers)
    }
}

/// A refused request: 400 for its shape, 422 for its business rules.
impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        match e.kind {
            Kind::Shape => ApiError::validation(e.errors),
            Kind::Rule => ApiError::unprocessable(e.errors),
        }
    }
}

/// Any runtime error (KV, Durable Object, …) becomes an `internal` error, logged without
/// request data.
impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        worker::console_error!("internal error: {e}");
        ApiError::internal()
    }
}

impl From<worker::kv::KvError> for ApiError {
    fn from(e: worker::kv::KvError) -> Self {
        worker::console_error!("kv error: {e}");
        ApiError::internal()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}
