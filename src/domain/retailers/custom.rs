//! Custom destinations: the validated `customUrl`, and nothing else.

use super::{custom_url, unsupported, Intent, NoDestination, Order};

pub(super) const INTENTS: &[Intent] = &[Intent::CustomUrl];

pub(super) fn destination(order: &Order) -> Result<String, NoDestination> {
    match order.intent {
        Intent::CustomUrl => custom_url(order),
        Intent::AddToCart
        | Intent::ProductDetail
        | Intent::ShoppingList
        | Intent::Recipe
        | Intent::WhereToBuy => Err(unsupported(order.intent)),
    }
}
