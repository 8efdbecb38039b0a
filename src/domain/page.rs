//! The where-to-buy page, rendered at the edge from the link's redirect record: the brand's
//! header, the items, one large button per retailer (`/{shortId}/{retailer}`, which redirects
//! to that offer's destination), and an offer that is not active shown as unavailable, not as
//! a dead button. No script; mobile first (readable from 320 px); every value escaped; images
//! lazy with their box sized; styles allowed by their hashes in the page's Content Security
//! Policy, which allows nothing else but https images.

use super::record::{escape_html, preview_head, Status};
use super::retailers::Retailer;
use super::where_to_buy::{PageRecord, DEFAULT_BRAND_COLOR};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::sync::OnceLock;

/// The page's style sheet (the brand colour comes in a second, one-rule sheet). Colours meet
/// WCAG AA: body text #1f2328 on #f6f7f9 (15:1), secondary text #4b5563 (6.9:1), unavailable
/// offers #374151 on #e5e7eb (8.6:1); buttons are white on the brand colour (4.5:1 or more,
/// checked when the link is written).
pub const CSS: &str = "*{box-sizing:border-box}\
body{margin:0;font:17px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;\
color:#1f2328;background:#f6f7f9}\
header{text-align:center;padding:1.25rem 1rem .25rem}\
.logo{max-width:160px;max-height:64px;width:auto;height:auto}\
h1{font-size:1.5rem;line-height:1.25;margin:.5rem 0;overflow-wrap:anywhere}\
.sub{margin:0;color:#4b5563;overflow-wrap:anywhere}\
main{max-width:32rem;margin:0 auto;padding:.75rem 1rem 2rem}\
.hero{display:block;width:100%;height:auto;border-radius:12px;margin:0 0 1rem}\
ul{list-style:none;margin:0;padding:0;display:grid;gap:.5rem}\
.items{margin-bottom:1rem}\
.items li{display:flex;align-items:center;gap:.75rem;background:#fff;border-radius:10px;\
padding:.5rem .75rem;overflow-wrap:anywhere}\
.items img{width:56px;height:56px;object-fit:contain;flex:none}\
.z{display:block;color:#4b5563;font-size:.9rem}\
h2{font-size:1.1rem;margin:1rem 0 .5rem}\
.offers{gap:.75rem}\
.buy{display:block;min-height:56px;padding:.9rem 1rem;border-radius:12px;text-align:center;\
font-weight:600;font-size:1.1rem;text-decoration:none;color:#fff;background:var(--b)}\
.buy:focus-visible{outline:3px solid #1f2328;outline-offset:2px}\
.off{background:#e5e7eb;color:#374151;font-weight:500}";

/// A rendered page: its HTML and the Content Security Policy it is served with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub html: String,
    pub csp: String,
}

