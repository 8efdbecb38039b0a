//! The retailer registry. Every per-retailer decision — which intents a retailer serves, the
//! API-key scope it needs, what its products are, the rules its destinations impose and the
//! destination URL itself — is made here, by exhaustive matches over `Retailer` that delegate
//! to one file per retailer. Adding a retailer is a variant of `Retailer` and its file: the
//! compiler then names every decision the new retailer still lacks.
//!
//! Nothing here depends on the link module: the link validator hands the registry an `Order`
//! (what the destination is made of) and reads back a URL or a reason.

mod custom;
pub mod instacart;
mod target;
mod walmart;

use super::validate::Problems;

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

    /// The intents this retailer serves. `custom_url` is served by every retailer.
    pub fn intents(self) -> &'static [Intent] {
        match self {
            Self::Walmart => walmart::INTENTS,
            Self::Target => target::INTENTS,
            Self::Instacart => instacart::INTENTS,
            Self::Custom => custom::INTENTS,
        }
    }

    pub fn supports(self, intent: Intent) -> bool {
        self.intents().contains(&intent)
    }

    /// What this retailer's `products[]` entries are, when it takes any.
    pub fn products(self) -> Option<ProductRules> {
        match self {
            Self::Walmart => Some(walmart::PRODUCTS),
            Self::Target => Some(target::PRODUCTS),
            Self::Instacart => None,
            Self::Custom => None,
        }
    }

    /// The retailer's own rules for an order (how many products a destination can hold,
    /// what it needs besides them), reported as business-rule problems.
    pub fn check(self, order: &Order, p: &mut Problems) {
        match self {
            Self::Walmart => walmart::check(order, p),
            Self::Target => target::check(order, p),
            Self::Instacart => {}
            Self::Custom => {}
        }
    }

    /// Whether this retailer's destinations come from the retailer's own API (made at create
    /// time) rather than being built here.
    pub fn made_by_api(self, intent: Intent) -> bool {
        match self {
            Self::Instacart => instacart::made_by_api(intent),
            Self::Walmart | Self::Target | Self::Custom => false,
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

/// What a retailer's products are identified by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProductRules {
    /// What the retailer calls `retailerProductId` (in messages): "Walmart item id", "TCIN".
    pub id_name: &'static str,
    /// Whether `offerId` (a Walmart seller offer) may stand in for `retailerProductId`.
    pub offers: bool,
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
    }
}

/// The destination of every `custom_url` link, whatever its retailer.
pub(crate) fn custom_url(order: &Order) -> Result<String, NoDestination> {
    order.custom_url.map(str::to_string).ok_or(NoDestination {
        key: "customUrl",
        message: "'customUrl' is required for custom_url links".into(),
    })
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
            assert!(r.supports(Intent::CustomUrl), "{}", r.as_str());
            assert_eq!(r.scope(), format!("retailers:{}", r.as_str()));
            assert_eq!(Retailer::parse(r.as_str()), Some(r));
            let order = Order {
                intent: Intent::CustomUrl,
                products: &[],
                store_id: None,
                custom_url: Some("https://brand.example/promo"),
                fallback_url: None,
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
                "retailers:custom"
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
            ["shopping_list", "recipe", "custom_url"]
        );
        assert_eq!(served(Retailer::Custom), ["custom_url"]);
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
