//! The compact record a redirect reads (one KV value per short id) and the pure decision of
//! what a visit gets. Kept small: it is parsed on every redirect.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectRecord {
    /// Destination with tracking parameters already applied.
    #[serde(rename = "d")]
    pub dest: String,
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    #[serde(rename = "l")]
    pub link_id: String,
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<i64>,
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub max_clicks: Option<u64>,
    #[serde(rename = "x", default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    #[serde(rename = "w", default, skip_serializing_if = "is_false")]
    pub forward_query: bool,
    /// QR markers of this link: (marker, qrId). The marker is the value of `qr=` in a QR
    /// code's encoded URL.
    #[serde(rename = "c", default, skip_serializing_if = "Vec::is_empty")]
    pub qr: Vec<(String, String)>,
    /// The link's `publicName`, kept for capped links only (`max_clicks`): the title of the
    /// page that clients which do not use the link up (bots, link previews, tools, `HEAD`) get
    /// instead of the destination (`preview_page`). Records written before it have none.
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub preview_title: Option<String>,
    /// A where-to-buy link's page and offers (`dest` is then empty: the page is the link's
    /// destination, each offer has its own). Other links' records have none.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub page: Option<Box<super::where_to_buy::PageRecord>>,
    /// What swapping out-of-stock products needs, for Walmart carts with backups only
    /// (`backups_for` in `domain::availability`): every other record stays as it was.
    #[serde(rename = "b", default, skip_serializing_if = "Option::is_none")]
    pub backups: Option<Backups>,
}

/// A Walmart cart's lines with their backups, kept in the record of a link that has backups:
/// the redirect rebuilds the cart's `items=` from them when a primary is out of stock at the
/// shopper's ZIP. The store id, quantities' order and tracking stay in `dest`, whose `items=`
/// value is the only part replaced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backups {
    /// The link's project (its out-of-stock report).
    #[serde(rename = "p")]
    pub project_id: String,
    /// The link's `location.zipCode` (5 digits): the ZIP of shoppers whose own is not known.
    #[serde(rename = "z", default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    /// The cart in order: (item id, quantity, backup item ids in order of preference).
    #[serde(rename = "l")]
    pub lines: Vec<CartLine>,
}

/// One cart line of `Backups`, written as `[itemId, quantity, [backupIds…]]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine(pub String, pub u32, pub Vec<String>);

impl CartLine {
    pub fn item(&self) -> &str {
        &self.0
    }
    pub fn quantity(&self) -> u32 {
        self.1
    }
    pub fn backups(&self) -> &[String] {
        &self.2
    }
}

/// `location` with the value of its first `items=` parameter (a Walmart cart's lines)
/// replaced by `items`; unchanged when it has none.
pub fn with_cart_items(location: &str, items: &str) -> String {
    let Some(q) = location.find('?') else {
        return location.to_string();
    };
    let query_end = location.find('#').unwrap_or(location.len());
    let mut at = q + 1;
    while at < query_end {
        let end = location[at..query_end]
            .find('&')
            .map_or(query_end, |i| at + i);
        if let Some(rest) = location[at..end].strip_prefix("items=") {
            let start = end - rest.len();
            let mut out = String::with_capacity(location.len() + items.len());
            out.push_str(&location[..start]);
            out.push_str(items);
            out.push_str(&location[end..]);
            return out;
        }
        at = end + 1;
    }
    location.to_string()
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The query parameter that marks a QR scan: `https://<domain>/<shortId>?qr=<marker>`.
pub const QR_PARAM: &str = "qr";

/// A link's lifecycle state, derived from its record and the time, never stored stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pending,
    Active,
    Expired,
    Disabled,
    /// The state could not be read (a capped link whose counter did not answer).
    Unavailable,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Disabled => "disabled",
            Self::Unavailable => "unavailable",
        }
    }
}

/// Status from the schedule alone (a capped link may also be used up; that count lives in the
/// link's Durable Object).
pub fn status_at(
    disabled: bool,
    starts_at: Option<i64>,
    expires_at: Option<i64>,
    now_ms: i64,
) -> Status {
    if disabled {
        Status::Disabled
    } else if starts_at.is_some_and(|s| now_ms < s) {
        Status::Pending
    } else if expires_at.is_some_and(|e| now_ms >= e) {
        Status::Expired
    } else {
        Status::Active
    }
}

