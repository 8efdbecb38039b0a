//! Small helpers to walk untrusted JSON and collect every problem with its key path.

use super::error::{FieldError, Invalid, Kind};
use serde_json::{Map, Value};

/// Collects problems while a request is validated; all are reported together. Shape
/// problems (`push`) and business-rule problems (`rule`) are kept apart: see `Invalid`.
#[derive(Default, Debug)]
pub struct Problems {
    pub shape: Vec<FieldError>,
    pub rules: Vec<FieldError>,
}

impl Problems {
    /// A shape problem: wrong type, length, pattern, enum value or an unknown field.
    pub fn push(&mut self, key: impl Into<String>, code: &'static str, msg: impl Into<String>) {
        self.shape.push(FieldError::new(key, code, msg));
    }
    /// A business-rule or retailer-capability problem of a well-formed request.
    pub fn rule(&mut self, key: impl Into<String>, code: &'static str, msg: impl Into<String>) {
        self.rules.push(FieldError::new(key, code, msg));
    }
    pub fn is_empty(&self) -> bool {
        self.shape.is_empty() && self.rules.is_empty()
    }
    /// How many problems of either kind were found so far.
    pub fn count(&self) -> usize {
        self.shape.len() + self.rules.len()
    }
    pub fn has_key(&self, key: &str) -> bool {
        self.shape.iter().chain(&self.rules).any(|e| e.key == key)
    }
    /// `None` when nothing was found; else the shape problems when there are any, else the
    /// rule problems.
    pub fn into_invalid(self) -> Option<Invalid> {
        if !self.shape.is_empty() {
            Some(Invalid::shape(self.shape))
        } else if !self.rules.is_empty() {
            Some(Invalid::rule(self.rules))
        } else {
            None
        }
    }
    /// Adds another set of problems (both kinds) to these.
    pub fn absorb(&mut self, other: Invalid) {
        match other.kind {
            Kind::Shape => self.shape.extend(other.errors),
            Kind::Rule => self.rules.extend(other.errors),
        }
    }
}

/// Joins a parent path and a child key: `path("products[0]", "quantity")`.
pub fn path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The largest whole number every JSON implementation reads exactly (2^53 − 1, I-JSON,
/// RFC 7493): larger ids must be sent as strings.
pub const MAX_JSON_INT: u64 = 9_007_199_254_740_991;

/// A JSON number with a whole value from 0 to `MAX_JSON_INT`, as `u64`. JSON does not tell
/// `2` from `2.0` (nor does JSON Schema's `integer`), so an integral float counts too.
pub fn json_uint(n: &serde_json::Number) -> Option<u64> {
    n.as_u64()
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= MAX_JSON_INT as f64)
                .map(|f| f as u64)
        })
        .filter(|u| *u <= MAX_JSON_INT)
}

/// Reports every key of `obj` not in `allowed` as `unknown_field` (typos must not be dropped
/// silently: `utm_source` instead of `utmSource` would otherwise vanish).
pub fn reject_unknown(obj: &Map<String, Value>, allowed: &[&str], parent: &str, p: &mut Problems) {
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            let shown: String = k.chars().take(64).collect();
            p.push(
                path(parent, &shown),
                "unknown_field",
                unknown_field_message(&shown, allowed),
            );
        }
    }
}

/// An optional array of `min`–`max` items at `parent.key`; `what` names the items in the
/// message (`"Must hold 1–100 products (got 0)"`).
pub fn bounded_array<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    parent: &str,
    (min, max): (usize, usize),
    what: &str,
    p: &mut Problems,
) -> Option<&'a Vec<Value>> {
    let v = obj.get(key)?;
    let k = path(parent, key);
    let Value::Array(items) = v else {
        p.push(
            k,
            "invalid_type",
            format!("Must be an array, got {}", json_type(v)),
        );
        return None;
    };
    if items.len() < min || items.len() > max {
        p.push(
            k,
            "invalid_length",
            format!("Must hold {min}–{max} {what} (got {})", items.len()),
        );
        return None;
    }
    Some(items)
}

