//! Raw bytes → JSON → `validate_link`, then the destination of a valid link.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        in2carts_edge_fuzz::check_link(&v);
    }
});
