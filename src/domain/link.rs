//! The link request: every field of the contract, validated with its limits, all problems at
//! once. The validated request is kept as JSON (it is echoed in responses and re-validated on
//! updates), plus the typed pieces the destination rules need.

use super::error::FieldError;
use super::qr;
use super::retailers::instacart;
use super::time::parse_rfc3339;
use super::validate::*;
use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retailer {
    Walmart,
    Target,
    Instacart,
    Custom,
}

impl Retailer {
    pub const ALL: [Retailer; 4] = [Self::Walmart, Self::Target, Self::Instacart, Self::Custom];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Walmart => "walmart",
            Self::Target => "target",
            Self::Instacart => "instacart",
            Self::Custom => "custom",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
    /// The API-key scope a caller needs to write links for this retailer.
    pub fn scope(self) -> &'static str {
        match self {
            Self::Walmart => "retailers:walmart",
            Self::Target => "retailers:target",
            Self::Instacart => "retailers:instacart",
            Self::Custom => "retailers:custom",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    AddToCart,
    ProductDetail,
    ShoppingList,
    Recipe,
    CustomUrl,
}

impl Intent {
    pub const ALL: [Intent; 5] = [
        Self::AddToCart,
        Self::ProductDetail,
        Self::ShoppingList,
        Self::Recipe,
        Self::CustomUrl,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AddToCart => "add_to_cart",
            Self::ProductDetail => "product_detail",
            Self::ShoppingList => "shopping_list",
            Self::Recipe => "recipe",
            Self::CustomUrl => "custom_url",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A Walmart or Target product selection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProductRef {
    /// Walmart item id or Target TCIN (digits).
    Item(String),
    /// Walmart seller offer id.
    Offer(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    pub product: ProductRef,
    pub quantity: u32,
}

pub const MAX_QUANTITY: i64 = 50;
pub const MAX_PRODUCTS: usize = 100;
pub const MAX_URL_LEN: usize = 2048;
pub const MAX_METADATA_BYTES: usize = 4096;
pub const MAX_TRACKING_PARAMS: usize = 20;

/// Tracking parameters appended to the destination, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tracking(pub Vec<(String, String)>);

pub const UTM_FIELDS: [(&str, &str); 5] = [
    ("utmSource", "utm_source"),
    ("utmMedium", "utm_medium"),
    ("utmCampaign", "utm_campaign"),
    ("utmTerm", "utm_term"),
    ("utmContent", "utm_content"),
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
    pub tracking: Tracking,
    pub options: LinkOptions,
    /// Style of the default QR code (`defaultQrCode`, defaults filled in).
    pub default_qr_style: qr::Style,
    /// The Instacart page an Instacart link's destination is made from.
    pub instacart: Option<instacart::Page>,
    /// The request's fields as validated, normalised (product quantities filled in); echoed
    /// back in responses and stored with the link.
    pub fields: Map<String, Value>,
}

pub const TOP_LEVEL_FIELDS: [&str; 13] = [
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
];

/// Which retailer/intent pairs exist.
pub fn pair_supported(r: Retailer, i: Intent) -> bool {
    matches!(
        (r, i),
        (Retailer::Walmart, Intent::AddToCart | Intent::ProductDetail)
            | (Retailer::Target, Intent::AddToCart | Intent::ProductDetail)
            | (Retailer::Instacart, Intent::ShoppingList | Intent::Recipe)
            | (Retailer::Custom, Intent::CustomUrl)
    )
}

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
        p.push(
            key,
            "invalid_enum",
            format!(
                "Invalid {key} '{s}'. Must be one of: {}",
                options.join(", ")
            ),
        );
    }
    v
}

/// Validates a create request body. `Err` carries every problem found.
pub fn validate_link(body: &Value) -> Result<LinkSpec, Vec<FieldError>> {
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
        return Err(p.into_vec());
    };
    reject_unknown(obj, &TOP_LEVEL_FIELDS, "", &mut p);
    let project_id = req_string(obj, "projectId", "", 1, 128, &mut p);
    let name = req_string(obj, "name", "", 1, 160, &mut p);
    let retailer_names: Vec<&str> = Retailer::ALL.iter().map(|r| r.as_str()).collect();
    let intent_names: Vec<&str> = Intent::ALL.iter().map(|r| r.as_str()).collect();
    let retailer = enum_field(obj, "retailer", Retailer::parse, &retailer_names, &mut p);
    let intent = enum_field(obj, "intent", Intent::parse, &intent_names, &mut p);
    opt_string(obj, "publicName", "", 1, 160, &mut p);

