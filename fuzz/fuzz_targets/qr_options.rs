//! QR style options as they come from a query string or JSON (`?size=&margin=&ec=&fg=&bg=`),
//! then a render of a short URL at a small size. Input: a byte whose bits 0–4 say which of
//! size, margin, ec, fg, bg are given (bit 5: render SVG, else PNG); a byte choosing the base
//! style; then
//! `<size>\n<margin>\n<ec>\n<fg>\n<bg>\n<qr marker>`.
#![no_main]

use in2carts_edge::domain::qr::{self, EcLevel, Format, Rgb, Style, MAX_MARGIN};
use libfuzzer_sys::fuzz_target;

const KEYS: [&str; 5] = ["size", "margin", "ec", "fg", "bg"];

/// Base styles: the default, stored QR codes' styles, and invalid ones (options must not be
/// able to make an invalid base pass).
fn base(i: u8) -> Style {
    let d = Style::default();
    match i % 6 {
        0 => d,
        1 => Style {
            size: 256,
            margin: 2,
            ec: EcLevel::H,
            fg: Rgb(0x1a, 0x23, 0x7e),
            ..d
        },
        2 => Style {
            size: 2048,
            margin: 16,
            ec: EcLevel::L,
            ..d
        },
        3 => Style {
            size: 5000,
            margin: 40,
            ..d
        },
        4 => Style {
            fg: Rgb::WHITE,
            bg: Rgb::BLACK,
            ..d
        },
        _ => Style {
            size: 0,
            fg: Rgb(0x77, 0x77, 0x77),
            ..d
        },
    }
}

fuzz_target!(|data: &[u8]| {
    let [mask, base_sel, rest @ ..] = data else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let mut parts = text.splitn(6, '\n');
    let mut opts: [Option<&str>; 5] = [None; 5];
    for (i, slot) in opts.iter_mut().enumerate() {
        let s = parts.next().unwrap_or("");
        if mask & (1 << i) != 0 {
            *slot = Some(s);
        }
    }
    let marker = parts.next().unwrap_or("1");
    let [size, margin, ec, fg, bg] = opts;
    match qr::style_from_options(&base(*base_sel), size, margin, ec, fg, bg) {
        Err(problems) => {
            // Documented: every problem at once, ordered size, margin, ec, fg, bg, one per key.
            assert!(!problems.is_empty());
            let ranks: Vec<usize> = problems
                .iter()
                .map(|p| KEYS.iter().position(|k| *k == p.key).expect("known key"))
                .collect();
            assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{problems:?}");
        }
        Ok(mut style) => {
            assert!(qr::validate_style(&style).is_empty(), "{style:?}");
            assert!(style.margin <= MAX_MARGIN);
            // Cap the size: the fuzzer is after panics, not after 2048 px images.
            style.size = 64 + style.size % 96;
            let marker: String = marker.chars().take(64).collect();
            let data = format!("https://in2.cart/AbC12xYz?qr={marker}");
            let format = if mask & 0x20 != 0 {
                Format::Svg
            } else {
                Format::Png
            };
            match qr::render(&data, &style, format) {
                Ok(bytes) => match format {
                    Format::Png => assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n")),
                    Format::Svg => assert!(std::str::from_utf8(&bytes).is_ok()),
                },
                Err(qr::RenderError::DataTooLong) => {
                    panic!("a short URL ({} bytes) did not fit", data.len())
                }
            }
            let tag = qr::etag(&data, &style, format);
            assert!(
                tag.starts_with("\"q1-") && tag.ends_with('"') && tag.len() == 21,
                "{tag}"
            );
        }
    }
});
