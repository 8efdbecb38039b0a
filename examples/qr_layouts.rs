//! Writes QR PNGs with the current layout and with the previous fixed-scale one, for the
//! decode-robustness comparison (tests/qr-robustness.test.mjs, bench/qr-robustness.mjs).
//!
//! Reads one image per line on standard input, `LAYOUT EC SIZE MARGIN OUT DATA` (LAYOUT `fill`
//! or `fixed`; DATA is the rest of the line), and writes each PNG to OUT.
//!
//! Run: `printf 'fill M 128 4 /tmp/a.png https://in2carts.com/abc1234?qr=1\n' | cargo run --example qr_layouts`

use std::io::BufRead;

use in2carts_edge::domain::qr::{render, render_png_fixed_scale, EcLevel, Format, Style};

fn main() -> Result<(), String> {
    for (n, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.map_err(|e| e.to_string())?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |what: &str| format!("line {}: {what}: {line:?}", n + 1);
        let mut parts = line.splitn(6, ' ');
        let mut next = |what: &str| parts.next().ok_or_else(|| bad(what));
        let layout = next("layout")?;
        let ec = EcLevel::parse(next("ec")?).ok_or_else(|| bad("ec"))?;
        let size = next("size")?.parse().map_err(|_| bad("size"))?;
        let margin = next("margin")?.parse().map_err(|_| bad("margin"))?;
        let out = next("output file")?;
        let data = next("data")?;
        let style = Style {
            size,
            margin,
            ec,
            ..Style::default()
        };
        let png = match layout {
            "fill" => render(data, &style, Format::Png),
            "fixed" => render_png_fixed_scale(data, &style),
            _ => return Err(bad("layout must be fill or fixed")),
        }
        .map_err(|e| bad(&e.to_string()))?;
        std::fs::write(out, png).map_err(|e| format!("{out}: {e}"))?;
    }
    Ok(())
}
