//! The redirect's pure hot path, natively: a stored `RedirectRecord` (JSON, as KV returns it)
//! resolved to a `Location` — `serde_json::from_str` + `status(now)` + `location(query)`.
//!
//! Run: `cargo bench --bench resolve -- --warm-up-time 1 --measurement-time 3`
//!
//! The record is what `POST /v1/links` stores for a Walmart cart of three products with UTM
//! tracking, after a named QR code was added (two QR markers). Cases:
//! - `resolve/tap`: a tap on the short link, no query string;
//! - `resolve/qr_scan`: a scan of the second QR code (`?qr=2`): not forwarded (the default);
//! - `resolve/forwarded_query`: the same record with `forwardQuery` on and a visitor query
//!   (coupon + UTM + QR marker), so the Location is built by appending (the marker is dropped).
//!
//! The `parts/*` cases split the first two into parse and URL build.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use in2carts_edge::domain::record::{RedirectRecord, Status};

/// A Walmart cart with tracking and two QR markers, in the compact stored form.
const STORED: &str = concat!(
    r#"{"d":"https://www.walmart.com/sc/cart/addToCart?items=123456789_2,987654321_1,555000111_3"#,
    r#"&utm_source=instagram&utm_medium=social&utm_campaign=summer+grilling+24&utm_content=reel_42","#,
    r#""l":"lnk_01JZ4TDK6A0NV2HG6R3Q7E28Y9","#,
    r#""c":[["1","qr_01JZ4TDK6A0NV2HG6R3Q7E28YA"],["2","qr_01JZ4TDM1X7K3QW5T9B2H6C4RD"]]}"#
);

/// A visit time inside the link's schedule (2026-05-20T07:19:00Z).
const NOW_MS: i64 = 1_779_261_540_000;

const QR_QUERY: &str = "qr=2";
const VISITOR_QUERY: &str = "qr=2&coupon=SAVE10&utm_term=grill";

/// The redirect's work for one visit: parse, status, Location.
fn resolve(stored: &str, now: i64, query: Option<&str>) -> Option<String> {
    let record: RedirectRecord = serde_json::from_str(stored).ok()?;
    match record.status(now) {
        Status::Active => Some(record.location(query)),
        _ => record.fallback,
    }
}

fn forwarding(stored: &str) -> String {
    // `"w":true` is how a record with `forwardQuery` is stored.
    let mut r: RedirectRecord = serde_json::from_str(stored).expect("record parses");
    r.forward_query = true;
    serde_json::to_string(&r).expect("record serializes")
}

fn check(stored_fwd: &str) {
    let dest = serde_json::from_str::<RedirectRecord>(STORED).unwrap().dest;
    assert_eq!(
        resolve(STORED, NOW_MS, None).as_deref(),
        Some(dest.as_str())
    );
    assert_eq!(
        resolve(STORED, NOW_MS, Some(QR_QUERY)).as_deref(),
        Some(dest.as_str())
    );
    let fwd = resolve(stored_fwd, NOW_MS, Some(VISITOR_QUERY)).unwrap();
    assert_eq!(fwd, format!("{dest}&coupon=SAVE10&utm_term=grill"));
}

fn bench_resolve(c: &mut Criterion) {
    let stored_fwd = forwarding(STORED);
    check(&stored_fwd);

    let mut g = c.benchmark_group("resolve");
    g.bench_function("tap", |b| {
        b.iter(|| resolve(black_box(STORED), black_box(NOW_MS), black_box(None)))
    });
    g.bench_function("qr_scan", |b| {
        b.iter(|| {
            resolve(
                black_box(STORED),
                black_box(NOW_MS),
                black_box(Some(QR_QUERY)),
            )
        })
    });
    g.bench_function("forwarded_query", |b| {
        b.iter(|| {
            resolve(
                black_box(&stored_fwd),
                black_box(NOW_MS),
                black_box(Some(VISITOR_QUERY)),
            )
        })
    });
    g.finish();

    let record: RedirectRecord = serde_json::from_str(STORED).unwrap();
    let record_fwd: RedirectRecord = serde_json::from_str(&stored_fwd).unwrap();
    let mut g = c.benchmark_group("parts");
    g.bench_function("parse", |b| {
        b.iter(|| serde_json::from_str::<RedirectRecord>(black_box(STORED)))
    });
    g.bench_function("status", |b| {
        b.iter(|| black_box(&record).status(black_box(NOW_MS)))
    });
    g.bench_function("location_tap", |b| {
        b.iter(|| black_box(&record).location(black_box(None)))
    });
    g.bench_function("location_forwarded_query", |b| {
        b.iter(|| black_box(&record_fwd).location(black_box(Some(VISITOR_QUERY))))
    });
    g.bench_function("qr_for_query", |b| {
        b.iter(|| {
            black_box(&record)
                .qr_for_query(black_box(Some(QR_QUERY)))
                .is_some()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_resolve);
criterion_main!(benches);
