//! Target: product pages (`/p/-/A-{TCIN}`). Target has no public add-to-cart URL, so an
//! add_to_cart link of one product opens its page, and of several goes to `fallbackUrl`.

use super::{
    custom_url, unsupported, IdForm, Intent, NoDestination, Order, ProductRef, ProductRules,
};
use crate::domain::validate::Problems;

pub(super) const INTENTS: &[Intent] =
    &[Intent::AddToCart, Intent::ProductDetail, Intent::CustomUrl];

pub(super) const PRODUCTS: ProductRules = ProductRules {
    id_name: "TCIN",
    offers: false,
    id: IdForm::Digits,
};

pub(super) fn check(order: &Order, p: &mut Problems) {
    match order.intent {
        Intent::ProductDetail if order.products.len() > 1 => p.rule(
            "products",
            "too_many",
            "A product_detail link takes exactly one product",
        ),
        Intent::AddToCart if order.products.len() > 1 && order.fallback_url.is_none() => p.rule(
            "products",
            "unsupported",
            "Target has no public cart URL: an add_to_cart link with several products needs a \
             fallbackUrl (or use one product)",
        ),
        _ => {}
    }
}

pub(super) fn destination(order: &Order) -> Result<String, NoDestination> {
    match order.intent {
        Intent::AddToCart | Intent::ProductDetail => match order.products {
            [one] => match &one.product {
                ProductRef::Item(tcin) => Ok(format!("https://www.target.com/p/-/A-{tcin}")),
                ProductRef::Offer(_) => Err(NoDestination {
                    key: "products[0].offerId",
                    message: "Target products are identified by their TCIN".into(),
                }),
            },
            _ => order.fallback_url.map(str::to_string).ok_or(NoDestination {
                key: "products",
                message: "Target has no public cart URL: several products need a fallbackUrl"
                    .into(),
            }),
        },
        Intent::CustomUrl => custom_url(order),
        Intent::ShoppingList | Intent::Recipe | Intent::WhereToBuy => {
            Err(unsupported(order.intent))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::link::validate_link;
    use serde_json::json;

    #[test]
    fn product_page_and_cart_rules() {
        for intent in ["product_detail", "add_to_cart"] {
            let spec = validate_link(&json!({"projectId": "p", "name": "n", "retailer": "target",
                "intent": intent, "products": [{"retailerProductId": "12345678"}]}))
            .unwrap();
            assert_eq!(
                spec.destination().unwrap(),
                "https://www.target.com/p/-/A-12345678"
            );
        }
        let spec = validate_link(&json!({"projectId": "p", "name": "n", "retailer": "target",
            "intent": "add_to_cart", "products": [{"retailerProductId": "1"}, {"retailerProductId": "2"}],
            "fallbackUrl": "https://www.target.com/c/grilling"}))
        .unwrap();
        assert_eq!(
            spec.destination().unwrap(),
            "https://www.target.com/c/grilling"
        );
    }
}
