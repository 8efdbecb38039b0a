//! Where-to-buy links (`retailer: "multi"`, `intent: "where_to_buy"`): one short link, a page
//! at the edge, one button per retailer. Each offer is a retailer's own link, validated by
//! `link::validate_link` exactly as a single-retailer link of the same project would be (its
//! problems reported under `offers[i].`), and the page's content is checked here. The redirect
//! record of such a link carries the page and every offer's destination and lifecycle
//! (`PageRecord`), so the page and the offer redirects need one KV read.

use super::error::FieldError;
use super::link::{validate_link, LinkSpec, Tracking};
use super::qr::{contrast_ratio, Rgb};
use super::record::{status_at, Status};
use super::retailers::Retailer;
use super::time::parse_rfc3339;
use super::validate::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub const MIN_OFFERS: usize = 2;
pub const MAX_OFFERS: usize = 8;
pub const MAX_ITEMS: usize = 12;
pub const MAX_TITLE: usize = 120;
pub const MAX_SUBTITLE: usize = 200;
pub const MAX_ITEM_NAME: usize = 120;
pub const MAX_ITEM_SIZE: usize = 40;
/// Longest image URL of a page (as given and once normalised): with every field at its
/// limit the page stays under 14 KiB compressed (`page::tests`).
pub const MAX_IMAGE_URL: usize = 512;
/// WCAG AA contrast for normal text: the page's buttons carry white text on `brandColor`.
pub const MIN_BUTTON_CONTRAST: f64 = 4.5;
/// The buttons' colour when the page names none (contrast with white: 6.7:1).
pub const DEFAULT_BRAND_COLOR: &str = "#1d4ed8";

/// The fields of an offer.
pub const OFFER_FIELDS: [&str; 8] = [
    "retailer",
    "intent",
    "products",
    "customUrl",
    "fallbackUrl",
    "options",
    "tracking",
    "status",
];
/// The fields of `page`.
pub const PAGE_FIELDS: [&str; 6] = [
    "title",
    "subtitle",
    "logoUrl",
    "heroImageUrl",
    "brandColor",
    "items",
];
pub const ITEM_FIELDS: [&str; 3] = ["name", "imageUrl", "size"];

/// A validated offer: the retailer's link, and whether it is switched off.
#[derive(Clone, Debug)]
pub struct Offer {
    pub spec: LinkSpec,
    pub disabled: bool,
}

/// One product shown on the page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    #[serde(rename = "z", default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
}

/// A validated page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub title: String,
    pub subtitle: Option<String>,
    pub logo_url: Option<String>,
    pub hero_image_url: Option<String>,
    /// `#rrggbb`, lowercase.
    pub brand_color: Option<String>,
    pub items: Vec<Item>,
}

/// An offer as the redirect record holds it: what its button and `/{shortId}/{retailer}` need.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferRecord {
    #[serde(rename = "r")]
    pub retailer: String,
    /// Destination with tracking parameters applied.
    #[serde(rename = "d")]
    pub dest: String,
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<i64>,
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(rename = "x", default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    #[serde(rename = "w", default, skip_serializing_if = "is_false")]
    pub forward_query: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl OfferRecord {
    pub fn status(&self, now_ms: i64) -> Status {
        status_at(self.disabled, self.starts_at, self.expires_at, now_ms)
    }
}

/// The page as the redirect record holds it (compact keys: it is parsed on every view).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRecord {
    #[serde(rename = "t")]
    pub title: String,
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    #[serde(rename = "g", default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    #[serde(rename = "h", default, skip_serializing_if = "Option::is_none")]
    pub hero_image_url: Option<String>,
    #[serde(rename = "b", default, skip_serializing_if = "Option::is_none")]
    pub brand_color: Option<String>,
    #[serde(rename = "i", default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
    #[serde(rename = "o", default)]
    pub offers: Vec<OfferRecord>,
}

impl PageRecord {
    /// The offer of a retailer (`/{shortId}/{retailer}`): each retailer has at most one.
    pub fn offer(&self, retailer: &str) -> Option<&OfferRecord> {
        self.offers.iter().find(|o| o.retailer == retailer)
    }
}

