//! The link request: every field of the contract, validated with its limits, all problems at
//! once. Shape problems (types, lengths, patterns, unknown fields) and business-rule problems
//! (what a retailer and intent need or cannot do) are told apart: see `error::Invalid`. The
//! validated request is kept as JSON (it is echoed in responses and re-validated on updates),
//! plus the typed pieces the destination rules need. Every per-retailer decision is the
//! registry's (`retailers`).

use super::error::Invalid;
use super::ids::{is_chosen_short_id, is_reserved_segment};
use super::qr_code::{self, QrSpec, DEFAULT_IDENTIFIER, MAX_QR_CODES};
use super::retailers::{
    self, is_product_id_shape, Intent, NoDestination, Order, ProductRef, ProductRules, Retailer,
    Selection,
};
use super::retailers::{amazon, instacart};
use super::time::parse_rfc3339;
use super::validate::*;
use super::where_to_buy;
use serde_json::{json, Map, Value};

pub const MAX_QUANTITY: i64 = 50;
pub const MAX_PRODUCTS: usize = 100;
pub const MAX_BACKUPS: usize = 10;
pub const MAX_URL_LEN: usize = 2048;
pub const MAX_METADATA_BYTES: usize = 4096;
pub const MAX_TRACKING_PARAMS: usize = 20;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_LEN: usize = 64;

/// Tracking: parameters appended to the destination (in order) and the link's tags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tracking {
    pub params: Vec<(String, String)>,
    pub tags: Vec<String>,
}

/// `tracking.utm` fields and the query parameters they become, in the order they are appended.
pub const UTM_FIELDS: [(&str, &str); 5] = [
    ("source", "utm_source"),
    ("medium", "utm_medium"),
    ("campaign", "utm_campaign"),
    ("term", "utm_term"),
    ("content", "utm_content"),
];

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkOptions {
    pub starts_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub max_clicks: Option<u64>,
    pub forward_query: bool,
}

/// A validated link request.
#[derive(Clone, Debug)]
pub struct LinkSpec {
    pub project_id: String,
    pub name: String,
    pub retailer: Retailer,
    pub intent: Intent,
    pub selections: Vec<Selection>,
    pub custom_url: Option<String>,
    pub fallback_url: Option<String>,
    pub store_id: Option<String>,
    pub zip_code: Option<String>,
    pub tracking: Tracking,
    pub options: LinkOptions,
    /// The default QR code (`defaultQrCode`, defaults filled in).
    pub default_qr: QrSpec,
    /// A short id the caller chose (`shortId`), else one is drawn.
    pub short_id: Option<String>,
    /// QR codes already printed with their own address (`legacyQrCodes`): `/qr/{identifier}`.
    pub printed_qr: Vec<QrSpec>,
    /// The Instacart page an Instacart shopping list or recipe is made from.
    pub instacart: Option<instacart::Page>,
    /// The Associates tag of an Amazon cart (`options.amazon.associateTag`).
    pub associate_tag: Option<String>,
    /// The Instacart retailer of an Instacart product page (`options.instacart.retailerKey`).
    pub retailer_slug: Option<String>,
    /// The offers of a where-to-buy link, in page order.
    pub offers: Vec<where_to_buy::Offer>,
    /// The page of a where-to-buy link.
    pub page: Option<where_to_buy::Page>,
    /// The request's fields as validated, normalised (product quantities and backups filled
    /// in, ids as strings, URLs as shoppers reach them); echoed back and stored with the link.
    pub fields: Map<String, Value>,
}

impl LinkSpec {
    /// What the registry builds the destination from.
    pub fn order(&self) -> Order<'_> {
        Order {
            intent: self.intent,
            products: &self.selections,
            store_id: self.store_id.as_deref(),
            custom_url: self.custom_url.as_deref(),
            fallback_url: self.fallback_url.as_deref(),
            associate_tag: self.associate_tag.as_deref(),
            retailer_slug: self.retailer_slug.as_deref(),
        }
    }

    /// The destination before tracking parameters, for links whose URL we build.
    pub fn destination(&self) -> Result<String, NoDestination> {
        retailers::destination(self.retailer, &self.order())
    }
}

pub const TOP_LEVEL_FIELDS: [&str; 17] = [
    "projectId",
    "name",
    "retailer",
    "intent",
    "publicName",
    "products",
    "customUrl",
    "fallbackUrl",
    "location",
    "options",
    "tracking",
    "metadata",
    "defaultQrCode",
    "shortId",
    "legacyQrCodes",
    "offers",
    "page",
];

fn enum_field<T>(
    obj: &Map<String, Value>,
    key: &str,
    parse: fn(&str) -> Option<T>,
    options: &[&str],
    p: &mut Problems,
) -> Option<T> {
    let s = req_string(obj, key, "", 1, 64, p)?;
    let v = parse(s);
    if v.is_none() {
        let shown: String = s.chars().take(64).collect();
        p.push(
            key,
            "invalid_enum",
            format!(
                "Invalid {key} '{shown}'. Must be one of: {}",
                options.join(", ")
            ),
        );
    }
    v
}

