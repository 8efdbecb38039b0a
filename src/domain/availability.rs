//! Out-of-stock products and their backups: what is asked of Walmart's affiliate Product
//! Lookup API and how its answer is read, how availability is cached and shared, and the
//! decision that puts a backup in a cart in place of a primary that is not available at the
//! shopper's ZIP. Pure: the fetch, the signature (WebCrypto) and the Cache API are
//! `http::availability`'s.
//!
//! The request: `GET {base}/api-proxy/service/affil/product/v2/items?ids={1–20 ids}&zipCode=
//! {ZIP}`, signed with the headers `WM_CONSUMER.ID`, `WM_CONSUMER.INTIMESTAMP` (epoch ms),
//! `WM_SEC.KEY_VERSION` and `WM_SEC.AUTH_SIGNATURE`: the base64 RSASSA-PKCS1-v1_5 SHA-256
//! signature of the three values, in that order, each followed by a line feed
//! (`signature_input`). Walmart's answer is `{"items": [{"itemId": 123, "stock": "…", …}]}`;
//! an item whose `stock` is `Not available` is out of stock, `Available`, `Limited Supply` and
//! `Last few items` are in stock, and an item missing from the answer (or with another or no
//! `stock`) is unknown. Unknown always means: the cart keeps the primary.

use super::link::LinkSpec;
use super::record::{Backups, CartLine};
use super::retailers::{Intent, ProductRef, Retailer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Where Walmart serves the affiliate APIs.
pub const DEFAULT_BASE_URL: &str = "https://developer.api.walmart.com";
/// The Product Lookup path under the base URL.
pub const LOOKUP_PATH: &str = "/api-proxy/service/affil/product/v2/items";
/// Most item ids one lookup takes.
pub const MAX_IDS_PER_CALL: usize = 20;
/// Most lookups one refresh of a cart makes (so at most 100 ids are checked: the primaries
/// first, then the backups rank by rank; the others stay unknown).
pub const MAX_CALLS_PER_REFRESH: usize = 5;
/// How long an answer is fresh: a cart's availability at a ZIP is asked of Walmart at most
/// once per this time per location (per Cloudflare colo; `http::availability`).
pub const FRESH_MS: i64 = 10 * 60 * 1000;
/// How long a snapshot is still used while its refresh runs (it is refreshed once stale).
pub const USABLE_MS: i64 = 2 * FRESH_MS;
/// How long a failed lookup (timeout, error, nonsense) holds off the next one.
pub const FAILED_FRESH_MS: i64 = 60 * 1000;
/// How long a location's "refresh in progress" marker lives (longer than a lookup may take).
pub const PENDING_SECS: u32 = 30;

/// What Walmart says of an item at a ZIP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stock {
    Available,
    Unavailable,
}

/// An item's `stock` value: `Not available` is out of stock; `Available`, `Limited Supply` and
/// `Last few items` are in stock (compared without case); anything else says nothing.
pub fn stock_of(value: &str) -> Option<Stock> {
    let v = value.trim().to_ascii_lowercase();
    match v.as_str() {
        "not available" => Some(Stock::Unavailable),
        "available" | "limited supply" | "last few items" => Some(Stock::Available),
        _ => None,
    }
}

/// The 5-digit ZIP of a US ZIP code or ZIP+4; `None` for anything else (a foreign postal code).
pub fn zip5(s: &str) -> Option<&str> {
    let s = s.trim();
    let b = s.as_bytes();
    let five = |x: &[u8]| x.len() == 5 && x.iter().all(u8::is_ascii_digit);
    match b.len() {
        5 if five(b) => Some(s),
        10 if five(&b[..5]) && b[5] == b'-' && b[6..].iter().all(u8::is_ascii_digit) => {
            Some(&s[..5])
        }
        _ => None,
    }
}

/// The ZIP availability is asked for: the shopper's (the `cf-postal-code` header, else
/// `request.cf.postalCode`, as the glue read it) when it is a US ZIP, else the link's.
pub fn shopper_zip<'a>(visitor: &'a str, link: Option<&'a str>) -> Option<&'a str> {
    zip5(visitor).or_else(|| link.and_then(zip5))
}

