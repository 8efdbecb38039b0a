//! Target: product pages (`/p/-/A-{TCIN}`). Target has no public add-to-cart URL, so an
//! add_to_cart link of one product opens its page, and of several goes to `fallbackUrl`.

use super::NoDestination;
use crate::domain::link::{LinkSpec, ProductRef};

pub(super) fn destination(spec: &LinkSpec) -> Result<String, NoDestination> {
    match spec.selections.as_slice() {
        [one] => match &one.product {
            ProductRef::Item(tcin) => Ok(format!("https://www.target.com/p/-/A-{tcin}")),
            ProductRef::Offer(_) => Err(NoDestination {
                key: "products[0].id",
                message: "Target products are identified by their TCIN in 'id'".into(),
            }),
        },
        _ => spec.fallback_url.clone().ok_or(NoDestination {
            key: "products",
            message: "Target has no public cart URL: several products need a fallbackUrl".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::link::validate_link;
    use crate::domain::retailers::destination;
    use serde_json::json;

    #[test]
    fn product_page_and_cart_rules() {
        for intent in ["product_detail", "add_to_cart"] {
            let spec = validate_link(&json!({"projectId": "p", "name": "n", "retailer": "target",
                "intent": intent, "products": [{"id": "12345678"}]}))
            .unwrap();
            assert_eq!(
                destination(&spec).unwrap(),
                "https://www.target.com/p/-/A-12345678"
            );
        }
        let spec = validate_link(&json!({"projectId": "p", "name": "n", "retailer": "target",
            "intent": "add_to_cart", "products": [{"id": "1"}, {"id": "2"}],
            "fallbackUrl": "https://www.target.com/c/grilling"}))
        .unwrap();
        assert_eq!(
            destination(&spec).unwrap(),
            "https://www.target.com/c/grilling"
        );
    }
}
