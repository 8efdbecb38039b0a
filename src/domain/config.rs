//! The worker's settings that every request depends on: which secrets are required, what
//! makes a setting unusable, and how a presented token is compared with a secret. A worker
//! whose settings are unusable refuses to serve (503) rather than run weaker: a short-id key
//! everybody knows, or visitor hashes anybody can recompute.

use sha2::{Digest, Sha256};

/// Secrets without which the worker does not serve: the key of the short ids' check
/// character, and the key of the daily visitor hash.
pub const REQUIRED_SECRETS: [&str; 2] = ["SHORT_ID_SECRET", "VISITOR_HASH_SECRET"];

/// Shortest accepted secret (`openssl rand -hex 32` makes 64 characters).
pub const MIN_SECRET_CHARS: usize = 32;

/// The settings, read and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub short_id_key: Vec<u8>,
    pub visitor_hash_key: Vec<u8>,
    /// `PUBLIC_BASE_URL` as an origin (`https://in2carts.com`); `None` when empty (the
    /// request's own origin is used then, as in local development).
    pub public_base_url: Option<String>,
}

/// Reads the settings through `get` (a var's or secret's value, `None` when unset). `Err`
/// lists every problem, each naming its setting (never its value).
pub fn load(get: impl Fn(&str) -> Option<String>) -> Result<Settings, Vec<String>> {
    let mut problems = Vec::new();
    let mut secret = |name: &str| match get(name) {
        Some(v) if v.chars().count() >= MIN_SECRET_CHARS => v.into_bytes(),
        Some(v) if !v.trim().is_empty() => {
            problems.push(format!(
                "{name} is shorter than {MIN_SECRET_CHARS} characters"
            ));
            Vec::new()
        }
        _ => {
            problems.push(format!("{name} is not set"));
            Vec::new()
        }
    };
    let short_id_key = secret(REQUIRED_SECRETS[0]);
    let visitor_hash_key = secret(REQUIRED_SECRETS[1]);
    let public_base_url = match public_base_url(&get("PUBLIC_BASE_URL").unwrap_or_default()) {
        Ok(v) => v,
        Err(m) => {
            problems.push(m);
            None
        }
    };
    if problems.is_empty() {
        Ok(Settings {
            short_id_key,
            visitor_hash_key,
            public_base_url,
        })
    } else {
        Err(problems)
    }
}

/// `PUBLIC_BASE_URL`: empty, or an absolute http(s) origin (a trailing `/` is fine; a path,
/// query, fragment or credentials are not, since short links are `{origin}/{shortId}`).
/// Answers the origin as the URL parser serialises it (lowercase, punycode host).
pub fn public_base_url(v: &str) -> Result<Option<String>, String> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let bad = || {
        "PUBLIC_BASE_URL must be an http(s) origin such as https://in2carts.com \
(no path, query or credentials)"
            .to_string()
    };
    let u = url::Url::parse(v).map_err(|_| bad())?;
    let origin_only = matches!(u.scheme(), "http" | "https")
        && u.host_str().is_some_and(|h| !h.is_empty())
        && u.username().is_empty()
        && u.password().is_none()
        && u.path() == "/"
        && u.query().is_none()
        && u.fragment().is_none();
    if !origin_only {
        return Err(bad());
    }
    Ok(Some(u.origin().ascii_serialization()))
}