/// Validates a create request body. `Err` carries every problem of one kind: the shape
/// problems when there are any, else the business-rule problems.
pub fn validate_link(body: &Value) -> Result<LinkSpec, Invalid> {
    let mut p = Problems::default();
    let Value::Object(obj) = body else {
        p.push(
            "",
            "invalid_type",
            format!(
                "Request body must be a JSON object, got {}",
                json_type(body)
            ),
        );
        return Err(Invalid::shape(p.shape));
    };
    reject_unknown(obj, &TOP_LEVEL_FIELDS, "", &mut p);
    let project_id = req_string(obj, "projectId", "", 1, 128, &mut p);
    let name = req_string(obj, "name", "", 1, 160, &mut p);
    let retailer_names: Vec<&str> = Retailer::ALL.iter().map(|r| r.as_str()).collect();
    let intent_names: Vec<&str> = Intent::ALL.iter().map(|r| r.as_str()).collect();
    let retailer = enum_field(obj, "retailer", Retailer::parse, &retailer_names, &mut p);
    let intent = enum_field(obj, "intent", Intent::parse, &intent_names, &mut p);
    let public_name = opt_string(obj, "publicName", "", 1, 160, &mut p);

    let mut fields = obj.clone();
    let custom_url = opt_string(obj, "customUrl", "", 1, usize::MAX, &mut p)
        .and_then(|s| check_web_url(s, "customUrl", MAX_URL_LEN, &mut p));
    let fallback_url = opt_string(obj, "fallbackUrl", "", 1, usize::MAX, &mut p)
        .and_then(|s| check_web_url(s, "fallbackUrl", MAX_URL_LEN, &mut p));
    for (key, url) in [("customUrl", &custom_url), ("fallbackUrl", &fallback_url)] {
        if let Some(u) = url {
            fields.insert(key.into(), json!(u));
        }
    }

    let selections = validate_products(obj, retailer, intent, &mut fields, &mut p);
    let (store_id, zip_code) = validate_location(obj, &mut fields, &mut p);
    let tracking = validate_tracking(obj, &mut p);
    let title = match public_name {
        Some(t) => ("publicName", t),
        None => ("name", name.unwrap_or("")),
    };
    let (options, instacart) = validate_options(
        obj,
        &instacart::Context {
            instacart: retailer == Some(Retailer::Instacart),
            intent,
            title,
        },
        &mut fields,
        &mut p,
    );
    let (associate_tag, retailer_slug) = retailer_options(obj, retailer, intent, &mut p);
    let multi = retailer == Some(Retailer::Multi);
    let (offers, page) = where_to_buy::validate(
        obj,
        multi,
        retailer.is_some(),
        &where_to_buy::Around {
            project_id,
            name,
            public_name,
            location: obj.get("location"),
        },
        &mut fields,
        &mut p,
    );
    if multi {
        where_to_buy_options(obj, &mut p);
    }
    qr_code::metadata(obj, "", &mut p);
    let default_qr = qr_code::validate_default(obj, &mut p);
    let short_id = validate_short_id(obj, &mut p);
    let printed_qr = validate_printed_qr(obj, &mut p);

    if let (Some(r), Some(i)) = (retailer, intent) {
        let order = Order {
            intent: i,
            products: &selections,
            store_id: store_id.as_deref(),
            custom_url: custom_url.as_deref(),
            fallback_url: fallback_url.as_deref(),
            associate_tag: associate_tag.as_deref(),
            retailer_slug: retailer_slug.as_deref(),
        };
        check_rules(obj, r, &order, &mut p);
    }

    if let Some(invalid) = p.into_invalid() {
        return Err(invalid);
    }
    match (project_id, name, retailer, intent) {
        (Some(project_id), Some(name), Some(retailer), Some(intent)) => Ok(LinkSpec {
            project_id: project_id.to_string(),
            name: name.to_string(),
            retailer,
            intent,
            selections,
            custom_url,
            fallback_url,
            store_id,
            zip_code,
            tracking,
            options,
            default_qr,
            short_id,
            printed_qr,
            instacart,
            associate_tag,
            retailer_slug,
            offers,
            page,
            fields,
        }),
        // Unreachable in practice: a missing required field was reported above.
        _ => Err(Invalid::shape(Vec::new())),
    }
}

/// `shortId`: a chosen id (3–64 of `A-Z a-z 0-9 _ -`, not a reserved word).
fn validate_short_id(obj: &Map<String, Value>, p: &mut Problems) -> Option<String> {
    let s = opt_string(obj, "shortId", "", 1, 64, p)?;
    if !is_chosen_short_id(s) {
        p.push(
            "shortId",
            "invalid_format",
            "A short id is 3–64 of A-Z a-z 0-9 _ -",
        );
        return None;
    }
    if is_reserved_segment(s) {
        p.rule(
            "shortId",
            "reserved",
            format!("'{s}' is a reserved word and cannot be a short id"),
        );
        return None;
    }
    Some(s.to_string())
}

/// `legacyQrCodes`: QR codes already printed with `/qr/{identifier}`, each `{identifier,
/// name}`; identifiers distinct here (and across the service, which the create checks).
fn validate_printed_qr(obj: &Map<String, Value>, p: &mut Problems) -> Vec<QrSpec> {
    let max = MAX_QR_CODES - 1;
    let Some(items) = bounded_array(obj, "legacyQrCodes", "", (0, max), "QR codes", p) else {
        return Vec::new();
    };
    let mut out: Vec<QrSpec> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let base = format!("legacyQrCodes[{i}]");
        let Value::Object(o) = item else {
            p.push(
                &base,
                "invalid_type",
                format!("Must be an object, got {}", json_type(item)),
            );
            continue;
        };
        reject_unknown(o, &["identifier", "name"], &base, p);
        let name = req_string(o, "name", &base, 1, qr_code::MAX_NAME, p);
        let Some(identifier) = req_string(o, "identifier", &base, 1, 64, p) else {
            continue;
        };
        let key = path(&base, "identifier");
        if !qr_code::is_identifier(identifier) {
            p.push(key, "invalid_format", "Must be 3–64 of A-Z a-z 0-9 and -");
            continue;
        }
        if out.iter().any(|q| q.identifier == identifier) {
            p.push(
                key,
                "duplicate",
                format!("Identifier '{identifier}' is listed twice"),
            );
            continue;
        }
        if identifier == DEFAULT_IDENTIFIER {
            p.rule(
                key,
                "reserved",
                "'default' is the identifier of every link's default QR code",
            );
            continue;
        }
        if let Some(name) = name {
            out.push(QrSpec {
                identifier: identifier.to_string(),
                name: name.to_string(),
                ..QrSpec::default()
            });
        }
    }
    out
}