/// The message of an unknown field: its name, and the allowed field it most likely stands
/// for when one differs only in case, `_` or `-` (`utm_source` → `utmSource`). The list of
/// allowed fields is not repeated in every detail (it is in the API's documentation).
pub fn unknown_field_message(shown: &str, allowed: &[&str]) -> String {
    // Field names are ASCII; ASCII folding keeps Unicode's case tables out of the bundle.
    let fold = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let folded = fold(shown);
    match allowed.iter().find(|a| fold(a) == folded) {
        Some(a) => format!("Unknown field '{shown}'; did you mean '{a}'?"),
        None => format!("Unknown field '{shown}'"),
    }
}

/// Characters counted as Unicode scalar values, as JSON Schema's `maxLength` does.
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// An optional string with length bounds. `Some(Err(()))` means present but invalid (reported).
pub fn opt_string<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    parent: &str,
    min: usize,
    max: usize,
    p: &mut Problems,
) -> Option<&'a str> {
    let v = obj.get(key)?;
    let k = path(parent, key);
    match v {
        Value::String(s) => {
            let n = char_len(s);
            if n < min || n > max {
                let code = if n < min { "too_short" } else { "too_long" };
                p.push(
                    k,
                    code,
                    format!("Must be {min}–{max} characters long (got {n})"),
                );
                None
            } else if s.chars().any(|c| c.is_control()) {
                p.push(k, "invalid_format", "Must not contain control characters");
                None
            } else {
                Some(s)
            }
        }
        other => {
            p.push(
                k,
                "invalid_type",
                format!("Must be a string, got {}", json_type(other)),
            );
            None
        }
    }
}

/// A required string with length bounds.
pub fn req_string<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    parent: &str,
    min: usize,
    max: usize,
    p: &mut Problems,
) -> Option<&'a str> {
    if !obj.contains_key(key) || obj.get(key) == Some(&Value::Null) {
        p.push(
            path(parent, key),
            "required",
            format!("'{key}' is required"),
        );
        return None;
    }
    opt_string(obj, key, parent, min, max, p)
}

pub fn opt_bool(
    obj: &Map<String, Value>,
    key: &str,
    parent: &str,
    p: &mut Problems,
) -> Option<bool> {
    match obj.get(key)? {
        Value::Bool(b) => Some(*b),
        other => {
            p.push(
                path(parent, key),
                "invalid_type",
                format!("Must be a boolean, got {}", json_type(other)),
            );
            None
        }
    }
}

/// An optional integer within `[min, max]`.
pub fn opt_int(
    obj: &Map<String, Value>,
    key: &str,
    parent: &str,
    min: i64,
    max: i64,
    p: &mut Problems,
) -> Option<i64> {
    let v = obj.get(key)?;
    let k = path(parent, key);
    let n = match v {
        Value::Number(n) => n,
        other => {
            p.push(
                k,
                "invalid_type",
                format!("Must be an integer, got {}", json_type(other)),
            );
            return None;
        }
    };
    let Some(i) = n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    }) else {
        p.push(k, "invalid_type", format!("Must be an integer, got {n}"));
        return None;
    };
    if i < min || i > max {
        let bound = if i < min {
            format!("at least {min}")
        } else {
            format!("at most {max}")
        };
        p.push(
            k,
            "out_of_range",
            format!("Invalid value: {i}. Must be {bound}"),
        );
        return None;
    }
    Some(i)
}

/// An optional JSON object.
pub fn opt_object<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    parent: &str,
    p: &mut Problems,
) -> Option<&'a Map<String, Value>> {
    match obj.get(key)? {
        Value::Object(m) => Some(m),
        other => {
            p.push(
                path(parent, key),
                "invalid_type",
                format!("Must be an object, got {}", json_type(other)),
            );
            None
        }
    }
}