/// US states and DC, as Cloudflare writes `regionCode` (ISO 3166-2 without the country).
const US_STATES: [&str; 51] = [
    "AK", "AL", "AR", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "HI", "IA", "ID", "IL", "IN",
    "KS", "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MS", "MT", "NC", "ND", "NE", "NH", "NJ",
    "NM", "NV", "NY", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VA", "VT", "WA",
    "WI", "WV", "WY",
];

/// A visit's region as stored: its US state (`TX`) when the visit is from the US and the region
/// code is a state's, else "" (shown as "(none)"). Region codes come from a header, so they are
/// checked, not trusted: only these 51 values are ever stored.
pub fn us_region(region: &str, country: &str) -> &'static str {
    if !country.trim().eq_ignore_ascii_case("US") {
        return "";
    }
    let r = region.trim();
    US_STATES
        .iter()
        .find(|s| s.eq_ignore_ascii_case(r))
        .copied()
        .unwrap_or("")
}

/// The record section of a link whose backups can be swapped in: a Walmart cart of item ids
/// (`add_to_cart`) with at least one backup. `None` for every other link, whose record then
/// stays as it always was.
pub fn backups_for(spec: &LinkSpec) -> Option<Backups> {
    if spec.retailer != Retailer::Walmart || spec.intent != Intent::AddToCart {
        return None;
    }
    if spec.selections.iter().all(|s| s.backups.is_empty()) {
        return None;
    }
    let lines = spec
        .selections
        .iter()
        .map(|s| match &s.product {
            ProductRef::Item(id) => Some(CartLine(id.clone(), s.quantity, s.backups.clone())),
            ProductRef::Offer(_) => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Backups {
        project_id: spec.project_id.clone(),
        zip: spec.zip_code.as_deref().and_then(zip5).map(str::to_string),
        lines,
    })
}

/// The item ids worth asking about for a cart: every primary in cart order, then the first
/// backup of each line, the second of each, …, each once, at most
/// `MAX_IDS_PER_CALL × MAX_CALLS_PER_REFRESH`.
pub fn lookup_ids(lines: &[CartLine]) -> Vec<String> {
    let max = MAX_IDS_PER_CALL * MAX_CALLS_PER_REFRESH;
    let mut out: Vec<String> = Vec::new();
    let mut add = |id: &String| {
        if out.len() < max && !out.contains(id) {
            out.push(id.clone());
        }
    };
    for l in lines {
        add(&l.0);
    }
    let deepest = lines.iter().map(|l| l.2.len()).max().unwrap_or(0);
    for rank in 0..deepest {
        for l in lines {
            if let Some(b) = l.2.get(rank) {
                add(b);
            }
        }
    }
    out
}

/// The key of a cart's availability at a ZIP, shared by every link with the same item set: a
/// URL (the Cache API keys by URL) naming the ZIP and a hash of the sorted ids.
pub fn cache_key(zip: &str, ids: &[String]) -> String {
    let mut sorted: Vec<&str> = ids.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let digest = Sha256::digest(sorted.join(",").as_bytes());
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut key = String::with_capacity(80);
    key.push_str("https://availability.in2carts.invalid/v1/");
    key.push_str(zip);
    key.push('/');
    for b in &digest[..16] {
        key.push(HEX[usize::from(b >> 4)] as char);
        key.push(HEX[usize::from(b & 15)] as char);
    }
    key
}

/// The key of the "refresh in progress" marker of a cache key.
pub fn pending_key(key: &str) -> String {
    format!("{key}?pending")
}

/// The lookup URLs for `ids` at `zip`: one per `MAX_IDS_PER_CALL` ids.
pub fn lookup_urls(base_url: &str, ids: &[String], zip: &str) -> Vec<String> {
    let base = base_url.trim().trim_end_matches('/');
    ids.chunks(MAX_IDS_PER_CALL)
        .map(|chunk| format!("{base}{LOOKUP_PATH}?ids={}&zipCode={zip}", chunk.join(",")))
        .collect()
}

/// What is signed: the consumer id, the timestamp (epoch ms) and the key version, each
/// followed by a line feed.
pub fn signature_input(consumer_id: &str, timestamp_ms: i64, key_version: &str) -> String {
    format!("{consumer_id}\n{timestamp_ms}\n{key_version}\n")
}

/// The stock of each item a lookup answer names (`itemId` a number or a string of digits).
/// `None` when the answer is not a lookup answer at all (not JSON, no `items` array): then
/// nothing is known.
pub fn parse_answer(body: &str) -> Option<Vec<(String, Stock)>> {
    let v: Value = serde_json::from_str(body).ok()?;
    let items = v.get("items")?.as_array()?;
    Some(
        items
            .iter()
            .filter_map(|item| {
                let id = match item.get("itemId")? {
                    Value::Number(n) => n.as_u64()?.to_string(),
                    Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                        s.clone()
                    }
                    _ => return None,
                };
                let stock = stock_of(item.get("stock")?.as_str()?)?;
                Some((id, stock))
            })
            .collect(),
    )
}