/// Rules that depend on the retailer/intent pair: business rules (422), not shape.
fn check_rules(obj: &Map<String, Value>, r: Retailer, order: &Order, p: &mut Problems) {
    let i = order.intent;
    if !r.supports(i) {
        let served: Vec<&str> = r.intents().iter().map(|i| i.as_str()).collect();
        p.rule(
            "intent",
            "unsupported_intent",
            format!(
                "Intent '{}' is not supported for retailer '{}' (it serves: {})",
                i.as_str(),
                r.as_str(),
                served.join(", ")
            ),
        );
        return;
    }
    let has_custom = obj.contains_key("customUrl");
    match i {
        Intent::CustomUrl => {
            if !has_custom {
                p.rule(
                    "customUrl",
                    "required",
                    "'customUrl' is required for custom_url links",
                );
            }
        }
        Intent::AddToCart
        | Intent::ProductDetail
        | Intent::ShoppingList
        | Intent::Recipe
        | Intent::WhereToBuy => {
            if has_custom {
                p.rule(
                    "customUrl",
                    "not_allowed",
                    "customUrl is only used by custom_url links",
                );
            }
            if r.needs_products(i) && !obj.contains_key("products") {
                p.rule(
                    "products",
                    "required",
                    format!(
                        "'products' is required for {} {} links",
                        r.as_str(),
                        i.as_str()
                    ),
                );
            }
        }
    }
    r.check(order, p);
}

/// The generic product rules, for a request whose retailer is not known (it is reported).
const ANY_PRODUCTS: ProductRules = ProductRules {
    id_name: "product id",
    offers: true,
    id: retailers::IdForm::Any,
};

fn validate_products(
    obj: &Map<String, Value>,
    retailer: Option<Retailer>,
    intent: Option<Intent>,
    fields: &mut Map<String, Value>,
    p: &mut Problems,
) -> Vec<Selection> {
    if !obj.contains_key("products") {
        return Vec::new();
    }
    let rules = match retailer.map(|r| (r, r.products(intent))) {
        Some((_, Some(rules))) => rules,
        None => ANY_PRODUCTS,
        Some((r, None)) => {
            let hint = match r {
                Retailer::Instacart => {
                    " (shopping lists and recipes take their items in options.instacart)"
                }
                Retailer::Multi => " (each offer takes its own)",
                Retailer::Walmart
                | Retailer::Target
                | Retailer::Custom
                | Retailer::Amazon
                | Retailer::Kroger => "",
            };
            p.rule(
                "products",
                "not_allowed",
                format!("{} links take no products{hint}", r.as_str()),
            );
            return Vec::new();
        }
    };
    let Some(items) = bounded_array(obj, "products", "", (1, MAX_PRODUCTS), "products", p) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(items.len());
    let mut origin = Vec::with_capacity(items.len());
    let mut normalised = Vec::with_capacity(items.len());
    for (idx, item) in items.iter().enumerate() {
        let base = format!("products[{idx}]");
        let Value::Object(o) = item else {
            p.push(
                &base,
                "invalid_type",
                format!("Must be an object, got {}", json_type(item)),
            );
            normalised.push(item.clone());
            continue;
        };
        reject_unknown(
            o,
            &[
                "retailerProductId",
                "offerId",
                "quantity",
                "backupProductIds",
            ],
            &base,
            p,
        );
        let id = o
            .get("retailerProductId")
            .and_then(|v| retailer_id(v, &path(&base, "retailerProductId"), &rules, p));
        let offer = if rules.offers {
            product_id(o, "offerId", &base, "offer id", p)
        } else {
            if o.contains_key("offerId") {
                p.rule(
                    path(&base, "offerId"),
                    "not_allowed",
                    format!(
                        "Seller offer ids are Walmart's; give this product's {} in \
                         'retailerProductId'",
                        rules.id_name
                    ),
                );
            }
            None
        };
        let quantity = match o.get("quantity") {
            None => Some(1),
            Some(_) => opt_int(o, "quantity", &base, 1, MAX_QUANTITY, p),
        };
        let product = match (id, offer) {
            (Some(_), Some(_)) => {
                p.push(
                    path(&base, "offerId"),
                    "conflict",
                    "Give either 'retailerProductId' or 'offerId', not both",
                );
                None
            }
            (Some(i), None) => Some(ProductRef::Item(i)),
            (None, Some(o)) => Some(ProductRef::Offer(o)),
            (None, None) => {
                let offer_given = o.contains_key("offerId");
                if !o.contains_key("retailerProductId") && !offer_given {
                    p.push(
                        path(&base, "retailerProductId"),
                        "required",
                        "'retailerProductId' is required",
                    );
                }
                None
            }
        };
        let backups = validate_backups(o, &base, &rules, product.as_ref(), p);
        let mut norm = Map::new();
        match &product {
            Some(ProductRef::Item(i)) => {
                norm.insert("retailerProductId".into(), json!(i));
            }
            Some(ProductRef::Offer(o)) => {
                norm.insert("offerId".into(), json!(o));
            }
            None => {
                for k in ["retailerProductId", "offerId"] {
                    if let Some(v) = o.get(k) {
                        norm.insert(k.into(), v.clone());
                    }
                }
            }
        }
        norm.insert(
            "quantity".into(),
            quantity.map_or_else(
                || o.get("quantity").cloned().unwrap_or(Value::Null),
                |q| json!(q),
            ),
        );
        norm.insert("backupProductIds".into(), json!(backups));
        if let (Some(product), Some(q)) = (product, quantity) {
            out.push(Selection {
                product,
                quantity: q as u32,
                backups,
            });
            origin.push(idx);
        }
        normalised.push(Value::Object(norm));
    }
    // Each product once: a second entry would be a second cart line for the same item.
    for (i, s) in out.iter().enumerate() {
        if let Some(j) = out[..i].iter().position(|t| t.product == s.product) {
            let (key, id) = match &s.product {
                ProductRef::Item(id) => ("retailerProductId", id),
                ProductRef::Offer(id) => ("offerId", id),
            };
            p.rule(
                format!("products[{}].{key}", origin[i]),
                "duplicate",
                format!(
                    "Duplicate product {id} (also at products[{}]); give one entry with the total quantity",
                    origin[j]
                ),
            );
        }
    }
    fields.insert("products".into(), Value::Array(normalised));
    out
}