    let custom_url = opt_string(obj, "customUrl", "", 1, usize::MAX, &mut p)
        .and_then(|s| check_web_url(s, "customUrl", MAX_URL_LEN, &mut p));
    let fallback_url = opt_string(obj, "fallbackUrl", "", 1, usize::MAX, &mut p)
        .and_then(|s| check_web_url(s, "fallbackUrl", MAX_URL_LEN, &mut p));

    let mut fields = obj.clone();
    let selections = match retailer {
        Some(Retailer::Walmart | Retailer::Target) | None => {
            validate_selections(obj, retailer, &mut fields, &mut p)
        }
        _ => Vec::new(),
    };
    let instacart = match retailer {
        Some(Retailer::Instacart) => instacart::validate(obj, intent, &mut fields, &mut p),
        Some(_) => {
            instacart::reject_options(obj, &mut p);
            None
        }
        None => None,
    };
    let store_id = validate_location(obj, &mut p);
    let tracking = validate_tracking(obj, &mut p);
    let options = validate_options(obj, &mut p);
    validate_metadata(obj, &mut p);
    let default_qr_style = validate_default_qr(obj, &mut p).unwrap_or_default();

    if let (Some(r), Some(i)) = (retailer, intent) {
        check_pair_rules(
            obj,
            r,
            i,
            selections.len(),
            custom_url.is_some(),
            fallback_url.is_some(),
            &mut p,
        );
    }

    if !p.is_empty() {
        return Err(p.into_vec());
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
            tracking,
            options,
            default_qr_style,
            instacart,
            fields,
        }),
        // Unreachable in practice: a missing required field was reported above.
        _ => Err(vec![FieldError::new(
            "",
            "validation_failed",
            "Invalid request",
        )]),
    }
}

/// Rules that depend on the retailer/intent pair.
fn check_pair_rules(
    obj: &Map<String, Value>,
    r: Retailer,
    i: Intent,
    n_products: usize,
    has_custom: bool,
    has_fallback: bool,
    p: &mut Problems,
) {
    if !pair_supported(r, i) {
        p.push(
            "intent",
            "unsupported_intent",
            format!(
                "Intent '{}' is not supported for retailer '{}'",
                i.as_str(),
                r.as_str()
            ),
        );
        return;
    }
    let has_products = obj.contains_key("products");
    match r {
        Retailer::Walmart | Retailer::Target => {
            if !has_products {
                p.push(
                    "products",
                    "required",
                    format!("'products' is required for {} links", r.as_str()),
                );
            } else if i == Intent::ProductDetail && n_products > 1 {
                p.push(
                    "products",
                    "too_many",
                    "A product_detail link takes exactly one product",
                );
            } else if r == Retailer::Target
                && i == Intent::AddToCart
                && n_products > 1
                && !has_fallback
            {
                p.push(
                    "products",
                    "unsupported",
                    "Target has no public cart URL: an add_to_cart link with several products needs a fallbackUrl (or use one product)",
                );
            }
            if has_custom {
                p.push(
                    "customUrl",
                    "not_allowed",
                    "customUrl is only used by custom_url links",
                );
            }
        }
        Retailer::Custom => {
            if !obj.contains_key("customUrl") {
                p.push(
                    "customUrl",
                    "required",
                    "'customUrl' is required for custom_url links",
                );
            }
            if has_products {
                p.push(
                    "products",
                    "not_allowed",
                    "custom_url links take no products",
                );
            }
        }
        // Line items and Instacart's options are checked in `retailers/instacart.rs`.
        Retailer::Instacart => {
            if !has_products {
                p.push(
                    "products",
                    "required",
                    "'products' (line items) is required for instacart links",
                );
            }
            if has_custom {
                p.push(
                    "customUrl",
                    "not_allowed",
                    "customUrl is only used by custom_url links",
                );
            }
        }
    }
}