/// An absolute `http`/`https` URL with a host, no credentials, no whitespace or control
/// characters, at most `max` characters as given and as normalised. Returns it as the WHATWG
/// parser serialises it (lowercase scheme and host, IDN hosts in punycode, fullwidth and
/// ignorable characters mapped, non-ASCII percent-encoded): the URL a browser follows.
pub fn check_web_url(s: &str, key: &str, max: usize, p: &mut Problems) -> Option<String> {
    if s.len() > max {
        p.push(
            key,
            "too_long",
            format!("URL must be at most {max} characters"),
        );
        return None;
    }
    if s.chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        p.push(
            key,
            "invalid_url",
            "URL must not contain whitespace, backslashes or control characters",
        );
        return None;
    }
    // Browsers "repair" `https:/x`, `https:///x` and `https:x://y`; we accept only URLs that
    // start with `http://` or `https://` and a host.
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &s[8..]
    } else if lower.starts_with("http://") {
        &s[7..]
    } else {
        ""
    };
    if rest.is_empty() || rest.starts_with('/') {
        p.push(key, "invalid_url", "Must be an absolute http(s) URL");
        return None;
    }
    let u = match url::Url::parse(s) {
        Ok(u) => u,
        Err(_) => {
            p.push(key, "invalid_url", "Must be an absolute http(s) URL");
            return None;
        }
    };
    if u.scheme() != "http" && u.scheme() != "https" {
        p.push(
            key,
            "invalid_url",
            format!(
                "URL scheme '{}' is not allowed; use http or https",
                u.scheme()
            ),
        );
        return None;
    }
    if u.host_str().is_none_or(str::is_empty) {
        p.push(key, "invalid_url", "URL must have a host");
        return None;
    }
    if !u.username().is_empty() || u.password().is_some() {
        p.push(key, "invalid_url", "URL must not contain credentials");
        return None;
    }
    // The WHATWG serialization: what a browser would follow, so what is stored and shown.
    let normalised: String = u.into();
    if normalised.len() > max {
        p.push(
            key,
            "too_long",
            format!(
                "URL must be at most {max} characters once normalised (got {})",
                normalised.len()
            ),
        );
        return None;
    }
    Some(normalised)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_json_numbers() {
        let n = |s: &str| json_uint(&serde_json::from_str(s).unwrap());
        assert_eq!(n("7"), Some(7));
        assert_eq!(n("7.0"), Some(7));
        assert_eq!(n("1e3"), Some(1000));
        // Integral floats with more digits than f64's fast path must still parse exactly.
        assert_eq!(n("2054820102326119.0"), Some(2_054_820_102_326_119));
        assert_eq!(n("9007199254740991.0"), Some(MAX_JSON_INT));
        assert_eq!(n("9007199254740992"), None);
        assert_eq!(n("1.5"), None);
        assert_eq!(n("-1"), None);
    }

    #[test]
    fn urls() {
        let mut p = Problems::default();
        assert!(check_web_url("https://example.com/a?b=c#d", "u", 2048, &mut p).is_some());
        assert!(check_web_url("http://example.com", "u", 2048, &mut p).is_some());
        assert!(p.is_empty());
        for bad in [
            "javascript:alert(1)",
            "data:text/html,hi",
            "/relative/path",
            "example.com",
            "https://user:pw@example.com/",
            "https://user@example.com/",
            "ftp://example.com/",
            "https://exa mple.com/",
            "https:///nohost",
            "https://example.com/\n",
            "https:/example.com",
            "https:\\\\evil.com",
        ] {
            let mut p = Problems::default();
            assert!(
                check_web_url(bad, "customUrl", 2048, &mut p).is_none(),
                "{bad}"
            );
            assert_eq!(p.shape.len(), 1, "{bad}");
            assert_eq!(p.shape[0].key, "customUrl");
        }
        let mut p = Problems::default();
        let long = format!("https://example.com/{}", "a".repeat(2100));
        assert!(check_web_url(&long, "u", 2048, &mut p).is_none());
        assert_eq!(p.shape[0].code, "too_long");
    }

    #[test]
    fn urls_come_back_normalised() {
        for (given, normalised) in [
            (
                "https://\u{ff45}\u{ff58}\u{ff41}\u{ff4d}\u{ff50}\u{ff4c}\u{ff45}.com/\u{ff41}",
                "https://example.com/%EF%BD%81",
            ),
            (
                "https://\u{43f}\u{440}\u{438}\u{43c}\u{435}\u{440}.\u{440}\u{444}/\u{43f}",
                "https://xn--e1afmkfd.xn--p1ai/%D0%BF",
            ),
            (
                "https://ex\u{ad}ample.com/a\u{ad}b",
                "https://example.com/a%C2%ADb",
            ),
            ("HTTPS://Example.COM", "https://example.com/"),
            (
                "https://example.com:443/x/../y?q=1#f",
                "https://example.com/y?q=1#f",
            ),
        ] {
            let mut p = Problems::default();
            assert_eq!(
                check_web_url(given, "customUrl", 2048, &mut p).as_deref(),
                Some(normalised),
                "{given}"
            );
            assert!(p.is_empty());
        }
        // Within the limit as typed, over it once percent-encoded.
        let mut p = Problems::default();
        let wide = format!("https://example.com/{}", "\u{ff41}".repeat(600));
        assert!(wide.len() <= 2048);
        assert!(check_web_url(&wide, "customUrl", 2048, &mut p).is_none());
        assert_eq!(
            (p.shape[0].key.as_str(), p.shape[0].code),
            ("customUrl", "too_long")
        );
    }

    #[test]
    fn links_keep_their_urls_normalised() {
        let body = serde_json::json!({
            "projectId": "p", "name": "n", "retailer": "custom", "intent": "custom_url",
            "customUrl": "https://\u{ff45}xample.com/\u{ff41}",
            "fallbackUrl": "https://\u{43f}\u{440}\u{438}\u{43c}\u{435}\u{440}.\u{440}\u{444}/",
        });
        let spec = crate::domain::link::validate_link(&body).unwrap();
        assert_eq!(
            spec.custom_url.as_deref(),
            Some("https://example.com/%EF%BD%81")
        );
        assert_eq!(spec.fields["customUrl"], "https://example.com/%EF%BD%81");
        assert_eq!(spec.fields["fallbackUrl"], "https://xn--e1afmkfd.xn--p1ai/");
        assert_eq!(
            spec.fallback_url.as_deref(),
            Some("https://xn--e1afmkfd.xn--p1ai/")
        );
    }

    #[test]
    fn unknown_fields_are_named_briefly() {
        let allowed = ["utmSource", "utmMedium", "params"];
        assert_eq!(
            unknown_field_message("utm_source", &allowed),
            "Unknown field 'utm_source'; did you mean 'utmSource'?"
        );
        assert_eq!(
            unknown_field_message("UTM-MEDIUM", &allowed),
            "Unknown field 'UTM-MEDIUM'; did you mean 'utmMedium'?"
        );
        assert_eq!(
            unknown_field_message("colour", &allowed),
            "Unknown field 'colour'"
        );
        let obj: Map<String, Value> = serde_json::from_str(r#"{"a":1,"params":2}"#).unwrap();
        let mut p = Problems::default();
        reject_unknown(&obj, &allowed, "tracking", &mut p);
        assert_eq!(p.shape.len(), 1);
        assert_eq!(
            (
                p.shape[0].key.as_str(),
                p.shape[0].code,
                p.shape[0].message.as_str()
            ),
            ("tracking.a", "unknown_field", "Unknown field 'a'")
        );
    }

    #[test]
    fn strings_and_ints() {
        let obj: Map<String, Value> =
            serde_json::from_str(r#"{"a":"","b":"ok","c":5,"d":1.5,"e":0,"f":"x\u0007"}"#).unwrap();
        let mut p = Problems::default();
        assert_eq!(req_string(&obj, "a", "", 1, 10, &mut p), None);
        assert_eq!(req_string(&obj, "b", "", 1, 10, &mut p), Some("ok"));
        assert_eq!(req_string(&obj, "c", "", 1, 10, &mut p), None);
        assert_eq!(req_string(&obj, "zz", "x", 1, 10, &mut p), None);
        assert_eq!(opt_int(&obj, "c", "", 1, 10, &mut p), Some(5));
        assert_eq!(opt_int(&obj, "d", "", 1, 10, &mut p), None);
        assert_eq!(opt_int(&obj, "e", "q[0]", 1, 10, &mut p), None);
        assert_eq!(opt_string(&obj, "f", "", 1, 10, &mut p), None);
        let keys: Vec<_> = p.shape.iter().map(|e| (e.key.as_str(), e.code)).collect();
        assert_eq!(
            keys,
            vec![
                ("a", "too_short"),
                ("c", "invalid_type"),
                ("x.zz", "required"),
                ("d", "invalid_type"),
                ("q[0].e", "out_of_range"),
                ("f", "invalid_format")
            ]
        );
    }
}