/// `backupProductIds`: 0–10 distinct ids of the primary's kind, never the primary itself.
fn validate_backups(
    o: &Map<String, Value>,
    base: &str,
    rules: &ProductRules,
    primary: Option<&ProductRef>,
    p: &mut Problems,
) -> Vec<String> {
    let key = path(base, "backupProductIds");
    let Some(items) = bounded_array(o, "backupProductIds", base, (0, MAX_BACKUPS), "ids", p) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (j, v) in items.iter().enumerate() {
        let k = format!("{key}[{j}]");
        let Some(id) = retailer_id(v, &k, rules, p) else {
            continue;
        };
        if out.contains(&id) {
            p.push(k, "duplicate", format!("Backup {id} is listed twice"));
            continue;
        }
        if matches!(primary, Some(ProductRef::Item(primary)) if *primary == id) {
            p.rule(
                k,
                "conflict",
                format!("Backup {id} is the product itself; a backup must be another product"),
            );
            continue;
        }
        out.push(id);
    }
    out
}

/// An item id or TCIN: 1–20 digits, as a string or a whole JSON number (echoed as a string).
fn digits_id(v: &Value, key: &str, id_name: &str, p: &mut Problems) -> Option<String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) if json_uint(n).is_some() => json_uint(n).unwrap_or_default().to_string(),
        other => {
            p.push(
                key,
                "invalid_type",
                format!(
                    "Must be a string of digits or a whole number 0–{MAX_JSON_INT}, got {}",
                    json_type(other)
                ),
            );
            return None;
        }
    };
    if (1..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
        Some(s)
    } else {
        let shown: String = s.chars().take(40).collect();
        p.push(
            key,
            "invalid_format",
            format!("Invalid {id_name} '{shown}': must be 1–20 digits"),
        );
        None
    }
}

/// A retailer's product id (`retailerProductId`, a backup): of a product id's shape (1–20
/// digits or 10 of `A-Z 0-9`, as a string; digits also as a whole JSON number, answered as a
/// string), else a shape problem; then of the retailer's form (digits, an ASIN, a 13-digit
/// UPC), else a rule problem: a well-formed id the retailer does not use.
fn retailer_id(v: &Value, key: &str, rules: &ProductRules, p: &mut Problems) -> Option<String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) if json_uint(n).is_some() => json_uint(n).unwrap_or_default().to_string(),
        other => {
            p.push(
                key,
                "invalid_type",
                format!(
                    "Must be a string, or a whole number 0–{MAX_JSON_INT}, got {}",
                    json_type(other)
                ),
            );
            return None;
        }
    };
    let shown: String = s.chars().take(40).collect();
    if !is_product_id_shape(&s) {
        p.push(
            key,
            "invalid_format",
            format!(
                "Invalid {} '{shown}': {}",
                rules.id_name,
                rules.id.describe()
            ),
        );
        return None;
    }
    if !rules.id.accepts(&s) {
        p.rule(
            key,
            "invalid_id",
            format!(
                "Invalid {} '{shown}': {}",
                rules.id_name,
                rules.id.describe()
            ),
        );
        return None;
    }
    Some(s)
}

/// A Walmart offer id: 1–64 letters and digits.
fn product_id(
    o: &Map<String, Value>,
    key: &str,
    base: &str,
    id_name: &str,
    p: &mut Problems,
) -> Option<String> {
    let v = o.get(key)?;
    let k = path(base, key);
    let Value::String(s) = v else {
        p.push(
            k,
            "invalid_type",
            format!("Must be a string, got {}", json_type(v)),
        );
        return None;
    };
    if (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Some(s.clone())
    } else {
        let shown: String = s.chars().take(40).collect();
        p.push(
            k,
            "invalid_format",
            format!("Invalid {id_name} '{shown}': must be 1–64 letters and digits"),
        );
        None
    }
}

/// A US ZIP code or ZIP+4.
pub fn is_zip_code(s: &str) -> bool {
    let b = s.as_bytes();
    let five = |x: &[u8]| x.iter().all(u8::is_ascii_digit);
    match b.len() {
        5 => five(b),
        10 => five(&b[..5]) && b[5] == b'-' && five(&b[6..]),
        _ => false,
    }
}

/// `location`: the store id (digits) and the ZIP code, normalised into `fields`.
fn validate_location(
    obj: &Map<String, Value>,
    fields: &mut Map<String, Value>,
    p: &mut Problems,
) -> (Option<String>, Option<String>) {
    let Some(loc) = opt_object(obj, "location", "", p) else {
        return (None, None);
    };
    reject_unknown(loc, &["storeId", "zipCode"], "location", p);
    let zip = opt_string(loc, "zipCode", "location", 1, 10, p).and_then(|z| {
        if is_zip_code(z) {
            Some(z.to_string())
        } else {
            p.push(
                "location.zipCode",
                "invalid_format",
                "Must be a US ZIP code: 5 digits, or ZIP+4 such as 72712-1234",
            );
            None
        }
    });
    let store = loc
        .get("storeId")
        .and_then(|v| digits_id(v, "location.storeId", "store id", p));
    let mut norm = loc.clone();
    if let Some(s) = &store {
        norm.insert("storeId".into(), json!(s));
    }
    fields.insert("location".into(), Value::Object(norm));
    (store, zip)
}

