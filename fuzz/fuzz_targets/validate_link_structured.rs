//! `validate_link` on JSON objects built from the API's real field names and nesting
//! (products[].retailerProductId, tracking.utm, options.instacart.shoppingList.lineItems,
//! defaultQrCode.style, …), so the fuzzer gets past the required-field and type checks at once
//! and spends its time in the rules. Every field is absent, a realistic value, or any JSON
//! value; unknown fields appear too.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Number, Value};

/// A realistic value, drawn from a per-field list.
#[derive(Clone, Copy)]
enum K {
    S(&'static str),
    I(i64),
    F(f64),
    B(bool),
}

impl K {
    fn value(self) -> Value {
        match self {
            K::S(s) => Value::String(s.into()),
            K::I(i) => Value::from(i),
            K::F(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
            K::B(b) => Value::Bool(b),
        }
    }
}

/// Realistic values per field (valid ones and near misses).
#[rustfmt::skip]
mod known {
    use super::K;

    pub const TEXT: &[K] = &[K::S("Summer grilling"), K::S("p"), K::S("prj_01HZX3K5"), K::S(""), K::S("é🛒"), K::S("a\u{7}b")];
    pub const RETAILER: &[K] = &[K::S("walmart"), K::S("target"), K::S("instacart"), K::S("custom"), K::S("Walmart")];
    pub const INTENT: &[K] = &[K::S("add_to_cart"), K::S("product_detail"), K::S("shopping_list"), K::S("recipe"), K::S("custom_url")];
    pub const URL: &[K] = &[
        K::S("https://example.com/a?b=c#d"), K::S("http://shop.example/p"), K::S("https://www.target.com/c/grilling"),
        K::S("https://in2.cart/AbC12xYz"), K::S("javascript:alert(1)"), K::S("https:///x"), K::S("https://u:p@x.com/"),
        K::S("https://xn--bcher-kva.example/?q=%20#"), K::S("https://[::1]:8080/"), K::S("https://x.com/?"),
    ];
    pub const ITEM_ID: &[K] = &[K::S("945193065"), K::S("660768274"), K::S("12345678"), K::I(945193065), K::S("0"), K::S("99999999999999999999"), K::S("12a"), K::I(-1)];
    pub const OFFER_ID: &[K] = &[K::S("A1B2C3D4E5"), K::S("OFFER1"), K::S("a-b"), K::I(5)];
    pub const QUANTITY: &[K] = &[K::I(1), K::I(2), K::I(50), K::I(51), K::I(0), K::F(0.5), K::F(1.5), K::F(10000.0), K::F(1e300), K::S("2")];
    pub const UNIT: &[K] = &[K::S("each"), K::S("cup"), K::S("FL OZ"), K::S("lb bag"), K::S("g"), K::S("furlong"), K::S("")];
    pub const UPC: &[K] = &[K::S("012345678905"), K::S("00012345678905"), K::S("123"), K::I(12345678905)];
    pub const PRODUCT_ID: &[K] = &[K::I(123), K::I(0), K::I(-5), K::S("123"), K::F(1.5)];
    pub const HEALTH: &[K] = &[K::S("ORGANIC"), K::S("gluten_free"), K::S("VEGAN"), K::S("PALEO")];
    pub const BRAND: &[K] = &[K::S("Kerrygold"), K::S("365 by Whole Foods"), K::S("")];
    pub const DATE: &[K] = &[
        K::S("2026-05-20T07:19:00Z"), K::S("2026-06-01T00:00:00.250+02:00"), K::S("2027-01-01T00:00:00Z"),
        K::S("1970-01-01T00:00:00Z"), K::S("9999-12-31T23:59:59Z"), K::S("2026-02-30T00:00:00Z"), K::S("yesterday"),
    ];
    pub const COUNT: &[K] = &[K::I(1), K::I(100), K::I(1_000_000_000), K::I(1_000_000_001), K::I(0), K::I(-1), K::F(2.5), K::I(365), K::I(366)];
    pub const BOOL: &[K] = &[K::B(true), K::B(false), K::S("true")];
    pub const UTM: &[K] = &[K::S("instagram"), K::S("social"), K::S("summer sale & more"), K::S("a=b&c=d#e"), K::S("")];
    pub const PARAM_NAME: &[&str] = &["ref", "coupon", "utm_source", "a[]", "b.c-d_e", "bad name", "q", ""];
    pub const STORE: &[K] = &[K::S("5678"), K::I(5678), K::S("12ab"), K::S("")];
    pub const ZIP: &[K] = &[K::S("94107"), K::S("94107-1234"), K::S("")];
    pub const SIZE: &[K] = &[K::I(512), K::I(64), K::I(2048), K::I(63), K::S("256"), K::F(100.5)];
    pub const MARGIN: &[K] = &[K::I(4), K::I(0), K::I(16), K::I(17), K::S("2")];
    pub const EC: &[K] = &[K::S("L"), K::S("m"), K::S("Q"), K::S("H"), K::S("X")];
    pub const COLOUR: &[K] = &[K::S("#000000"), K::S("#fff"), K::S("1a237e"), K::S("#FFFFFF"), K::S("#777"), K::S("red")];
    pub const SERVINGS: &[K] = &[K::I(4), K::I(0), K::I(1000)];
    pub const TAG: &[K] = &[K::S("grilling"), K::S("q3"), K::S("Grilling"), K::S(""), K::S("é🛒"), K::I(3),
        K::S("tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt")];
    pub const RETAILER_KEY: &[K] = &[K::S("safeway"), K::S("costco_2-b"), K::S("bad key"), K::S(""), K::S("a&b=c")];
    pub const IDENTIFIER: &[K] = &[K::S("default"), K::S("in-store-display"), K::S("ab"), K::S("a b")];
}
use known::*;

/// One field of the request.
#[derive(Arbitrary, Debug)]
enum F {
    Absent,
    Known(u8),
    List(Vec<u8>),
    Any(J),
}

/// Any JSON value (bounded by the input's length).
#[derive(Arbitrary, Debug)]
enum J {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    fn value(&self) -> Value {
        match self {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Int(i) => Value::from(*i),
            J::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            J::Str(s) => Value::String(s.clone()),
            J::Arr(a) => Value::Array(a.iter().map(J::value).collect()),
            J::Obj(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), v.value())).collect()),
        }
    }
}

