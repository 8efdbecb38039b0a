//! Field-level validation problems, reported together with their key paths.

/// One problem with one field of a request, e.g. key `products[3].quantity`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub key: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(key: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            key: key.into(),
            code,
            message: message.into(),
        }
    }
}
