//! `multi`: a where-to-buy link. Its destination is its own page (rendered at the edge, see
//! `domain::where_to_buy`); each of its offers has the destination of its own retailer.

use super::{Intent, NoDestination, Order};

pub(super) const INTENTS: &[Intent] = &[Intent::WhereToBuy];

pub(super) fn destination(_order: &Order) -> Result<String, NoDestination> {
    Err(NoDestination {
        key: "intent",
        message: "A where-to-buy link opens its page; its offers have the destinations".into(),
    })
}