/// The record of a validated page with its offers' destinations (`targets[i]` of offer `i`).
pub fn page_record(page: &Page, offers: &[Offer], targets: &[String]) -> PageRecord {
    PageRecord {
        title: page.title.clone(),
        subtitle: page.subtitle.clone(),
        logo_url: page.logo_url.clone(),
        hero_image_url: page.hero_image_url.clone(),
        brand_color: page.brand_color.clone(),
        items: page.items.clone(),
        offers: offers
            .iter()
            .zip(targets)
            .map(|(o, dest)| OfferRecord {
                retailer: o.spec.retailer.as_str().to_string(),
                dest: dest.clone(),
                fallback: o.spec.fallback_url.clone(),
                starts_at: o.spec.options.starts_at,
                expires_at: o.spec.options.expires_at,
                disabled: o.disabled,
                forward_query: o.spec.options.forward_query,
            })
            .collect(),
    }
}

/// The tracking parameters of an offer's destination: the link's, then the offer's own (an
/// offer's parameter replaces the link's of the same name).
pub fn offer_params(link: &Tracking, offer: &Tracking) -> Vec<(String, String)> {
    let mut out = link.params.clone();
    for (k, v) in &offer.params {
        match out.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1 = v.clone(),
            None => out.push((k.clone(), v.clone())),
        }
    }
    out
}

/// What the link around its offers says: every offer belongs to the link's project and has
/// its name (for an Instacart page's title) and location (a Walmart store).
pub struct Around<'a> {
    pub project_id: Option<&'a str>,
    pub name: Option<&'a str>,
    pub public_name: Option<&'a str>,
    pub location: Option<&'a Value>,
}

/// Validates `offers` and `page` of a request. `multi`: the link is a where-to-buy link
/// (both are then required); `known`: its retailer is known (else nothing is said of them).
/// The normalised fields go to `fields`.
pub fn validate(
    obj: &Map<String, Value>,
    multi: bool,
    known: bool,
    around: &Around,
    fields: &mut Map<String, Value>,
    p: &mut Problems,
) -> (Vec<Offer>, Option<Page>) {
    if !multi {
        if known {
            for key in ["offers", "page"] {
                if obj.contains_key(key) {
                    p.rule(
                        key,
                        "not_allowed",
                        format!("'{key}' is only used by multi where_to_buy links"),
                    );
                }
            }
        }
        return (Vec::new(), None);
    }
    for key in ["offers", "page"] {
        if !obj.contains_key(key) {
            p.rule(
                key,
                "required",
                format!("'{key}' is required for multi where_to_buy links"),
            );
        }
    }
    let offers = validate_offers(obj, around, fields, p);
    let page = validate_page(obj, fields, p);
    (offers, page)
}

fn validate_offers(
    obj: &Map<String, Value>,
    around: &Around,
    fields: &mut Map<String, Value>,
    p: &mut Problems,
) -> Vec<Offer> {
    let Some(items) = bounded_array(obj, "offers", "", (MIN_OFFERS, MAX_OFFERS), "offers", p)
    else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(items.len());
    let mut normalised = Vec::with_capacity(items.len());
    let mut seen: Vec<(Retailer, usize)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let base = format!("offers[{i}]");
        let Value::Object(o) = item else {
            p.push(
                &base,
                "invalid_type",
                format!("Must be an object, got {}", json_type(item)),
            );
            normalised.push(item.clone());
            continue;
        };
        reject_unknown(o, &OFFER_FIELDS, &base, p);
        let disabled = match o.get("status") {
            None => false,
            Some(Value::String(s)) if s == "active" => false,
            Some(Value::String(s)) if s == "disabled" => true,
            Some(_) => {
                p.push(
                    path(&base, "status"),
                    "invalid_enum",
                    "An offer's status is 'active' or 'disabled'",
                );
                false
            }
        };
        let retailer = o.get("retailer").and_then(Value::as_str);
        if retailer == Some(Retailer::Multi.as_str()) {
            p.rule(
                path(&base, "retailer"),
                "not_allowed",
                "An offer is one retailer's link: 'multi' cannot be an offer",
            );
            normalised.push(item.clone());
            continue;
        }
        if let Some(r) = retailer.and_then(Retailer::parse) {
            if let Some((_, j)) = seen.iter().find(|(s, _)| *s == r) {
                p.rule(
                    path(&base, "retailer"),
                    "duplicate",
                    format!(
                        "offers[{j}] is already {}'s: a page has one offer per retailer",
                        r.as_str()
                    ),
                );
            } else {
                seen.push((r, i));
            }
        }
        let mut body = Map::new();
        for k in OFFER_FIELDS.iter().filter(|k| **k != "status") {
            if let Some(v) = o.get(*k) {
                body.insert((*k).into(), v.clone());
            }
        }
        // The link's own fields, as they stand (their problems are the link's).
        body.insert("projectId".into(), json!(around.project_id.unwrap_or("p")));
        body.insert("name".into(), json!(around.name.unwrap_or("n")));
        if let Some(n) = around.public_name {
            body.insert("publicName".into(), json!(n));
        }
        if let Some(l) = around.location {
            body.insert("location".into(), l.clone());
        }
        match validate_link(&Value::Object(body)) {
            Ok(spec) => {
                if spec.options.max_clicks.is_some() {
                    p.rule(
                        format!("{base}.options.maxClicks"),
                        "not_allowed",
                        "Offers are not capped: a where-to-buy page serves every shopper",
                    );
                }
                if !spec.tracking.tags.is_empty() {
                    p.rule(
                        format!("{base}.tracking.tags"),
                        "not_allowed",
                        "Tags belong to the link: put them in the link's tracking.tags",
                    );
                }
                let mut norm = spec.fields.clone();
                for k in ["projectId", "name", "publicName", "location"] {
                    norm.remove(k);
                }
                norm.insert(
                    "status".into(),
                    json!(if disabled { "disabled" } else { "active" }),
                );
                normalised.push(Value::Object(norm));
                out.push(Offer { spec, disabled });
            }
            Err(invalid) => {
                let kind = invalid.kind;
                let errors: Vec<FieldError> = invalid
                    .errors
                    .into_iter()
                    .filter(|e| !is_the_links(&e.key))
                    .map(|e| FieldError {
                        key: if e.key.is_empty() {
                            base.clone()
                        } else {
                            format!("{base}.{}", e.key)
                        },
                        ..e
                    })
                    .collect();
                p.absorb(super::error::Invalid { kind, errors });
                normalised.push(item.clone());
            }
        }
    }
    fields.insert("offers".into(), Value::Array(normalised));
    out
}