fn validate_tracking(obj: &Map<String, Value>, p: &mut Problems) -> Tracking {
    let mut out = Tracking::default();
    let Some(t) = opt_object(obj, "tracking", "", p) else {
        return out;
    };
    reject_unknown(t, &["utm", "tags", "params"], "tracking", p);
    if let Some(utm) = opt_object(t, "utm", "tracking", p) {
        let names: Vec<&str> = UTM_FIELDS.iter().map(|(k, _)| *k).collect();
        reject_unknown(utm, &names, "tracking.utm", p);
        for (field, param) in UTM_FIELDS {
            if let Some(v) = opt_string(utm, field, "tracking.utm", 1, 256, p) {
                out.params.push((param.to_string(), v.to_string()));
            }
        }
    }
    if let Some(tags) = bounded_array(t, "tags", "tracking", (0, MAX_TAGS), "tags", p) {
        for (j, v) in tags.iter().enumerate() {
            let key = format!("tracking.tags[{j}]");
            match v {
                Value::String(s)
                    if (1..=MAX_TAG_LEN).contains(&char_len(s))
                        && !s.chars().any(|c| c.is_control()) =>
                {
                    if out.tags.contains(s) {
                        p.push(key, "duplicate", format!("Tag '{s}' is listed twice"));
                    } else {
                        out.tags.push(s.clone());
                    }
                }
                Value::String(_) => p.push(
                    key,
                    "invalid_format",
                    format!("Tags are 1–{MAX_TAG_LEN} characters without control characters"),
                ),
                other => p.push(
                    key,
                    "invalid_type",
                    format!("Must be a string, got {}", json_type(other)),
                ),
            }
        }
    }
    if let Some(params) = opt_object(t, "params", "tracking", p) {
        if params.len() > MAX_TRACKING_PARAMS {
            p.push(
                "tracking.params",
                "too_many",
                format!(
                    "At most {MAX_TRACKING_PARAMS} parameters (got {})",
                    params.len()
                ),
            );
            return out;
        }
        for (k, v) in params {
            let shown: String = k.chars().take(64).collect();
            let key = format!("tracking.params.{shown}");
            let key_ok = (1..=64).contains(&k.len())
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.[]".contains(&b));
            if !key_ok {
                p.push(
                    &key,
                    "invalid_format",
                    "Parameter names are 1–64 of A-Z a-z 0-9 _ - . [ ]",
                );
                continue;
            }
            let value = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                other => {
                    p.push(
                        &key,
                        "invalid_type",
                        format!("Must be a string, got {}", json_type(other)),
                    );
                    continue;
                }
            };
            if value.chars().count() > 512 || value.chars().any(|c| c.is_control()) {
                p.push(
                    &key,
                    "invalid_format",
                    "Values are at most 512 characters, without control characters",
                );
                continue;
            }
            if out.params.iter().any(|(existing, _)| existing == k) {
                p.rule(
                    &key,
                    "conflict",
                    format!("'{k}' is already set by tracking.utm"),
                );
                continue;
            }
            out.params.push((k.clone(), value));
        }
    }
    out
}

/// Every `options` field.
pub const OPTION_FIELDS: [&str; 6] = [
    "startsAt",
    "expiresAt",
    "maxClicks",
    "forwardQuery",
    "instacart",
    "amazon",
];

/// `options.amazon` (an Amazon cart's Associates tag) and an Instacart product page's
/// `options.instacart.retailerKey`: the retailer's own parameters of a destination we build.
fn retailer_options(
    obj: &Map<String, Value>,
    retailer: Option<Retailer>,
    intent: Option<Intent>,
    p: &mut Problems,
) -> (Option<String>, Option<String>) {
    let options = obj.get("options").and_then(Value::as_object);
    let amazon = options.and_then(|o| o.get("amazon"));
    let tag = match amazon {
        None => None,
        Some(Value::Object(a)) => amazon::validate(
            Some(a),
            retailer == Some(Retailer::Amazon) && intent == Some(Intent::AddToCart),
            p,
        ),
        Some(other) => {
            p.push(
                "options.amazon",
                "invalid_type",
                format!("Must be an object, got {}", json_type(other)),
            );
            None
        }
    };
    let slug = (retailer == Some(Retailer::Instacart) && intent == Some(Intent::ProductDetail))
        .then(|| instacart::retailer_key(options.and_then(|o| o.get("instacart")?.as_object())))
        .flatten();
    (tag, slug)
}

/// What a where-to-buy link's own options cannot be: its page is neither capped nor
/// forwarding (its offers have their own options).
fn where_to_buy_options(obj: &Map<String, Value>, p: &mut Problems) {
    let Some(o) = obj.get("options").and_then(Value::as_object) else {
        return;
    };
    if o.contains_key("maxClicks") {
        p.rule(
            "options.maxClicks",
            "not_allowed",
            "A where-to-buy page is not capped: it serves every shopper",
        );
    }
    if o.contains_key("forwardQuery") {
        p.rule(
            "options.forwardQuery",
            "not_allowed",
            "A where-to-buy page forwards nothing: set forwardQuery on its offers",
        );
    }
}