/// What is known of a cart's items at a ZIP, as cached: the ids in and out of stock, when it
/// was asked, and whether asking failed (a failed lookup knows what the lookups that did answer
/// said, and is fresh for less time).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    #[serde(rename = "t")]
    pub at: i64,
    #[serde(rename = "a", default)]
    pub available: Vec<String>,
    #[serde(rename = "u", default)]
    pub unavailable: Vec<String>,
    #[serde(rename = "f", default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
}

impl Snapshot {
    /// A snapshot of lookup results (`None`: a lookup that failed).
    pub fn from_results(at: i64, results: &[Option<Vec<(String, Stock)>>]) -> Snapshot {
        let mut s = Snapshot {
            at,
            failed: results.is_empty() || results.iter().any(Option::is_none),
            ..Snapshot::default()
        };
        for (id, stock) in results.iter().flatten().flatten() {
            let list = match stock {
                Stock::Available => &mut s.available,
                Stock::Unavailable => &mut s.unavailable,
            };
            if !list.contains(id) {
                list.push(id.clone());
            }
        }
        s
    }

    pub fn stock(&self, id: &str) -> Option<Stock> {
        if self.unavailable.iter().any(|x| x == id) {
            Some(Stock::Unavailable)
        } else if self.available.iter().any(|x| x == id) {
            Some(Stock::Available)
        } else {
            None
        }
    }

    /// Whether it needs no refresh at `now`.
    pub fn fresh(&self, now: i64) -> bool {
        let ttl = if self.failed {
            FAILED_FRESH_MS
        } else {
            FRESH_MS
        };
        now.saturating_sub(self.at) < ttl
    }

    /// Whether it may still decide a cart at `now` (a stale one, while it is refreshed).
    pub fn usable(&self, now: i64) -> bool {
        now.saturating_sub(self.at) < USABLE_MS
    }
}

/// What a cart becomes at a ZIP.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decision {
    /// The cart's `items=` value: `id_quantity` per line, in cart order.
    pub items: String,
    /// Each swap: (primary, the backup in its place).
    pub swaps: Vec<(String, String)>,
    /// Primaries known to be out of stock whose backups are all out of stock or unknown.
    pub stranded: Vec<String>,
    /// Whether at least one primary is known to be out of stock.
    pub out_of_stock: bool,
}