fn pick(list: &[K], i: u8) -> Value {
    list[usize::from(i) % list.len()].value()
}

impl F {
    fn put(&self, obj: &mut Map<String, Value>, key: &str, list: &[K]) {
        let v = match self {
            F::Absent => return,
            F::Known(i) => pick(list, *i),
            F::List(is) => Value::Array(is.iter().map(|i| pick(list, *i)).collect()),
            F::Any(j) => j.value(),
        };
        obj.insert(key.into(), v);
    }
}

#[derive(Arbitrary, Debug)]
struct Measurement {
    quantity: F,
    unit: F,
    extra: Option<(String, J)>,
}

/// A Walmart or Target product.
#[derive(Arbitrary, Debug)]
struct Product {
    retailer_product_id: F,
    offer_id: F,
    quantity: F,
    backup_product_ids: F,
    extra: Option<(String, J)>,
}

#[derive(Arbitrary, Debug)]
enum Products {
    Absent,
    Items(Vec<Product>),
    Any(J),
}

/// An Instacart line item (shopping list item or recipe ingredient).
#[derive(Arbitrary, Debug)]
struct LineItem {
    name: F,
    display_text: F,
    quantity: F,
    unit: F,
    measurements: Option<Vec<Measurement>>,
    upcs: F,
    product_ids: F,
    health_filters: F,
    brand_filters: F,
    extra: Option<(String, J)>,
}

#[derive(Arbitrary, Debug)]
enum LineItems {
    Absent,
    Items(Vec<LineItem>),
    Any(J),
}

#[derive(Arbitrary, Debug)]
struct ShoppingList {
    title: F,
    image_url: F,
    instructions: F,
    line_items: LineItems,
    extra: Option<(String, J)>,
}

#[derive(Arbitrary, Debug)]
struct Recipe {
    title: F,
    image_url: F,
    author: F,
    servings: F,
    cooking_time: F,
    instructions: F,
    ingredients: LineItems,
    extra: Option<(String, J)>,
}

#[derive(Arbitrary, Debug)]
struct Instacart {
    shopping_list: Option<ShoppingList>,
    recipe: Option<Recipe>,
    expires_in_days: F,
    partner_linkback_url: F,
    enable_pantry_items: F,
    retailer_key: F,
    extra: Option<(String, J)>,
}

#[derive(Arbitrary, Debug)]
struct Options {
    starts_at: F,
    expires_at: F,
    max_clicks: F,
    forward_query: F,
    instacart: Option<Instacart>,
    extra: Option<(String, J)>,
}

