//! The retailer registry. Every per-retailer decision — which intents a retailer serves, the
//! API-key scope it needs, what its products are, the rules its destinations impose and the
//! destination URL itself — is made here, by exhaustive matches over `Retailer` that delegate
//! to one file per retailer. Adding a retailer is a variant of `Retailer` and its file: the
//! compiler then names every decision the new retailer still lacks.
//!
//! Nothing here depends on the link module: the link validator hands the registry an `Order`
//! (what the destination is made of) and reads back a URL or a reason.

pub mod amazon;
mod custom;
pub mod instacart;
mod kroger;
mod multi;
mod target;
mod walmart;

use super::validate::Problems;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retailer {
    Walmart,
    Target,
    Instacart,
    Custom,
    Amazon,
    Kroger,
    /// A where-to-buy link: a page of offers, each of another retailer.
    Multi,
}

impl Retailer {
    pub const ALL: [Retailer; 7] = [
        Self::Walmart,
        Self::Target,
        Self::Instacart,
        Self::Custom,
        Self::Amazon,
        Self::Kroger,
        Self::Multi,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Walmart => "walmart",
            Self::Target => "target",
            Self::Instacart => "instacart",
            Self::Custom => "custom",
            Self::Amazon => "amazon",
            Self::Kroger => "kroger",
            Self::Multi => "multi",
        }
    }

    /// The retailer's name as shoppers read it (the buttons of a where-to-buy page).
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Walmart => "Walmart",
            Self::Target => "Target",
            Self::Instacart => "Instacart",
            Self::Custom => "the brand's store",
            Self::Amazon => "Amazon",
            Self::Kroger => "Kroger",
            Self::Multi => "another store",
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
            Self::Amazon => "retailers:amazon",
            Self::Kroger => "retailers:kroger",
            Self::Multi => "retailers:multi",
        }
    }

    /// The intents this retailer serves. `custom_url` is served by every retailer but
    /// `multi`, whose only intent is `where_to_buy`.
    pub fn intents(self) -> &'static [Intent] {
        match self {
            Self::Walmart => walmart::INTENTS,
            Self::Target => target::INTENTS,
            Self::Instacart => instacart::INTENTS,
            Self::Custom => custom::INTENTS,
            Self::Amazon => amazon::INTENTS,
            Self::Kroger => kroger::INTENTS,
            Self::Multi => multi::INTENTS,
        }
    }

    pub fn supports(self, intent: Intent) -> bool {
        self.intents().contains(&intent)
    }

    /// What this retailer's `products[]` entries are, when its links of `intent` take any
    /// (`None` for an intent not known: then whether the retailer takes products at all).
    pub fn products(self, intent: Option<Intent>) -> Option<ProductRules> {
        match self {
            Self::Walmart => Some(walmart::PRODUCTS),
            Self::Target => Some(target::PRODUCTS),
            Self::Amazon => Some(amazon::PRODUCTS),
            Self::Kroger => Some(kroger::PRODUCTS),
            Self::Instacart => instacart::products(intent),
            Self::Custom | Self::Multi => None,
        }
    }

    /// Whether this retailer's links of `intent` need products (a cart, a product page).
    pub fn needs_products(self, intent: Intent) -> bool {
        matches!(intent, Intent::AddToCart | Intent::ProductDetail)
            && self.products(Some(intent)).is_some()
    }

    /// The retailer's own rules for an order (how many products a destination can hold,
    /// what it needs besides them), reported as business-rule problems.
    pub fn check(self, order: &Order, p: &mut Problems) {
        match self {
            Self::Walmart => walmart::check(order, p),
            Self::Target => target::check(order, p),
            Self::Amazon => amazon::check(order, p),
            Self::Kroger => kroger::check(order, p),
            Self::Instacart => instacart::check(order, p),
            Self::Custom | Self::Multi => {}
        }
    }

    /// Whether this retailer's destinations come from the retailer's own API (made at create
    /// time) rather than being built here.
    pub fn made_by_api(self, intent: Intent) -> bool {
        match self {
            Self::Instacart => instacart::made_by_api(intent),
            Self::Walmart
            | Self::Target
            | Self::Custom
            | Self::Amazon
            | Self::Kroger
            | Self::Multi => false,
        }
    }
}

