//! Instacart Developer Platform: an Instacart link's destination is a page (a shopping list
//! or a recipe) that Instacart creates from the link's `options.instacart` content. This file
//! holds every Instacart rule: the validation of that content (with our key paths), the
//! request we send, the content hash that keys the URL cache, the reading of Instacart's
//! answers and the translation of Instacart's error keys back to ours. Pure: no `worker`
//! imports; the call itself is in `http/instacart.rs`.

use super::{custom_url, unsupported, Intent, NoDestination, Order};
use crate::domain::error::FieldError;
use crate::domain::ids::sha256_hex;
use crate::domain::validate::*;
use serde_json::{json, Map, Value};

pub(super) const INTENTS: &[Intent] = &[Intent::ShoppingList, Intent::Recipe, Intent::CustomUrl];

/// Shopping lists and recipes are pages Instacart makes; `custom_url` links are built here.
pub(super) fn made_by_api(intent: Intent) -> bool {
    matches!(intent, Intent::ShoppingList | Intent::Recipe)
}

pub(super) fn destination(order: &Order) -> Result<String, NoDestination> {
    match order.intent {
        Intent::CustomUrl => custom_url(order),
        Intent::ShoppingList | Intent::Recipe => Err(NoDestination {
            key: "intent",
            message: "Instacart pages are created by the Instacart API".into(),
        }),
        Intent::AddToCart | Intent::ProductDetail => Err(unsupported(order.intent)),
    }
}

/// Where Instacart content lives in a link request.
pub const BASE: &str = "options.instacart";
/// Line items (or ingredients) per page, as Instacart allows.
pub const MAX_LINE_ITEMS: usize = 100;
pub const MAX_URL_LEN: usize = 2048;

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

/// The fields of `options.instacart`.
pub const FIELDS: [&str; 6] = [
    "shoppingList",
    "recipe",
    "expiresInDays",
    "partnerLinkbackUrl",
    "enablePantryItems",
    "retailerKey",
];
/// The fields of `options.instacart.shoppingList`.
pub const SHOPPING_LIST_FIELDS: [&str; 4] = ["title", "imageUrl", "instructions", "lineItems"];
/// The fields of `options.instacart.recipe`.
pub const RECIPE_FIELDS: [&str; 7] = [
    "title",
    "imageUrl",
    "author",
    "servings",
    "cookingTime",
    "instructions",
    "ingredients",
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

/// What only a recipe page has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recipe {
    pub servings: Option<u32>,
    /// Minutes.
    pub cooking_time: Option<u32>,
    pub author: Option<String>,
}

/// Instacart's own options (`options.instacart.expiresInDays`, … in our API).
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
    /// Our field the title came from (the content's `title`, else `publicName`, else `name`),
    /// for error keys.
    pub title_key: &'static str,
    pub image_url: Option<String>,
    pub instructions: Vec<String>,
    pub line_items: Vec<LineItem>,
    pub options: PageOptions,
    /// `retailer_key=` appended to the page URL (Instacart preselects that retailer).
    pub retailer_key: Option<String>,
}

