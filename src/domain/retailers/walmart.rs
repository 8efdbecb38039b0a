//! Walmart: cart links (`/sc/cart/addToCart?items=ID_QTY,…` or `offers=`) and product pages.

use super::{
    custom_url, unsupported, IdForm, Intent, NoDestination, Order, ProductRef, ProductRules,
};
use crate::domain::validate::Problems;

pub(super) const INTENTS: &[Intent] =
    &[Intent::AddToCart, Intent::ProductDetail, Intent::CustomUrl];

pub(super) const PRODUCTS: ProductRules = ProductRules {
    id_name: "Walmart item id",
    offers: true,
    id: IdForm::Digits,
};

const CART: &str = "https://www.walmart.com/sc/cart/addToCart";
const PRODUCT: &str = "https://www.walmart.com/ip/";

pub(super) fn check(order: &Order, p: &mut Problems) {
    match order.intent {
        Intent::ProductDetail => {
            if order.products.len() > 1 {
                p.rule(
                    "products",
                    "too_many",
                    "A product_detail link takes exactly one product",
                );
            } else if let Some(ProductRef::Offer(_)) = order.products.first().map(|s| &s.product) {
                p.rule(
                    "products[0].offerId",
                    "unsupported",
                    "A Walmart product page needs an item id (retailerProductId), not an offer id",
                );
            }
        }
        Intent::AddToCart => {
            // A cart URL holds item ids or offer ids, not both.
            let offers = order
                .products
                .iter()
                .filter(|s| matches!(s.product, ProductRef::Offer(_)))
                .count();
            if offers > 0 && offers < order.products.len() {
                p.rule(
                    "products",
                    "conflict",
                    "A cart takes item ids or offer ids, not a mix of both",
                );
            }
        }
        Intent::CustomUrl | Intent::ShoppingList | Intent::Recipe | Intent::WhereToBuy => {}
    }
}

pub(super) fn destination(order: &Order) -> Result<String, NoDestination> {
    match order.intent {
        Intent::ProductDetail => match order.products {
            [one] => match &one.product {
                ProductRef::Item(id) => Ok(format!("{PRODUCT}{id}")),
                ProductRef::Offer(_) => Err(NoDestination {
                    key: "products[0].offerId",
                    message: "A Walmart product page needs an item id, not an offer id".into(),
                }),
            },
            _ => Err(NoDestination {
                key: "products",
                message: "A product_detail link takes exactly one product".into(),
            }),
        },
        Intent::AddToCart => {
            let mut url = String::with_capacity(CART.len() + 16 * order.products.len() + 24);
            url.push_str(CART);
            let offers = matches!(
                order.products.first().map(|s| &s.product),
                Some(ProductRef::Offer(_))
            );
            url.push_str(if offers { "?offers=" } else { "?items=" });
            for (i, s) in order.products.iter().enumerate() {
                if i > 0 {
                    url.push(',');
                }
                let (ProductRef::Item(id) | ProductRef::Offer(id)) = &s.product;
                url.push_str(id);
                url.push('_');
                url.push_str(&s.quantity.to_string());
            }
            if let Some(store) = order.store_id {
                url.push_str("&storeId=");
                url.push_str(store);
            }
            Ok(url)
        }
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

    fn dest(body: serde_json::Value) -> String {
        validate_link(&body).unwrap().destination().unwrap()
    }

    #[test]
    fn cart_with_every_item_and_quantity() {
        assert_eq!(
            dest(json!({"projectId": "p", "name": "n", "retailer": "walmart",
                "intent": "add_to_cart", "products": [{"retailerProductId": "945193065", "quantity": 2},
                {"retailerProductId": "660768274", "backupProductIds": ["111"]}],
                "location": {"storeId": "5678"}})),
            "https://www.walmart.com/sc/cart/addToCart?items=945193065_2,660768274_1&storeId=5678"
        );
    }

    #[test]
    fn offers_and_product_page() {
        assert_eq!(
            dest(json!({"projectId": "p", "name": "n", "retailer": "walmart",
                "intent": "add_to_cart", "products": [{"offerId": "A1B2", "quantity": 3}]})),
            "https://www.walmart.com/sc/cart/addToCart?offers=A1B2_3"
        );
        assert_eq!(
            dest(json!({"projectId": "p", "name": "n", "retailer": "walmart",
                "intent": "product_detail", "products": [{"retailerProductId": "123456789"}]})),
            "https://www.walmart.com/ip/123456789"
        );
        let refused = validate_link(
            &json!({"projectId": "p", "name": "n", "retailer": "walmart",
            "intent": "product_detail", "products": [{"offerId": "AB"}]}),
        )
        .unwrap_err();
        assert_eq!(
            refused.keys(),
            vec![("products[0].offerId".into(), "unsupported")]
        );
    }
}
