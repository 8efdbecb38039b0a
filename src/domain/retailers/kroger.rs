//! Kroger: product pages, `/p/-/{UPC}` (a 13-digit UPC; the slug before it is free text, as on
//! Target's pages). The evidence for the form is in docs/destinations.md.

use super::{
    check_one_product, custom_url, only_product, unsupported, IdForm, Intent, NoDestination, Order,
    ProductRules,
};
use crate::domain::validate::Problems;

pub(super) const INTENTS: &[Intent] = &[Intent::ProductDetail, Intent::CustomUrl];

pub(super) const PRODUCTS: ProductRules = ProductRules {
    id_name: "Kroger UPC",
    offers: false,
    id: IdForm::Upc13,
};

pub(super) fn check(order: &Order, p: &mut Problems) {
    check_one_product(order, p);
}

pub(super) fn destination(order: &Order) -> Result<String, NoDestination> {
    match order.intent {
        Intent::ProductDetail => Ok(format!(
            "https://www.kroger.com/p/-/{}",
            only_product(order)?
        )),
        Intent::CustomUrl => custom_url(order),
        Intent::AddToCart | Intent::ShoppingList | Intent::Recipe | Intent::WhereToBuy => {
            Err(unsupported(order.intent))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::error::Kind;
    use crate::domain::link::validate_link;
    use serde_json::json;

    #[test]
    fn product_page_of_a_13_digit_upc() {
        let spec = validate_link(&json!({"projectId": "p", "name": "n", "retailer": "kroger",
            "intent": "product_detail", "products": [{"retailerProductId": "0001111041700"}]}))
        .unwrap();
        assert_eq!(
            spec.destination().unwrap(),
            "https://www.kroger.com/p/-/0001111041700"
        );
        for (id, kind, code) in [
            (json!("001111041700"), Kind::Rule, "invalid_id"),
            (json!(1111041700), Kind::Rule, "invalid_id"),
            (json!("B07XJ8C8F5"), Kind::Rule, "invalid_id"),
            (json!("0001-111041700"), Kind::Shape, "invalid_format"),
        ] {
            let e = validate_link(&json!({"projectId": "p", "name": "n", "retailer": "kroger",
                "intent": "product_detail", "products": [{"retailerProductId": id}]}))
            .unwrap_err();
            assert_eq!(e.kind, kind, "{id}");
            assert_eq!(
                e.keys(),
                vec![("products[0].retailerProductId".into(), code)],
                "{id}"
            );
        }
        let e = validate_link(&json!({"projectId": "p", "name": "n", "retailer": "kroger",
            "intent": "add_to_cart", "products": [{"retailerProductId": "0001111041700"}]}))
        .unwrap_err();
        assert_eq!(e.keys(), vec![("intent".into(), "unsupported_intent")]);
    }
}
