//! Regression tests for inputs found by the cargo-fuzz targets in `fuzz/` (`npm run fuzz`).
//! Each test names the target and the minimised input it replays; the fuzz target's invariant
//! is restated here so the test holds whatever shape the fix takes.

use super::time::{format_rfc3339, parse_rfc3339};

/// Target `rfc3339`: whatever `parse_rfc3339` accepts, `format_rfc3339` must write back as a
/// timestamp `parse_rfc3339` accepts again, at the same instant (rounded down to the second).
/// An offset could move an accepted local time outside the years 1970–9999: past the end of
/// 9999 (formatted as the five-digit year `10000-…`) or before the epoch (formatted as
/// `1969-…`), both refused by the parser. Accepted in `options.startsAt`/`expiresAt` and in
/// the stats `from`/`to`, such an instant is echoed back in a form the API itself rejects.
#[test]
fn rfc3339_offset_cannot_leave_the_supported_years() {
    let mut bad = Vec::new();
    for s in [
        // Found by the fuzzer (crash-8c70b78de295bf100f87b45caf10ccf42578bdaf).
        "9999-12-31T20:09:10-05:00",
        // The same at each end of the range, minimised by hand.
        "9999-12-31T23:00:00-01:00",
        "9999-12-31T23:59:59.999-00:01",
        "1970-01-01T00:00:00+00:01",
        "1970-01-01T00:59:59.999+01:00",
    ] {
        if let Some(ms) = parse_rfc3339(s) {
            let formatted = format_rfc3339(ms);
            if parse_rfc3339(&formatted) != Some(ms.div_euclid(1000) * 1000) {
                bad.push(format!(
                    "{s:?} parses to {ms} ms, formatted as {formatted:?}, which does not parse back"
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The edges of the range still round-trip (whatever fix is made must keep them).
#[test]
fn rfc3339_range_edges_round_trip() {
    for s in [
        "1970-01-01T00:00:00Z",
        "1970-01-01T01:00:00+01:00",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-00:00",
    ] {
        let ms = parse_rfc3339(s).unwrap_or_else(|| panic!("{s:?} no longer parses"));
        assert_eq!(parse_rfc3339(&format_rfc3339(ms)), Some(ms), "{s:?}");
    }
}

/// Target `validate_link`: a valid link's destination is an `http://` or `https://` URL.
/// `check_web_url` parses with the `url` crate, which accepts the scheme in any case and
/// repairs `https:/host`, but returns the URL as given, so `customUrl` / `fallbackUrl` such as
/// `httPs://…` or `https:/x://example.com` (which the parser, and browsers, read as host `x`:
/// the "canonical form only" check looks for `://` anywhere) became the stored destination,
/// and the `Location` of every redirect, in that spelling.
#[test]
fn destination_scheme_is_canonical_lowercase() {
    use super::link::validate_link;
    use super::retailers::append_params;
    use serde_json::json;

    let bodies = [
        // Found by the fuzzer (crash-b0cc6d4ad4562d7deeee67b2f592392c3232af5a), minimised.
        json!({"projectId": "p", "name": "n", "retailer": "custom", "intent": "custom_url",
               "customUrl": "httPs://example.com/sale?x=1#top"}),
        json!({"projectId": "p", "name": "n", "retailer": "custom", "intent": "custom_url",
               "customUrl": "HTTP://example.com/", "tracking": {"utm": {"source": "ig"}}}),
        // Found by the fuzzer (crash-1351adb15eb807c4d4cb63f3ce90d47e0e13bbcd), minimised.
        json!({"projectId": "p", "name": "n", "retailer": "custom", "intent": "custom_url",
               "customUrl": "https:/x://example.com/sale"}),
        // The same through fallbackUrl (Target cart of several products).
        json!({"projectId": "p", "name": "n", "retailer": "target", "intent": "add_to_cart",
               "products": [{"retailerProductId": "1"}, {"retailerProductId": "2"}],
               "fallbackUrl": "Https://www.target.com/c/x"}),
    ];
    let mut bad = Vec::new();
    for body in bodies {
        // Refusing the URL is as good a fix as normalising it.
        let Ok(spec) = validate_link(&body) else {
            continue;
        };
        let dest = spec.destination().expect("a destination");
        let full = append_params(&dest, &spec.tracking.params);
        for url in [&dest, &full] {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                bad.push(format!("destination {url:?} from {body}"));
                break;
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The same at its source: `check_web_url` only returns URLs in the canonical form it documents
/// (lowercase `http://` / `https://` followed by the host).
#[test]
fn check_web_url_returns_only_canonical_urls() {
    use super::validate::{check_web_url, Problems};

    let mut bad = Vec::new();
    for s in [
        "httPs://example.com/sale?x=1#top",
        "HTTP://example.com/",
        "https:/x://example.com/sale",
        "https:example.com://x",
        "http:/example.com/a://b",
        // Found by the fuzzer (crash-4a46fe43…, crash-f0c08716…), minimised: `://` only in
        // the fragment or the path.
        "https:/6example.com/sale#https://example.com/",
        "https:(/ehttp://com/sale?",
    ] {
        let mut p = Problems::default();
        if let Some(url) = check_web_url(s, "customUrl", 2048, &mut p) {
            let host = url::Url::parse(&url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string));
            let canonical = ["https://", "http://"]
                .iter()
                .filter_map(|scheme| url.strip_prefix(scheme))
                .any(|rest| host.as_deref().is_some_and(|h| rest.starts_with(h)));
            if !canonical {
                bad.push(format!("{s:?} accepted as {url:?} (host {host:?})"));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
