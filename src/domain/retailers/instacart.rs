//! Instacart Developer Platform (seed 002, RETAILERS.md): an Instacart link's destination is a
//! page that Instacart creates from our line items. This file holds every Instacart rule: the
//! validation of line items and Instacart's own options (with our key paths), the request we
//! send, the content hash that keys the URL cache, the reading of Instacart's answers and the
//! translation of Instacart's error keys back to ours. Pure: no `worker` imports; the call
//! itself is in `http/instacart.rs`.

use crate::domain::error::FieldError;
use crate::domain::ids::sha256_hex;
use crate::domain::link::{products_array, Intent, MAX_PRODUCTS, MAX_URL_LEN};
use crate::domain::validate::*;
use serde_json::{json, Map, Value};

/// Instacart's documented health filters.
pub const HEALTH_FILTERS: [&str; 7] = [
    "ORGANIC",
    "GLUTEN_FREE",
    "FAT_FREE",
    "VEGAN",
    "KOSHER",
    "SUGAR_FREE",
    "LOW_FAT",
];

/// Instacart's documented units of measurement (unsupported units make quantity matching
/// fail, so anything else is refused). Matched without regard to ASCII case.
#[rustfmt::skip]
pub const UNITS: &[&str] = &[
    // volume
    "cup", "cups", "c", "fl oz", "gallon", "gallons", "gal", "gals", "milliliter", "millilitre",
    "milliliters", "millilitres", "ml", "mls", "liter", "litre", "liters", "litres", "l", "pint",
    "pints", "pt", "pts", "quart", "quarts", "qt", "qts", "tablespoon", "tablespoons", "tb", "tbs",
    "teaspoon", "teaspoons", "ts", "tsp", "tspn",
    // weight
    "gram", "grams", "g", "gs", "kilogram", "kilograms", "kg", "kgs", "lb bag", "lb can",
    "lb container", "per lb", "ounce", "ounces", "oz", "oz bag", "oz can", "oz container", "pound",
    "pounds", "lb", "lbs",
    // count
    "bunch", "bunches", "can", "cans", "each", "ears", "head", "heads", "large", "lrg", "lge", "lg",
    "medium", "med", "md", "package", "packages", "packet", "small", "sm", "small ears",
    "small head", "small heads",
];

/// Instacart's default unit, and the one it recommends for countable items.
pub const DEFAULT_UNIT: &str = "each";

/// The fields of a line item in our API (the seed's LineItem in camelCase, with
/// `measurements` for `line_item_measurements`).
pub const LINE_ITEM_FIELDS: [&str; 9] = [
    "name",
    "displayText",
    "quantity",
    "unit",
    "measurements",
    "upcs",
    "productIds",
    "brandFilters",
    "healthFilters",
];

/// `options` fields that only Instacart links use.
pub const OPTION_FIELDS: [&str; 4] = [
    "recipe",
    "expiresInDays",
    "partnerLinkbackUrl",
    "enablePantryItems",
];
pub const RECIPE_FIELDS: [&str; 5] = [
    "servings",
    "cookingTime",
    "author",
    "instructions",
    "imageUrl",
];

pub const MAX_QUANTITY: f64 = 10_000.0;
pub const MAX_MEASUREMENTS: usize = 10;
pub const MAX_IDS_PER_ITEM: usize = 20;
pub const MAX_FILTERS: usize = 20;
pub const MAX_EXPIRES_IN_DAYS: i64 = 365;
pub const MAX_INSTRUCTIONS: usize = 50;
/// Instacart's default lifetime of a recipe page, in days (shopping lists have none).
pub const RECIPE_DEFAULT_EXPIRY_DAYS: u64 = 30;
/// A cached URL of a page without an expiry is reused for at most this long.
pub const CACHE_TTL_NO_EXPIRY_SECS: u64 = 30 * 86_400;

#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    pub quantity: f64,
    /// The unit as Instacart spells it (from `UNITS`).
    pub unit: &'static str,
}

/// How a line item names exact products: UPCs or Instacart product ids, never both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identifiers {
    None,
    Upcs(Vec<String>),
    ProductIds(Vec<u64>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct LineItem {
    pub name: String,
    pub display_text: Option<String>,
    /// Never empty: a line item without any is one `each`.
    pub measurements: Vec<Measurement>,
    /// Whether the caller gave `measurements` (else `quantity`/`unit`, or nothing): Instacart's
    /// keys under `line_item_measurements[0]` map back to the field the caller wrote.
    pub measured: bool,
    pub ids: Identifiers,
    pub brand_filters: Vec<String>,
    pub health_filters: Vec<&'static str>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recipe {
    pub servings: Option<u32>,
    /// Minutes.
    pub cooking_time: Option<u32>,
    pub author: Option<String>,
    pub instructions: Vec<String>,
    pub image_url: Option<String>,
}

/// Instacart's own options (`options.expiresInDays`, … in our API).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageOptions {
    pub expires_in_days: Option<u32>,
    pub partner_linkback_url: Option<String>,
    pub enable_pantry_items: Option<bool>,
    pub recipe: Option<Recipe>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageKind {
    ShoppingList,
    Recipe,
}

/// Where and how a page kind is created. The one place that decides between Instacart's
/// recipe endpoint and `link_type: recipe` on `products_link`, and names the ingredient array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub path: &'static str,
    /// The request field that carries the line items.
    pub items_field: &'static str,
    /// `link_type` sent with the request, when the endpoint takes one.
    pub link_type: Option<&'static str>,
}

/// The name of the recipe endpoint's ingredient array. Sources differ (`ingredients` vs
/// `line_items`); this constant is the only place that says which.
pub const RECIPE_ITEMS_FIELD: &str = "ingredients";

impl PageKind {
    pub fn endpoint(self) -> Endpoint {
        match self {
            PageKind::ShoppingList => Endpoint {
                path: "/idp/v1/products/products_link",
                items_field: "line_items",
                link_type: Some("shopping_list"),
            },
            // `products_link` with `link_type: recipe` takes no author, servings or cooking
            // time; the recipe endpoint documents all of them, so recipes go there.
            PageKind::Recipe => Endpoint {
                path: "/idp/v1/products/recipe",
                items_field: RECIPE_ITEMS_FIELD,
                link_type: None,
            },
        }
    }
}