impl PageKind {
    /// Our key of the page's content: `options.instacart.shoppingList` or `….recipe`.
    pub fn content_key(self) -> &'static str {
        match self {
            PageKind::ShoppingList => "options.instacart.shoppingList",
            PageKind::Recipe => "options.instacart.recipe",
        }
    }
    /// Our key of the page's line items.
    pub fn items_key(self) -> &'static str {
        match self {
            PageKind::ShoppingList => "options.instacart.shoppingList.lineItems",
            PageKind::Recipe => "options.instacart.recipe.ingredients",
        }
    }
    fn title_key(self) -> &'static str {
        match self {
            PageKind::ShoppingList => "options.instacart.shoppingList.title",
            PageKind::Recipe => "options.instacart.recipe.title",
        }
    }
    fn kind_field(self) -> &'static str {
        match self {
            PageKind::ShoppingList => "shoppingList",
            PageKind::Recipe => "recipe",
        }
    }
    fn items_field(self) -> &'static str {
        match self {
            PageKind::ShoppingList => "lineItems",
            PageKind::Recipe => "ingredients",
        }
    }
    fn fields(self) -> &'static [&'static str] {
        match self {
            PageKind::ShoppingList => &SHOPPING_LIST_FIELDS,
            PageKind::Recipe => &RECIPE_FIELDS,
        }
    }
    fn of(intent: Intent) -> Option<PageKind> {
        match intent {
            Intent::ShoppingList => Some(PageKind::ShoppingList),
            Intent::Recipe => Some(PageKind::Recipe),
            Intent::AddToCart | Intent::ProductDetail | Intent::CustomUrl => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/// What the link around `options.instacart` says: the retailer is Instacart, the intent, and
/// the title to use when the content has none (`publicName`, else `name`).
pub struct Context<'a> {
    pub instacart: bool,
    pub intent: Option<Intent>,
    pub title: (&'static str, &'a str),
}

/// Validates `options.instacart` (`ic`, absent when `None`) and the rules tying it to the
/// link: a shopping_list link needs `shoppingList`, a recipe link `recipe`, and nothing else
/// may carry Instacart content. Returns the page when the intent makes one (every problem is
/// pushed to `p`; the page is only used when `p` stays empty) and the normalised
/// `options.instacart` (units and health filters in Instacart's spelling, quantities filled in).
pub fn validate(
    ic: Option<&Map<String, Value>>,
    cx: &Context,
    p: &mut Problems,
) -> (Option<Page>, Option<Map<String, Value>>) {
    let kind = cx.intent.and_then(PageKind::of).filter(|_| cx.instacart);
    let Some(ic) = ic else {
        if let Some(k) = kind {
            p.rule(
                k.content_key(),
                "required",
                format!(
                    "'{}' is required for {} links",
                    k.content_key(),
                    cx.intent.map_or("", Intent::as_str)
                ),
            );
        }
        return (None, None);
    };
    reject_unknown(ic, &FIELDS, BASE, p);
    let mut norm = ic.clone();
    let mut options = PageOptions {
        expires_in_days: opt_int(ic, "expiresInDays", BASE, 1, MAX_EXPIRES_IN_DAYS, p)
            .map(|d| d as u32),
        partner_linkback_url: opt_string(ic, "partnerLinkbackUrl", BASE, 1, usize::MAX, p)
            .and_then(|s| check_web_url(s, "options.instacart.partnerLinkbackUrl", MAX_URL_LEN, p)),
        enable_pantry_items: opt_bool(ic, "enablePantryItems", BASE, p),
        recipe: None,
    };
    if let Some(u) = &options.partner_linkback_url {
        norm.insert("partnerLinkbackUrl".into(), json!(u));
    }
    let retailer_key = opt_string(ic, "retailerKey", BASE, 1, 64, p).and_then(|k| {
        if k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            Some(k.to_string())
        } else {
            p.push(
                "options.instacart.retailerKey",
                "invalid_format",
                "Must be 1–64 of A-Z a-z 0-9 _ -",
            );
            None
        }
    });

    let mut pages = Vec::new();
    for k in [PageKind::ShoppingList, PageKind::Recipe] {
        if let Some(c) = opt_object(ic, k.kind_field(), BASE, p) {
            let (content, normalised) = validate_content(c, k, cx.title, p);
            norm.insert(k.kind_field().into(), Value::Object(normalised));
            pages.push(content);
        }
    }

    // Rules: which content this link may carry.
    let Some(kind) = kind else {
        // An intent Instacart does not serve is reported at `intent` alone.
        let why = if !cx.instacart {
            Some("'options.instacart' is only used by instacart links")
        } else if cx.intent == Some(Intent::CustomUrl) {
            Some("'options.instacart' is only used by shopping_list and recipe links")
        } else {
            None
        };
        if let Some(why) = why {
            p.rule(BASE, "not_allowed", why);
        }
        return (None, Some(norm));
    };
    let other = match kind {
        PageKind::ShoppingList => PageKind::Recipe,
        PageKind::Recipe => PageKind::ShoppingList,
    };
    if ic.contains_key(other.kind_field()) {
        p.rule(
            other.content_key(),
            "not_allowed",
            format!(
                "'{}' is only used by {} links",
                other.content_key(),
                match other {
                    PageKind::ShoppingList => "shopping_list",
                    PageKind::Recipe => "recipe",
                }
            ),
        );
    }
    if kind == PageKind::ShoppingList && ic.contains_key("enablePantryItems") {
        p.rule(
            "options.instacart.enablePantryItems",
            "not_allowed",
            "'enablePantryItems' is only used by recipe links",
        );
    }
    if !ic.contains_key(kind.kind_field()) {
        p.rule(
            kind.content_key(),
            "required",
            format!(
                "'{}' is required for {} links",
                kind.content_key(),
                cx.intent.map_or("", Intent::as_str)
            ),
        );
        return (None, Some(norm));
    }
    let content = pages.into_iter().find(|c| c.kind == kind);
    let page = content.map(|c| {
        if kind == PageKind::Recipe {
            options.recipe = Some(c.recipe.clone());
        }
        Page {
            kind,
            title: c.title,
            title_key: c.title_key,
            image_url: c.image_url,
            instructions: c.instructions,
            line_items: c.line_items,
            options,
            retailer_key,
        }
    });
    (page, Some(norm))
}

