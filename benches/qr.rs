//! QR rendering speed for a typical short link, natively.
//!
//! Run: `cargo bench --bench qr -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use in2carts_edge::domain::qr::{etag, render, render_png_fixed_scale, Format, Rgb, Style};

const URL: &str = "https://in2carts.com/abc1234?q=01HZX";

fn bench_render(c: &mut Criterion) {
    let plain = Style::default(); // 512 px, margin 4, EC M, black on white
    let coloured = Style {
        fg: Rgb(0x1a, 0x23, 0x7e),
        bg: Rgb(0xff, 0xfd, 0xe7),
        ..Style::default()
    };
    let large = Style {
        size: 2048,
        ..Style::default()
    };

    c.bench_function("png_512", |b| {
        b.iter(|| render(black_box(URL), black_box(&plain), Format::Png))
    });
    // The previous layout (whole pixels per module, leftover as border), for comparison.
    c.bench_function("png_512_fixed_scale", |b| {
        b.iter(|| render_png_fixed_scale(black_box(URL), black_box(&plain)))
    });
    c.bench_function("png_512_palette", |b| {
        b.iter(|| render(black_box(URL), black_box(&coloured), Format::Png))
    });
    c.bench_function("png_2048", |b| {
        b.iter(|| render(black_box(URL), black_box(&large), Format::Png))
    });
    c.bench_function("svg_512", |b| {
        b.iter(|| render(black_box(URL), black_box(&plain), Format::Svg))
    });
    c.bench_function("etag", |b| {
        b.iter(|| etag(black_box(URL), black_box(&plain), Format::Png))
    });
}

criterion_group!(benches, bench_render);
criterion_main!(benches);