/// Whether a presented token is the expected secret, in time that depends on neither: both
/// are hashed to 32 bytes first, and the digests are compared without an early exit, so
/// neither the secret's length nor the position of a first wrong byte shows in the timing.
pub fn tokens_match(presented: &[u8], expected: &[u8]) -> bool {
    let a = Sha256::digest(presented);
    let b = Sha256::digest(expected);
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// `AMAZON_ASSOCIATE_TAGS`: a JSON object of project id → Amazon Associates tag
/// (`{"proj_123": "brand-20"}`), or empty. `Err` names the setting and what is wrong (never a
/// value of it).
pub fn parse_associate_tags(v: &str) -> Result<Vec<(String, String)>, String> {
    if v.trim().is_empty() {
        return Ok(Vec::new());
    }
    let bad = |why: &str| format!("AMAZON_ASSOCIATE_TAGS {why}");
    let parsed: serde_json::Value = serde_json::from_str(v)
        .map_err(|_| bad("must be a JSON object such as {\"proj_123\": \"brand-20\"}"))?;
    let Some(obj) = parsed.as_object() else {
        return Err(bad(
            "must be a JSON object such as {\"proj_123\": \"brand-20\"}",
        ));
    };
    let mut out = Vec::with_capacity(obj.len());
    for (project, tag) in obj {
        match tag.as_str() {
            Some(t) if crate::domain::retailers::amazon::is_associate_tag(t) => {
                out.push((project.clone(), t.to_string()))
            }
            _ => {
                return Err(bad(
                    "maps each project to a tag of 1–64 of A-Z a-z 0-9 . _ -; one is not",
                ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    const GOOD: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn required_secrets_present() {
        let s = load(env(&[
            ("SHORT_ID_SECRET", GOOD),
            ("VISITOR_HASH_SECRET", "fedcba9876543210fedcba9876543210xx"),
        ]))
        .unwrap();
        assert_eq!(s.short_id_key, GOOD.as_bytes());
        assert_eq!(
            s.visitor_hash_key,
            b"fedcba9876543210fedcba9876543210xx".to_vec()
        );
        assert_eq!(s.public_base_url, None);
    }

    #[test]
    fn missing_short_or_malformed_settings_are_each_named() {
        let problems = load(env(&[
            ("VISITOR_HASH_SECRET", "short"),
            ("PUBLIC_BASE_URL", "in2carts.com"),
        ]))
        .unwrap_err();
        assert_eq!(
            problems,
            vec![
                "SHORT_ID_SECRET is not set".to_string(),
                "VISITOR_HASH_SECRET is shorter than 32 characters".to_string(),
                "PUBLIC_BASE_URL must be an http(s) origin such as https://in2carts.com \
(no path, query or credentials)"
                    .to_string(),
            ]
        );
        // Blank is not set; nothing here ever shows a value.
        let problems = load(env(&[
            ("SHORT_ID_SECRET", "   "),
            ("VISITOR_HASH_SECRET", ""),
        ]))
        .unwrap_err();
        assert_eq!(
            problems,
            vec![
                "SHORT_ID_SECRET is not set",
                "VISITOR_HASH_SECRET is not set"
            ]
        );
    }

    #[test]
    fn public_base_url_is_an_origin() {
        assert_eq!(public_base_url(""), Ok(None));
        assert_eq!(public_base_url("  "), Ok(None));
        for (given, origin) in [
            ("https://in2carts.com", "https://in2carts.com"),
            ("https://In2Carts.COM/", "https://in2carts.com"),
            ("http://127.0.0.1:8787", "http://127.0.0.1:8787"),
            ("https://пример.рф", "https://xn--e1afmkfd.xn--p1ai"),
            ("https://in2carts.com:443/", "https://in2carts.com"),
        ] {
            assert_eq!(
                public_base_url(given),
                Ok(Some(origin.to_string())),
                "{given}"
            );
        }
        for bad in [
            "in2carts.com",
            "https://in2carts.com/go",
            "https://in2carts.com/?x=1",
            "https://in2carts.com/#x",
            "https://user:pw@in2carts.com",
            "ftp://in2carts.com",
            "https://",
        ] {
            assert!(public_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn associate_tags_per_project() {
        assert_eq!(parse_associate_tags(""), Ok(vec![]));
        assert_eq!(
            parse_associate_tags(r#"{"proj_123": "brand-20", "proj_9": "other.tag_1"}"#),
            Ok(vec![
                ("proj_123".to_string(), "brand-20".to_string()),
                ("proj_9".to_string(), "other.tag_1".to_string())
            ])
        );
        for bad in [
            r#"["brand-20"]"#,
            r#"{"p": 20}"#,
            r#"{"p": "has space"}"#,
            "brand-20",
        ] {
            let e = parse_associate_tags(bad).unwrap_err();
            assert!(e.starts_with("AMAZON_ASSOCIATE_TAGS "), "{e}");
            assert!(!e.contains("has space"), "{e}");
        }
    }

    #[test]
    fn tokens_compare_by_digest() {
        let secret = b"a-long-admin-token-0123456789abcdef";
        assert!(tokens_match(secret, secret));
        assert!(!tokens_match(b"", secret));
        assert!(!tokens_match(&secret[..secret.len() - 1], secret));
        let mut longer = secret.to_vec();
        longer.push(b'x');
        assert!(!tokens_match(&longer, secret));
        let mut flipped = secret.to_vec();
        flipped[0] ^= 1;
        assert!(!tokens_match(&flipped, secret));
    }
}
