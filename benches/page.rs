//! The where-to-buy page, natively: a stored redirect record of a where-to-buy link (JSON, as
//! KV returns it) parsed and rendered, which is all the page costs at the edge besides the KV
//! read.
//!
//! Run: `cargo bench --bench page -- --warm-up-time 1 --measurement-time 3`
//!
//! The record is what `POST /v1/links` stores for a page of four offers (Walmart, Target,
//! Amazon, Instacart) with a logo, a hero image and two items. Cases:
//! - `page/render`: parse the record, then render the page (what a view costs);
//! - `page/render_only`: render a record already parsed;
//! - `page/parse`: parse only.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use in2carts_edge::domain::page::render;
use in2carts_edge::domain::record::RedirectRecord;

/// A where-to-buy link's record, in the compact stored form.
const STORED: &str = concat!(
    r#"{"d":"","l":"lnk_01JZ4TDK6A0NV2HG6R3Q7E28Y9","c":[["1","qr_01JZ4TDK6A0NV2HG6R3Q7E28YA"]],"#,
    r#""p":{"t":"Summer grill kit","u":"Pick your store","g":"https://cdn.brand.example/logo.png","#,
    r##""h":"https://cdn.brand.example/hero.jpg","b":"#1a237e","##,
    r#""i":[{"n":"Charcoal briquets","i":"https://cdn.brand.example/charcoal.png","z":"20 lb"},{"n":"Grill tongs"}],"#,
    r#""o":[{"r":"walmart","d":"https://www.walmart.com/sc/cart/addToCart?items=123456789_2&utm_source=instagram"},"#,
    r#"{"r":"target","d":"https://www.target.com/p/-/A-12345678?utm_source=instagram"},"#,
    r#"{"r":"amazon","d":"https://www.amazon.com/gp/aws/cart/add.html?AssociateTag=brand-20&ASIN.1=B07XJ8C8F5&Quantity.1=1&utm_source=instagram"},"#,
    r#"{"r":"instacart","d":"https://www.instacart.com/products/324877?retailerSlug=publix&utm_source=instagram"}]}}"#
);

/// A view time (2026-05-20T07:19:00Z).
const NOW_MS: i64 = 1_779_261_540_000;

fn view(stored: &str) -> Option<usize> {
    let record: RedirectRecord = serde_json::from_str(stored).ok()?;
    Some(
        render(record.page.as_deref()?, "tB8bSdF", NOW_MS)
            .html
            .len(),
    )
}

fn bench_page(c: &mut Criterion) {
    let record: RedirectRecord = serde_json::from_str(STORED).expect("record parses");
    let page = record.page.as_deref().expect("a where-to-buy record");
    let html = render(page, "tB8bSdF", NOW_MS).html;
    assert_eq!(html.matches("<a class=\"buy\"").count(), 4);
    assert_eq!(view(STORED), Some(html.len()));

    let mut g = c.benchmark_group("page");
    g.bench_function("render", |b| b.iter(|| view(black_box(STORED))));
    g.bench_function("render_only", |b| {
        b.iter(|| render(black_box(page), black_box("tB8bSdF"), black_box(NOW_MS)))
    });
    g.bench_function("parse", |b| {
        b.iter(|| serde_json::from_str::<RedirectRecord>(black_box(STORED)))
    });
    g.finish();
}

criterion_group!(benches, bench_page);
criterion_main!(benches);