/// Standard base64 (with padding) of `bytes`.
fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(T[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The CSP source of an inline style sheet: `'sha256-…'`.
fn style_hash(css: &str) -> String {
    format!("'sha256-{}'", base64(&Sha256::digest(css.as_bytes())))
}

/// The policy of a page whose second style sheet is `brand_css`.
fn policy(brand_css: &str) -> String {
    static BASE: OnceLock<String> = OnceLock::new();
    let base = BASE.get_or_init(|| style_hash(CSS));
    format!(
        "default-src 'none'; img-src https:; style-src {base} {}; form-action 'none'; \
         base-uri 'none'; frame-ancestors 'none'",
        style_hash(brand_css)
    )
}

fn image(out: &mut String, class: &str, url: &str, (w, h): (u32, u32)) {
    let _ = write!(
        out,
        "<img class=\"{class}\" src=\"{}\" alt=\"\" width=\"{w}\" height=\"{h}\" \
         loading=\"lazy\" decoding=\"async\">",
        escape_html(url)
    );
}

/// The page of a where-to-buy link whose short id is `short_id`, as it stands at `now_ms`.
pub fn render(page: &PageRecord, short_id: &str, now_ms: i64) -> Rendered {
    let color = page.brand_color.as_deref().unwrap_or(DEFAULT_BRAND_COLOR);
    let brand_css = format!(":root{{--b:{}}}", escape_html(color));
    let title = escape_html(&page.title);
    let mut out = String::with_capacity(3072 + 256 * (page.items.len() + page.offers.len()));
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"robots\" content=\"noindex\"><title>{title}</title>{}\
<style>{CSS}</style><style>{brand_css}</style></head><body><header>",
        preview_head(&page.title)
    );
    if let Some(logo) = &page.logo_url {
        image(&mut out, "logo", logo, (160, 64));
    }
    let _ = write!(out, "<h1>{title}</h1>");
    if let Some(sub) = &page.subtitle {
        let _ = write!(out, "<p class=\"sub\">{}</p>", escape_html(sub));
    }
    out.push_str("</header><main>");
    if let Some(hero) = &page.hero_image_url {
        image(&mut out, "hero", hero, (640, 320));
    }
    if !page.items.is_empty() {
        out.push_str("<ul class=\"items\" aria-label=\"In this offer\">");
        for item in &page.items {
            out.push_str("<li>");
            if let Some(img) = &item.image_url {
                image(&mut out, "item", img, (56, 56));
            }
            let _ = write!(out, "<span>{}", escape_html(&item.name));
            if let Some(size) = &item.size {
                let _ = write!(out, "<span class=\"z\">{}</span>", escape_html(size));
            }
            out.push_str("</span></li>");
        }
        out.push_str("</ul>");
    }
    out.push_str("<h2>Choose where to buy</h2><ul class=\"offers\">");
    let id = escape_html(short_id);
    for offer in &page.offers {
        let name = Retailer::parse(&offer.retailer).map_or("this store", |r| r.display_name());
        match offer.status(now_ms) {
            Status::Active => {
                let _ = write!(
                    out,
                    "<li><a class=\"buy\" href=\"/{id}/{}\">Buy at {name}</a></li>",
                    escape_html(&offer.retailer)
                );
            }
            status => {
                let why = if status == Status::Pending {
                    "coming soon"
                } else {
                    "not available"
                };
                let _ = write!(
                    out,
                    "<li><span class=\"buy off\" aria-disabled=\"true\">{name}: {why}</span></li>"
                );
            }
        }
    }
    out.push_str("</ul></main></body></html>");
    Rendered {
        html: out,
        csp: policy(&brand_css),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::where_to_buy::{Item, OfferRecord};

    fn offer(retailer: &str) -> OfferRecord {
        OfferRecord {
            retailer: retailer.into(),
            dest: format!("https://www.{retailer}.com/x"),
            ..Default::default()
        }
    }

    fn sample() -> PageRecord {
        PageRecord {
            title: "Summer grill kit".into(),
            subtitle: Some("Pick your store".into()),
            logo_url: Some("https://cdn.brand.example/logo.png".into()),
            hero_image_url: Some("https://cdn.brand.example/hero.jpg".into()),
            brand_color: Some("#1a237e".into()),
            items: vec![
                Item {
                    name: "Charcoal".into(),
                    image_url: Some("https://cdn.brand.example/c.png".into()),
                    size: Some("20 lb".into()),
                },
                Item {
                    name: "Tongs".into(),
                    ..Default::default()
                },
            ],
            offers: ["walmart", "target", "amazon", "instacart"]
                .map(offer)
                .to_vec(),
        }
    }

    #[test]
    fn one_button_per_active_retailer_and_unavailable_offers_are_no_links() {
        let mut page = sample();
        page.offers[1].disabled = true;
        page.offers[2].expires_at = Some(10);
        page.offers[3].starts_at = Some(1_000);
        let r = render(&page, "tB8bSdF", 500);
        let h = &r.html;
        assert!(h.contains("<a class=\"buy\" href=\"/tB8bSdF/walmart\">Buy at Walmart</a>"));
        assert_eq!(h.matches("<a ").count(), 1, "{h}");
        assert!(h.contains(
            "<span class=\"buy off\" aria-disabled=\"true\">Target: not available</span>"
        ));
        assert!(h.contains("Amazon: not available"));
        assert!(h.contains("Instacart: coming soon"));
        assert!(!h.contains("/tB8bSdF/target"));
        let all = render(&sample(), "tB8bSdF", 500).html;
        for r in ["walmart", "target", "amazon", "instacart"] {
            assert!(all.contains(&format!("href=\"/tB8bSdF/{r}\"")), "{r}");
        }
        // Destinations never appear on the page: the buttons go through the link.
        assert!(!all.contains("www.walmart.com"));
    }

    #[test]
    fn head_items_images_and_policy() {
        let r = render(&sample(), "abc1234", 0);
        let h = &r.html;
        assert!(h.starts_with("<!doctype html><html lang=\"en\">"));
        assert!(h.contains("<meta name=\"robots\" content=\"noindex\">"));
        assert!(
            h.contains("<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">")
        );
        assert!(h.contains("<title>Summer grill kit</title>"));
        assert!(h.contains("<h1>Summer grill kit</h1><p class=\"sub\">Pick your store</p>"));
        assert!(h.contains("<meta property=\"og:title\" content=\"Summer grill kit\">"));
        assert!(h.contains("<span>Charcoal<span class=\"z\">20 lb</span></span>"));
        assert!(h.contains("<li><span>Tongs</span></li>"));
        // Every image is lazy, with its box sized and an alt.
        let imgs: Vec<&str> = h.split("<img ").skip(1).collect();
        assert_eq!(imgs.len(), 3);
        for img in imgs {
            let tag = &img[..img.find('>').unwrap()];
            for attr in [
                "loading=\"lazy\"",
                "width=\"",
                "height=\"",
                "alt=\"\"",
                "src=\"https://",
            ] {
                assert!(tag.contains(attr), "{attr} in {tag}");
            }
        }
        assert!(!h.contains("<script"));
        assert!(
            !h.contains(" style=\""),
            "no inline style attributes: the policy allows none"
        );
        assert!(h.contains(":root{--b:#1a237e}"));
        // The policy: nothing but https images and the page's two style sheets, by hash.
        let csp = &r.csp;
        assert!(
            csp.starts_with("default-src 'none'; img-src https:; style-src 'sha256-"),
            "{csp}"
        );
        for d in [
            "form-action 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(d), "{d}");
        }
        assert!(csp.contains(&style_hash(CSS)));
        assert!(csp.contains(&style_hash(":root{--b:#1a237e}")));
        assert!(!csp.contains("unsafe"));
        let plain = render(
            &PageRecord {
                brand_color: None,
                ..sample()
            },
            "abc1234",
            0,
        );
        assert!(plain
            .html
            .contains(&format!(":root{{--b:{DEFAULT_BRAND_COLOR}}}")));
    }

    #[test]
    fn base64_and_hashes_are_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        // `echo -n 'a{}' | openssl dgst -sha256 -binary | base64`
        assert_eq!(
            style_hash("a{}"),
            "'sha256-X1RutGBrXCt9KkSaXMK7tHftWiRscFHOhxsS8tv8hBk='"
        );
    }

    #[test]
    fn every_value_is_escaped() {
        let evil = "<script>alert(\"x\")</script>&'";
        let mut page = sample();
        page.title = evil.into();
        page.subtitle = Some(evil.into());
        page.items[0].name = evil.into();
        page.items[0].size = Some(evil.into());
        page.items[0].image_url = Some("https://x.example/\"onerror=\"alert(1)".into());
        page.brand_color = Some("red}body{display:none".into());
        let h = render(&page, "a\"b", 0).html;
        assert!(!h.contains("<script>"), "{h}");
        assert!(!h.contains("\"onerror"));
        assert!(h.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"));
        assert!(h.contains("href=\"/a&quot;b/walmart\""));
    }

    /// A deterministic stream of characters of a class, for pages at every limit.
    fn noise(seed: &mut u64, n: usize, alphabet: &[char]) -> String {
        (0..n)
            .map(|_| {
                *seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                alphabet[((*seed >> 33) as usize) % alphabet.len()]
            })
            .collect()
    }

    fn deflated(s: &str) -> usize {
        miniz_oxide::deflate::compress_to_vec(s.as_bytes(), 6).len()
    }

    #[test]
    fn a_page_at_every_limit_stays_under_14_kib_compressed() {
        use crate::domain::where_to_buy::*;
        let url_chars: Vec<char> = ('a'..='z').chain('A'..='Z').chain('0'..='9').collect();
        let wide: Vec<char> = (0x4e00u32..0x4e00 + 2000)
            .filter_map(char::from_u32)
            .collect();
        let emoji: Vec<char> = (0x1f300u32..0x1f300 + 500)
            .filter_map(char::from_u32)
            .collect();
        let mut worst = 0;
        for text in [&url_chars, &wide, &emoji] {
            let mut seed = 7;
            let url = |seed: &mut u64| {
                let prefix = "https://cdn.brand.example/";
                format!(
                    "{prefix}{}",
                    noise(seed, MAX_IMAGE_URL - prefix.len(), &url_chars)
                )
            };
            let page = PageRecord {
                title: noise(&mut seed, MAX_TITLE, text),
                subtitle: Some(noise(&mut seed, MAX_SUBTITLE, text)),
                logo_url: Some(url(&mut seed)),
                hero_image_url: Some(url(&mut seed)),
                brand_color: Some("#1a237e".into()),
                items: (0..MAX_ITEMS)
                    .map(|_| Item {
                        name: noise(&mut seed, MAX_ITEM_NAME, text),
                        image_url: Some(url(&mut seed)),
                        size: Some(noise(&mut seed, MAX_ITEM_SIZE, text)),
                    })
                    .collect(),
                offers: [
                    "walmart",
                    "target",
                    "amazon",
                    "instacart",
                    "kroger",
                    "custom",
                ]
                .map(offer)
                .to_vec(),
            };
            let h = render(&page, &"x".repeat(64), 0).html;
            worst = worst.max(deflated(&h));
        }
        assert!(worst < 14 * 1024, "{worst} bytes compressed");
        // A typical page is a small fraction of that.
        let typical = render(&sample(), "abc1234", 0).html;
        assert!(deflated(&typical) < 2048, "{}", deflated(&typical));
    }
}