#[derive(Arbitrary, Debug)]
struct Utm {
    source: F,
    medium: F,
    campaign: F,
    term: F,
    content: F,
    extra: Option<(String, J)>,
}

#[derive(Arbitrary, Debug)]
struct Tracking {
    utm: Option<Utm>,
    tags: F,
    params: Option<Vec<(u8, F)>>,
    extra: Option<(String, J)>,
}

#[derive(Arbitrary, Debug)]
struct Location {
    store_id: F,
    zip_code: F,
}

#[derive(Arbitrary, Debug)]
struct Style {
    size: F,
    margin: F,
    ec: F,
    fg: F,
    bg: F,
    extra: Option<(String, J)>,
}

#[derive(Arbitrary, Debug)]
struct Qr {
    name: F,
    identifier: F,
    metadata: Option<Vec<(String, J)>>,
    style: Option<Style>,
    extra: Option<(String, J)>,
}

#[derive(Arbitrary, Debug)]
struct Link {
    project_id: F,
    name: F,
    retailer: F,
    intent: F,
    public_name: F,
    products: Products,
    custom_url: F,
    fallback_url: F,
    location: Option<Location>,
    options: Option<Options>,
    tracking: Option<Tracking>,
    metadata: Option<Vec<(String, J)>>,
    default_qr_code: Option<Qr>,
    extra: Option<(String, J)>,
}

fn extra(obj: &mut Map<String, Value>, e: &Option<(String, J)>) {
    if let Some((k, v)) = e {
        obj.insert(k.clone(), v.value());
    }
}

fn object(pairs: &[(String, J)]) -> Value {
    Value::Object(pairs.iter().map(|(k, v)| (k.clone(), v.value())).collect())
}

impl Product {
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        self.retailer_product_id
            .put(&mut m, "retailerProductId", ITEM_ID);
        self.offer_id.put(&mut m, "offerId", OFFER_ID);
        self.quantity.put(&mut m, "quantity", QUANTITY);
        self.backup_product_ids
            .put(&mut m, "backupProductIds", ITEM_ID);
        extra(&mut m, &self.extra);
        Value::Object(m)
    }
}

impl LineItem {
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        self.name.put(&mut m, "name", TEXT);
        self.display_text.put(&mut m, "displayText", TEXT);
        self.quantity.put(&mut m, "quantity", QUANTITY);
        self.unit.put(&mut m, "unit", UNIT);
        if let Some(ms) = &self.measurements {
            let ms = ms.iter().map(|x| {
                let mut mm = Map::new();
                x.quantity.put(&mut mm, "quantity", QUANTITY);
                x.unit.put(&mut mm, "unit", UNIT);
                extra(&mut mm, &x.extra);
                Value::Object(mm)
            });
            m.insert("measurements".into(), Value::Array(ms.collect()));
        }
        self.upcs.put(&mut m, "upcs", UPC);
        self.product_ids.put(&mut m, "productIds", PRODUCT_ID);
        self.health_filters.put(&mut m, "healthFilters", HEALTH);
        self.brand_filters.put(&mut m, "brandFilters", BRAND);
        extra(&mut m, &self.extra);
        Value::Object(m)
    }
}

impl LineItems {
    fn put(&self, obj: &mut Map<String, Value>, key: &str) {
        match self {
            LineItems::Absent => {}
            LineItems::Items(items) => {
                obj.insert(
                    key.into(),
                    Value::Array(items.iter().map(LineItem::to_json).collect()),
                );
            }
            LineItems::Any(j) => {
                obj.insert(key.into(), j.value());
            }
        }
    }
}

impl Instacart {
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(l) = &self.shopping_list {
            let mut lm = Map::new();
            l.title.put(&mut lm, "title", TEXT);
            l.image_url.put(&mut lm, "imageUrl", URL);
            l.instructions.put(&mut lm, "instructions", TEXT);
            l.line_items.put(&mut lm, "lineItems");
            extra(&mut lm, &l.extra);
            m.insert("shoppingList".into(), Value::Object(lm));
        }
        if let Some(r) = &self.recipe {
            let mut rm = Map::new();
            r.title.put(&mut rm, "title", TEXT);
            r.image_url.put(&mut rm, "imageUrl", URL);
            r.author.put(&mut rm, "author", TEXT);
            r.servings.put(&mut rm, "servings", SERVINGS);
            r.cooking_time.put(&mut rm, "cookingTime", COUNT);
            r.instructions.put(&mut rm, "instructions", TEXT);
            r.ingredients.put(&mut rm, "ingredients");
            extra(&mut rm, &r.extra);
            m.insert("recipe".into(), Value::Object(rm));
        }
        self.expires_in_days.put(&mut m, "expiresInDays", COUNT);
        self.partner_linkback_url
            .put(&mut m, "partnerLinkbackUrl", URL);
        self.enable_pantry_items
            .put(&mut m, "enablePantryItems", BOOL);
        self.retailer_key.put(&mut m, "retailerKey", RETAILER_KEY);
        extra(&mut m, &self.extra);
        Value::Object(m)
    }
}