/// Problems of the fields an offer takes from its link (reported at the link's keys).
fn is_the_links(key: &str) -> bool {
    ["projectId", "name", "publicName"].contains(&key)
        || key == "location"
        || key.starts_with("location.")
}

/// An image of the page: an https URL (the page's policy loads images over https only) of at
/// most `MAX_IMAGE_URL` characters.
fn image_url(o: &Map<String, Value>, key: &str, base: &str, p: &mut Problems) -> Option<String> {
    let s = opt_string(o, key, base, 1, usize::MAX, p)?;
    let k = path(base, key);
    let u = check_web_url(s, &k, MAX_IMAGE_URL, p)?;
    if !u.starts_with("https://") {
        p.push(
            k,
            "invalid_url",
            "Images must be https URLs (the page loads images over https only)",
        );
        return None;
    }
    Some(u)
}

/// `#rrggbb`, lowercase, when `s` is one.
pub fn parse_brand_color(s: &str) -> Option<String> {
    let hex = s.strip_prefix('#')?;
    (hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("#{}", hex.to_ascii_lowercase()))
}

fn validate_page(
    obj: &Map<String, Value>,
    fields: &mut Map<String, Value>,
    p: &mut Problems,
) -> Option<Page> {
    let o = opt_object(obj, "page", "", p)?;
    let before = p.count();
    reject_unknown(o, &PAGE_FIELDS, "page", p);
    let title = req_string(o, "title", "page", 1, MAX_TITLE, p);
    let subtitle = opt_string(o, "subtitle", "page", 1, MAX_SUBTITLE, p);
    let logo_url = image_url(o, "logoUrl", "page", p);
    let hero_image_url = image_url(o, "heroImageUrl", "page", p);
    let brand_color = opt_string(o, "brandColor", "page", 1, 7, p).and_then(|s| {
        let c = parse_brand_color(s);
        if c.is_none() {
            p.push(
                "page.brandColor",
                "invalid_format",
                "A colour is #rrggbb (six hex digits)",
            );
        }
        c
    });
    if let Some(rgb) = brand_color.as_deref().and_then(Rgb::parse_hex) {
        let ratio = contrast_ratio(rgb, Rgb::WHITE);
        if ratio < MIN_BUTTON_CONTRAST {
            p.rule(
                "page.brandColor",
                "insufficient_contrast",
                format!(
                    "The buttons carry white text on brandColor: their contrast is {:.2}:1, \
                     below the {MIN_BUTTON_CONTRAST}:1 WCAG AA asks of text. Choose a darker colour",
                    (ratio * 100.0).floor() / 100.0
                ),
            );
        }
    }
    let mut items = Vec::new();
    let mut items_norm = Vec::new();
    if let Some(list) = bounded_array(o, "items", "page", (0, MAX_ITEMS), "items", p) {
        for (i, v) in list.iter().enumerate() {
            let base = format!("page.items[{i}]");
            let Value::Object(it) = v else {
                p.push(
                    &base,
                    "invalid_type",
                    format!("Must be an object, got {}", json_type(v)),
                );
                items_norm.push(v.clone());
                continue;
            };
            reject_unknown(it, &ITEM_FIELDS, &base, p);
            let name = req_string(it, "name", &base, 1, MAX_ITEM_NAME, p);
            let image_url = image_url(it, "imageUrl", &base, p);
            let size = opt_string(it, "size", &base, 1, MAX_ITEM_SIZE, p);
            let mut n = it.clone();
            if let Some(u) = &image_url {
                n.insert("imageUrl".into(), json!(u));
            }
            items_norm.push(Value::Object(n));
            if let Some(name) = name {
                items.push(Item {
                    name: name.to_string(),
                    image_url,
                    size: size.map(str::to_string),
                });
            }
        }
    }
    let mut norm = o.clone();
    for (k, v) in [
        ("logoUrl", &logo_url),
        ("heroImageUrl", &hero_image_url),
        ("brandColor", &brand_color),
    ] {
        if let Some(v) = v {
            norm.insert(k.into(), json!(v));
        }
    }
    if o.contains_key("items") {
        norm.insert("items".into(), Value::Array(items_norm));
    }
    fields.insert("page".into(), Value::Object(norm));
    if p.count() > before {
        return None;
    }
    Some(Page {
        title: title?.to_string(),
        subtitle: subtitle.map(str::to_string),
        logo_url,
        hero_image_url,
        brand_color,
        items,
    })
}

