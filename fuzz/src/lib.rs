//! Checks shared by the fuzz targets (fuzz_targets/*.rs). Each function asserts the invariants
//! of one domain entry point; a failed assertion is a crash libFuzzer reports and minimises.

use in2carts_edge::domain::client::{classify, referrer_host, Device};
use in2carts_edge::domain::error::Kind;
use in2carts_edge::domain::link::validate_link;
use in2carts_edge::domain::record::{RedirectRecord, Status, QR_PARAM};
use in2carts_edge::domain::retailers::{append_params, encode};
use serde_json::Value;

/// Codes of business-rule problems (answered 422).
const RULE_CODES: [&str; 7] = [
    "conflict",
    "duplicate",
    "not_allowed",
    "required",
    "too_many",
    "unsupported",
    "unsupported_intent",
];
/// Codes only business rules use: never in a shape problem (answered 400).
const RULE_ONLY_CODES: [&str; 3] = ["not_allowed", "unsupported", "unsupported_intent"];

/// `validate_link` on any JSON value: problems always carry a code, and are all of one kind,
/// with the codes of that kind; a valid link's destination is an http(s) URL that keeps its
/// scheme and gets every tracking parameter; the normalised fields a valid link stores
/// validate again (they are re-validated on updates).
pub fn check_link(v: &Value) {
    match validate_link(v) {
        Err(invalid) => {
            assert!(!invalid.errors.is_empty(), "Err without any problem");
            for e in &invalid.errors {
                assert!(!e.code.is_empty(), "problem without a code: {e:?}");
                match invalid.kind {
                    Kind::Rule => assert!(
                        RULE_CODES.contains(&e.code),
                        "a business-rule problem with a shape code: {e:?}"
                    ),
                    Kind::Shape => assert!(
                        !RULE_ONLY_CODES.contains(&e.code),
                        "a shape problem with a business-rule code: {e:?}"
                    ),
                }
            }
        }
        Ok(spec) => {
            if let Ok(dest) = spec.destination() {
                let scheme = if dest.starts_with("https://") {
                    "https://"
                } else if dest.starts_with("http://") {
                    "http://"
                } else {
                    panic!("destination is not an http(s) URL: {dest:?}");
                };
                let full = append_params(&dest, &spec.tracking.params);
                assert!(full.starts_with(scheme), "{dest:?} became {full:?}");
                for (k, v) in &spec.tracking.params {
                    let pair = format!("{}={}", encode(k), encode(v));
                    assert!(full.contains(&pair), "{pair:?} missing from {full:?}");
                }
            }
            let again = validate_link(&Value::Object(spec.fields.clone()));
            assert!(
                again.is_ok(),
                "normalised fields of a valid link do not validate again: {:?}\nfields: {}",
                again.err(),
                Value::Object(spec.fields)
            );
        }
    }
}

/// The `&`-separated query pairs of a URL (before its fragment).
fn query_pairs(url: &str) -> Vec<&str> {
    let before_frag = url.split('#').next().unwrap_or("");
    match before_frag.split_once('?') {
        Some((_, q)) => q.split('&').collect(),
        None => Vec::new(),
    }
}

/// A decoded redirect record: status follows the schedule, the record survives a round trip,
/// and `location` forwards the visitor's query without any QR marker pair of this link.
pub fn check_record(rec: &RedirectRecord, query: &str, now: i64) {
    let again: RedirectRecord =
        serde_json::from_str(&serde_json::to_string(rec).expect("serialize"))
            .expect("re-decode a serialized record");
    assert_eq!(&again, rec, "record changes in a round trip");

    for t in [
        now,
        i64::MIN,
        i64::MAX,
        0,
        rec.starts_at.unwrap_or(0),
        rec.starts_at.unwrap_or(0).saturating_sub(1),
        rec.expires_at.unwrap_or(0),
        rec.expires_at.unwrap_or(0).saturating_sub(1),
    ] {
        let s = rec.status(t);
        match s {
            Status::Disabled => assert!(rec.disabled),
            Status::Pending => assert!(!rec.disabled && rec.starts_at.is_some_and(|x| t < x)),
            Status::Expired => assert!(!rec.disabled && rec.expires_at.is_some_and(|e| t >= e)),
            Status::Active => assert!(
                !rec.disabled
                    && rec.starts_at.is_none_or(|x| t >= x)
                    && rec.expires_at.is_none_or(|e| t < e)
            ),
            Status::Unavailable => panic!("status_at never says unavailable"),
        }
    }

    // A real query string never holds '#': the fragment is not part of it.
    let query = query.split('#').next().unwrap_or("");
    let qr = rec.qr_for_query(Some(query));
    if let Some(id) = qr {
        assert!(rec.qr.iter().any(|(_, i)| i == id), "unknown qr id {id:?}");
    }
    let loc = rec.location(Some(query));
    if !rec.forward_query || query.is_empty() {
        assert_eq!(loc, rec.dest);
        return;
    }
    let (base, frag) = rec
        .dest
        .split_at(rec.dest.find('#').unwrap_or(rec.dest.len()));
    assert!(
        loc.starts_with(base) && loc.ends_with(frag),
        "{loc:?} from {:?}",
        rec.dest
    );
    // Every marker pair of the visitor's query ("qr=<marker of this link>") is dropped: the
    // location holds no more of them than the destination itself.
    let in_dest = query_pairs(&rec.dest);
    let in_loc = query_pairs(&loc);
    for pair in query.split('&') {
        let is_marker = pair
            .split_once('=')
            .is_some_and(|(k, v)| k == QR_PARAM && rec.qr.iter().any(|(m, _)| m == v));
        if is_marker {
            let n_dest = in_dest.iter().filter(|p| **p == pair).count();
            let n_loc = in_loc.iter().filter(|p| **p == pair).count();
            assert!(
                n_loc <= n_dest,
                "matched QR marker pair {pair:?} forwarded: {loc:?} (dest {:?}, query {query:?}, qr {qr:?})",
                rec.dest
            );
        }
    }
}

const OSES: [&str; 7] = [
    "ios", "android", "windows", "macos", "linux", "chromeos", "other",
];
const BROWSERS: [&str; 11] = [
    "chrome",
    "safari",
    "firefox",
    "edge",
    "samsung",
    "opera",
    "instagram",
    "facebook",
    "tiktok",
    "snapchat",
    "other",
];

/// The click classifier's documented contract.
pub fn check_client(ua: &str, verified: Option<bool>, referer: &str) {
    let info = classify(Some(ua), verified);
    assert_eq!(info.bot.is_some(), info.device == Device::Bot, "{info:?}");
    assert!(OSES.contains(&info.os), "{info:?}");
    assert!(BROWSERS.contains(&info.browser), "{info:?}");
    if info.device == Device::Bot {
        assert_eq!((info.os, info.browser), ("other", "other"), "{info:?}");
        assert!(!info.bot.unwrap_or_default().is_empty());
    }
    if verified == Some(true) {
        assert_eq!(info.device, Device::Bot, "verified bot not a bot: {info:?}");
    }
    assert_eq!(classify(Some(ua), verified), info, "not deterministic");

    if let Some(host) = referrer_host(Some(referer)) {
        assert!(!host.is_empty());
        assert_eq!(host, host.to_ascii_lowercase(), "host not lowercased");
        assert!(
            !host.bytes().any(|b| b.is_ascii_whitespace() || b == b'/'),
            "odd host {host:?} from {referer:?}"
        );
    }
}
