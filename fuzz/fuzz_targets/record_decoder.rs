//! The stored-record decoder (one KV value per short id, parsed on every redirect) and the
//! visit decision made from it. Input: `<record JSON>` `\0` `<visitor query string>`
//! `\0` `<now, decimal ms>` (the last two optional).
#![no_main]

use in2carts_edge::domain::record::RedirectRecord;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = s.splitn(3, '\0');
    let json = parts.next().unwrap_or("");
    let query = parts.next().unwrap_or("");
    let now = parts
        .next()
        .and_then(|n| n.trim().parse::<i64>().ok())
        .unwrap_or(1_779_261_540_000);
    if let Ok(rec) = serde_json::from_str::<RedirectRecord>(json) {
        in2carts_edge_fuzz::check_record(&rec, query, now);
    }
});
