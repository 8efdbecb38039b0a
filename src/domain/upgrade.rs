//! Links and QR codes stored by earlier versions, read in today's shapes. Every stored link
//! and QR code passes through here when it is read, so old and new records answer alike;
//! on the next write the upgraded form is stored. The redirect records shoppers follow are
//! not touched: their format did not change.
//!
//! The earlier forms: products as `{"id", "quantity"}`; tracking as flat `utmSource`,
//! `utmMedium`, …; Instacart line items in `products` with `options.recipe`,
//! `options.expiresInDays`, `options.partnerLinkbackUrl`, `options.enablePantryItems`; QR
//! style fields (`size`, `margin`, `ec`, `fg`, `bg`) directly in `defaultQrCode`; QR code
//! objects without `identifier` and `metadata`; no `updatedAt` before the first change.
//! Upgrading a record already in today's shapes changes nothing.

use super::qr_code::{DEFAULT_IDENTIFIER, STYLE_FIELDS};
use super::record::QR_PARAM;
use serde_json::{json, Map, Value};

const OLD_UTM: [(&str, &str); 5] = [
    ("utmSource", "source"),
    ("utmMedium", "medium"),
    ("utmCampaign", "campaign"),
    ("utmTerm", "term"),
    ("utmContent", "content"),
];

/// Upgrades a stored link's representation in place.
pub fn link(data: &mut Map<String, Value>) {
    // Instacart links of earlier versions were pages (product pages take products as others).
    let instacart = data.get("retailer").and_then(Value::as_str) == Some("instacart")
        && data.get("intent").and_then(Value::as_str) != Some("product_detail");
    if instacart {
        instacart_content(data);
    } else if let Some(Value::Array(products)) = data.get_mut("products") {
        for p in products.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(id) = p.remove("id") {
                p.insert("retailerProductId".into(), id);
            }
            p.entry("backupProductIds").or_insert_with(|| json!([]));
        }
    }
    if let Some(Value::Object(t)) = data.get_mut("tracking") {
        let mut utm = Map::new();
        for (old, new) in OLD_UTM {
            if let Some(v) = t.remove(old) {
                utm.insert(new.into(), v);
            }
        }
        if !utm.is_empty() {
            t.insert("utm".into(), Value::Object(utm));
        }
    }
    if let Some(Value::Object(q)) = data.get_mut("defaultQrCode") {
        style_under(q);
    }
    if let Some(Value::Object(q)) = data.get_mut("qrCode") {
        qr(q);
    }
    if !data.contains_key("updatedAt") {
        if let Some(c) = data.get("createdAt").cloned() {
            data.insert("updatedAt".into(), c);
        }
    }
}

/// Upgrades a stored QR code object in place. A named code stored without an identifier
/// gets `qr-<marker>` (its marker is in its encoded URL), the default code `default`.
pub fn qr(q: &mut Map<String, Value>) {
    if !q.contains_key("identifier") {
        let id = if q.get("isDefault").and_then(Value::as_bool) == Some(true) {
            DEFAULT_IDENTIFIER.to_string()
        } else {
            let marker = q
                .get("encodedUrl")
                .and_then(Value::as_str)
                .and_then(|u| u.rsplit_once(&format!("?{QR_PARAM}=")))
                .map(|(_, m)| m.to_string())
                .unwrap_or_default();
            format!("qr-{marker}")
        };
        q.insert("identifier".into(), json!(id));
    }
    q.entry("metadata").or_insert_with(|| json!({}));
}

/// Flat QR style fields move under `style`.
fn style_under(q: &mut Map<String, Value>) {
    let mut style = Map::new();
    for k in STYLE_FIELDS {
        if let Some(v) = q.remove(k) {
            style.insert(k.into(), v);
        }
    }
    if !style.is_empty() {
        q.insert("style".into(), Value::Object(style));
    }
}