/// The cart at a ZIP: a primary known to be out of stock is replaced by its first backup known
/// to be in stock that is not in the cart already; every other line, and every line whose
/// primary is in stock or unknown, stays. Quantities and order are kept.
pub fn decide(lines: &[CartLine], known: &Snapshot) -> Decision {
    let mut d = Decision::default();
    let mut chosen: Vec<&str> = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let mut item = line.0.as_str();
        if known.stock(item) == Some(Stock::Unavailable) {
            d.out_of_stock = true;
            let in_cart = |id: &str, chosen: &[&str]| {
                chosen.contains(&id) || lines[i + 1..].iter().any(|l| l.0 == id)
            };
            match line
                .2
                .iter()
                .find(|b| known.stock(b) == Some(Stock::Available) && !in_cart(b.as_str(), &chosen))
            {
                Some(backup) => {
                    d.swaps.push((line.0.clone(), backup.clone()));
                    item = backup;
                }
                None => d.stranded.push(line.0.clone()),
            }
        }
        chosen.push(item);
        if i > 0 {
            d.items.push(',');
        }
        d.items.push_str(item);
        d.items.push('_');
        push_number(&mut d.items, line.1);
    }
    d
}

/// The `warnings` of a link whose cart was checked at its ZIP when it was created: a
/// `substituted` warning per backup put in a primary's place, an `unavailable` one per
/// primary out of stock with no backup in stock, and `availability_unknown` when Walmart could
/// not be asked (or not about every item). Keys are the products' `retailerProductId`.
pub fn create_warnings(lines: &[CartLine], zip: &str, known: &Snapshot) -> (Decision, Vec<Value>) {
    let d = decide(lines, known);
    let key = |id: &str| {
        let i = lines.iter().position(|l| l.0 == id).unwrap_or(0);
        format!("products[{i}].retailerProductId")
    };
    let mut warnings = Vec::new();
    for (original, replacement) in &d.swaps {
        warnings.push(serde_json::json!({
            "code": "substituted",
            "key": key(original),
            "message": format!(
                "Item {original} is not available at ZIP {zip}: the cart holds its backup {replacement} instead"
            ),
            "originalId": original,
            "replacementId": replacement,
        }));
    }
    for original in &d.stranded {
        warnings.push(serde_json::json!({
            "code": "unavailable",
            "key": key(original),
            "message": format!(
                "Item {original} is not available at ZIP {zip}, nor is any backup of it: the cart keeps it"
            ),
            "originalId": original,
        }));
    }
    if known.failed {
        warnings.push(serde_json::json!({
            "code": "availability_unknown",
            "key": "location.zipCode",
            "message": format!(
                "Walmart's availability at ZIP {zip} could not be checked{}: the cart holds the products as given{}",
                if known.available.is_empty() && known.unavailable.is_empty() { "" } else { " for every item" },
                if d.swaps.is_empty() { "" } else { ", except the substitutions above" },
            ),
        }));
    }
    (d, warnings)
}

/// Appends a number's decimal digits (without the formatting machinery, which shows up in the
/// redirect's CPU profile).
fn push_number(out: &mut String, n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for d in &digits[i..] {
        out.push(char::from(*d));
    }
}

/// The key a PKCS#8 import takes, from `WALMART_PRIVATE_KEY`: a PEM `PRIVATE KEY` (PKCS#8, as
/// Walmart's onboarding makes it with `openssl pkcs8 -topk8 -nocrypt`), a PEM `RSA PRIVATE
/// KEY` (PKCS#1, wrapped into PKCS#8 here), or the bare base64 of a PKCS#8 key. `\n` written
/// as two characters (a one-line environment value) reads as a line break.
pub fn private_key_der(text: &str) -> Result<Vec<u8>, &'static str> {
    let text = text.replace("\\n", "\n");
    let text = text.trim();
    let (body, pkcs1) = if text.starts_with("-----BEGIN") {
        let begin_end = text.find('\n').ok_or("the PEM has no body")?;
        let label = text[..begin_end].trim();
        let pkcs1 = match label {
            "-----BEGIN PRIVATE KEY-----" => false,
            "-----BEGIN RSA PRIVATE KEY-----" => true,
            "-----BEGIN ENCRYPTED PRIVATE KEY-----" => {
                return Err("the key is encrypted: export it with -nocrypt")
            }
            _ => return Err("not a PEM private key"),
        };
        let rest = &text[begin_end..];
        let end = rest.find("-----END").ok_or("the PEM has no END line")?;
        (&rest[..end], pkcs1)
    } else {
        (text, false)
    };
    let der = base64_decode(body).ok_or("the key is not valid base64")?;
    if der.first() != Some(&0x30) {
        return Err("the key is not DER");
    }
    Ok(if pkcs1 { pkcs8_of_pkcs1(&der) } else { der })
}

