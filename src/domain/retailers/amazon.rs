//! Amazon: product pages (`/dp/{ASIN}`) and carts through Amazon's Add to Cart form
//! (`/gp/aws/cart/add.html?AssociateTag=…&ASIN.1=…&Quantity.1=…`), with the Associates tag of
//! the link (`options.amazon.associateTag`) or of its project (`AMAZON_ASSOCIATE_TAGS`). The
//! evidence for both forms is in docs/destinations.md.

use super::{
    check_one_product, custom_url, encode, only_product, unsupported, IdForm, Intent,
    NoDestination, Order, ProductRef, ProductRules,
};
use crate::domain::validate::*;
use serde_json::{Map, Value};

pub(super) const INTENTS: &[Intent] =
    &[Intent::AddToCart, Intent::ProductDetail, Intent::CustomUrl];

pub(super) const PRODUCTS: ProductRules = ProductRules {
    id_name: "ASIN",
    offers: false,
    id: IdForm::Asin,
};

const PRODUCT: &str = "https://www.amazon.com/dp/";
const CART: &str = "https://www.amazon.com/gp/aws/cart/add.html";

/// Where Amazon's options live in a link request, and their fields.
pub const BASE: &str = "options.amazon";
pub const FIELDS: [&str; 1] = ["associateTag"];

pub(super) fn check(order: &Order, p: &mut crate::domain::validate::Problems) {
    check_one_product(order, p);
}

pub(super) fn destination(order: &Order) -> Result<String, NoDestination> {
    match order.intent {
        Intent::ProductDetail => Ok(format!("{PRODUCT}{}", only_product(order)?)),
        Intent::AddToCart => {
            let mut url = String::with_capacity(CART.len() + 40 * order.products.len() + 40);
            url.push_str(CART);
            let mut sep = '?';
            if let Some(tag) = order.associate_tag {
                url.push_str("?AssociateTag=");
                url.push_str(&encode(tag));
                sep = '&';
            }
            for (i, s) in order.products.iter().enumerate() {
                let (ProductRef::Item(asin) | ProductRef::Offer(asin)) = &s.product;
                let n = i + 1;
                url.push(sep);
                url.push_str(&format!("ASIN.{n}={asin}&Quantity.{n}={}", s.quantity));
                sep = '&';
            }
            Ok(url)
        }
        Intent::CustomUrl => custom_url(order),
        Intent::ShoppingList | Intent::Recipe | Intent::WhereToBuy => {
            Err(unsupported(order.intent))
        }
    }
}

