//! `classify` on the redirect path: a plain browser, an in-app browser and a
//! preview crawler.
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use in2carts_edge::domain::client::classify;

const IPHONE_SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1";
const INSTAGRAM_IN_APP: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 309.0.3.18.110 (iPhone15,2; iOS 17_1_2; en_US; en; scale=3.00; 1179x2556; 541635890)";
const FACEBOOK_CRAWLER: &str =
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)";

fn bench_classify(c: &mut Criterion) {
    let mut group = c.benchmark_group("classify");
    for (name, ua) in [
        ("iphone_safari", IPHONE_SAFARI),
        ("instagram_in_app", INSTAGRAM_IN_APP),
        ("facebookexternalhit", FACEBOOK_CRAWLER),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| classify(black_box(Some(ua)), black_box(None)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_classify);
criterion_main!(benches);