/// A PKCS#1 RSA private key inside a PKCS#8 `PrivateKeyInfo` (version 0, rsaEncryption).
fn pkcs8_of_pkcs1(pkcs1: &[u8]) -> Vec<u8> {
    // AlgorithmIdentifier { rsaEncryption (1.2.840.113549.1.1.1), NULL }.
    const ALGORITHM: [u8; 15] = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut inner = vec![0x02, 0x01, 0x00];
    inner.extend_from_slice(&ALGORITHM);
    inner.push(0x04);
    der_length(&mut inner, pkcs1.len());
    inner.extend_from_slice(pkcs1);
    let mut out = vec![0x30];
    der_length(&mut out, inner.len());
    out.extend_from_slice(&inner);
    out
}

fn der_length(out: &mut Vec<u8>, n: usize) {
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64, whitespace ignored, padding optional; `None` for any other character.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    let mut padding = false;
    for c in text.bytes() {
        if c.is_ascii_whitespace() {
            continue;
        }
        if c == b'=' {
            padding = true;
            continue;
        }
        if padding {
            return None;
        }
        let v = B64.iter().position(|x| *x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::link::validate_link;
    use serde_json::json;

    fn line(id: &str, q: u32, backups: &[&str]) -> CartLine {
        CartLine(
            id.into(),
            q,
            backups.iter().map(|b| b.to_string()).collect(),
        )
    }

    fn snap(available: &[&str], unavailable: &[&str]) -> Snapshot {
        Snapshot {
            at: 0,
            available: available.iter().map(|s| s.to_string()).collect(),
            unavailable: unavailable.iter().map(|s| s.to_string()).collect(),
            failed: false,
        }
    }

    #[test]
    fn stock_values_as_walmart_writes_them() {
        assert_eq!(stock_of("Not available"), Some(Stock::Unavailable));
        assert_eq!(stock_of(" not Available "), Some(Stock::Unavailable));
        for ok in ["Available", "Limited Supply", "Last few items"] {
            assert_eq!(stock_of(ok), Some(Stock::Available), "{ok}");
        }
        for unknown in ["", "Out of stock?", "N/A"] {
            assert_eq!(stock_of(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn zips_are_us_zips_and_the_shoppers_comes_first() {
        assert_eq!(zip5("72712"), Some("72712"));
        assert_eq!(zip5("72712-1234"), Some("72712"));
        for bad in ["", "7271", "727123", "M5V 2T6", "SW1A", "72712-12", "7271a"] {
            assert_eq!(zip5(bad), None, "{bad}");
        }
        assert_eq!(shopper_zip("10001", Some("72712")), Some("10001"));
        assert_eq!(shopper_zip("M5V", Some("72712-0001")), Some("72712"));
        assert_eq!(shopper_zip("", None), None);
    }

    #[test]
    fn regions_are_us_states_only() {
        assert_eq!(us_region("TX", "US"), "TX");
        assert_eq!(us_region("ca", "us"), "CA");
        assert_eq!(us_region("ON", "CA"), "");
        assert_eq!(us_region("ZZ", "US"), "");
        assert_eq!(us_region("<script>", "US"), "");
        assert_eq!(us_region("TX", ""), "");
    }

    fn spec(body: Value) -> LinkSpec {
        validate_link(&body).unwrap()
    }

    #[test]
    fn only_walmart_item_carts_with_backups_carry_them() {
        let cart = |products: Value| {
            json!({"projectId": "proj_1", "name": "n", "retailer": "walmart", "intent": "add_to_cart",
                   "products": products, "location": {"zipCode": "72712-1234", "storeId": "5"}})
        };
        let with = spec(cart(
            json!([{"retailerProductId": "1", "quantity": 2, "backupProductIds": ["7", "8"]},
                                    {"retailerProductId": "3"}]),
        ));
        assert_eq!(
            backups_for(&with),
            Some(Backups {
                project_id: "proj_1".into(),
                zip: Some("72712".into()),
                lines: vec![line("1", 2, &["7", "8"]), line("3", 1, &[])],
            })
        );
        let without = spec(cart(json!([{"retailerProductId": "1"}])));
        assert_eq!(backups_for(&without), None);
        let mut page = cart(json!([{"retailerProductId": "1", "backupProductIds": ["7"]}]));
        page["intent"] = json!("product_detail");
        assert_eq!(backups_for(&spec(page)), None);
        let mut target = cart(json!([{"retailerProductId": "1", "backupProductIds": ["7"]}]));
        target["retailer"] = json!("target");
        target.as_object_mut().unwrap().remove("location");
        assert_eq!(backups_for(&spec(target)), None);
        let offers = cart(json!([{"offerId": "AB1", "backupProductIds": ["7"]}]));
        assert_eq!(backups_for(&spec(offers)), None);
    }

    #[test]
    fn lookup_ids_put_primaries_first_then_backups_by_rank() {
        let lines = [
            line("1", 1, &["7", "8"]),
            line("2", 1, &["9"]),
            line("3", 1, &["7"]),
        ];
        assert_eq!(lookup_ids(&lines), ["1", "2", "3", "7", "9", "8"]);
        let many: Vec<CartLine> = (0..60)
            .map(|i| line(&format!("{i}"), 1, &[&format!("{}", 1000 + i)]))
            .collect();
        let ids = lookup_ids(&many);
        assert_eq!(ids.len(), MAX_IDS_PER_CALL * MAX_CALLS_PER_REFRESH);
        assert_eq!(ids[59], "59");
        assert_eq!(ids[60], "1000");
    }

    #[test]
    fn cache_keys_name_the_zip_and_the_item_set_in_any_order() {
        let a = cache_key("72712", &["2".into(), "1".into()]);
        assert_eq!(a, cache_key("72712", &["1".into(), "2".into(), "1".into()]));
        assert_ne!(a, cache_key("10001", &["1".into(), "2".into()]));
        assert_ne!(a, cache_key("72712", &["1".into(), "3".into()]));
        assert!(
            a.starts_with("https://availability.in2carts.invalid/v1/72712/"),
            "{a}"
        );
        assert_eq!(pending_key(&a), format!("{a}?pending"));
    }

    #[test]
    fn lookups_take_twenty_ids_each() {
        let ids: Vec<String> = (1..=45).map(|i| i.to_string()).collect();
        let urls = lookup_urls("https://developer.api.walmart.com/", &ids, "72712");
        assert_eq!(urls.len(), 3);
        assert_eq!(
            urls[2],
            "https://developer.api.walmart.com/api-proxy/service/affil/product/v2/items?ids=41,42,43,44,45&zipCode=72712"
        );
        assert!(urls[0].contains("?ids=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20&"));
    }

    #[test]
    fn the_signature_input_is_three_lines() {
        assert_eq!(
            signature_input("83f82845-f12c-48ae-a7a6-8a9b0461c3ab", 1440058729000, "1"),
            "83f82845-f12c-48ae-a7a6-8a9b0461c3ab\n1440058729000\n1\n"
        );
    }

    #[test]
    fn answers_are_read_item_by_item_and_nonsense_is_unknown() {
        let body = r#"{"items": [
            {"itemId": 123, "stock": "Not available", "offerId": "X"},
            {"itemId": "456", "stock": "Limited Supply"},
            {"itemId": 789},
            {"itemId": "12a", "stock": "Available"},
            {"name": "no id", "stock": "Available"},
            {"itemId": 5, "stock": 3}
        ]}"#;
        assert_eq!(
            parse_answer(body),
            Some(vec![
                ("123".into(), Stock::Unavailable),
                ("456".into(), Stock::Available)
            ])
        );
        assert_eq!(parse_answer(r#"{"items": []}"#), Some(vec![]));
        for nonsense in [
            "",
            "<html>",
            r#"{"errors": [{"code": 4001}]}"#,
            r#"{"items": {}}"#,
            "[1]",
        ] {
            assert_eq!(parse_answer(nonsense), None, "{nonsense}");
        }
    }

    #[test]
    fn snapshots_know_what_answered_and_age() {
        let ok = Snapshot::from_results(
            1000,
            &[Some(vec![
                ("1".into(), Stock::Unavailable),
                ("2".into(), Stock::Available),
            ])],
        );
        assert!(!ok.failed);
        assert_eq!(
            (ok.stock("1"), ok.stock("2"), ok.stock("3")),
            (Some(Stock::Unavailable), Some(Stock::Available), None)
        );
        assert!(ok.fresh(1000 + FRESH_MS - 1) && !ok.fresh(1000 + FRESH_MS));
        assert!(ok.usable(1000 + USABLE_MS - 1) && !ok.usable(1000 + USABLE_MS));
        let partial =
            Snapshot::from_results(0, &[Some(vec![("1".into(), Stock::Available)]), None]);
        assert!(partial.failed);
        assert_eq!(partial.stock("1"), Some(Stock::Available));
        assert!(partial.fresh(FAILED_FRESH_MS - 1) && !partial.fresh(FAILED_FRESH_MS));
        assert!(Snapshot::from_results(0, &[]).failed);
        let json = serde_json::to_string(&ok).unwrap();
        assert_eq!(json, r#"{"t":1000,"a":["2"],"u":["1"]}"#);
        assert_eq!(serde_json::from_str::<Snapshot>(&json).unwrap(), ok);
    }

    #[test]
    fn an_unavailable_primary_gets_its_first_available_backup() {
        let lines = [
            line("1", 2, &["7", "8"]),
            line("2", 1, &[]),
            line("3", 3, &["9"]),
        ];
        // 1 out, 7 unknown, 8 in: 8 takes 1's place, with 1's quantity.
        let d = decide(&lines, &snap(&["8", "9"], &["1"]));
        assert_eq!(d.items, "8_2,2_1,3_3");
        assert_eq!(d.swaps, vec![("1".to_string(), "8".to_string())]);
        assert!(d.out_of_stock && d.stranded.is_empty());
        // Nothing known: the primaries.
        let d = decide(&lines, &Snapshot::default());
        assert_eq!(
            (d.items.as_str(), d.swaps.len(), d.out_of_stock),
            ("1_2,2_1,3_3", 0, false)
        );
        // Out of stock with no backup in stock: stays, and says so.
        let d = decide(&lines, &snap(&[], &["1", "8", "2"]));
        assert_eq!(d.items, "1_2,2_1,3_3");
        assert_eq!(d.stranded, vec!["1".to_string(), "2".to_string()]);
        assert!(d.out_of_stock);
    }

    #[test]
    fn a_backup_already_in_the_cart_is_not_added_twice() {
        // 3's backup is 1, already a line; 4's first backup is 7, which 1 took.
        let lines = [
            line("1", 1, &["7"]),
            line("3", 1, &["1", "5"]),
            line("4", 1, &["7", "6"]),
        ];
        let d = decide(&lines, &snap(&["1", "5", "6", "7"], &["3", "4"]));
        assert_eq!(d.items, "1_1,5_1,7_1");
        let d = decide(&lines, &snap(&["5", "6", "7"], &["1", "3", "4"]));
        assert_eq!(d.items, "7_1,5_1,6_1");
        // A later line's primary is not taken as an earlier line's backup either.
        let lines = [line("1", 1, &["2"]), line("2", 4, &[])];
        assert_eq!(decide(&lines, &snap(&["2"], &["1"])).items, "1_1,2_4");
    }

    #[test]
    fn a_created_cart_says_what_was_substituted_and_what_could_not_be_checked() {
        let lines = [
            line("1", 2, &["7", "8"]),
            line("2", 1, &["9"]),
            line("3", 1, &[]),
        ];
        let (d, w) = create_warnings(&lines, "72712", &snap(&["8"], &["1", "2", "9"]));
        assert_eq!(d.items, "8_2,2_1,3_1");
        assert_eq!(
            w,
            vec![
                json!({"code": "substituted", "key": "products[0].retailerProductId",
                       "message": "Item 1 is not available at ZIP 72712: the cart holds its backup 8 instead",
                       "originalId": "1", "replacementId": "8"}),
                json!({"code": "unavailable", "key": "products[1].retailerProductId",
                       "message": "Item 2 is not available at ZIP 72712, nor is any backup of it: the cart keeps it",
                       "originalId": "2"}),
            ]
        );
        let failed = Snapshot {
            failed: true,
            ..Snapshot::default()
        };
        let (d, w) = create_warnings(&lines, "72712", &failed);
        assert_eq!(d.items, "1_2,2_1,3_1");
        assert_eq!(w.len(), 1);
        assert_eq!(w[0]["code"], "availability_unknown");
        assert_eq!(w[0]["key"], "location.zipCode");
        assert_eq!(
            w[0]["message"],
            "Walmart's availability at ZIP 72712 could not be checked: the cart holds the products as given"
        );
        let (_, w) = create_warnings(&lines, "72712", &snap(&[], &[]));
        assert!(w.is_empty());
    }

    #[test]
    fn private_keys_in_every_form_walmart_users_have_them() {
        let der: Vec<u8> = [0x30, 0x82, 0x01, 0x00]
            .into_iter()
            .chain(0..=255u8)
            .collect();
        let b64 = base64_encode(&der);
        let pem = |label: &str, body: &str| {
            let lines: Vec<String> = body
                .as_bytes()
                .chunks(64)
                .map(|c| String::from_utf8(c.to_vec()).unwrap())
                .collect();
            format!(
                "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
                lines.join("\n")
            )
        };
        assert_eq!(private_key_der(&pem("PRIVATE KEY", &b64)).unwrap(), der);
        assert_eq!(private_key_der(&b64).unwrap(), der);
        assert_eq!(
            private_key_der(&pem("PRIVATE KEY", &b64).replace('\n', "\\n")).unwrap(),
            der
        );
        let wrapped = private_key_der(&pem("RSA PRIVATE KEY", &b64)).unwrap();
        // SEQUENCE { INTEGER 0, rsaEncryption, OCTET STRING { the PKCS#1 key } }
        assert_eq!(&wrapped[..4], &[0x30, 0x82, 0x01, 0x1a]);
        assert_eq!(&wrapped[4..7], &[0x02, 0x01, 0x00]);
        assert_eq!(&wrapped[22..26], &[0x04, 0x82, 0x01, 0x04]);
        assert_eq!(&wrapped[26..], der.as_slice());
        assert_eq!(wrapped.len(), 4 + 0x11a);
        assert!(private_key_der(&pem("ENCRYPTED PRIVATE KEY", &b64)).is_err());
        assert!(private_key_der(&pem("PUBLIC KEY", &b64)).is_err());
        assert!(private_key_der("not a key!").is_err());
        assert!(private_key_der("").is_err());
    }

    #[test]
    fn numbers_are_written_as_decimal_digits() {
        for n in [0u32, 7, 10, 50, 1234, u32::MAX] {
            let mut s = String::from("x");
            push_number(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
    }

    #[test]
    fn base64_round_trips() {
        for n in 0..40u8 {
            let bytes: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            let enc = base64_encode(&bytes);
            assert_eq!(enc.len() % 4, 0);
            assert_eq!(base64_decode(&enc).unwrap(), bytes);
        }
        assert_eq!(base64_encode(b"Man"), "TWFu");
        assert_eq!(base64_encode(b"Ma"), "TWE=");
        assert_eq!(base64_decode("TW E=\n").unwrap(), b"Ma");
        assert_eq!(base64_decode("TW=E"), None);
        assert_eq!(base64_decode("T*"), None);
    }
}