/// A validated Instacart page: what the request to Instacart is built from.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    pub kind: PageKind,
    pub title: String,
    /// Our field the title came from (`publicName`, else `name`), for error keys.
    pub title_key: &'static str,
    pub line_items: Vec<LineItem>,
    pub options: PageOptions,
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/// Validates an Instacart link's line items (`products`) and Instacart options. Writes the
/// normalised products into `fields` (quantity filled in, units and health filters in
/// Instacart's spelling). Returns the page when the intent makes one (every problem is pushed
/// to `p`; the page is only used when `p` stays empty).
pub fn validate(
    obj: &Map<String, Value>,
    intent: Option<Intent>,
    fields: &mut Map<String, Value>,
    p: &mut Problems,
) -> Option<Page> {
    let kind = match intent {
        Some(Intent::ShoppingList) => Some(PageKind::ShoppingList),
        Some(Intent::Recipe) => Some(PageKind::Recipe),
        _ => None,
    };
    let line_items = validate_line_items(obj, fields, p);
    let options = match obj.get("options") {
        Some(Value::Object(o)) => validate_options(o, kind, p),
        _ => PageOptions::default(),
    };
    let (title_key, title) = match obj.get("publicName").and_then(Value::as_str) {
        Some(t) => ("publicName", t),
        None => (
            "name",
            obj.get("name").and_then(Value::as_str).unwrap_or(""),
        ),
    };
    Some(Page {
        kind: kind?,
        title: title.to_string(),
        title_key,
        line_items,
        options,
    })
}

/// Links of other retailers: Instacart's options are refused, not silently dropped.
pub fn reject_options(obj: &Map<String, Value>, p: &mut Problems) {
    if let Some(Value::Object(o)) = obj.get("options") {
        for k in OPTION_FIELDS {
            if o.contains_key(k) {
                p.push(
                    format!("options.{k}"),
                    "not_allowed",
                    format!("'{k}' is only used by instacart links"),
                );
            }
        }
    }
}

fn validate_line_items(
    obj: &Map<String, Value>,
    fields: &mut Map<String, Value>,
    p: &mut Problems,
) -> Vec<LineItem> {
    let Some(items) = products_array(obj, "line items", p) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(items.len());
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
        let (li, norm) = validate_line_item(o, &base, p);
        if let Some(li) = li {
            out.push((idx, li));
        }
        normalised.push(Value::Object(norm));
    }
    check_duplicate_ids(&out, p);
    fields.insert("products".into(), Value::Array(normalised));
    out.into_iter().map(|(_, li)| li).collect()
}

/// One line item; returns it when valid, and its normalised JSON either way.
fn validate_line_item(
    o: &Map<String, Value>,
    base: &str,
    p: &mut Problems,
) -> (Option<LineItem>, Map<String, Value>) {
    let before = p.0.len();
    reject_unknown(o, &LINE_ITEM_FIELDS, base, p);
    let name = req_string(o, "name", base, 1, 200, p);
    let display_text = opt_string(o, "displayText", base, 1, 200, p);
    let quantity = opt_quantity(o, "quantity", base, p);
    let unit = opt_unit(o, "unit", base, p);
    let measured = o.contains_key("measurements");
    let measurements = if measured {
        if o.contains_key("quantity") || o.contains_key("unit") {
            p.push(
                path(base, "measurements"),
                "conflict",
                "Give either 'quantity'/'unit' or 'measurements', not both",
            );
        }
        validate_measurements(o, base, p)
    } else {
        vec![Measurement {
            quantity: quantity.unwrap_or(1.0),
            unit: unit.unwrap_or(DEFAULT_UNIT),
        }]
    };
    let upcs = opt_upcs(o, base, p);
    let product_ids = opt_product_ids(o, base, p);
    let ids = match (o.contains_key("upcs"), o.contains_key("productIds")) {
        (true, true) => {
            p.push(
                base,
                "conflict",
                "A line item cannot have both productIds and upcs: they are mutually exclusive",
            );
            Identifiers::None
        }
        (true, false) => Identifiers::Upcs(upcs),
        (false, true) => Identifiers::ProductIds(product_ids),
        (false, false) => Identifiers::None,
    };
    let brand_filters = opt_brand_filters(o, base, p);
    let health_filters = opt_health_filters(o, base, p);

    let mut norm = o.clone();
    if !measured && !o.contains_key("quantity") {
        norm.insert("quantity".into(), json!(1));
    }
    if let (Some(u), true) = (unit, o.contains_key("unit")) {
        norm.insert("unit".into(), json!(u));
    }
    if let Some(Value::Array(ms)) = norm.get_mut("measurements") {
        for m in ms.iter_mut().filter_map(Value::as_object_mut) {
            let unit = m
                .get("unit")
                .map_or(Some(DEFAULT_UNIT), |u| u.as_str().and_then(canonical_unit));
            if let Some(u) = unit {
                m.insert("unit".into(), json!(u));
            }
        }
    }
    if o.contains_key("healthFilters") && !health_filters.is_empty() {
        norm.insert("healthFilters".into(), json!(health_filters));
    }

    if p.0.len() > before {
        return (None, norm);
    }
    let item = LineItem {
        name: name.unwrap_or_default().to_string(),
        display_text: display_text.map(str::to_string),
        measurements,
        measured,
        ids,
        brand_filters,
        health_filters,
    };
    (Some(item), norm)
}

/// A quantity: a JSON number greater than 0 (fractions allowed: 0.5 cup), at most
/// `MAX_QUANTITY`.
fn opt_quantity(o: &Map<String, Value>, key: &str, base: &str, p: &mut Problems) -> Option<f64> {
    let v = o.get(key)?;
    let k = path(base, key);
    let Some(q) = v.as_f64() else {
        p.push(
            k,
            "invalid_type",
            format!("Must be a number, got {}", json_type(v)),
        );
        return None;
    };
    if q <= 0.0 {
        p.push(
            k,
            "out_of_range",
            format!("Invalid quantity: {v}. Must be greater than 0"),
        );
        return None;
    }
    if q > MAX_QUANTITY {
        p.push(
            k,
            "out_of_range",
            format!("Invalid quantity: {v}. Must be at most {MAX_QUANTITY}"),
        );
        return None;
    }
    Some(q)
}