/// Every API-key scope that names a retailer, in registry order.
pub fn retailer_scopes() -> Vec<&'static str> {
    Retailer::ALL.iter().map(|r| r.scope()).collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    AddToCart,
    ProductDetail,
    ShoppingList,
    Recipe,
    CustomUrl,
    /// A page where the shopper picks the retailer (`multi` links).
    WhereToBuy,
}

impl Intent {
    pub const ALL: [Intent; 6] = [
        Self::AddToCart,
        Self::ProductDetail,
        Self::ShoppingList,
        Self::Recipe,
        Self::CustomUrl,
        Self::WhereToBuy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AddToCart => "add_to_cart",
            Self::ProductDetail => "product_detail",
            Self::ShoppingList => "shopping_list",
            Self::Recipe => "recipe",
            Self::CustomUrl => "custom_url",
            Self::WhereToBuy => "where_to_buy",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What a retailer's products are identified by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProductRules {
    /// What the retailer calls `retailerProductId` (in messages): "Walmart item id", "TCIN".
    pub id_name: &'static str,
    /// Whether `offerId` (a Walmart seller offer) may stand in for `retailerProductId`.
    pub offers: bool,
    /// The form of the retailer's ids (`retailerProductId`, `backupProductIds`).
    pub id: IdForm,
}

/// The forms a product id takes. Every form is a product id's shape (`is_product_id_shape`):
/// an id of the shape but not of the retailer's form breaks the retailer's rule (422).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdForm {
    /// 1–20 digits: Walmart item ids, Target TCINs, Instacart product ids.
    Digits,
    /// An Amazon ASIN: 10 of `A-Z 0-9`.
    Asin,
    /// A 13-digit UPC, as Kroger's product pages name it.
    Upc13,
    /// Any id of the shape (a request whose retailer is not known).
    Any,
}

impl IdForm {
    pub fn accepts(self, id: &str) -> bool {
        let b = id.as_bytes();
        match self {
            Self::Digits => (1..=20).contains(&b.len()) && b.iter().all(u8::is_ascii_digit),
            Self::Asin => {
                b.len() == 10
                    && b.iter()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            }
            Self::Upc13 => b.len() == 13 && b.iter().all(u8::is_ascii_digit),
            Self::Any => is_product_id_shape(id),
        }
    }

    /// What an id of this form is, for messages ("must be …").
    pub fn describe(self) -> &'static str {
        match self {
            Self::Digits => "must be 1–20 digits",
            Self::Asin => "must be an ASIN: 10 of A-Z and 0-9",
            Self::Upc13 => "must be a 13-digit UPC",
            Self::Any => "must be 1–20 digits or 10 of A-Z and 0-9",
        }
    }
}

/// The shape of every product id: 1–20 digits, or 10 of `A-Z 0-9` (an ASIN).
pub fn is_product_id_shape(id: &str) -> bool {
    IdForm::Digits.accepts(id) || IdForm::Asin.accepts(id)
}

/// One product of an order, as the retailer identifies it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProductRef {
    /// Walmart item id or Target TCIN (digits).
    Item(String),
    /// Walmart seller offer id.
    Offer(String),
}

/// A product, its quantity and its ordered backups (item ids used when it is unavailable).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    pub product: ProductRef,
    pub quantity: u32,
    pub backups: Vec<String>,
}

/// What a destination is made of.
#[derive(Clone, Copy, Debug)]
pub struct Order<'a> {
    pub intent: Intent,
    pub products: &'a [Selection],
    pub store_id: Option<&'a str>,
    pub custom_url: Option<&'a str>,
    pub fallback_url: Option<&'a str>,
    /// Amazon Associates tag of a cart (`options.amazon.associateTag`, else the project's).
    pub associate_tag: Option<&'a str>,
    /// Instacart retailer of a product page (`options.instacart.retailerKey`).
    pub retailer_slug: Option<&'a str>,
}

/// Why no destination could be built (reported as a problem at `key`).
#[derive(Debug, PartialEq, Eq)]
pub struct NoDestination {
    pub key: &'static str,
    pub message: String,
}