/// A shopping list's or recipe's content, validated.
struct Content {
    kind: PageKind,
    title: String,
    title_key: &'static str,
    image_url: Option<String>,
    instructions: Vec<String>,
    line_items: Vec<LineItem>,
    recipe: Recipe,
}

fn validate_content(
    c: &Map<String, Value>,
    kind: PageKind,
    fallback_title: (&'static str, &str),
    p: &mut Problems,
) -> (Content, Map<String, Value>) {
    let base = kind.content_key();
    reject_unknown(c, kind.fields(), base, p);
    let mut norm = c.clone();
    let (title_key, title) = match opt_string(c, "title", base, 1, 160, p) {
        Some(t) => (kind.title_key(), t.to_string()),
        None => (fallback_title.0, fallback_title.1.to_string()),
    };
    let image_url = opt_string(c, "imageUrl", base, 1, usize::MAX, p)
        .and_then(|s| check_web_url(s, &path(base, "imageUrl"), MAX_URL_LEN, p));
    if let Some(u) = &image_url {
        norm.insert("imageUrl".into(), json!(u));
    }
    let mut instructions = Vec::new();
    if let Some(items) = opt_array(c, "instructions", base, MAX_INSTRUCTIONS, p) {
        for (k, v) in items.iter().enumerate() {
            let key = format!("{base}.instructions[{k}]");
            match v {
                Value::String(s) if (1..=2000).contains(&char_len(s)) => {
                    instructions.push(s.clone())
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
    let recipe = match kind {
        PageKind::Recipe => Recipe {
            servings: opt_int(c, "servings", base, 1, 1000, p).map(|n| n as u32),
            cooking_time: opt_int(c, "cookingTime", base, 1, 10_080, p).map(|n| n as u32),
            author: opt_string(c, "author", base, 1, 160, p).map(str::to_string),
        },
        PageKind::ShoppingList => Recipe::default(),
    };
    let items_field = kind.items_field();
    let items_key = kind.items_key();
    let mut line_items = Vec::new();
    if !c.contains_key(items_field) {
        p.push(
            items_key,
            "required",
            format!("'{items_field}' is required"),
        );
    } else if let Some(items) =
        bounded_array(c, items_field, base, (1, MAX_LINE_ITEMS), "line items", p)
    {
        let mut valid = Vec::with_capacity(items.len());
        let mut normalised = Vec::with_capacity(items.len());
        for (idx, item) in items.iter().enumerate() {
            let ibase = format!("{items_key}[{idx}]");
            let Value::Object(o) = item else {
                p.push(
                    &ibase,
                    "invalid_type",
                    format!("Must be an object, got {}", json_type(item)),
                );
                normalised.push(item.clone());
                continue;
            };
            let (li, n) = validate_line_item(o, &ibase, p);
            if let Some(li) = li {
                valid.push((idx, li));
            }
            normalised.push(Value::Object(n));
        }
        check_duplicate_ids(&valid, items_key, p);
        norm.insert(items_field.into(), Value::Array(normalised));
        line_items = valid.into_iter().map(|(_, li)| li).collect();
    }
    (
        Content {
            kind,
            title,
            title_key,
            image_url,
            instructions,
            line_items,
            recipe,
        },
        norm,
    )
}

/// One line item; returns it when valid, and its normalised JSON either way.
fn validate_line_item(
    o: &Map<String, Value>,
    base: &str,
    p: &mut Problems,
) -> (Option<LineItem>, Map<String, Value>) {
    let before = p.count();
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

    if p.count() > before {
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

/// The same UPC or product id on two line items is refused at the items' key, as Instacart
/// does.
fn check_duplicate_ids(items: &[(usize, LineItem)], key: &str, p: &mut Problems) {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for (idx, li) in items {
        let ids: Vec<String> = match &li.ids {
            Identifiers::None => continue,
            Identifiers::Upcs(v) => v.iter().map(|u| format!("upc {u}")).collect(),
            Identifiers::ProductIds(v) => v.iter().map(|i| format!("product_id {i}")).collect(),
        };
        for id in ids {
            match seen.iter().find(|(s, _)| *s == id) {
                Some((_, first)) => p.rule(
                    key,
                    "duplicate",
                    format!(
                        "Duplicate product identifiers found: {id} ({key}[{first}] and {key}[{idx}])"
                    ),
                ),
                None => seen.push((id, *idx)),
            }
        }
    }
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

/// Maps a validated page to Instacart's request (its documented form: snake_case,
/// measurements in `line_item_measurements`, filters under `filters`).
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
    }
    if let Some(i) = &page.image_url {
        body.insert("image_url".into(), json!(i));
    }
    if !page.instructions.is_empty() {
        body.insert("instructions".into(), json!(page.instructions));
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
        (Some(Value::Array(list)), _) => list.iter().take(MAX_LINE_ITEMS).collect(),
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
/// (`options.instacart.shoppingList.lineItems[0].healthFilters`). Unknown parts stop at the
/// deepest known field; an unknown top-level key becomes "" (the request as a whole).
pub fn translate_key(key: &str, page: &Page) -> String {
    let items_field = page.kind.endpoint().items_field;
    let content = page.kind.content_key();
    let mut segs = key.split('.');
    let Some(first) = segs.next() else {
        return String::new();
    };
    let (name, index) = split_index(first);
    let rest: Vec<&str> = segs.collect();
    if name == items_field || name == "line_items" || name == "ingredients" {
        let out = format!("{}{index}", page.kind.items_key());
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
        ("expires_in", _) => "options.instacart.expiresInDays".into(),
        ("author", _) => format!("{content}.author"),
        ("servings", _) => format!("{content}.servings"),
        ("cooking_time", _) => format!("{content}.cookingTime"),
        ("image_url", _) => format!("{content}.imageUrl"),
        ("instructions", _) => format!("{content}.instructions{index}"),
        ("landing_page_configuration", ["partner_linkback_url", ..]) => {
            "options.instacart.partnerLinkbackUrl".into()
        }
        ("landing_page_configuration", ["enable_pantry_items", ..]) => {
            "options.instacart.enablePantryItems".into()
        }
        ("landing_page_configuration", _) => BASE.into(),
        _ => String::new(),
    }
}

/// The page URL a link points at: Instacart's URL, with `retailer_key=` when the link names
/// a retailer.
pub fn page_url(url: &str, page: &Page) -> String {
    match &page.retailer_key {
        Some(k) => super::append_params(url, &[("retailer_key".to_string(), k.clone())]),
        None => url.to_string(),
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

    const L: &str = "options.instacart.shoppingList.lineItems";
    use crate::domain::link::validate_link;
    use serde_json::json;

    use crate::domain::error::Kind;

    fn link(items: Value) -> Value {
        json!({"projectId": "proj_123", "name": "Weeknight tacos", "retailer": "instacart",
               "intent": "shopping_list",
               "options": {"instacart": {"shoppingList": {"lineItems": items}}}})
    }

    fn ic(v: &mut Value) -> &mut Value {
        &mut v["options"]["instacart"]
    }

    fn keys(v: Value) -> Vec<(String, &'static str)> {
        validate_link(&v)
            .err()
            .map(|e| e.keys())
            .unwrap_or_default()
    }

    fn kind(v: Value) -> Option<Kind> {
        validate_link(&v).err().map(|e| e.kind)
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
        ic(&mut v)["expiresInDays"] = json!(30);
        ic(&mut v)["partnerLinkbackUrl"] = json!("https://brand.example/tacos");
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
    fn title_falls_back_to_name_and_items_are_normalised() {
        let v = three_items();
        let spec = validate_link(&v).unwrap();
        let pg = spec.instacart.clone().unwrap();
        assert_eq!(
            (pg.title.as_str(), pg.title_key),
            ("Weeknight tacos", "name")
        );
        let items = &spec.fields["options"]["instacart"]["shoppingList"]["lineItems"];
        assert_eq!(items[2]["quantity"], json!(1));
        assert_eq!(items[1]["healthFilters"], json!(["ORGANIC"]));
        assert_eq!(items[0]["measurements"][1]["unit"], json!("tbs"));
        assert!(items[0].get("quantity").is_none());
        assert!(!spec.fields.contains_key("products"));
    }

    #[test]
    fn the_content_title_image_instructions_and_retailer_key() {
        let mut v = three_items();
        v["publicName"] = json!("Taco night");
        ic(&mut v)["shoppingList"]["title"] = json!("Tacos for four");
        ic(&mut v)["shoppingList"]["imageUrl"] = json!("https://img.example/t.jpg");
        ic(&mut v)["shoppingList"]["instructions"] = json!(["Buy fresh"]);
        ic(&mut v)["retailerKey"] = json!("costco");
        let pg = page(v);
        assert_eq!(
            (pg.title.as_str(), pg.title_key),
            ("Tacos for four", "options.instacart.shoppingList.title")
        );
        let req = request(&pg);
        assert_eq!(req.body["image_url"], "https://img.example/t.jpg");
        assert_eq!(req.body["instructions"], json!(["Buy fresh"]));
        assert!(req.body.get("retailer_key").is_none());
        assert_eq!(
            page_url(
                "https://customers.dev.instacart.tools/store/shopping_lists/1",
                &pg
            ),
            "https://customers.dev.instacart.tools/store/shopping_lists/1?retailer_key=costco"
        );
        let mut v = three_items();
        ic(&mut v)["retailerKey"] = json!("cost co");
        assert_eq!(
            keys(v),
            vec![("options.instacart.retailerKey".into(), "invalid_format")]
        );
    }

    #[test]
    fn recipe_goes_to_the_recipe_endpoint_with_ingredients() {
        let mut v = link(json!([]));
        v["intent"] = json!("recipe");
        v["options"] = json!({"instacart": {"recipe": {"servings": 4, "cookingTime": 25,
            "author": "Ana", "instructions": ["Warm the tortillas", "Fill"],
            "imageUrl": "https://img.example/t.jpg",
            "ingredients": [{"name": "tortillas", "quantity": 8}]},
            "enablePantryItems": true}});
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
            (format!("{L}[0].healthFilters"), "invalid_enum"),
            (format!("{L}[1].quantity"), "out_of_range"),
            (format!("{L}[2].unit"), "invalid_enum"),
            (format!("{L}[3].name"), "required"),
            (format!("{L}[4]"), "conflict"),
            (format!("{L}[5].measurements[1].quantity"), "out_of_range"),
            (format!("{L}[6].colour"), "unknown_field"),
            (format!("{L}[6].upcs[0]"), "invalid_format"),
            (format!("{L}[7].measurements"), "conflict"),
            (format!("{L}[8]"), "invalid_type"),
        ];
        assert_eq!(k, expected);
    }

    #[test]
    fn duplicate_ids_across_items_are_refused_at_the_items() {
        let v = link(json!([
            {"name": "soup", "upcs": ["051000012616"]},
            {"name": "milk"},
            {"name": "soup again", "upcs": ["051000012616"]},
            {"name": "x", "productIds": [7]}, {"name": "y", "productIds": ["7"]}
        ]));
        let invalid = validate_link(&v).unwrap_err();
        assert_eq!(invalid.kind, Kind::Rule);
        let errs = invalid.errors;
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].key, L);
        assert_eq!(errs[0].code, "duplicate");
        assert_eq!(
            errs[0].message,
            format!("Duplicate product identifiers found: upc 051000012616 ({L}[0] and {L}[2])")
        );
        assert!(errs[1].message.contains("product_id 7"));
    }

    #[test]
    fn options_and_pairs() {
        let mut v = three_items();
        for (k, val) in [
            ("expiresInDays", json!(366)),
            ("partnerLinkbackUrl", json!("javascript:x")),
            ("enablePantryItems", json!("yes")),
        ] {
            ic(&mut v)[k] = val;
        }
        assert_eq!(
            keys(v.clone()),
            vec![
                ("options.instacart.expiresInDays".into(), "out_of_range"),
                ("options.instacart.partnerLinkbackUrl".into(), "invalid_url"),
                ("options.instacart.enablePantryItems".into(), "invalid_type"),
            ]
        );
        // Well-formed, but a recipe's content and pantry items on a shopping list: rules.
        let mut v = three_items();
        ic(&mut v)["recipe"] = json!({"servings": 2, "ingredients": [{"name": "x"}]});
        ic(&mut v)["enablePantryItems"] = json!(true);
        assert_eq!(kind(v.clone()), Some(Kind::Rule));
        assert_eq!(
            keys(v),
            vec![
                ("options.instacart.recipe".into(), "not_allowed"),
                ("options.instacart.enablePantryItems".into(), "not_allowed"),
            ]
        );
        let mut v = link(json!([]));
        v["intent"] = json!("recipe");
        v["options"] = json!({"instacart": {"recipe": {"servings": 0, "cookingTime": "20m",
            "chef": "x", "instructions": [], "imageUrl": "ftp://x", "ingredients": [{"name": "a"}]}}});
        assert_eq!(
            keys(v.clone()),
            vec![
                ("options.instacart.recipe.chef".into(), "unknown_field"),
                ("options.instacart.recipe.imageUrl".into(), "invalid_url"),
                (
                    "options.instacart.recipe.instructions".into(),
                    "invalid_length"
                ),
                ("options.instacart.recipe.servings".into(), "out_of_range"),
                (
                    "options.instacart.recipe.cookingTime".into(),
                    "invalid_type"
                ),
            ]
        );
        // Content the intent needs is a rule; its items are shape.
        v["options"] = json!({"instacart": {"shoppingList": {"lineItems": [{"name": "a"}]}}});
        assert_eq!(kind(v.clone()), Some(Kind::Rule));
        assert_eq!(
            keys(v.clone()),
            vec![
                ("options.instacart.shoppingList".into(), "not_allowed"),
                ("options.instacart.recipe".into(), "required"),
            ]
        );
        v["options"] = json!({"instacart": {"recipe": {"title": "T"}}});
        assert_eq!(
            keys(v),
            vec![("options.instacart.recipe.ingredients".into(), "required")]
        );
        // Instacart content on another retailer's link, and pairs.
        let w = json!({"projectId": "p", "name": "n", "retailer": "walmart", "intent": "add_to_cart",
            "products": [{"retailerProductId": "1"}], "options": {"instacart": {"expiresInDays": 3}}});
        assert_eq!(kind(w.clone()), Some(Kind::Rule));
        assert_eq!(keys(w), vec![("options.instacart".into(), "not_allowed")]);
        let mut v = three_items();
        v["intent"] = json!("add_to_cart");
        assert_eq!(keys(v), vec![("intent".into(), "unsupported_intent")]);
        let mut v = three_items();
        v.as_object_mut().unwrap().remove("options");
        v["customUrl"] = json!("https://x.example/");
        v["products"] = json!([{"retailerProductId": "1"}]);
        assert_eq!(
            keys(v),
            vec![
                ("products".into(), "not_allowed"),
                ("options.instacart.shoppingList".into(), "required"),
                ("customUrl".into(), "not_allowed"),
            ]
        );
        // A custom_url Instacart link needs only its URL.
        let c = json!({"projectId": "p", "name": "n", "retailer": "instacart",
            "intent": "custom_url", "customUrl": "https://www.instacart.com/store"});
        assert!(validate_link(&c).unwrap().instacart.is_none());
    }

    #[test]
    fn every_instacart_field_is_an_option() {
        assert!(crate::domain::link::OPTION_FIELDS.contains(&"instacart"));
        assert_eq!(FIELDS.len(), 6);
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
                (format!("{L}[0].healthFilters"), "invalid_length"),
                (format!("{L}[1].brandFilters[0]"), "invalid_format"),
                (format!("{L}[2].upcs[1]"), "duplicate"),
                (format!("{L}[3].quantity"), "out_of_range"),
                (format!("{L}[4].quantity"), "invalid_type"),
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
        v["tracking"] = json!({"utm": {"source": "ig"}});
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
        ic(&mut v)["shoppingList"]["lineItems"][0]["measurements"][0]["quantity"] = json!(2);
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
            format!("{L}[0].healthFilters")
        );
        assert_eq!(
            t("line_items[1].filters.health_filters"),
            format!("{L}[1].healthFilters")
        );
        assert_eq!(
            t("line_items[0].line_item_measurements[1].quantity"),
            format!("{L}[0].measurements[1].quantity")
        );
        // Item 1 was given with quantity/unit: Instacart's measurement is our field.
        assert_eq!(
            t("line_items[1].line_item_measurements[0].quantity"),
            format!("{L}[1].quantity")
        );
        assert_eq!(
            t("line_items[1].line_item_measurements[0].unit"),
            format!("{L}[1].unit")
        );
        assert_eq!(t("line_items[0].base"), format!("{L}[0]"));
        assert_eq!(t("line_items"), L);
        assert_eq!(t("line_items[2].upcs[0]"), format!("{L}[2].upcs[0]"));
        assert_eq!(t("line_items[2].product_ids"), format!("{L}[2].productIds"));
        assert_eq!(
            t("line_items[2].display_text"),
            format!("{L}[2].displayText")
        );
        assert_eq!(
            t("line_items[2].filters.brand_filters"),
            format!("{L}[2].brandFilters")
        );
        assert_eq!(t("line_items[2].mystery"), format!("{L}[2]"));
        assert_eq!(t("ingredients[0].name"), format!("{L}[0].name"));
        assert_eq!(t("title"), "name");
        assert_eq!(t("expires_in"), "options.instacart.expiresInDays");
        assert_eq!(
            t("landing_page_configuration.partner_linkback_url"),
            "options.instacart.partnerLinkbackUrl"
        );
        assert_eq!(
            t("cooking_time"),
            "options.instacart.shoppingList.cookingTime"
        );
        assert_eq!(
            t("instructions[2]"),
            "options.instacart.shoppingList.instructions[2]"
        );
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
                    format!("{L}[1].healthFilters"),
                    "rejected_by_instacart",
                    "Invalid health filters: [\"INVALID\"]"
                ),
                FieldError::new(
                    L,
                    "rejected_by_instacart",
                    "Duplicate product identifiers found: upc 123456789012"
                ),
            ])
        );
        let one = r#"{"error":{"message":"Invalid quantity: -0.1. Cannot be lower than or equal to 0.0","code":1001,"meta":{"key":"line_items[0].line_item_measurements[0].quantity"}}}"#;
        assert_eq!(
            interpret(400, one, &pg),
            Outcome::Rejected(vec![FieldError::new(
                format!("{L}[0].measurements[0].quantity"),
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
