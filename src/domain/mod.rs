//! Pure logic: no `worker` imports, unit-tested natively.
pub mod error;