/// The destination of a validated order whose URL we build ourselves, before tracking
/// parameters. Instacart pages come from Instacart's API instead.
pub fn destination(retailer: Retailer, order: &Order) -> Result<String, NoDestination> {
    match retailer {
        Retailer::Walmart => walmart::destination(order),
        Retailer::Target => target::destination(order),
        Retailer::Instacart => instacart::destination(order),
        Retailer::Custom => custom::destination(order),
        Retailer::Amazon => amazon::destination(order),
        Retailer::Kroger => kroger::destination(order),
        Retailer::Multi => multi::destination(order),
    }
}

/// The destination of every `custom_url` link, whatever its retailer.
pub(crate) fn custom_url(order: &Order) -> Result<String, NoDestination> {
    order.custom_url.map(str::to_string).ok_or(NoDestination {
        key: "customUrl",
        message: "'customUrl' is required for custom_url links".into(),
    })
}

/// The one product of a product page (validation refuses any other count before this).
pub(crate) fn only_product<'o>(order: &Order<'o>) -> Result<&'o str, NoDestination> {
    match order.products {
        [one] => {
            let (ProductRef::Item(id) | ProductRef::Offer(id)) = &one.product;
            Ok(id)
        }
        _ => Err(NoDestination {
            key: "products",
            message: "A product_detail link takes exactly one product".into(),
        }),
    }
}

/// A product page takes one product: more is a rule problem at `products`.
pub(crate) fn check_one_product(order: &Order, p: &mut Problems) {
    if order.intent == Intent::ProductDetail && order.products.len() > 1 {
        p.rule(
            "products",
            "too_many",
            "A product_detail link takes exactly one product",
        );
    }
}

/// An intent the retailer does not serve (validation refuses the pair before this is reached).
pub(crate) fn unsupported(intent: Intent) -> NoDestination {
    NoDestination {
        key: "intent",
        message: format!(
            "Intent '{}' is not served by this retailer",
            intent.as_str()
        ),
    }
}

/// Appends `params` to `url`'s query without disturbing what is there: existing parameters
/// keep their exact bytes (Walmart's literal commas), except those with a name we set, which
/// are replaced. The fragment stays last.
pub fn append_params(url: &str, params: &[(String, String)]) -> String {
    if params.is_empty() {
        return url.to_string();
    }
    let (before_frag, frag) = match url.find('#') {
        Some(i) => url.split_at(i),
        None => (url, ""),
    };
    let (path, query) = match before_frag.find('?') {
        Some(i) => (&before_frag[..i], &before_frag[i + 1..]),
        None => (before_frag, ""),
    };
    let mut out = String::with_capacity(url.len() + 32 * params.len());
    out.push_str(path);
    let mut sep = '?';
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let name = pair.split('=').next().unwrap_or(pair);
        if params.iter().any(|(k, _)| encode(k) == name) {
            continue;
        }
        out.push(sep);
        out.push_str(pair);
        sep = '&';
    }
    for (k, v) in params {
        out.push(sep);
        out.push_str(&encode(k));
        out.push('=');
        out.push_str(&encode(v));
        sep = '&';
    }
    out.push_str(frag);
    out
}