fn validate_options(
    obj: &Map<String, Value>,
    cx: &instacart::Context,
    fields: &mut Map<String, Value>,
    p: &mut Problems,
) -> (LinkOptions, Option<instacart::Page>) {
    let mut out = LinkOptions::default();
    let o = opt_object(obj, "options", "", p);
    let ic = o.and_then(|o| opt_object(o, "instacart", "options", p));
    let (page, ic_norm) = instacart::validate(ic, cx, p);
    let Some(o) = o else {
        return (out, page);
    };
    reject_unknown(o, &OPTION_FIELDS, "options", p);
    for (key, slot) in [
        ("startsAt", &mut out.starts_at),
        ("expiresAt", &mut out.expires_at),
    ] {
        if let Some(s) = opt_string(o, key, "options", 1, 40, p) {
            match parse_rfc3339(s) {
                Some(ms) => *slot = Some(ms),
                None => p.push(
                    format!("options.{key}"),
                    "invalid_datetime",
                    format!("'{s}' is not an RFC 3339 date-time such as 2026-05-20T07:19:00Z"),
                ),
            }
        }
    }
    if let (Some(s), Some(e)) = (out.starts_at, out.expires_at) {
        if e <= s {
            p.push(
                "options.expiresAt",
                "out_of_range",
                "expiresAt must be after startsAt",
            );
        }
    }
    out.max_clicks = opt_int(o, "maxClicks", "options", 1, 1_000_000_000, p).map(|n| n as u64);
    out.forward_query = opt_bool(o, "forwardQuery", "options", p).unwrap_or(false);
    if let Some(norm) = ic_norm {
        let mut options = o.clone();
        options.insert("instacart".into(), Value::Object(norm));
        fields.insert("options".into(), Value::Object(options));
    }
    (out, page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::error::Kind;
    use serde_json::json;

    fn invalid(v: Value) -> (Option<Kind>, Vec<(String, &'static str)>) {
        match validate_link(&v) {
            Ok(_) => (None, Vec::new()),
            Err(e) => (Some(e.kind), e.keys()),
        }
    }

    fn shape(v: Value) -> Vec<(String, &'static str)> {
        let (kind, keys) = invalid(v);
        assert_eq!(kind, Some(Kind::Shape), "{keys:?}");
        keys
    }

    fn rules(v: Value) -> Vec<(String, &'static str)> {
        let (kind, keys) = invalid(v);
        assert_eq!(kind, Some(Kind::Rule), "{keys:?}");
        keys
    }

    fn walmart(products: Value) -> Value {
        json!({"projectId": "proj_123", "name": "n", "retailer": "walmart",
               "intent": "add_to_cart", "products": products})
    }

    fn k(key: &str, code: &'static str) -> (String, &'static str) {
        (key.to_string(), code)
    }

    #[test]
    fn the_reference_example_is_accepted_and_normalised() {
        let spec = validate_link(&json!({"projectId": "proj_123", "name": "Summer grilling basket",
            "publicName": "Shop the grilling list", "retailer": "walmart", "intent": "add_to_cart",
            "products": [{"retailerProductId": "123456789", "quantity": 1,
                          "backupProductIds": ["987654321", "555555555"]}],
            "fallbackUrl": "https://www.walmart.com/",
            "tracking": {"utm": {"source": "newsletter", "medium": "email", "campaign": "summer-grilling"},
                         "tags": ["grilling", "q3"]}}))
        .unwrap();
        assert_eq!(
            spec.selections,
            vec![Selection {
                product: ProductRef::Item("123456789".into()),
                quantity: 1,
                backups: vec!["987654321".into(), "555555555".into()],
            }]
        );
        assert_eq!(
            retailers::append_params(&spec.destination().unwrap(), &spec.tracking.params),
            "https://www.walmart.com/sc/cart/addToCart?items=123456789_1&utm_source=newsletter&utm_medium=email&utm_campaign=summer-grilling"
        );
        assert_eq!(spec.tracking.tags, vec!["grilling", "q3"]);
    }

    #[test]
    fn empty_body_reports_all_required_fields() {
        let keys = shape(json!({}));
        let names: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, vec!["projectId", "name", "retailer", "intent"]);
        assert!(keys.iter().all(|(_, c)| *c == "required"));
    }

    #[test]
    fn non_object_body() {
        assert_eq!(shape(json!([1])), vec![k("", "invalid_type")]);
    }

    #[test]
    fn products_are_echoed_in_the_documented_shape() {
        let spec = validate_link(&walmart(
            json!([{"retailerProductId": "123", "quantity": 2}, {"retailerProductId": 456}]),
        ))
        .unwrap();
        assert_eq!(spec.selections.len(), 2);
        assert_eq!(
            spec.fields["products"],
            json!([{"retailerProductId": "123", "quantity": 2, "backupProductIds": []},
                   {"retailerProductId": "456", "quantity": 1, "backupProductIds": []}])
        );
    }

    #[test]
    fn product_shape_problems_have_paths() {
        let keys = shape(walmart(json!([
            {"retailerProductId": "1"}, {"retailerProductId": "4", "quantity": 0},
            {"retailerProductId": "abc"}, {"quantity": 2}, "x",
            {"retailerProductId": "9", "colour": "red"}, {"id": "10"},
            {"retailerProductId": "11", "quantity": 1.5},
            {"retailerProductId": "12", "backupProductIds": ["13", "13", "x"]},
        ])));
        assert_eq!(
            keys,
            vec![
                k("products[1].quantity", "out_of_range"),
                k("products[2].retailerProductId", "invalid_format"),
                k("products[3].retailerProductId", "required"),
                k("products[4]", "invalid_type"),
                k("products[5].colour", "unknown_field"),
                k("products[6].id", "unknown_field"),
                k("products[6].retailerProductId", "required"),
                k("products[7].quantity", "invalid_type"),
                k("products[8].backupProductIds[1]", "duplicate"),
                k("products[8].backupProductIds[2]", "invalid_format"),
            ]
        );
    }

    #[test]
    fn product_rules_are_unprocessable() {
        assert_eq!(
            rules(walmart(
                json!([{"retailerProductId": "1"}, {"retailerProductId": "1"}])
            )),
            vec![k("products[1].retailerProductId", "duplicate")]
        );
        assert_eq!(
            rules(walmart(
                json!([{"retailerProductId": "1", "backupProductIds": ["2", "1"]}])
            )),
            vec![k("products[0].backupProductIds[1]", "conflict")]
        );
        assert_eq!(
            rules(walmart(
                json!([{"retailerProductId": "1"}, {"offerId": "ABC123"}])
            )),
            vec![k("products", "conflict")]
        );
        let mut v = walmart(json!([]));
        v.as_object_mut().unwrap().remove("products");
        assert_eq!(rules(v), vec![k("products", "required")]);
        let mut v = walmart(json!([{"retailerProductId": "1"}, {"retailerProductId": "2"}]));
        v["intent"] = json!("product_detail");
        assert_eq!(rules(v), vec![k("products", "too_many")]);
        let three = json!([{"retailerProductId": "1"}, {"retailerProductId": "2"}, {"retailerProductId": "3"}]);
        let mut v = walmart(three);
        v["retailer"] = json!("target");
        assert_eq!(rules(v.clone()), vec![k("products", "unsupported")]);
        v["fallbackUrl"] = json!("https://www.target.com/");
        assert!(validate_link(&v).is_ok());
        // Target takes no seller offers: a well-formed product the retailer cannot use.
        let v = json!({"projectId": "p", "name": "n", "retailer": "target", "intent": "add_to_cart",
                       "products": [{"offerId": "AB"}]});
        assert_eq!(rules(v), vec![k("products[0].offerId", "not_allowed")]);
    }

    #[test]
    fn a_shape_problem_hides_the_rule_problems() {
        let mut v = walmart(json!([{"retailerProductId": "1", "quantity": 1.5}]));
        v["intent"] = json!("recipe");
        assert_eq!(shape(v), vec![k("products[0].quantity", "invalid_type")]);
    }

    #[test]
    fn limits() {
        let many: Vec<Value> = (0..101)
            .map(|i| json!({"retailerProductId": i.to_string()}))
            .collect();
        assert_eq!(
            shape(walmart(Value::Array(many))),
            vec![k("products", "invalid_length")]
        );
        assert_eq!(
            shape(walmart(json!([]))),
            vec![k("products", "invalid_length")]
        );
        let backups: Vec<String> = (10..21).map(|i| i.to_string()).collect();
        assert_eq!(
            shape(walmart(
                json!([{"retailerProductId": "1", "backupProductIds": backups}])
            )),
            vec![k("products[0].backupProductIds", "invalid_length")]
        );
        let mut v = walmart(json!([{"retailerProductId": "1"}]));
        v["name"] = json!("x".repeat(161));
        v["projectId"] = json!("");
        v["publicName"] = json!("y".repeat(161));
        v["metadata"] = json!({"k": "z".repeat(5000)});
        assert_eq!(
            shape(v),
            vec![
                k("projectId", "too_short"),
                k("name", "too_long"),
                k("publicName", "too_long"),
                k("metadata", "too_large")
            ]
        );
        let mut v = walmart(json!([{"retailerProductId": "1", "quantity": 51}]));
        v["retailer"] = json!("costco");
        assert_eq!(
            shape(v),
            vec![
                k("retailer", "invalid_enum"),
                k("products[0].quantity", "out_of_range")
            ]
        );
    }

    #[test]
    fn custom_url_with_any_retailer() {
        for retailer in [
            "walmart",
            "target",
            "instacart",
            "custom",
            "amazon",
            "kroger",
        ] {
            let v = json!({"projectId": "proj_123", "name": "x", "retailer": retailer,
                           "intent": "custom_url", "customUrl": "https://example.com/promo"});
            let spec = validate_link(&v).unwrap();
            assert_eq!(spec.destination().unwrap(), "https://example.com/promo");
            let mut v = v;
            v.as_object_mut().unwrap().remove("customUrl");
            assert_eq!(rules(v), vec![k("customUrl", "required")], "{retailer}");
        }
        // A Walmart custom_url link may carry its products (validated, stored).
        let v = json!({"projectId": "p", "name": "x", "retailer": "walmart", "intent": "custom_url",
                       "customUrl": "https://example.com/", "products": [{"retailerProductId": "1"}]});
        assert_eq!(validate_link(&v).unwrap().selections.len(), 1);
        let v = json!({"projectId": "p", "name": "x", "retailer": "custom", "intent": "custom_url",
                       "customUrl": "https://example.com/", "products": [{"retailerProductId": "1"}]});
        assert_eq!(rules(v), vec![k("products", "not_allowed")]);
    }

    #[test]
    fn pairs_and_urls() {
        let base =
            json!({"projectId": "p", "name": "n", "retailer": "custom", "intent": "custom_url"});
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "https://a:b@x.com",
            "/x",
        ] {
            let mut v = base.clone();
            v["customUrl"] = json!(bad);
            assert_eq!(shape(v), vec![k("customUrl", "invalid_url")], "{bad}");
        }
        let mut v = base.clone();
        v["intent"] = json!("add_to_cart");
        assert_eq!(rules(v), vec![k("intent", "unsupported_intent")]);
        let mut v = walmart(json!([{"retailerProductId": "1"}]));
        v["customUrl"] = json!("https://example.com/");
        assert_eq!(rules(v), vec![k("customUrl", "not_allowed")]);
        let mut v = base;
        v["customUrl"] = json!("HTTPS://Example.COM/a");
        assert_eq!(
            validate_link(&v).unwrap().fields["customUrl"],
            "https://example.com/a"
        );
    }

    #[test]
    fn tracking_and_options() {
        let mut v = walmart(json!([{"retailerProductId": "1"}]));
        v["tracking"] = json!({"utm": {"source": "ig", "Medium": "x"}, "utmSource": "ig",
                               "tags": ["a", "a", "", 3]});
        assert_eq!(
            shape(v.clone()),
            vec![
                k("tracking.utmSource", "unknown_field"),
                k("tracking.utm.Medium", "unknown_field"),
                k("tracking.tags[1]", "duplicate"),
                k("tracking.tags[2]", "invalid_format"),
                k("tracking.tags[3]", "invalid_type"),
            ]
        );
        v["tracking"] = json!({"utm": {"source": "ig"}, "params": {"utm_source": "x"}});
        assert_eq!(
            rules(v.clone()),
            vec![k("tracking.params.utm_source", "conflict")]
        );
        v["tracking"] = json!({"utm": {"content": "c", "source": "ig"}, "params": {"ref": "pk"},
                               "tags": ["q3"]});
        let spec = validate_link(&v).unwrap();
        assert_eq!(
            spec.tracking.params,
            vec![
                ("utm_source".into(), "ig".into()),
                ("utm_content".into(), "c".into()),
                ("ref".into(), "pk".into())
            ]
        );
        let tags: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        v["tracking"] = json!({ "tags": tags });
        assert_eq!(shape(v.clone()), vec![k("tracking.tags", "invalid_length")]);
        v.as_object_mut().unwrap().remove("tracking");
        v["options"] = json!({"startsAt": "2026-06-01T00:00:00Z", "expiresAt": "2026-05-01T00:00:00Z", "maxClicks": 0});
        assert_eq!(
            shape(v.clone()),
            vec![
                k("options.expiresAt", "out_of_range"),
                k("options.maxClicks", "out_of_range")
            ]
        );
        v["defaultQrCode"] =
            json!({"name": "Shelf", "style": {"size": 10, "fg": "#ffffff", "ec": "Q"}});
        v["options"] = json!({"expiresAt": "tomorrow", "forwardQuery": "yes"});
        assert_eq!(
            shape(v.clone()),
            vec![
                k("options.expiresAt", "invalid_datetime"),
                k("options.forwardQuery", "invalid_type"),
                k("defaultQrCode.style.size", "invalid_style"),
                k("defaultQrCode.style.fg", "invalid_style"),
            ]
        );
        v["options"] = json!({});
        v["defaultQrCode"] = json!({"name": "Shelf", "size": 256});
        assert_eq!(
            shape(v.clone()),
            vec![k("defaultQrCode.size", "unknown_field")]
        );
        v["defaultQrCode"] =
            json!({"name": "Shelf", "style": {"size": 256, "fg": "#1a237e", "ec": "q"}});
        let spec = validate_link(&v).unwrap();
        assert_eq!(spec.default_qr.style.size, 256);
        assert_eq!(spec.default_qr.name, "Shelf");
        assert_eq!(qr_code::style_json(&spec.default_qr.style)["ec"], "Q");
    }

    #[test]
    fn location() {
        let mut v = walmart(json!([{"retailerProductId": "1"}]));
        for ok in ["72712", "72712-1234"] {
            v["location"] = json!({"zipCode": ok, "storeId": 3520});
            let spec = validate_link(&v).unwrap();
            assert_eq!(spec.zip_code.as_deref(), Some(ok));
            assert_eq!(spec.fields["location"]["storeId"], "3520");
        }
        for bad in ["7271", "72712-12", "ABCDE", "72712 1234"] {
            v["location"] = json!({ "zipCode": bad });
            assert_eq!(
                shape(v.clone()),
                vec![k("location.zipCode", "invalid_format")],
                "{bad}"
            );
        }
    }

    #[test]
    fn integral_floats_count_as_integers() {
        // JSON (and JSON Schema's `integer`) does not tell 2 from 2.0.
        let mut v = walmart(json!([{"retailerProductId": 17179869185.0, "quantity": 2.0}]));
        v["location"] = json!({"storeId": 12.0});
        v["defaultQrCode"] = json!({"style": {"size": 256.0, "margin": 3.0}});
        let spec = validate_link(&v).unwrap();
        assert_eq!(
            spec.fields["products"][0],
            json!({"retailerProductId": "17179869185", "quantity": 2, "backupProductIds": []})
        );
        assert_eq!(spec.store_id.as_deref(), Some("12"));
        assert_eq!(
            (spec.default_qr.style.size, spec.default_qr.style.margin),
            (256, 3)
        );
        for bad in [json!(1.5), json!(9_007_199_254_740_992u64), json!(-1)] {
            let v = walmart(json!([{ "retailerProductId": bad }]));
            assert_eq!(
                shape(v),
                vec![k("products[0].retailerProductId", "invalid_type")]
            );
        }
    }

    #[test]
    fn chosen_short_ids_and_printed_qr_codes() {
        let mut v = walmart(json!([{"retailerProductId": "1"}]));
        v["shortId"] = json!("c60F1Yf7c");
        v["legacyQrCodes"] = json!([{"identifier": "in-store-display", "name": "Endcap"}]);
        let spec = validate_link(&v).unwrap();
        assert_eq!(spec.short_id.as_deref(), Some("c60F1Yf7c"));
        assert_eq!(spec.printed_qr[0].identifier, "in-store-display");
        assert_eq!(spec.printed_qr[0].name, "Endcap");
        for bad in ["ab", "a.b", "ünï", "w", "qr"] {
            v["shortId"] = json!(bad);
            assert_eq!(
                shape(v.clone()),
                vec![k("shortId", "invalid_format")],
                "{bad}"
            );
        }
        for reserved in ["API", "admin", "www", "_admin", "Test"] {
            v["shortId"] = json!(reserved);
            assert_eq!(
                rules(v.clone()),
                vec![k("shortId", "reserved")],
                "{reserved}"
            );
        }
        v["shortId"] = json!("summer");
        v["legacyQrCodes"] = json!([{"identifier": "a_b", "name": "x"},
            {"identifier": "shelf", "name": "x"}, {"identifier": "shelf", "name": "y"},
            {"identifier": "aisle"}, {"identifier": "cap", "name": "z", "size": 3}]);
        assert_eq!(
            shape(v.clone()),
            vec![
                k("legacyQrCodes[0].identifier", "invalid_format"),
                k("legacyQrCodes[2].identifier", "duplicate"),
                k("legacyQrCodes[3].name", "required"),
                k("legacyQrCodes[4].size", "unknown_field"),
            ]
        );
        v["legacyQrCodes"] = json!([{"identifier": "default", "name": "x"}]);
        assert_eq!(
            rules(v.clone()),
            vec![k("legacyQrCodes[0].identifier", "reserved")]
        );
        let many: Vec<Value> = (0..50)
            .map(|i| json!({"identifier": format!("code-{i}"), "name": "x"}))
            .collect();
        v["legacyQrCodes"] = Value::Array(many);
        assert_eq!(shape(v), vec![k("legacyQrCodes", "invalid_length")]);
    }

    #[test]
    fn both_ids_on_one_product_refused() {
        let keys = shape(walmart(
            json!([{"retailerProductId": "1", "offerId": "ABC"}]),
        ));
        assert_eq!(keys, vec![k("products[0].offerId", "conflict")]);
    }
}