/// The unit as Instacart spells it, when `s` is one of its documented units.
pub fn canonical_unit(s: &str) -> Option<&'static str> {
    UNITS.iter().copied().find(|u| u.eq_ignore_ascii_case(s))
}

fn opt_unit(
    o: &Map<String, Value>,
    key: &str,
    base: &str,
    p: &mut Problems,
) -> Option<&'static str> {
    let s = opt_string(o, key, base, 1, 32, p)?;
    let unit = canonical_unit(s);
    if unit.is_none() {
        let shown: String = s.chars().take(32).collect();
        p.push(
            path(base, key),
            "invalid_enum",
            format!(
                "Unknown unit '{shown}'. Use a unit from Instacart's documented list, e.g. each, \
                 package, cup, tablespoon, teaspoon, fl oz, ounce, pound, gram, kilogram, liter"
            ),
        );
    }
    unit
}

fn validate_measurements(o: &Map<String, Value>, base: &str, p: &mut Problems) -> Vec<Measurement> {
    let key = path(base, "measurements");
    let items = match o.get("measurements") {
        Some(Value::Array(items)) => items,
        Some(other) => {
            p.push(
                key,
                "invalid_type",
                format!("Must be an array, got {}", json_type(other)),
            );
            return Vec::new();
        }
        None => return Vec::new(),
    };
    if items.is_empty() || items.len() > MAX_MEASUREMENTS {
        p.push(
            key,
            "invalid_length",
            format!(
                "Must hold 1–{MAX_MEASUREMENTS} measurements (got {})",
                items.len()
            ),
        );
        return Vec::new();
    }
    let mut out = Vec::with_capacity(items.len());
    for (j, m) in items.iter().enumerate() {
        let mbase = format!("{key}[{j}]");
        let Value::Object(m) = m else {
            p.push(
                &mbase,
                "invalid_type",
                format!("Must be an object, got {}", json_type(m)),
            );
            continue;
        };
        reject_unknown(m, &["quantity", "unit"], &mbase, p);
        if !m.contains_key("quantity") {
            p.push(
                path(&mbase, "quantity"),
                "required",
                "'quantity' is required",
            );
        }
        let q = opt_quantity(m, "quantity", &mbase, p);
        let u = match m.get("unit") {
            None => Some(DEFAULT_UNIT),
            Some(_) => opt_unit(m, "unit", &mbase, p),
        };
        if let (Some(quantity), Some(unit)) = (q, u) {
            out.push(Measurement { quantity, unit });
        }
    }
    out
}

/// An optional array of 1–`max` elements; `None` when absent or reported.
fn opt_array<'a>(
    o: &'a Map<String, Value>,
    key: &str,
    base: &str,
    max: usize,
    p: &mut Problems,
) -> Option<&'a [Value]> {
    let v = o.get(key)?;
    let Value::Array(items) = v else {
        p.push(
            path(base, key),
            "invalid_type",
            format!("Must be an array, got {}", json_type(v)),
        );
        return None;
    };
    if items.is_empty() || items.len() > max {
        p.push(
            path(base, key),
            "invalid_length",
            format!("Must hold 1–{max} values (got {})", items.len()),
        );
        return None;
    }
    Some(items)
}

/// UPCs: strings of 12 or 14 digits, each once.
fn opt_upcs(o: &Map<String, Value>, base: &str, p: &mut Problems) -> Vec<String> {
    let Some(items) = opt_array(o, "upcs", base, MAX_IDS_PER_ITEM, p) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (k, v) in items.iter().enumerate() {
        let key = format!("{base}.upcs[{k}]");
        let Value::String(s) = v else {
            p.push(
                key,
                "invalid_type",
                format!("Must be a string, got {}", json_type(v)),
            );
            continue;
        };
        if !matches!(s.len(), 12 | 14) || !s.bytes().all(|b| b.is_ascii_digit()) {
            let shown: String = s.chars().take(32).collect();
            p.push(
                key,
                "invalid_format",
                format!("Invalid UPC '{shown}': must be 12 or 14 digits"),
            );
            continue;
        }
        if out.contains(s) {
            p.push(key, "duplicate", format!("UPC {s} is listed twice"));
            continue;
        }
        out.push(s.clone());
    }
    out
}

/// Instacart product ids: positive integers (digit strings accepted), each once.
fn opt_product_ids(o: &Map<String, Value>, base: &str, p: &mut Problems) -> Vec<u64> {
    let Some(items) = opt_array(o, "productIds", base, MAX_IDS_PER_ITEM, p) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(items.len());
    for (k, v) in items.iter().enumerate() {
        let key = format!("{base}.productIds[{k}]");
        let id = match v {
            Value::Number(n) => json_uint(n),
            Value::String(s) if (1..=19).contains(&s.len()) => s
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| s.parse().ok())
                .flatten(),
            _ => None,
        };
        match id {
            Some(id) if id > 0 => {
                if out.contains(&id) {
                    p.push(key, "duplicate", format!("Product id {id} is listed twice"));
                } else {
                    out.push(id);
                }
            }
            _ => p.push(key, "invalid_format", "Must be a positive integer"),
        }
    }
    out
}

/// Brand names, case-sensitive as they appear on Instacart.
fn opt_brand_filters(o: &Map<String, Value>, base: &str, p: &mut Problems) -> Vec<String> {
    let Some(items) = opt_array(o, "brandFilters", base, MAX_FILTERS, p) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(items.len());
    for (k, v) in items.iter().enumerate() {
        let key = format!("{base}.brandFilters[{k}]");
        match v {
            Value::String(s)
                if (1..=100).contains(&char_len(s)) && !s.chars().any(|c| c.is_control()) =>
            {
                out.push(s.clone())
            }
            Value::String(_) => p.push(
                key,
                "invalid_format",
                "Brand names are 1–100 characters without control characters",
            ),
            other => p.push(
                key,
                "invalid_type",
                format!("Must be a string, got {}", json_type(other)),
            ),
        }
    }
    out
}

