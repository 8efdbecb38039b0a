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

/// Most details an error lists: a request with more problems gets the first
/// `MAX_DETAILS - 1` and a last detail saying how many more there were, so an error is never
/// much larger than its request.
pub const MAX_DETAILS: usize = 100;

/// `details` cut to `MAX_DETAILS`, the last one counting those left out (key `""`, the whole
/// body; code `too_many_problems`).
pub fn cap_details(mut details: Vec<FieldError>) -> Vec<FieldError> {
    if details.len() <= MAX_DETAILS {
        return details;
    }
    let more = details.len() - (MAX_DETAILS - 1);
    details.truncate(MAX_DETAILS - 1);
    details.push(FieldError::new(
        "",
        "too_many_problems",
        format!(
            "{more} more problems were found; only the first {} are listed",
            MAX_DETAILS - 1
        ),
    ));
    details
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(n: usize) -> Vec<FieldError> {
        (0..n)
            .map(|i| FieldError::new(format!("f{i}"), "unknown_field", "x"))
            .collect()
    }

    #[test]
    fn details_are_capped_with_a_count_of_the_rest() {
        assert_eq!(cap_details(problems(3)), problems(3));
        assert_eq!(cap_details(problems(MAX_DETAILS)), problems(MAX_DETAILS));
        let capped = cap_details(problems(8000));
        assert_eq!(capped.len(), MAX_DETAILS);
        assert_eq!(capped[..MAX_DETAILS - 1], problems(MAX_DETAILS - 1)[..]);
        let last = capped.last().unwrap();
        assert_eq!((last.key.as_str(), last.code), ("", "too_many_problems"));
        assert_eq!(
            last.message,
            "7901 more problems were found; only the first 99 are listed"
        );
        let one_over = cap_details(problems(MAX_DETAILS + 1));
        assert_eq!(one_over.len(), MAX_DETAILS);
        assert!(one_over[MAX_DETAILS - 1]
            .message
            .starts_with("2 more problems"));
    }
}
