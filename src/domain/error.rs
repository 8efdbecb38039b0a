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

/// Which kind of problem a request has: its shape (types, lengths, patterns, unknown fields:
/// 400) or a business rule or retailer capability (well-formed but unprocessable: 422).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Shape,
    Rule,
}

/// Why a request was refused: every problem of one kind. A request with problems of both
/// kinds is refused for its shape (the rules are only meaningful for a well-formed request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub kind: Kind,
    pub errors: Vec<FieldError>,
}

impl Invalid {
    pub fn shape(errors: Vec<FieldError>) -> Self {
        Invalid {
            kind: Kind::Shape,
            errors,
        }
    }
    pub fn rule(errors: Vec<FieldError>) -> Self {
        Invalid {
            kind: Kind::Rule,
            errors,
        }
    }
    /// `(key, code)` of every problem, for tests and logs.
    pub fn keys(&self) -> Vec<(String, &'static str)> {
        self.errors
            .iter()
            .map(|e| (e.key.clone(), e.code))
            .collect()
    }
}