/// Health filters from Instacart's list (any ASCII case; sent in Instacart's spelling). All
/// unknown values are reported together at the array's key, as Instacart does.
fn opt_health_filters(o: &Map<String, Value>, base: &str, p: &mut Problems) -> Vec<&'static str> {
    let Some(items) = opt_array(o, "healthFilters", base, HEALTH_FILTERS.len(), p) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(items.len());
    let mut invalid = Vec::new();
    for v in items {
        let found = v.as_str().and_then(|s| {
            HEALTH_FILTERS
                .iter()
                .copied()
                .find(|h| h.eq_ignore_ascii_case(s))
        });
        match found {
            Some(h) if !out.contains(&h) => out.push(h),
            Some(_) => {}
            None => invalid.push(v.to_string().chars().take(40).collect::<String>()),
        }
    }
    if !invalid.is_empty() {
        p.push(
            path(base, "healthFilters"),
            "invalid_enum",
            format!(
                "Invalid health filters: [{}]. Must be among: {}",
                invalid.join(", "),
                HEALTH_FILTERS.join(", ")
            ),
        );
        return Vec::new();
    }
    out
}

/// The same UPC or product id on two line items is refused at `products`, as Instacart does.
fn check_duplicate_ids(items: &[(usize, LineItem)], p: &mut Problems) {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for (idx, li) in items {
        let ids: Vec<String> = match &li.ids {
            Identifiers::None => continue,
            Identifiers::Upcs(v) => v.iter().map(|u| format!("upc {u}")).collect(),
            Identifiers::ProductIds(v) => v.iter().map(|i| format!("product_id {i}")).collect(),
        };
        for id in ids {
            match seen.iter().find(|(s, _)| *s == id) {
                Some((_, first)) => p.push(
                    "products",
                    "duplicate",
                    format!(
                        "Duplicate product identifiers found: {id} (products[{first}] and products[{idx}])"
                    ),
                ),
                None => seen.push((id, *idx)),
            }
        }
    }
}

fn validate_options(
    o: &Map<String, Value>,
    kind: Option<PageKind>,
    p: &mut Problems,
) -> PageOptions {
    let mut out = PageOptions {
        expires_in_days: opt_int(o, "expiresInDays", "options", 1, MAX_EXPIRES_IN_DAYS, p)
            .map(|d| d as u32),
        partner_linkback_url: opt_string(o, "partnerLinkbackUrl", "options", 1, usize::MAX, p)
            .and_then(|s| check_web_url(s, "options.partnerLinkbackUrl", MAX_URL_LEN, p)),
        enable_pantry_items: opt_bool(o, "enablePantryItems", "options", p),
        recipe: None,
    };
    if kind == Some(PageKind::ShoppingList) {
        for k in ["recipe", "enablePantryItems"] {
            if o.contains_key(k) {
                p.push(
                    format!("options.{k}"),
                    "not_allowed",
                    format!("'{k}' is only used by recipe links"),
                );
            }
        }
    }
    if let Some(r) = opt_object(o, "recipe", "options", p) {
        out.recipe = Some(validate_recipe(r, p));
    }
    out
}