/// The `products` array with its 1–100 count checked; `what` names the items in messages.
pub fn products_array<'a>(
    obj: &'a Map<String, Value>,
    what: &str,
    p: &mut Problems,
) -> Option<&'a Vec<Value>> {
    let v = obj.get("products")?;
    let Value::Array(items) = v else {
        p.push(
            "products",
            "invalid_type",
            format!("Must be an array, got {}", json_type(v)),
        );
        return None;
    };
    if items.is_empty() || items.len() > MAX_PRODUCTS {
        p.push(
            "products",
            "invalid_length",
            format!("Must hold 1–{MAX_PRODUCTS} {what} (got {})", items.len()),
        );
        return None;
    }
    Some(items)
}

fn validate_selections(
    obj: &Map<String, Value>,
    retailer: Option<Retailer>,
    fields: &mut Map<String, Value>,
    p: &mut Problems,
) -> Vec<Selection> {
    let Some(items) = products_array(obj, "products", p) else {
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
            continue;
        };
        let allowed: &[&str] = if retailer == Some(Retailer::Target) {
            &["id", "quantity"]
        } else {
            &["id", "offerId", "quantity"]
        };
        reject_unknown(o, allowed, &base, p);
        let id = product_id(o, "id", &base, p, true);
        let offer = product_id(o, "offerId", &base, p, false);
        let quantity = match o.get("quantity") {
            None => Some(1),
            Some(_) => opt_int(o, "quantity", &base, 1, MAX_QUANTITY, p),
        };
        let product = match (id, offer) {
            (Some(_), Some(_)) => {
                p.push(
                    path(&base, "offerId"),
                    "conflict",
                    "Give either 'id' or 'offerId', not both",
                );
                None
            }
            (Some(i), None) => Some(ProductRef::Item(i)),
            (None, Some(o)) => Some(ProductRef::Offer(o)),
            (None, None) => {
                if !o.contains_key("id") && !o.contains_key("offerId") {
                    p.push(path(&base, "id"), "required", "'id' is required");
                }
                None
            }
        };
        let mut norm = o.clone();
        if let (Some(product), Some(q)) = (product, quantity) {
            match &product {
                ProductRef::Item(i) => norm.insert("id".into(), Value::String(i.clone())),
                ProductRef::Offer(o) => norm.insert("offerId".into(), Value::String(o.clone())),
            };
            norm.insert("quantity".into(), Value::from(q));
            out.push(Selection {
                product,
                quantity: q as u32,
            });
            origin.push(idx);
        }
        normalised.push(Value::Object(norm));
    }
    // A cart holds item ids or offer ids, and each once.
    let offers = out
        .iter()
        .filter(|s| matches!(s.product, ProductRef::Offer(_)))
        .count();
    if offers > 0 && offers < out.len() {
        p.push(
            "products",
            "conflict",
            "A cart takes item ids or offer ids, not a mix of both",
        );
    }
    for (i, s) in out.iter().enumerate() {
        if let Some(j) = out[..i].iter().position(|t| t.product == s.product) {
            let (key, id) = match &s.product {
                ProductRef::Item(id) => ("id", id),
                ProductRef::Offer(id) => ("offerId", id),
            };
            p.push(
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

/// A product identifier: item ids and TCINs are digits (a JSON integer is accepted too);
/// Walmart offer ids are alphanumeric.
fn product_id(
    o: &Map<String, Value>,
    key: &str,
    base: &str,
    p: &mut Problems,
    digits_only: bool,
) -> Option<String> {
    let v = o.get(key)?;
    let k = path(base, key);
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) if digits_only && json_uint(n).is_some() => {
            json_uint(n).unwrap_or_default().to_string()
        }
        other => {
            let want = if digits_only {
                format!("a string of digits or a whole number 0–{MAX_JSON_INT}")
            } else {
                "a string".to_string()
            };
            p.push(
                k,
                "invalid_type",
                format!("Must be {want}, got {}", json_type(other)),
            );
            return None;
        }
    };
    let ok = if digits_only {
        (1..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    } else {
        (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
    };
    if !ok {
        let what = if digits_only {
            "1–20 digits"
        } else {
            "1–64 letters and digits"
        };
        let shown: String = s.chars().take(40).collect();
        p.push(
            k,
            "invalid_format",
            format!("Invalid {key} '{shown}': must be {what}"),
        );
        return None;
    }
    Some(s)
}

fn validate_location(obj: &Map<String, Value>, p: &mut Problems) -> Option<String> {
    let loc = opt_object(obj, "location", "", p)?;
    reject_unknown(loc, &["storeId", "zipCode"], "location", p);
    opt_string(loc, "zipCode", "location", 1, 16, p);
    let store = match loc.get("storeId")? {
        Value::Number(n) if json_uint(n).is_some() => json_uint(n).unwrap_or_default().to_string(),
        Value::String(s) => s.clone(),
        other => {
            p.push(
                "location.storeId",
                "invalid_type",
                format!(
                    "Must be a string of digits or a whole number 0–{MAX_JSON_INT}, got {}",
                    json_type(other)
                ),
            );
            return None;
        }
    };
    if !(1..=20).contains(&store.len()) || !store.bytes().all(|b| b.is_ascii_digit()) {
        p.push("location.storeId", "invalid_format", "Must be 1–20 digits");
        return None;
    }
    Some(store)
}

fn validate_tracking(obj: &Map<String, Value>, p: &mut Problems) -> Tracking {
    let mut out = Tracking::default();
    let Some(t) = opt_object(obj, "tracking", "", p) else {
        return out;
    };
    let mut allowed: Vec<&str> = UTM_FIELDS.iter().map(|(k, _)| *k).collect();
    allowed.push("params");
    reject_unknown(t, &allowed, "tracking", p);
    for (field, param) in UTM_FIELDS {
        if let Some(v) = opt_string(t, field, "tracking", 1, 256, p) {
            out.0.push((param.to_string(), v.to_string()));
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
            if out.0.iter().any(|(existing, _)| existing == k) {
                p.push(
                    &key,
                    "duplicate",
                    format!("'{k}' is already set by a utm field"),
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
            out.0.push((k.clone(), value));
        }
    }
    out
}

/// Every `options` field; the last four are Instacart's own (validated in
/// `retailers/instacart.rs`, refused on other retailers' links).
pub const OPTION_FIELDS: [&str; 8] = [
    "startsAt",
    "expiresAt",
    "maxClicks",
    "forwardQuery",
    "recipe",
    "expiresInDays",
    "partnerLinkbackUrl",
    "enablePantryItems",
];

fn validate_options(obj: &Map<String, Value>, p: &mut Problems) -> LinkOptions {
    let mut out = LinkOptions::default();
    let Some(o) = opt_object(obj, "options", "", p) else {
        return out;
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
    out
}

fn validate_metadata(obj: &Map<String, Value>, p: &mut Problems) {
    if let Some(m) = opt_object(obj, "metadata", "", p) {
        let size = serde_json::to_string(m).map_or(usize::MAX, |s| s.len());
        if size > MAX_METADATA_BYTES {
            p.push(
                "metadata",
                "too_large",
                format!("Must be at most {MAX_METADATA_BYTES} bytes serialized (got {size})"),
            );
        }
    }
}

pub const QR_STYLE_FIELDS: [&str; 5] = ["size", "margin", "ec", "fg", "bg"];

fn validate_default_qr(obj: &Map<String, Value>, p: &mut Problems) -> Option<qr::Style> {
    let q = opt_object(obj, "defaultQrCode", "", p)?;
    validate_qr_spec(q, "defaultQrCode", false, p).1
}

/// A QR code's name and optional default style (`defaultQrCode`, or a named QR code's body).
/// Returns the name (when valid) and the style (defaults filled in).
pub fn validate_qr_spec(
    q: &Map<String, Value>,
    parent: &str,
    name_required: bool,
    p: &mut Problems,
) -> (Option<String>, Option<qr::Style>) {
    let mut allowed = vec!["name"];
    allowed.extend(QR_STYLE_FIELDS);
    reject_unknown(q, &allowed, parent, p);
    let name = if name_required {
        req_string(q, "name", parent, 1, 160, p)
    } else {
        opt_string(q, "name", parent, 1, 160, p)
    };
    // Style values arrive as JSON numbers or strings; the QR module parses their text.
    let mut raw: [Option<String>; 5] = Default::default();
    for (slot, key) in raw.iter_mut().zip(QR_STYLE_FIELDS) {
        match q.get(key) {
            None => {}
            Some(Value::String(s)) => *slot = Some(s.clone()),
            Some(Value::Number(n)) if key == "size" || key == "margin" => {
                *slot = Some(json_uint(n).map_or_else(|| n.to_string(), |u| u.to_string()))
            }
            Some(other) => p.push(
                path(parent, key),
                "invalid_type",
                format!("Must be a string or number, got {}", json_type(other)),
            ),
        }
    }
    let [size, margin, ec, fg, bg] = &raw;
    let style = match qr::style_from_options(
        &qr::Style::default(),
        size.as_deref(),
        margin.as_deref(),
        ec.as_deref(),
        fg.as_deref(),
        bg.as_deref(),
    ) {
        Ok(style) => Some(style),
        Err(problems) => {
            for sp in problems {
                p.push(path(parent, sp.key), "invalid_style", sp.message);
            }
            None
        }
    };
    (name.map(str::to_string), style)
}

/// The URL a QR code encodes: the link's short link plus the code's marker, so a scan is told
/// from a tap and attributed to the code that was scanned.
pub fn qr_encoded_url(short_link: &str, marker: &str) -> String {
    format!("{short_link}?{}={marker}", super::record::QR_PARAM)
}

/// Refuses a saved QR style whose `size` leaves the code of `encoded_url` under
/// [`qr::MIN_MODULE_PX`] pixels per module (the module count depends on the URL, so this
/// runs where the URL is known). The problem is at `parent.size` and names the smallest size
/// that works.
///
/// # Errors
///
/// The `invalid_style` problem at `parent.size`.
pub fn check_qr_style_fits(
    encoded_url: &str,
    style: &qr::Style,
    parent: &str,
) -> Result<(), FieldError> {
    match qr::size_problem(encoded_url, style) {
        None => Ok(()),
        Some(sp) => Err(FieldError::new(
            path(parent, sp.key),
            "invalid_style",
            sp.message,
        )),
    }
}

/// The API form of a QR style.
pub fn qr_style_json(style: &qr::Style) -> Value {
    serde_json::json!({
        "size": style.size,
        "margin": style.margin,
        "ec": style.ec.as_char().to_string(),
        "fg": style.fg.to_hex(),
        "bg": style.bg.to_hex(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn qr_style_fits_its_encoded_url_or_names_a_size_that_does() {
        let url = qr_encoded_url("http://127.0.0.1:8787/tB8bSdF", "1");
        assert_eq!(url, "http://127.0.0.1:8787/tB8bSdF?qr=1");
        let style = |size, ec| qr::Style {
            size,
            ec,
            ..qr::Style::default()
        };
        assert_eq!(
            check_qr_style_fits(&url, &qr::Style::default(), "defaultQrCode"),
            Ok(())
        );
        let e = check_qr_style_fits(&url, &style(64, qr::EcLevel::H), "defaultQrCode").unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.code),
            ("defaultQrCode.size", "invalid_style")
        );
        let least = qr::smallest_size(qr::module_count(&url, qr::EcLevel::H).unwrap(), 4);
        assert!(
            e.message.contains(&format!("use size {least} or more")),
            "{}",
            e.message
        );
        let e = check_qr_style_fits(&url, &style(least - 1, qr::EcLevel::H), "").unwrap_err();
        assert_eq!(e.key, "size");
        assert_eq!(
            check_qr_style_fits(&url, &style(least, qr::EcLevel::H), ""),
            Ok(())
        );
    }

    fn keys(v: Value) -> Vec<(String, &'static str)> {
        validate_link(&v)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.key, e.code))
            .collect()
    }

    fn walmart(products: Value) -> Value {
        json!({"projectId": "proj_123", "name": "n", "retailer": "walmart",
               "intent": "add_to_cart", "products": products})
    }

    #[test]
    fn empty_body_reports_all_required_fields() {
        let k = keys(json!({}));
        let names: Vec<&str> = k.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, vec!["projectId", "name", "retailer", "intent"]);
        assert!(k.iter().all(|(_, c)| *c == "required"));
    }

    #[test]
    fn non_object_body() {
        assert_eq!(keys(json!([1])), vec![("".to_string(), "invalid_type")]);
    }

    #[test]
    fn valid_walmart_cart() {
        let spec =
            validate_link(&walmart(json!([{"id": "123", "quantity": 2}, {"id": 456}]))).unwrap();
        assert_eq!(spec.selections.len(), 2);
        assert_eq!(
            spec.selections[1],
            Selection {
                product: ProductRef::Item("456".into()),
                quantity: 1
            }
        );
        assert_eq!(
            spec.fields["products"][1],
            json!({"id": "456", "quantity": 1})
        );
    }

    #[test]
    fn product_problems_have_paths() {
        let k = keys(walmart(json!([
            {"id": "1"}, {"id": "2"}, {"id": "3"}, {"id": "4", "quantity": 0},
            {"id": "abc"}, {"quantity": 2}, {"id": "1"}, "x", {"id": "9", "colour": "red"}
        ])));
        let expected: Vec<(String, &str)> = vec![
            ("products[3].quantity".into(), "out_of_range"),
            ("products[4].id".into(), "invalid_format"),
            ("products[5].id".into(), "required"),
            ("products[7]".into(), "invalid_type"),
            ("products[8].colour".into(), "unknown_field"),
            ("products[6].id".into(), "duplicate"),
        ];
        assert_eq!(k, expected);
    }

    #[test]
    fn limits() {
        let many: Vec<Value> = (0..101).map(|i| json!({"id": i.to_string()})).collect();
        assert_eq!(
            keys(walmart(Value::Array(many))),
            vec![("products".into(), "invalid_length")]
        );
        assert_eq!(
            keys(walmart(json!([]))),
            vec![("products".into(), "invalid_length")]
        );
        let mut v = walmart(json!([{"id": "1"}]));
        v["name"] = json!("x".repeat(161));
        v["projectId"] = json!("");
        v["publicName"] = json!("y".repeat(161));
        v["metadata"] = json!({"k": "z".repeat(5000)});
        assert_eq!(
            keys(v),
            vec![
                ("projectId".into(), "too_short"),
                ("name".into(), "too_long"),
                ("publicName".into(), "too_long"),
                ("metadata".into(), "too_large")
            ]
        );
        let mut v = walmart(json!([{"id": "1", "quantity": 51}]));
        v["retailer"] = json!("amazon");
        assert_eq!(
            keys(v),
            vec![
                ("retailer".into(), "invalid_enum"),
                ("products[0].quantity".into(), "out_of_range")
            ]
        );
    }

    #[test]
    fn pairs_and_urls() {
        let base =
            json!({"projectId": "p", "name": "n", "retailer": "custom", "intent": "custom_url"});
        assert_eq!(keys(base.clone()), vec![("customUrl".into(), "required")]);
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "https://a:b@x.com",
            "/x",
        ] {
            let mut v = base.clone();
            v["customUrl"] = json!(bad);
            assert_eq!(keys(v), vec![("customUrl".into(), "invalid_url")], "{bad}");
        }
        let mut v = base.clone();
        v["intent"] = json!("add_to_cart");
        assert_eq!(keys(v), vec![("intent".into(), "unsupported_intent")]);
        let mut v = walmart(json!([{"id": "1"}, {"id": "2"}]));
        v["intent"] = json!("product_detail");
        assert_eq!(keys(v), vec![("products".into(), "too_many")]);
        let mut v = walmart(json!([{"id": "1"}, {"id": "2"}]));
        v["retailer"] = json!("target");
        assert_eq!(keys(v.clone()), vec![("products".into(), "unsupported")]);
        v["fallbackUrl"] = json!("https://www.target.com/");
        assert!(validate_link(&v).is_ok());
    }

    #[test]
    fn tracking_and_options() {
        let mut v = walmart(json!([{"id": "1"}]));
        v["tracking"] = json!({"utmSource": "ig", "utmCampaign": "summer", "params": {"ref": "pk", "utm_source": "x"}, "utm_medium": "y"});
        assert_eq!(
            keys(v.clone()),
            vec![
                ("tracking.utm_medium".into(), "unknown_field"),
                ("tracking.params.utm_source".into(), "duplicate")
            ]
        );
        v["tracking"] = json!({"utmSource": "ig", "params": {"ref": "pk"}});
        let spec = validate_link(&v).unwrap();
        assert_eq!(
            spec.tracking.0,
            vec![
                ("utm_source".into(), "ig".into()),
                ("ref".into(), "pk".into())
            ]
        );
        v["options"] = json!({"startsAt": "2026-06-01T00:00:00Z", "expiresAt": "2026-05-01T00:00:00Z", "maxClicks": 0});
        assert_eq!(
            keys(v.clone()),
            vec![
                ("options.expiresAt".into(), "out_of_range"),
                ("options.maxClicks".into(), "out_of_range")
            ]
        );
        v["defaultQrCode"] = json!({"name": "Shelf", "size": 10, "fg": "#ffffff", "ec": "Q"});
        v["options"] = json!({"expiresAt": "tomorrow", "forwardQuery": "yes"});
        assert_eq!(
            keys(v.clone()),
            vec![
                ("options.expiresAt".into(), "invalid_datetime"),
                ("options.forwardQuery".into(), "invalid_type"),
                ("defaultQrCode.size".into(), "invalid_style"),
                ("defaultQrCode.fg".into(), "invalid_style"),
            ]
        );
        v["options"] = json!({});
        v["defaultQrCode"] = json!({"name": "Shelf", "size": 256, "fg": "#1a237e", "ec": "q"});
        let spec = validate_link(&v).unwrap();
        assert_eq!(spec.default_qr_style.size, 256);
        assert_eq!(qr_style_json(&spec.default_qr_style)["ec"], "Q");
    }

    #[test]
    fn integral_floats_count_as_integers() {
        // JSON (and JSON Schema's `integer`) does not tell 2 from 2.0.
        let mut v = walmart(json!([{"id": 17179869185.0, "quantity": 2.0}]));
        v["location"] = json!({"storeId": 12.0});
        v["defaultQrCode"] = json!({"size": 256.0, "margin": 3.0});
        let spec = validate_link(&v).unwrap();
        assert_eq!(
            spec.fields["products"][0],
            json!({"id": "17179869185", "quantity": 2})
        );
        assert_eq!(spec.store_id.as_deref(), Some("12"));
        assert_eq!(
            (spec.default_qr_style.size, spec.default_qr_style.margin),
            (256, 3)
        );
        for bad in [json!(1.5), json!(9_007_199_254_740_992u64), json!(-1)] {
            let v = walmart(json!([{ "id": bad }]));
            assert_eq!(keys(v), vec![("products[0].id".into(), "invalid_type")]);
        }
    }

    #[test]
    fn mixed_offers_and_items_refused() {
        let k = keys(walmart(json!([{"id": "1"}, {"offerId": "ABC123"}])));
        assert_eq!(k, vec![("products".into(), "conflict")]);
        let k = keys(walmart(json!([{"id": "1", "offerId": "ABC"}])));
        assert_eq!(k, vec![("products[0].offerId".into(), "conflict")]);
    }
}