impl Link {
    fn to_json(&self) -> Value {
        let mut o = Map::new();
        self.project_id.put(&mut o, "projectId", TEXT);
        self.name.put(&mut o, "name", TEXT);
        self.retailer.put(&mut o, "retailer", RETAILER);
        self.intent.put(&mut o, "intent", INTENT);
        self.public_name.put(&mut o, "publicName", TEXT);
        match &self.products {
            Products::Absent => {}
            Products::Any(j) => {
                o.insert("products".into(), j.value());
            }
            Products::Items(items) => {
                let items = items.iter().map(Product::to_json).collect();
                o.insert("products".into(), Value::Array(items));
            }
        }
        self.custom_url.put(&mut o, "customUrl", URL);
        self.fallback_url.put(&mut o, "fallbackUrl", URL);
        if let Some(l) = &self.location {
            let mut m = Map::new();
            l.store_id.put(&mut m, "storeId", STORE);
            l.zip_code.put(&mut m, "zipCode", ZIP);
            o.insert("location".into(), Value::Object(m));
        }
        if let Some(op) = &self.options {
            let mut m = Map::new();
            op.starts_at.put(&mut m, "startsAt", DATE);
            op.expires_at.put(&mut m, "expiresAt", DATE);
            op.max_clicks.put(&mut m, "maxClicks", COUNT);
            op.forward_query.put(&mut m, "forwardQuery", BOOL);
            if let Some(ic) = &op.instacart {
                m.insert("instacart".into(), ic.to_json());
            }
            extra(&mut m, &op.extra);
            o.insert("options".into(), Value::Object(m));
        }
        if let Some(t) = &self.tracking {
            let mut m = Map::new();
            if let Some(u) = &t.utm {
                let mut um = Map::new();
                u.source.put(&mut um, "source", UTM);
                u.medium.put(&mut um, "medium", UTM);
                u.campaign.put(&mut um, "campaign", UTM);
                u.term.put(&mut um, "term", UTM);
                u.content.put(&mut um, "content", UTM);
                extra(&mut um, &u.extra);
                m.insert("utm".into(), Value::Object(um));
            }
            t.tags.put(&mut m, "tags", TAG);
            if let Some(ps) = &t.params {
                let mut pm = Map::new();
                for (name, v) in ps {
                    let name = PARAM_NAME[usize::from(*name) % PARAM_NAME.len()];
                    v.put(&mut pm, name, UTM);
                }
                m.insert("params".into(), Value::Object(pm));
            }
            extra(&mut m, &t.extra);
            o.insert("tracking".into(), Value::Object(m));
        }
        if let Some(md) = &self.metadata {
            o.insert("metadata".into(), object(md));
        }
        if let Some(q) = &self.default_qr_code {
            let mut m = Map::new();
            q.name.put(&mut m, "name", TEXT);
            // Not a field of defaultQrCode (its identifier is always "default"): refused.
            q.identifier.put(&mut m, "identifier", IDENTIFIER);
            if let Some(md) = &q.metadata {
                m.insert("metadata".into(), object(md));
            }
            if let Some(st) = &q.style {
                let mut sm = Map::new();
                st.size.put(&mut sm, "size", SIZE);
                st.margin.put(&mut sm, "margin", MARGIN);
                st.ec.put(&mut sm, "ec", EC);
                st.fg.put(&mut sm, "fg", COLOUR);
                st.bg.put(&mut sm, "bg", COLOUR);
                extra(&mut sm, &st.extra);
                m.insert("style".into(), Value::Object(sm));
            }
            extra(&mut m, &q.extra);
            o.insert("defaultQrCode".into(), Value::Object(m));
        }
        extra(&mut o, &self.extra);
        Value::Object(o)
    }
}

fuzz_target!(|link: Link| {
    in2carts_edge_fuzz::check_link(&link.to_json());
});
