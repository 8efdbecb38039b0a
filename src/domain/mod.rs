//! Pure logic: no `worker` imports, unit-tested natively.
pub mod availability;
pub mod batcher;
pub mod client;
pub mod config;
pub mod error;
#[cfg(test)]
mod fuzz_regressions;
pub mod ids;
pub mod link;
pub mod page;
pub mod qr;
pub mod qr_code;
pub mod record;
pub mod retailers;
pub mod safety;
pub mod stats;
pub mod stockouts;
pub mod time;
pub mod upgrade;
pub mod validate;
pub mod where_to_buy;
