//! `classify` on the redirect path (a plain browser, an in-app browser and a preview
//! crawler), and the steps that turn a visit into a stored click: the click event (with its
//! visitor hash and referrer host), and a 1,000-event batch counted, written and checked.
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use in2carts_edge::domain::client::{classify, referrer_host, VisitorHasher};
use in2carts_edge::domain::stats::{batch_body, check_batch, click_event, VisitFields};

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

fn bench_click(c: &mut Criterion) {
    let visit = VisitFields {
        user_agent: INSTAGRAM_IN_APP,
        referer: "https://l.instagram.com/",
        ip: "203.0.113.9",
        country: "US",
        verified_bot: "",
        region: "",
    };
    let hasher = VisitorHasher::new(b"a visitor hash secret of the usual length, 32+ bytes");
    let now = 1_763_800_000_000;
    let mut group = c.benchmark_group("click");
    group.bench_function("click_event", |b| {
        b.iter(|| click_event(black_box(&visit), &hasher, None, now))
    });
    group.bench_function("visitor_hash", |b| {
        b.iter(|| {
            hasher.hash(
                black_box(20_413),
                black_box(visit.ip),
                black_box(INSTAGRAM_IN_APP),
            )
        })
    });
    group.bench_function("referrer_host", |b| {
        b.iter(|| referrer_host(black_box(Some("https://l.instagram.com/"))))
    });
    // The same answer through the URL standard's parser, which `referrer_host` now keeps for
    // referrers that are not a plain `http(s)://host/…` (the comparison in one run).
    group.bench_function("referrer_host_url_parser", |b| {
        b.iter(|| {
            url::Url::parse(black_box("https://l.instagram.com/"))
                .ok()
                .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        })
    });
    // 1,000 visits of one second from 1,000 visitors (a different IP each), so the batch
    // has one count row per distinct classification and a visitor row per visit: the most
    // rows a batch of that size carries for one kind of phone.
    let ips: Vec<String> = (0..1000u16)
        .map(|i| format!("203.0.{}.{}", i >> 8, i & 255))
        .collect();
    let events: Vec<_> = ips
        .iter()
        .enumerate()
        .map(|(i, ip)| {
            let v = VisitFields {
                ip: ip.as_str(),
                ..visit.clone()
            };
            click_event(&v, &hasher, None, now + i as i64)
        })
        .collect();
    const ID: &str = "bat_01KAMR8WW0000000000000000Z";
    let body = batch_body(ID, &events);
    group.bench_function("batch_body_1000", |b| {
        b.iter(|| batch_body(ID, black_box(&events)))
    });
    group.bench_function("check_batch_1000", |b| {
        b.iter(|| check_batch(black_box(&body)))
    });
    group.finish();
}

criterion_group!(benches, bench_classify, bench_click);
criterion_main!(benches);