fn validate_recipe(r: &Map<String, Value>, p: &mut Problems) -> Recipe {
    const BASE: &str = "options.recipe";
    reject_unknown(r, &RECIPE_FIELDS, BASE, p);
    let mut out = Recipe {
        servings: opt_int(r, "servings", BASE, 1, 1000, p).map(|n| n as u32),
        cooking_time: opt_int(r, "cookingTime", BASE, 1, 10_080, p).map(|n| n as u32),
        author: opt_string(r, "author", BASE, 1, 160, p).map(str::to_string),
        instructions: Vec::new(),
        image_url: opt_string(r, "imageUrl", BASE, 1, usize::MAX, p)
            .and_then(|s| check_web_url(s, "options.recipe.imageUrl", MAX_URL_LEN, p)),
    };
    if let Some(items) = opt_array(r, "instructions", BASE, MAX_INSTRUCTIONS, p) {
        for (k, v) in items.iter().enumerate() {
            let key = format!("{BASE}.instructions[{k}]");
            match v {
                Value::String(s) if (1..=2000).contains(&char_len(s)) => {
                    out.instructions.push(s.clone())
                }
                Value::String(_) => p.push(key, "invalid_length", "Must be 1–2000 characters"),
                other => p.push(
                    key,
                    "invalid_type",
                    format!("Must be a string, got {}", json_type(other)),
                ),
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The request to Instacart
// ---------------------------------------------------------------------------------------------

/// What is sent to Instacart: the endpoint and the JSON body.
#[derive(Clone, Debug, PartialEq)]
pub struct UpstreamRequest {
    pub endpoint: Endpoint,
    pub body: Value,
}

impl UpstreamRequest {
    pub fn body_json(&self) -> String {
        self.body.to_string()
    }
}

/// Maps a validated page to Instacart's request (seed 002: snake_case, measurements in
/// `line_item_measurements`, filters under `filters`).
pub fn request(page: &Page) -> UpstreamRequest {
    let endpoint = page.kind.endpoint();
    let mut body = Map::new();
    body.insert("title".into(), json!(page.title));
    if let Some(t) = endpoint.link_type {
        body.insert("link_type".into(), json!(t));
    }
    let items: Vec<Value> = page.line_items.iter().map(line_item_json).collect();
    body.insert(endpoint.items_field.into(), Value::Array(items));
    let o = &page.options;
    if let Some(d) = o.expires_in_days {
        body.insert("expires_in".into(), json!(d));
    }
    if let Some(r) = &o.recipe {
        if let Some(a) = &r.author {
            body.insert("author".into(), json!(a));
        }
        if let Some(s) = r.servings {
            body.insert("servings".into(), json!(s));
        }
        if let Some(c) = r.cooking_time {
            body.insert("cooking_time".into(), json!(c));
        }
        if let Some(i) = &r.image_url {
            body.insert("image_url".into(), json!(i));
        }
        if !r.instructions.is_empty() {
            body.insert("instructions".into(), json!(r.instructions));
        }
    }
    let mut landing = Map::new();
    if let Some(u) = &o.partner_linkback_url {
        landing.insert("partner_linkback_url".into(), json!(u));
    }
    if let Some(b) = o.enable_pantry_items {
        landing.insert("enable_pantry_items".into(), json!(b));
    }
    if !landing.is_empty() {
        body.insert("landing_page_configuration".into(), Value::Object(landing));
    }
    UpstreamRequest {
        endpoint,
        body: Value::Object(body),
    }
}

fn line_item_json(li: &LineItem) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(li.name));
    if let Some(d) = &li.display_text {
        m.insert("display_text".into(), json!(d));
    }
    let ms: Vec<Value> = li
        .measurements
        .iter()
        .map(|x| json!({"quantity": number(x.quantity), "unit": x.unit}))
        .collect();
    m.insert("line_item_measurements".into(), Value::Array(ms));
    match &li.ids {
        Identifiers::None => {}
        Identifiers::Upcs(v) => {
            m.insert("upcs".into(), json!(v));
        }
        Identifiers::ProductIds(v) => {
            m.insert("product_ids".into(), json!(v));
        }
    }
    let mut filters = Map::new();
    if !li.brand_filters.is_empty() {
        filters.insert("brand_filters".into(), json!(li.brand_filters));
    }
    if !li.health_filters.is_empty() {
        filters.insert("health_filters".into(), json!(li.health_filters));
    }
    if !filters.is_empty() {
        m.insert("filters".into(), Value::Object(filters));
    }
    Value::Object(m)
}

/// Whole quantities as JSON integers (`2`, not `2.0`), fractions as they are.
fn number(q: f64) -> Value {
    if q.fract() == 0.0 && q.abs() < 1e15 {
        json!(q as i64)
    } else {
        json!(q)
    }
}

/// The key of the URL cache: everything that determines the page Instacart makes. The API
/// host (development and production pages differ), the account (a fingerprint of the API key:
/// pages belong to the partner that made them), the endpoint and the exact request body
/// (title, line items, options). Tracking parameters are ours and appended later, so they
/// are not part of it.
pub fn content_hash(api_base_url: &str, api_key: &str, req: &UpstreamRequest) -> String {
    let account = sha256_hex(api_key.as_bytes());
    sha256_hex(
        format!(
            "instacart-page/v1\n{api_base_url}\n{account}\n{}\n{}",
            req.endpoint.path,
            req.body_json()
        )
        .as_bytes(),
    )
}

/// How long a URL Instacart returned may be reused for new links: half the page's lifetime,
/// so a link made from the cache still has at least half of it; pages without an expiry for
/// `CACHE_TTL_NO_EXPIRY_SECS`.
pub fn cache_ttl_secs(page: &Page) -> u64 {
    let days = page
        .options
        .expires_in_days
        .map(u64::from)
        .or(match page.kind {
            PageKind::Recipe => Some(RECIPE_DEFAULT_EXPIRY_DAYS),
            PageKind::ShoppingList => None,
        });
    match days {
        Some(d) => (d * 86_400 / 2).clamp(60, CACHE_TTL_NO_EXPIRY_SECS),
        None => CACHE_TTL_NO_EXPIRY_SECS,
    }
}

// ---------------------------------------------------------------------------------------------
// Instacart's answer
// ---------------------------------------------------------------------------------------------

/// What Instacart's answer means for the link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The page's URL.
    Created(String),
    /// Instacart refused the content: relayed to the caller as a 400 at our keys.
    Rejected(Vec<FieldError>),
    /// Instacart could not make the page (5xx, a malformed answer, or a problem with our
    /// account or its load): the link falls back or the create fails with 502.
    Unavailable(String),
}

/// Reads Instacart's status and body. 400/422 and other content errors are the caller's; 401,
/// 403 (our key), 404/405 (our base URL), 408, 429 and 5xx are ours or Instacart's.
pub fn interpret(status: u16, body: &str, page: &Page) -> Outcome {
    match status {
        200..=299 => match products_link_url(body) {
            Some(url) => Outcome::Created(url),
            None => Outcome::Unavailable(format!(
                "answered {status} without a valid products_link_url"
            )),
        },
        401 | 403 => Outcome::Unavailable(format!("refused our API key ({status})")),
        404 | 405 => Outcome::Unavailable(format!("does not know the endpoint ({status})")),
        408 | 429 => Outcome::Unavailable(format!("is busy ({status})")),
        400..=499 => Outcome::Rejected(rejection(status, body, page)),
        _ => Outcome::Unavailable(format!("answered {status}")),
    }
}

/// `products_link_url` of a success body, when it is an absolute http(s) URL.
pub fn products_link_url(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let url = v.get("products_link_url")?.as_str()?;
    let mut p = Problems::default();
    check_web_url(url, "products_link_url", MAX_URL_LEN, &mut p)
}

/// Instacart's error body (`{"errors": [...]}` or `{"error": {...}}`, each with `message`,
/// `code` and optionally `meta.key`) as our field errors.
fn rejection(status: u16, body: &str, page: &Page) -> Vec<FieldError> {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let errors: Vec<&Value> = match (v.get("errors"), v.get("error")) {
        (Some(Value::Array(list)), _) => list.iter().take(MAX_PRODUCTS).collect(),
        (_, Some(e @ Value::Object(_))) => vec![e],
        _ => Vec::new(),
    };
    let mut out: Vec<FieldError> = errors
        .into_iter()
        .map(|e| {
            let message = e
                .get("message")
                .and_then(Value::as_str)
                .map(clean_message)
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "Instacart refused the request".into());
            let key = e
                .get("meta")
                .and_then(|m| m.get("key"))
                .and_then(Value::as_str)
                .map(|k| translate_key(k, page))
                .unwrap_or_default();
            FieldError::new(key, "rejected_by_instacart", message)
        })
        .collect();
    if out.is_empty() {
        out.push(FieldError::new(
            "",
            "rejected_by_instacart",
            format!("Instacart refused the request ({status})"),
        ));
    }
    out
}

/// Instacart's message as relayed: no control characters, at most 500 characters.
fn clean_message(m: &str) -> String {
    m.chars()
        .filter(|c| !c.is_control())
        .take(500)
        .collect::<String>()
        .trim()
        .to_string()
}

/// One segment of a key path: `line_items[0]` → ("line_items", Some("[0]")).
fn split_index(seg: &str) -> (&str, &str) {
    match seg.find('[') {
        Some(i) => (&seg[..i], &seg[i..]),
        None => (seg, ""),
    }
}