impl RedirectRecord {
    pub fn status(&self, now_ms: i64) -> Status {
        status_at(self.disabled, self.starts_at, self.expires_at, now_ms)
    }

    /// The QR code id a `qr=` marker in the visitor's query names, if any.
    pub fn qr_for_query(&self, query: Option<&str>) -> Option<&str> {
        let q = query?;
        if self.qr.is_empty() {
            return None;
        }
        q.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            if k != QR_PARAM {
                return None;
            }
            self.qr
                .iter()
                .find(|(m, _)| m == v)
                .map(|(_, id)| id.as_str())
        })
    }

    /// Where an active link sends this visit: the destination, plus the visitor's query when
    /// `forward_query` is on (without our own QR marker, which never reaches the destination).
    pub fn location(&self, query: Option<&str>) -> String {
        let Some(q) = query.filter(|q| self.forward_query && !q.is_empty()) else {
            return self.dest.clone();
        };
        let (base, frag) = match self.dest.find('#') {
            Some(i) => self.dest.split_at(i),
            None => (self.dest.as_str(), ""),
        };
        let mut out = String::with_capacity(self.dest.len() + q.len() + 1);
        out.push_str(base);
        let mut sep = if base.contains('?') {
            if base.ends_with('?') || base.ends_with('&') {
                ""
            } else {
                "&"
            }
        } else {
            "?"
        };
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let key = pair.split('=').next().unwrap_or(pair);
            if key == QR_PARAM && self.qr_for_query(Some(pair)).is_some() {
                continue;
            }
            out.push_str(sep);
            out.push_str(pair);
            sep = "&";
        }
        out.push_str(frag);
        out
    }
}

/// `preview_title` of a link's record: its public name when the link is capped (uncapped
/// links redirect everyone, so their records stay as small as they were).
pub fn preview_title(max_clicks: Option<u64>, public_name: &str) -> Option<String> {
    max_clicks.map(|_| public_name.to_string())
}