/// Instacart line items and options move under `options.instacart`.
fn instacart_content(data: &mut Map<String, Value>) {
    let recipe = data.get("intent").and_then(Value::as_str) == Some("recipe");
    let items = data.remove("products");
    let options = data
        .entry("options")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    let Some(options) = options else {
        return;
    };
    let mut ic = match options.remove("instacart") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    for k in ["expiresInDays", "partnerLinkbackUrl", "enablePantryItems"] {
        if let Some(v) = options.remove(k) {
            ic.insert(k.into(), v);
        }
    }
    let old_recipe = options.remove("recipe");
    if let Some(items) = items {
        let (kind, field) = if recipe {
            ("recipe", "ingredients")
        } else {
            ("shoppingList", "lineItems")
        };
        let mut content = match old_recipe {
            Some(Value::Object(r)) if recipe => r,
            _ => Map::new(),
        };
        content.insert(field.into(), items);
        ic.insert(kind.into(), Value::Object(content));
    }
    if !ic.is_empty() {
        options.insert("instacart".into(), Value::Object(ic));
    }
    if options.is_empty() {
        data.remove("options");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::link::{validate_link, TOP_LEVEL_FIELDS};

    fn request_fields(data: &Map<String, Value>) -> Value {
        Value::Object(
            data.iter()
                .filter(|(k, _)| TOP_LEVEL_FIELDS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn an_old_walmart_link_reads_in_todays_shape_and_validates() {
        let mut data = json!({
            "id": "lnk_x", "projectId": "proj_123", "name": "n", "publicName": "n",
            "retailer": "walmart", "intent": "add_to_cart",
            "products": [{"id": "123", "quantity": 2}],
            "tracking": {"utmSource": "ig", "utmCampaign": "summer", "params": {"ref": "pk"}},
            "defaultQrCode": {"name": "Shelf", "size": 256, "ec": "Q"},
            "qrCode": {"id": "qr_x", "isDefault": true, "encodedUrl": "https://s/abc?qr=1"},
            "createdAt": "2026-05-20T07:19:00Z"
        })
        .as_object()
        .cloned()
        .unwrap();
        link(&mut data);
        assert_eq!(
            data["products"],
            json!([{"retailerProductId": "123", "quantity": 2, "backupProductIds": []}])
        );
        assert_eq!(
            data["tracking"],
            json!({"utm": {"source": "ig", "campaign": "summer"}, "params": {"ref": "pk"}})
        );
        assert_eq!(
            data["defaultQrCode"],
            json!({"name": "Shelf", "style": {"size": 256, "ec": "Q"}})
        );
        assert_eq!(data["qrCode"]["identifier"], "default");
        assert_eq!(data["qrCode"]["metadata"], json!({}));
        assert_eq!(data["updatedAt"], "2026-05-20T07:19:00Z");
        let spec = validate_link(&request_fields(&data)).unwrap();
        assert_eq!(spec.tracking.params[0], ("utm_source".into(), "ig".into()));
        // Today's shape is a fixed point.
        let before = data.clone();
        link(&mut data);
        assert_eq!(data, before);
    }

    #[test]
    fn an_old_instacart_recipe_reads_in_todays_shape_and_validates() {
        let mut data = json!({
            "projectId": "proj_123", "name": "Tacos", "retailer": "instacart", "intent": "recipe",
            "products": [{"name": "tortillas", "quantity": 8, "unit": "each"}],
            "options": {"recipe": {"servings": 4, "author": "Chef"}, "expiresInDays": 10,
                        "maxClicks": 5},
            "createdAt": "2026-05-20T07:19:00Z", "updatedAt": "2026-05-21T07:19:00Z"
        })
        .as_object()
        .cloned()
        .unwrap();
        link(&mut data);
        assert!(!data.contains_key("products"));
        assert_eq!(
            data["options"],
            json!({"maxClicks": 5, "instacart": {"expiresInDays": 10, "recipe": {
                "servings": 4, "author": "Chef",
                "ingredients": [{"name": "tortillas", "quantity": 8, "unit": "each"}]}}})
        );
        assert_eq!(data["updatedAt"], "2026-05-21T07:19:00Z");
        let spec = validate_link(&request_fields(&data)).unwrap();
        let page = spec.instacart.unwrap();
        assert_eq!(page.options.recipe.unwrap().servings, Some(4));
        assert_eq!(page.line_items.len(), 1);
        let before = data.clone();
        link(&mut data);
        assert_eq!(data, before);
    }

    #[test]
    fn an_old_shopping_list_moves_its_items() {
        let mut data = json!({
            "projectId": "p", "name": "List", "retailer": "instacart", "intent": "shopping_list",
            "products": [{"name": "milk"}], "options": {"partnerLinkbackUrl": "https://b.example/"}
        })
        .as_object()
        .cloned()
        .unwrap();
        link(&mut data);
        assert_eq!(
            data["options"],
            json!({"instacart": {"partnerLinkbackUrl": "https://b.example/",
                                 "shoppingList": {"lineItems": [{"name": "milk"}]}}})
        );
        assert!(validate_link(&request_fields(&data)).is_ok());
    }

    #[test]
    fn old_named_qr_codes_get_an_identifier_from_their_marker() {
        let mut q = json!({"id": "qr_y", "isDefault": false, "encodedUrl": "https://s/abc?qr=3",
                           "name": "Shelf"})
        .as_object()
        .cloned()
        .unwrap();
        qr(&mut q);
        assert_eq!(q["identifier"], "qr-3");
        assert_eq!(q["metadata"], json!({}));
        let before = q.clone();
        qr(&mut q);
        assert_eq!(q, before);
    }
}
