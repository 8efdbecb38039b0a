//! Walmart: cart links (`/sc/cart/addToCart?items=ID_QTY,…` or `offers=`) and product pages.

use super::NoDestination;
use crate::domain::link::{Intent, LinkSpec, ProductRef};

const CART: &str = "https://www.walmart.com/sc/cart/addToCart";
const PRODUCT: &str = "https://www.walmart.com/ip/";

pub(super) fn destination(spec: &LinkSpec) -> Result<String, NoDestination> {
    match spec.intent {
        Intent::ProductDetail => match spec.selections.as_slice() {
            [one] => match &one.product {
                ProductRef::Item(id) => Ok(format!("{PRODUCT}{id}")),
                ProductRef::Offer(_) => Err(NoDestination {
                    key: "products[0].id",
                    message: "A Walmart product page needs an item id, not an offer id".into(),
                }),
            },
            _ => Err(NoDestination {
                key: "products",
                message: "A product_detail link takes exactly one product".into(),
            }),
        },
        _ => {
            let mut url = String::with_capacity(CART.len() + 16 * spec.selections.len() + 24);
            url.push_str(CART);
            let offers = matches!(
                spec.selections.first().map(|s| &s.product),
                Some(ProductRef::Offer(_))
            );
            url.push_str(if offers { "?offers=" } else { "?items=" });
            for (i, s) in spec.selections.iter().enumerate() {
                if i > 0 {
                    url.push(',');
                }
                let (ProductRef::Item(id) | ProductRef::Offer(id)) = &s.product;
                url.push_str(id);
                url.push('_');
                url.push_str(&s.quantity.to_string());
            }
            if let Some(store) = &spec.store_id {
                url.push_str("&storeId=");
                url.push_str(store);
            }
            Ok(url)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::link::validate_link;
    use crate::domain::retailers::destination;
    use serde_json::json;

    #[test]
    fn cart_with_every_item_and_quantity() {
        let spec = validate_link(&json!({"projectId": "p", "name": "n", "retailer": "walmart",
            "intent": "add_to_cart", "products": [{"id": "945193065", "quantity": 2}, {"id": "660768274"}],
            "location": {"storeId": "5678"}}))
        .unwrap();
        assert_eq!(
            destination(&spec).unwrap(),
            "https://www.walmart.com/sc/cart/addToCart?items=945193065_2,660768274_1&storeId=5678"
        );
    }

    #[test]
    fn offers_and_product_page() {
        let spec = validate_link(
            &json!({"projectId": "p", "name": "n", "retailer": "walmart",
            "intent": "add_to_cart", "products": [{"offerId": "A1B2", "quantity": 3}]}),
        )
        .unwrap();
        assert_eq!(
            destination(&spec).unwrap(),
            "https://www.walmart.com/sc/cart/addToCart?offers=A1B2_3"
        );
        let spec = validate_link(
            &json!({"projectId": "p", "name": "n", "retailer": "walmart",
            "intent": "product_detail", "products": [{"id": "123456789"}]}),
        )
        .unwrap();
        assert_eq!(
            destination(&spec).unwrap(),
            "https://www.walmart.com/ip/123456789"
        );
        let spec = validate_link(
            &json!({"projectId": "p", "name": "n", "retailer": "walmart",
            "intent": "product_detail", "products": [{"offerId": "AB"}]}),
        )
        .unwrap();
        assert_eq!(destination(&spec).unwrap_err().key, "products[0].id");
    }
}