/// Translates Instacart's key path (`line_items[0].filters.health_filters`) to ours
/// (`products[0].healthFilters`). Unknown parts stop at the deepest known field; an unknown
/// top-level key becomes "" (the request as a whole).
pub fn translate_key(key: &str, page: &Page) -> String {
    let items_field = page.kind.endpoint().items_field;
    let mut segs = key.split('.');
    let Some(first) = segs.next() else {
        return String::new();
    };
    let (name, index) = split_index(first);
    let rest: Vec<&str> = segs.collect();
    if name == items_field || name == "line_items" || name == "ingredients" {
        let out = format!("products{index}");
        let item = index
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<usize>()
            .ok()
            .and_then(|i| page.line_items.get(i));
        return translate_item_key(out, &rest, item);
    }
    match (name, rest.as_slice()) {
        ("title", _) => page.title_key.to_string(),
        ("link_type", _) => "intent".into(),
        ("expires_in", _) => "options.expiresInDays".into(),
        ("author", _) => "options.recipe.author".into(),
        ("servings", _) => "options.recipe.servings".into(),
        ("cooking_time", _) => "options.recipe.cookingTime".into(),
        ("image_url", _) => "options.recipe.imageUrl".into(),
        ("instructions", _) => format!("options.recipe.instructions{index}"),
        ("landing_page_configuration", ["partner_linkback_url", ..]) => {
            "options.partnerLinkbackUrl".into()
        }
        ("landing_page_configuration", ["enable_pantry_items", ..]) => {
            "options.enablePantryItems".into()
        }
        ("landing_page_configuration", _) => "options".into(),
        _ => String::new(),
    }
}

