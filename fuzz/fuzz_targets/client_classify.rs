//! The click classifier (User-Agent, Cloudflare's verified-bot flag) and the referrer host.
//! Input: one flag byte (`% 3`: verified unknown / false / true), then `<Referer>\n<User-Agent>`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flag, rest)) = data.split_first() else {
        return;
    };
    let verified = [None, Some(false), Some(true)][usize::from(flag % 3)];
    let text = String::from_utf8_lossy(rest);
    let (referer, ua) = text.split_once('\n').unwrap_or(("", &text));
    in2carts_edge_fuzz::check_client(ua, verified, referer);
});