/// `application/x-www-form-urlencoded` encoding of one name or value.
pub fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn appends_without_disturbing_the_query() {
        assert_eq!(
            append_params(
                "https://www.walmart.com/sc/cart/addToCart?items=1_2,3_1",
                &p(&[("utm_source", "ig"), ("utm_campaign", "summer sale & more")])
            ),
            "https://www.walmart.com/sc/cart/addToCart?items=1_2,3_1&utm_source=ig&utm_campaign=summer+sale+%26+more"
        );
        assert_eq!(
            append_params("https://x.com/p#top", &p(&[("a", "1")])),
            "https://x.com/p?a=1#top"
        );
        assert_eq!(
            append_params(
                "https://x.com/p?utm_source=old&k=v",
                &p(&[("utm_source", "new")])
            ),
            "https://x.com/p?k=v&utm_source=new"
        );
        assert_eq!(append_params("https://x.com/?", &p(&[])), "https://x.com/?");
        assert_eq!(
            append_params("https://x.com/?", &p(&[("a", "b")])),
            "https://x.com/?a=b"
        );
    }

    #[test]
    fn every_retailer_serves_custom_url_and_names_its_scope() {
        for r in Retailer::ALL {
            assert_eq!(r.scope(), format!("retailers:{}", r.as_str()));
            if r == Retailer::Multi {
                assert_eq!(r.intents(), [Intent::WhereToBuy]);
                continue;
            }
            assert!(r.supports(Intent::CustomUrl), "{}", r.as_str());
            assert_eq!(r.scope(), format!("retailers:{}", r.as_str()));
            assert_eq!(Retailer::parse(r.as_str()), Some(r));
            let order = Order {
                intent: Intent::CustomUrl,
                products: &[],
                store_id: None,
                custom_url: Some("https://brand.example/promo"),
                fallback_url: None,
                associate_tag: None,
                retailer_slug: None,
            };
            assert_eq!(
                destination(r, &order).as_deref(),
                Ok("https://brand.example/promo")
            );
        }
        assert_eq!(
            retailer_scopes(),
            vec![
                "retailers:walmart",
                "retailers:target",
                "retailers:instacart",
                "retailers:custom",
                "retailers:amazon",
                "retailers:kroger",
                "retailers:multi"
            ]
        );
    }

    #[test]
    fn the_pairs_each_retailer_serves() {
        let served =
            |r: Retailer| -> Vec<&str> { r.intents().iter().map(|i| i.as_str()).collect() };
        assert_eq!(
            served(Retailer::Walmart),
            ["add_to_cart", "product_detail", "custom_url"]
        );
        assert_eq!(
            served(Retailer::Target),
            ["add_to_cart", "product_detail", "custom_url"]
        );
        assert_eq!(
            served(Retailer::Instacart),
            ["product_detail", "shopping_list", "recipe", "custom_url"]
        );
        assert_eq!(served(Retailer::Custom), ["custom_url"]);
        assert_eq!(
            served(Retailer::Amazon),
            ["add_to_cart", "product_detail", "custom_url"]
        );
        assert_eq!(served(Retailer::Kroger), ["product_detail", "custom_url"]);
        assert_eq!(served(Retailer::Multi), ["where_to_buy"]);
        // Only `multi` serves `where_to_buy`.
        for r in Retailer::ALL {
            assert_eq!(r.supports(Intent::WhereToBuy), r == Retailer::Multi);
        }
    }

    #[test]
    fn product_id_forms() {
        for ok in ["1", "12345678901234567890", "B07XJ8C8F5", "0316769487"] {
            assert!(is_product_id_shape(ok), "{ok}");
        }
        for bad in [
            "",
            "b07xj8c8f5",
            "B07XJ8C8F",
            "123456789012345678901",
            "A-1",
            "ABCDEFGHIJK",
        ] {
            assert!(!is_product_id_shape(bad), "{bad}");
        }
        assert!(IdForm::Asin.accepts("B07XJ8C8F5") && IdForm::Asin.accepts("0316769487"));
        assert!(!IdForm::Asin.accepts("123"));
        assert!(IdForm::Upc13.accepts("0001111041700"));
        assert!(!IdForm::Upc13.accepts("001111041700"));
        assert!(!IdForm::Digits.accepts("B07XJ8C8F5"));
        assert!(IdForm::Any.accepts("B07XJ8C8F5") && IdForm::Any.accepts("7"));
    }

    /// openapi.json's `Intent` enum is the registry's list, in the same order.
    #[test]
    fn openapi_intent_enum_is_the_registry() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../../openapi.json")).unwrap();
        let listed: Vec<&str> = doc["components"]["schemas"]["Intent"]["enum"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        let registry: Vec<&str> = Intent::ALL.iter().map(|i| i.as_str()).collect();
        assert_eq!(listed, registry);
    }

    /// openapi.json's `Retailer` enum is the registry's list, in the same order.
    #[test]
    fn openapi_retailer_enum_is_the_registry() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../../openapi.json")).unwrap();
        let listed: Vec<&str> = doc["components"]["schemas"]["Retailer"]["enum"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        let registry: Vec<&str> = Retailer::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(listed, registry);
    }
}