fn translate_item_key(mut out: String, rest: &[&str], item: Option<&LineItem>) -> String {
    let Some((first, more)) = rest.split_first() else {
        return out;
    };
    let (name, index) = split_index(first);
    let field = match name {
        "name" => "name",
        "display_text" => "displayText",
        "quantity" => "quantity",
        "unit" => "unit",
        "upcs" => "upcs",
        "product_ids" => "productIds",
        "filters" => match more.first().copied() {
            Some("health_filters") => "healthFilters",
            Some("brand_filters") => "brandFilters",
            _ => return out,
        },
        "line_item_measurements" => {
            // Given as `quantity`/`unit`, sent as one measurement: the caller's key is the field.
            let measured = item.is_none_or(|li| li.measured);
            let sub = more
                .first()
                .copied()
                .filter(|s| *s == "quantity" || *s == "unit");
            if !measured {
                if let Some(sub) = sub {
                    out.push('.');
                    out.push_str(sub);
                }
                return out;
            }
            out.push_str(".measurements");
            out.push_str(index);
            if let Some(sub) = sub {
                out.push('.');
                out.push_str(sub);
            }
            return out;
        }
        // `base` is the line item itself; anything else unknown stops here too.
        _ => return out,
    };
    out.push('.');
    out.push_str(field);
    if matches!(field, "upcs" | "productIds") {
        out.push_str(index);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::link::validate_link;
    use serde_json::json;

    fn link(products: Value) -> Value {
        json!({"projectId": "proj_123", "name": "Weeknight tacos", "retailer": "instacart",
               "intent": "shopping_list", "products": products})
    }

    fn keys(v: Value) -> Vec<(String, &'static str)> {
        validate_link(&v)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.key, e.code))
            .collect()
    }

    fn page(v: Value) -> Page {
        let spec = validate_link(&v).unwrap();
        spec.instacart.unwrap()
    }

    fn three_items() -> Value {
        link(json!([
            {"name": "flour", "measurements": [{"quantity": 1, "unit": "cup"}, {"quantity": 16, "unit": "Tbs"}]},
            {"name": "whole milk", "displayText": "Organic whole milk", "healthFilters": ["organic"], "quantity": 0.5, "unit": "gallon"},
            {"name": "tomato soup", "upcs": ["051000012616"], "brandFilters": ["Campbell's"]}
        ]))
    }

    #[test]
    fn maps_a_shopping_list_to_the_seed_request() {
        let mut v = three_items();
        v["publicName"] = json!("Taco night");
        v["options"] =
            json!({"expiresInDays": 30, "partnerLinkbackUrl": "https://brand.example/tacos"});
        let pg = page(v);
        assert_eq!(pg.title_key, "publicName");
        let req = request(&pg);
        assert_eq!(req.endpoint.path, "/idp/v1/products/products_link");
        assert_eq!(
            req.body,
            json!({
                "title": "Taco night",
                "link_type": "shopping_list",
                "expires_in": 30,
                "line_items": [
                    {"name": "flour", "line_item_measurements": [
                        {"quantity": 1, "unit": "cup"}, {"quantity": 16, "unit": "tbs"}]},
                    {"name": "whole milk", "display_text": "Organic whole milk",
                     "line_item_measurements": [{"quantity": 0.5, "unit": "gallon"}],
                     "filters": {"health_filters": ["ORGANIC"]}},
                    {"name": "tomato soup", "line_item_measurements": [{"quantity": 1, "unit": "each"}],
                     "upcs": ["051000012616"], "filters": {"brand_filters": ["Campbell's"]}}
                ],
                "landing_page_configuration": {"partner_linkback_url": "https://brand.example/tacos"}
            })
        );
    }

    #[test]
    fn title_falls_back_to_name_and_products_are_normalised() {
        let v = three_items();
        let spec = validate_link(&v).unwrap();
        let pg = spec.instacart.clone().unwrap();
        assert_eq!(
            (pg.title.as_str(), pg.title_key),
            ("Weeknight tacos", "name")
        );
        assert_eq!(spec.fields["products"][2]["quantity"], json!(1));
        assert_eq!(
            spec.fields["products"][1]["healthFilters"],
            json!(["ORGANIC"])
        );
        assert_eq!(
            spec.fields["products"][0]["measurements"][1]["unit"],
            json!("tbs")
        );
        assert!(spec.fields["products"][0].get("quantity").is_none());
    }

    #[test]
    fn recipe_goes_to_the_recipe_endpoint_with_ingredients() {
        let mut v = link(json!([{"name": "tortillas", "quantity": 8}]));
        v["intent"] = json!("recipe");
        v["options"] = json!({"recipe": {"servings": 4, "cookingTime": 25, "author": "Ana",
            "instructions": ["Warm the tortillas", "Fill"], "imageUrl": "https://img.example/t.jpg"},
            "enablePantryItems": true});
        let req = request(&page(v));
        assert_eq!(req.endpoint.path, "/idp/v1/products/recipe");
        assert_eq!(
            req.body,
            json!({
                "title": "Weeknight tacos",
                "author": "Ana", "servings": 4, "cooking_time": 25,
                "image_url": "https://img.example/t.jpg",
                "instructions": ["Warm the tortillas", "Fill"],
                "ingredients": [{"name": "tortillas",
                                 "line_item_measurements": [{"quantity": 8, "unit": "each"}]}],
                "landing_page_configuration": {"enable_pantry_items": true}
            })
        );
    }

    #[test]
    fn line_item_problems_have_our_keys() {
        let k = keys(link(json!([
            {"name": "a", "healthFilters": ["ORGANIC", "KETO"]},
            {"name": "b", "quantity": 0},
            {"name": "c", "unit": "smidgen"},
            {"displayText": "no name"},
            {"name": "e", "upcs": ["123456789012"], "productIds": [42]},
            {"name": "f", "measurements": [{"quantity": 1, "unit": "cup"}, {"quantity": -0.1}]},
            {"name": "g", "upcs": ["12345"], "colour": "red"},
            {"name": "h", "quantity": 1, "measurements": [{"quantity": 2}]},
            "x"
        ])));
        let expected: Vec<(String, &str)> = vec![
            ("products[0].healthFilters".into(), "invalid_enum"),
            ("products[1].quantity".into(), "out_of_range"),
            ("products[2].unit".into(), "invalid_enum"),
            ("products[3].name".into(), "required"),
            ("products[4]".into(), "conflict"),
            (
                "products[5].measurements[1].quantity".into(),
                "out_of_range",
            ),
            ("products[6].colour".into(), "unknown_field"),
            ("products[6].upcs[0]".into(), "invalid_format"),
            ("products[7].measurements".into(), "conflict"),
            ("products[8]".into(), "invalid_type"),
        ];
        assert_eq!(k, expected);
    }

    #[test]
    fn duplicate_ids_across_items_are_refused_at_products() {
        let v = link(json!([
            {"name": "soup", "upcs": ["051000012616"]},
            {"name": "milk"},
            {"name": "soup again", "upcs": ["051000012616"]},
            {"name": "x", "productIds": [7]}, {"name": "y", "productIds": ["7"]}
        ]));
        let errs = validate_link(&v).unwrap_err();
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].key, "products");
        assert_eq!(errs[0].code, "duplicate");
        assert_eq!(
            errs[0].message,
            "Duplicate product identifiers found: upc 051000012616 (products[0] and products[2])"
        );
        assert!(errs[1].message.contains("product_id 7"));
    }

    #[test]
    fn options_and_pairs() {
        let mut v = three_items();
        v["options"] = json!({"expiresInDays": 366, "partnerLinkbackUrl": "javascript:x",
            "recipe": {"servings": 2}, "enablePantryItems": "yes"});
        assert_eq!(
            keys(v.clone()),
            vec![
                ("options.expiresInDays".into(), "out_of_range"),
                ("options.partnerLinkbackUrl".into(), "invalid_url"),
                ("options.enablePantryItems".into(), "invalid_type"),
                ("options.recipe".into(), "not_allowed"),
                ("options.enablePantryItems".into(), "not_allowed"),
            ]
        );
        v["intent"] = json!("recipe");
        v["options"] = json!({"recipe": {"servings": 0, "cookingTime": "20m", "chef": "x",
            "instructions": [], "imageUrl": "ftp://x"}});
        assert_eq!(
            keys(v.clone()),
            vec![
                ("options.recipe.chef".into(), "unknown_field"),
                ("options.recipe.servings".into(), "out_of_range"),
                ("options.recipe.cookingTime".into(), "invalid_type"),
                ("options.recipe.imageUrl".into(), "invalid_url"),
                ("options.recipe.instructions".into(), "invalid_length"),
            ]
        );
        // Instacart's options on another retailer's link, and pairs.
        let w = json!({"projectId": "p", "name": "n", "retailer": "walmart", "intent": "add_to_cart",
            "products": [{"id": "1"}], "options": {"expiresInDays": 3}});
        assert_eq!(
            keys(w),
            vec![("options.expiresInDays".into(), "not_allowed")]
        );
        let mut v = three_items();
        v["intent"] = json!("add_to_cart");
        assert_eq!(keys(v), vec![("intent".into(), "unsupported_intent")]);
        let mut v = three_items();
        v.as_object_mut().unwrap().remove("products");
        v["customUrl"] = json!("https://x.example/");
        assert_eq!(
            keys(v),
            vec![
                ("products".into(), "required"),
                ("customUrl".into(), "not_allowed")
            ]
        );
    }

    #[test]
    fn instacart_options_are_link_options() {
        for k in OPTION_FIELDS {
            assert!(crate::domain::link::OPTION_FIELDS.contains(&k), "{k}");
        }
    }

    #[test]
    fn units_and_filters() {
        assert_eq!(canonical_unit("FL OZ"), Some("fl oz"));
        assert_eq!(canonical_unit("Each"), Some("each"));
        assert_eq!(canonical_unit("pinch"), None);
        let k = keys(link(json!([
            {"name": "a", "healthFilters": []},
            {"name": "b", "brandFilters": [""]},
            {"name": "c", "upcs": ["123456789012", "123456789012"]},
            {"name": "d", "quantity": 10001},
            {"name": "e", "quantity": "2"},
        ])));
        assert_eq!(
            k,
            vec![
                ("products[0].healthFilters".into(), "invalid_length"),
                ("products[1].brandFilters[0]".into(), "invalid_format"),
                ("products[2].upcs[1]".into(), "duplicate"),
                ("products[3].quantity".into(), "out_of_range"),
                ("products[4].quantity".into(), "invalid_type"),
            ]
        );
    }

    #[test]
    fn content_hash_follows_the_content_only() {
        let a = request(&page(three_items()));
        let h = content_hash("https://connect.dev.instacart.tools", "k1", &a);
        assert_eq!(h.len(), 64);
        assert_eq!(
            h,
            content_hash("https://connect.dev.instacart.tools", "k1", &a)
        );
        // Tracking is not content; title, items, options, host and account are.
        let mut v = three_items();
        v["tracking"] = json!({"utmSource": "ig"});
        assert_eq!(
            h,
            content_hash(
                "https://connect.dev.instacart.tools",
                "k1",
                &request(&page(v))
            )
        );
        let mut v = three_items();
        v["publicName"] = json!("Other title");
        assert_ne!(
            h,
            content_hash(
                "https://connect.dev.instacart.tools",
                "k1",
                &request(&page(v))
            )
        );
        let mut v = three_items();
        v["products"][0]["measurements"][0]["quantity"] = json!(2);
        assert_ne!(
            h,
            content_hash(
                "https://connect.dev.instacart.tools",
                "k1",
                &request(&page(v))
            )
        );
        assert_ne!(h, content_hash("https://connect.instacart.com", "k1", &a));
        assert_ne!(
            h,
            content_hash("https://connect.dev.instacart.tools", "k2", &a)
        );
        assert!(!h.contains("k1"));
    }

    #[test]
    fn cache_lifetime() {
        let mut pg = page(three_items());
        assert_eq!(cache_ttl_secs(&pg), CACHE_TTL_NO_EXPIRY_SECS);
        pg.options.expires_in_days = Some(1);
        assert_eq!(cache_ttl_secs(&pg), 43_200);
        pg.options.expires_in_days = None;
        pg.kind = PageKind::Recipe;
        assert_eq!(cache_ttl_secs(&pg), 15 * 86_400);
        pg.options.expires_in_days = Some(365);
        assert_eq!(cache_ttl_secs(&pg), CACHE_TTL_NO_EXPIRY_SECS);
    }

    #[test]
    fn translates_instacart_keys() {
        let pg = page(three_items());
        let t = |k: &str| translate_key(k, &pg);
        assert_eq!(
            t("line_items[0].filters.health_filters"),
            "products[0].healthFilters"
        );
        assert_eq!(
            t("line_items[1].filters.health_filters"),
            "products[1].healthFilters"
        );
        assert_eq!(
            t("line_items[0].line_item_measurements[1].quantity"),
            "products[0].measurements[1].quantity"
        );
        // Item 1 was given with quantity/unit: Instacart's measurement is our field.
        assert_eq!(
            t("line_items[1].line_item_measurements[0].quantity"),
            "products[1].quantity"
        );
        assert_eq!(
            t("line_items[1].line_item_measurements[0].unit"),
            "products[1].unit"
        );
        assert_eq!(t("line_items[0].base"), "products[0]");
        assert_eq!(t("line_items"), "products");
        assert_eq!(t("line_items[2].upcs[0]"), "products[2].upcs[0]");
        assert_eq!(t("line_items[2].product_ids"), "products[2].productIds");
        assert_eq!(t("line_items[2].display_text"), "products[2].displayText");
        assert_eq!(
            t("line_items[2].filters.brand_filters"),
            "products[2].brandFilters"
        );
        assert_eq!(t("line_items[2].mystery"), "products[2]");
        assert_eq!(t("ingredients[0].name"), "products[0].name");
        assert_eq!(t("title"), "name");
        assert_eq!(t("expires_in"), "options.expiresInDays");
        assert_eq!(
            t("landing_page_configuration.partner_linkback_url"),
            "options.partnerLinkbackUrl"
        );
        assert_eq!(t("cooking_time"), "options.recipe.cookingTime");
        assert_eq!(t("instructions[2]"), "options.recipe.instructions[2]");
        assert_eq!(t("whatever"), "");
        assert_eq!(t(""), "");
    }

    #[test]
    fn interprets_instacart_answers() {
        let pg = page(three_items());
        assert_eq!(
            interpret(
                200,
                r#"{"products_link_url":"https://customers.dev.instacart.tools/store/shopping_lists/1"}"#,
                &pg
            ),
            Outcome::Created("https://customers.dev.instacart.tools/store/shopping_lists/1".into())
        );
        for bad in [
            "",
            "{",
            "[]",
            r#"{"products_link_url":5}"#,
            r#"{"products_link_url":"javascript:alert(1)"}"#,
            r#"{"url":"https://x"}"#,
        ] {
            assert!(
                matches!(interpret(200, bad, &pg), Outcome::Unavailable(_)),
                "{bad}"
            );
        }
        for status in [500, 502, 503, 401, 403, 404, 429, 302] {
            assert!(
                matches!(interpret(status, "{}", &pg), Outcome::Unavailable(_)),
                "{status}"
            );
        }
        let many = r#"{"errors":[{"message":"Invalid health filters: [\"INVALID\"]","code":1001,"meta":{"key":"line_items[1].filters.health_filters"}},
                                 {"message":"Duplicate product identifiers found: upc 123456789012","code":1001,"meta":{"key":"line_items"}}]}"#;
        assert_eq!(
            interpret(400, many, &pg),
            Outcome::Rejected(vec![
                FieldError::new(
                    "products[1].healthFilters",
                    "rejected_by_instacart",
                    "Invalid health filters: [\"INVALID\"]"
                ),
                FieldError::new(
                    "products",
                    "rejected_by_instacart",
                    "Duplicate product identifiers found: upc 123456789012"
                ),
            ])
        );
        let one = r#"{"error":{"message":"Invalid quantity: -0.1. Cannot be lower than or equal to 0.0","code":1001,"meta":{"key":"line_items[0].line_item_measurements[0].quantity"}}}"#;
        assert_eq!(
            interpret(400, one, &pg),
            Outcome::Rejected(vec![FieldError::new(
                "products[0].measurements[0].quantity",
                "rejected_by_instacart",
                "Invalid quantity: -0.1. Cannot be lower than or equal to 0.0"
            )])
        );
        let generic = r#"{"error":{"message":"There were issues with your request","code":9999}}"#;
        assert_eq!(
            interpret(400, generic, &pg),
            Outcome::Rejected(vec![FieldError::new(
                "",
                "rejected_by_instacart",
                "There were issues with your request"
            )])
        );
        assert_eq!(
            interpret(422, "<html>", &pg),
            Outcome::Rejected(vec![FieldError::new(
                "",
                "rejected_by_instacart",
                "Instacart refused the request (422)"
            )])
        );
    }
}
