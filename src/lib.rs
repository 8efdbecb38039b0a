//! in2carts-edge: shoppable links on Cloudflare Workers.
pub mod domain;