/// An offer's status now, from its stored fields (`status`, `options.startsAt`/`expiresAt`):
/// what the link's representation shows of each offer.
pub fn stored_offer_status(offer: &Map<String, Value>, now_ms: i64) -> Status {
    let disabled = offer.get("status").and_then(Value::as_str) == Some("disabled");
    let at = |k: &str| {
        offer
            .get("options")
            .and_then(|o| o.get(k))
            .and_then(Value::as_str)
            .and_then(parse_rfc3339)
    };
    status_at(disabled, at("startsAt"), at("expiresAt"), now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::error::Kind;

    pub fn four_retailers() -> Value {
        json!({"projectId": "proj_123", "name": "Grill kit", "retailer": "multi",
            "intent": "where_to_buy",
            "offers": [
                {"retailer": "walmart", "intent": "add_to_cart",
                 "products": [{"retailerProductId": "123456789", "quantity": 2}]},
                {"retailer": "target", "intent": "product_detail",
                 "products": [{"retailerProductId": "12345678"}]},
                {"retailer": "amazon", "intent": "add_to_cart",
                 "products": [{"retailerProductId": "B07XJ8C8F5"}],
                 "options": {"amazon": {"associateTag": "brand-20"}}},
                {"retailer": "instacart", "intent": "product_detail",
                 "products": [{"retailerProductId": "324877"}],
                 "options": {"instacart": {"retailerKey": "publix"}}}
            ],
            "page": {"title": "Summer grill kit", "subtitle": "Pick your store",
                "logoUrl": "https://cdn.brand.example/logo.png", "brandColor": "#1A237E",
                "items": [{"name": "Charcoal", "size": "20 lb",
                           "imageUrl": "https://cdn.brand.example/charcoal.png"}]}})
    }

    fn keys(v: Value) -> (Kind, Vec<(String, &'static str)>) {
        let e = validate_link(&v).unwrap_err();
        (e.kind, e.keys())
    }

    fn k(key: &str, code: &'static str) -> (String, &'static str) {
        (key.to_string(), code)
    }

    #[test]
    fn every_offer_is_its_retailers_link() {
        let spec = validate_link(&four_retailers()).unwrap();
        assert_eq!(spec.retailer, Retailer::Multi);
        let dests: Vec<String> = spec
            .offers
            .iter()
            .map(|o| o.spec.destination().unwrap())
            .collect();
        assert_eq!(
            dests,
            [
                "https://www.walmart.com/sc/cart/addToCart?items=123456789_2",
                "https://www.target.com/p/-/A-12345678",
                "https://www.amazon.com/gp/aws/cart/add.html?AssociateTag=brand-20&ASIN.1=B07XJ8C8F5&Quantity.1=1",
                "https://www.instacart.com/products/324877?retailerSlug=publix",
            ]
        );
        let page = spec.page.as_ref().unwrap();
        assert_eq!(page.brand_color.as_deref(), Some("#1a237e"));
        assert_eq!(page.items[0].size.as_deref(), Some("20 lb"));
        // Echoed normalised, with each offer's status.
        assert_eq!(spec.fields["offers"][0]["status"], "active");
        assert_eq!(
            spec.fields["offers"][0]["products"][0],
            json!({"retailerProductId": "123456789", "quantity": 2, "backupProductIds": []})
        );
        assert!(spec.fields["offers"][0].get("projectId").is_none());
        assert_eq!(spec.fields["page"]["brandColor"], "#1a237e");
    }

    #[test]
    fn offer_problems_are_reported_at_their_offer() {
        let mut v = four_retailers();
        v["offers"][0]["products"][0]["quantity"] = json!(0);
        v["offers"][1]["colour"] = json!("red");
        v["offers"][3]["status"] = json!("paused");
        assert_eq!(
            keys(v),
            (
                Kind::Shape,
                vec![
                    k("offers[0].products[0].quantity", "out_of_range"),
                    k("offers[1].colour", "unknown_field"),
                    k("offers[3].status", "invalid_enum"),
                ]
            )
        );
        let mut v = four_retailers();
        v["offers"][1]["intent"] = json!("add_to_cart");
        v["offers"][1]["products"] =
            json!([{"retailerProductId": "1"}, {"retailerProductId": "2"}]);
        v["offers"][2]["products"] = json!([{"retailerProductId": "123"}]);
        v["offers"][3]["retailer"] = json!("walmart");
        v["offers"][3]["intent"] = json!("recipe");
        v["offers"][3].as_object_mut().unwrap().remove("options");
        assert_eq!(
            keys(v),
            (
                Kind::Rule,
                vec![
                    k("offers[1].products", "unsupported"),
                    k("offers[2].products[0].retailerProductId", "invalid_id"),
                    k("offers[3].retailer", "duplicate"),
                    k("offers[3].intent", "unsupported_intent"),
                ]
            )
        );
    }

    #[test]
    fn where_to_buy_rules() {
        let mut v = four_retailers();
        v["offers"][0]["retailer"] = json!("multi");
        v["offers"][1]["options"] = json!({"maxClicks": 5});
        v["offers"][2]["tracking"] = json!({"tags": ["x"]});
        assert_eq!(
            keys(v),
            (
                Kind::Rule,
                vec![
                    k("offers[0].retailer", "not_allowed"),
                    k("offers[1].options.maxClicks", "not_allowed"),
                    k("offers[2].tracking.tags", "not_allowed"),
                ]
            )
        );
        let mut v = four_retailers();
        let o = v.as_object_mut().unwrap();
        o.remove("offers");
        o.remove("page");
        o.insert("products".into(), json!([{"retailerProductId": "1"}]));
        o.insert("customUrl".into(), json!("https://brand.example/"));
        assert_eq!(
            keys(v).1,
            vec![
                k("products", "not_allowed"),
                k("offers", "required"),
                k("page", "required"),
                k("customUrl", "not_allowed"),
            ]
        );
        let w = json!({"projectId": "p", "name": "n", "retailer": "walmart", "intent": "add_to_cart",
            "products": [{"retailerProductId": "1"}], "offers": [], "page": {}});
        assert_eq!(
            keys(w),
            (
                Kind::Rule,
                vec![k("offers", "not_allowed"), k("page", "not_allowed")]
            )
        );
        let mut v = four_retailers();
        v["intent"] = json!("custom_url");
        assert_eq!(keys(v).1, vec![k("intent", "unsupported_intent")]);
        let mut v = four_retailers();
        v["options"] = json!({"maxClicks": 3, "forwardQuery": true});
        assert_eq!(
            keys(v).1,
            vec![
                k("options.maxClicks", "not_allowed"),
                k("options.forwardQuery", "not_allowed")
            ]
        );
    }

    #[test]
    fn page_shape_limits_and_contrast() {
        let mut v = four_retailers();
        v["page"] = json!({"title": "", "subtitle": "s".repeat(201),
            "logoUrl": "http://cdn.brand.example/logo.png", "heroImageUrl": format!("https://x.example/{}", "a".repeat(600)),
            "brandColor": "blue", "items": [{"size": "1"}, {"name": "x", "imageUrl": "javascript:x"}, 3],
            "font": "serif"});
        assert_eq!(
            keys(v).1,
            vec![
                k("page.font", "unknown_field"),
                k("page.title", "too_short"),
                k("page.subtitle", "too_long"),
                k("page.logoUrl", "invalid_url"),
                k("page.heroImageUrl", "too_long"),
                k("page.brandColor", "invalid_format"),
                k("page.items[0].name", "required"),
                k("page.items[1].imageUrl", "invalid_url"),
                k("page.items[2]", "invalid_type"),
            ]
        );
        let items: Vec<Value> = (0..13).map(|i| json!({"name": format!("i{i}")})).collect();
        let mut v = four_retailers();
        v["page"]["items"] = Value::Array(items);
        assert_eq!(keys(v).1, vec![k("page.items", "invalid_length")]);
        let mut v = four_retailers();
        v["offers"] = json!([v["offers"][0]]);
        assert_eq!(keys(v).1, vec![k("offers", "invalid_length")]);
        // White text on a light colour fails WCAG AA: a rule, saying why.
        for (color, ok) in [
            ("#777777", false),
            ("#767676", true),
            ("#ffcc00", false),
            ("#1d4ed8", true),
        ] {
            let mut v = four_retailers();
            v["page"]["brandColor"] = json!(color);
            match validate_link(&v) {
                Ok(_) => assert!(ok, "{color}"),
                Err(e) => {
                    assert!(!ok, "{color}");
                    assert_eq!(e.kind, Kind::Rule);
                    assert_eq!(
                        e.keys(),
                        vec![k("page.brandColor", "insufficient_contrast")]
                    );
                    assert!(
                        e.errors[0].message.contains("4.5:1"),
                        "{}",
                        e.errors[0].message
                    );
                }
            }
        }
        assert!(contrast_ratio(Rgb::parse_hex(DEFAULT_BRAND_COLOR).unwrap(), Rgb::WHITE) >= 4.5);
    }

    #[test]
    fn offer_tracking_adds_to_the_links() {
        let link = Tracking {
            params: vec![
                ("utm_source".into(), "ig".into()),
                ("ref".into(), "a".into()),
            ],
            tags: vec![],
        };
        let offer = Tracking {
            params: vec![("ref".into(), "b".into()), ("aff".into(), "c".into())],
            tags: vec![],
        };
        assert_eq!(
            offer_params(&link, &offer),
            vec![
                ("utm_source".to_string(), "ig".to_string()),
                ("ref".to_string(), "b".to_string()),
                ("aff".to_string(), "c".to_string())
            ]
        );
    }

    #[test]
    fn records_round_trip_compactly() {
        let spec = validate_link(&four_retailers()).unwrap();
        let targets: Vec<String> = spec
            .offers
            .iter()
            .map(|o| o.spec.destination().unwrap())
            .collect();
        let rec = page_record(spec.page.as_ref().unwrap(), &spec.offers, &targets);
        let s = serde_json::to_string(&rec).unwrap();
        assert!(s.starts_with(r##"{"t":"Summer grill kit","u":"Pick your store","g":"https://cdn.brand.example/logo.png","b":"#1a237e","i":[{"n":"Charcoal","i":"https://cdn.brand.example/charcoal.png","z":"20 lb"}],"o":[{"r":"walmart","d":"https://www.walmart.com/sc/cart/addToCart?items=123456789_2"}"##), "{s}");
        assert_eq!(serde_json::from_str::<PageRecord>(&s).unwrap(), rec);
        assert_eq!(rec.offer("amazon").unwrap().dest, targets[2]);
        assert!(rec.offer("kroger").is_none());
    }

    #[test]
    fn offer_status_from_its_stored_fields() {
        let o = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            stored_offer_status(&o(json!({"status": "active"})), 5),
            Status::Active
        );
        assert_eq!(
            stored_offer_status(&o(json!({"status": "disabled"})), 5),
            Status::Disabled
        );
        let expired = o(json!({"options": {"expiresAt": "2026-01-01T00:00:00Z"}}));
        assert_eq!(
            stored_offer_status(&expired, 1_767_225_600_000),
            Status::Expired
        );
        assert_eq!(
            stored_offer_status(&expired, 1_767_225_599_999),
            Status::Active
        );
    }
}