/// An Associates tag: 1–64 of `A-Z a-z 0-9 . _ -` (Amazon's tags look like `brand-20`).
pub fn is_associate_tag(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `options.amazon` (`o`, absent when `None`): only Amazon carts use it. Returns the link's
/// Associates tag.
pub fn validate(
    o: Option<&Map<String, Value>>,
    amazon_cart: bool,
    p: &mut Problems,
) -> Option<String> {
    let o = o?;
    reject_unknown(o, &FIELDS, BASE, p);
    let tag = opt_string(o, "associateTag", BASE, 1, 64, p).and_then(|t| {
        if is_associate_tag(t) {
            Some(t.to_string())
        } else {
            p.push(
                "options.amazon.associateTag",
                "invalid_format",
                "An Associates tag is 1–64 of A-Z a-z 0-9 . _ -",
            );
            None
        }
    });
    if !amazon_cart {
        p.rule(
            BASE,
            "not_allowed",
            "'options.amazon' is only used by amazon add_to_cart links",
        );
    }
    tag
}

#[cfg(test)]
mod tests {
    use crate::domain::link::validate_link;
    use serde_json::json;

    fn dest(body: serde_json::Value) -> String {
        validate_link(&body).unwrap().destination().unwrap()
    }

    #[test]
    fn product_page_and_cart_as_documented() {
        assert_eq!(
            dest(json!({"projectId": "p", "name": "n", "retailer": "amazon",
                "intent": "product_detail", "products": [{"retailerProductId": "B07XJ8C8F5"}]})),
            "https://www.amazon.com/dp/B07XJ8C8F5"
        );
        let cart = json!({"projectId": "p", "name": "n", "retailer": "amazon",
            "intent": "add_to_cart", "products": [{"retailerProductId": "B07XJ8C8F5", "quantity": 2},
            {"retailerProductId": "0316769487"}]});
        // Without a tag (none on the link, none configured for the project): no AssociateTag.
        assert_eq!(
            dest(cart.clone()),
            "https://www.amazon.com/gp/aws/cart/add.html?ASIN.1=B07XJ8C8F5&Quantity.1=2&ASIN.2=0316769487&Quantity.2=1"
        );
        let mut tagged = cart;
        tagged["options"] = json!({"amazon": {"associateTag": "brand-20"}});
        assert_eq!(
            dest(tagged),
            "https://www.amazon.com/gp/aws/cart/add.html?AssociateTag=brand-20&ASIN.1=B07XJ8C8F5&Quantity.1=2&ASIN.2=0316769487&Quantity.2=1"
        );
    }

    #[test]
    fn the_project_tag_is_used_when_the_link_has_none() {
        let spec = validate_link(&json!({"projectId": "p", "name": "n", "retailer": "amazon",
            "intent": "add_to_cart", "products": [{"retailerProductId": "B000000001"}]}))
        .unwrap();
        let mut order = spec.order();
        assert_eq!(order.associate_tag, None);
        order.associate_tag = Some("project-20");
        assert_eq!(
            super::destination(&order).unwrap(),
            "https://www.amazon.com/gp/aws/cart/add.html?AssociateTag=project-20&ASIN.1=B000000001&Quantity.1=1"
        );
    }

    #[test]
    fn asins_tags_and_where_options_amazon_goes() {
        let keys = |v| validate_link(&v).unwrap_err().keys();
        // A product id of the shape but not an ASIN: Amazon's rule, 422.
        let e = validate_link(&json!({"projectId": "p", "name": "n", "retailer": "amazon",
            "intent": "product_detail", "products": [{"retailerProductId": "123456789"}]}))
        .unwrap_err();
        assert_eq!(e.kind, crate::domain::error::Kind::Rule);
        assert_eq!(
            e.keys(),
            vec![("products[0].retailerProductId".into(), "invalid_id")]
        );
        assert!(
            e.errors[0].message.contains("ASIN"),
            "{}",
            e.errors[0].message
        );
        // Lowercase is no product id at all: 400.
        assert_eq!(
            keys(json!({"projectId": "p", "name": "n", "retailer": "amazon",
                "intent": "product_detail", "products": [{"retailerProductId": "b07xj8c8f5"}]})),
            vec![("products[0].retailerProductId".into(), "invalid_format")]
        );
        assert_eq!(
            keys(
                json!({"projectId": "p", "name": "n", "retailer": "amazon", "intent": "add_to_cart",
                "products": [{"retailerProductId": "B07XJ8C8F5"}],
                "options": {"amazon": {"associateTag": "no spaces"}}})
            ),
            vec![("options.amazon.associateTag".into(), "invalid_format")]
        );
        for (retailer, intent, products) in [
            (
                "amazon",
                "product_detail",
                json!([{"retailerProductId": "B07XJ8C8F5"}]),
            ),
            (
                "walmart",
                "add_to_cart",
                json!([{"retailerProductId": "1"}]),
            ),
        ] {
            let e = validate_link(&json!({"projectId": "p", "name": "n", "retailer": retailer,
                "intent": intent, "products": products,
                "options": {"amazon": {"associateTag": "brand-20"}}}))
            .unwrap_err();
            assert_eq!(
                e.keys(),
                vec![("options.amazon".into(), "not_allowed")],
                "{retailer}"
            );
        }
        // A product page takes one product.
        let e = validate_link(&json!({"projectId": "p", "name": "n", "retailer": "amazon",
            "intent": "product_detail", "products": [{"retailerProductId": "B07XJ8C8F5"},
            {"retailerProductId": "B07XJ8C8F6"}]}))
        .unwrap_err();
        assert_eq!(e.keys(), vec![("products".into(), "too_many")]);
    }
}