/// Text for HTML content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The `<head>` tags of the page a capped link answers to clients that do not use it up: the
/// title a link preview shows (`og:title`, also for Twitter cards), and nothing of the
/// destination. `title` is plain text.
pub fn preview_head(title: &str) -> String {
    let t = escape_html(title);
    format!(
        "<meta property=\"og:title\" content=\"{t}\"><meta property=\"og:type\" content=\"website\">\
<meta name=\"twitter:card\" content=\"summary\"><meta name=\"twitter:title\" content=\"{t}\">"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> RedirectRecord {
        RedirectRecord {
            dest: "https://www.walmart.com/sc/cart/addToCart?items=1_2&utm_source=ig".into(),
            link_id: "lnk_X".into(),
            qr: vec![("1".into(), "qr_A".into()), ("2".into(), "qr_B".into())],
            ..Default::default()
        }
    }

    #[test]
    fn compact_round_trip() {
        let r = rec();
        let s = serde_json::to_string(&r).unwrap();
        assert_eq!(
            s,
            r#"{"d":"https://www.walmart.com/sc/cart/addToCart?items=1_2&utm_source=ig","l":"lnk_X","c":[["1","qr_A"],["2","qr_B"]]}"#
        );
        assert_eq!(serde_json::from_str::<RedirectRecord>(&s).unwrap(), r);
    }

    #[test]
    fn records_without_a_preview_title_still_read() {
        let old = r#"{"d":"https://www.walmart.com/ip/1","l":"lnk_X","m":1}"#;
        let r: RedirectRecord = serde_json::from_str(old).unwrap();
        assert_eq!((r.max_clicks, r.preview_title.as_deref()), (Some(1), None));
        let capped = RedirectRecord {
            preview_title: preview_title(Some(1), "Grill kit"),
            ..r.clone()
        };
        let s = serde_json::to_string(&capped).unwrap();
        assert!(s.ends_with(r#","m":1,"n":"Grill kit"}"#), "{s}");
        assert_eq!(serde_json::from_str::<RedirectRecord>(&s).unwrap(), capped);
        assert_eq!(preview_title(None, "Grill kit"), None);
    }

    #[test]
    fn the_preview_head_escapes_the_title() {
        let head = preview_head(r#"Tom's <grill> & "kit""#);
        assert!(head.contains(
            r#"<meta property="og:title" content="Tom&#39;s &lt;grill&gt; &amp; &quot;kit&quot;">"#
        ));
        assert!(!head.contains('\''));
        assert_eq!(escape_html("plain"), "plain");
    }

    #[test]
    fn records_without_backups_stay_byte_identical_and_backups_round_trip() {
        let plain = rec();
        let s = serde_json::to_string(&plain).unwrap();
        assert!(!s.contains("\"b\""), "{s}");
        let with = RedirectRecord {
            backups: Some(Backups {
                project_id: "proj_1".into(),
                zip: Some("72712".into()),
                lines: vec![
                    CartLine("1".into(), 2, vec!["7".into(), "8".into()]),
                    CartLine("3".into(), 1, vec![]),
                ],
            }),
            ..plain.clone()
        };
        let s = serde_json::to_string(&with).unwrap();
        assert!(
            s.ends_with(r#","b":{"p":"proj_1","z":"72712","l":[["1",2,["7","8"]],["3",1,[]]]}}"#),
            "{s}"
        );
        assert_eq!(serde_json::from_str::<RedirectRecord>(&s).unwrap(), with);
        let line = &with.backups.as_ref().unwrap().lines[0];
        assert_eq!(
            (line.item(), line.quantity(), line.backups().len()),
            ("1", 2, 2)
        );
    }

    #[test]
    fn cart_items_are_replaced_and_nothing_else() {
        let cart =
            "https://www.walmart.com/sc/cart/addToCart?items=1_2,3_1&storeId=9&utm_source=ig";
        assert_eq!(
            with_cart_items(cart, "7_2,3_1"),
            "https://www.walmart.com/sc/cart/addToCart?items=7_2,3_1&storeId=9&utm_source=ig"
        );
        assert_eq!(
            with_cart_items("https://x.com/c?a=1&items=1_1#f", "2_1"),
            "https://x.com/c?a=1&items=2_1#f"
        );
        assert_eq!(
            with_cart_items("https://x.com/c?items=1_1", "2_1"),
            "https://x.com/c?items=2_1"
        );
        // Only the first `items=` (ours; a forwarded visitor query comes after it).
        assert_eq!(
            with_cart_items("https://x.com/c?items=1_1&items=5", "2_1"),
            "https://x.com/c?items=2_1&items=5"
        );
        for none in [
            "https://x.com/ip/1",
            "https://x.com/c?offers=A_1",
            "https://x.com/#items=1",
        ] {
            assert_eq!(with_cart_items(none, "2_1"), none);
        }
    }

    #[test]
    fn status_is_derived_from_time() {
        assert_eq!(status_at(false, None, None, 5), Status::Active);
        assert_eq!(status_at(false, Some(10), None, 5), Status::Pending);
        assert_eq!(status_at(false, Some(10), Some(20), 10), Status::Active);
        assert_eq!(status_at(false, Some(10), Some(20), 20), Status::Expired);
        assert_eq!(status_at(true, Some(10), Some(20), 15), Status::Disabled);
    }

    #[test]
    fn qr_markers_attribute_and_never_forward() {
        let mut r = rec();
        assert_eq!(r.qr_for_query(Some("qr=2")), Some("qr_B"));
        assert_eq!(r.qr_for_query(Some("a=b&qr=1")), Some("qr_A"));
        assert_eq!(r.qr_for_query(Some("qr=9")), None);
        assert_eq!(r.qr_for_query(None), None);
        assert_eq!(r.location(Some("qr=1&coupon=X")), r.dest);
        r.forward_query = true;
        assert_eq!(
            r.location(Some("qr=1&coupon=SAVE10&utm_medium=social")),
            "https://www.walmart.com/sc/cart/addToCart?items=1_2&utm_source=ig&coupon=SAVE10&utm_medium=social"
        );
        assert_eq!(r.location(Some("qr=7")), format!("{}&qr=7", r.dest));
        r.dest = "https://x.com/p#frag".into();
        assert_eq!(r.location(Some("a=1")), "https://x.com/p?a=1#frag");
    }
}
