//! RFC 3339 parsing: no panic, and whatever parses formats back to the same instant (rounded
//! down to the second, the precision of `format_rfc3339`).
#![no_main]

use in2carts_edge::domain::time::{format_rfc3339, parse_rfc3339};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(ms) = parse_rfc3339(s) {
        let formatted = format_rfc3339(ms);
        assert_eq!(
            parse_rfc3339(&formatted),
            Some(ms.div_euclid(1000) * 1000),
            "{s:?} parsed to {ms} ms, formatted as {formatted:?}"
        );
    }
});
