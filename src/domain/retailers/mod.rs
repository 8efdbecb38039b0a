//! Destination rules, one file per retailer. Adding a retailer: a file here, a line in
//! `destination`, its name in `link::Retailer`.

mod custom;
pub mod instacart;
mod target;
mod walmart;

use super::link::{Intent, LinkSpec, Retailer};

/// Why no destination could be built (reported as a validation problem at `key`).
#[derive(Debug, PartialEq, Eq)]
pub struct NoDestination {
    pub key: &'static str,
    pub message: String,
}

/// The destination of a validated link whose URL we build ourselves, before tracking
/// parameters. Instacart destinations come from Instacart's API instead.
pub fn destination(spec: &LinkSpec) -> Result<String, NoDestination> {
    let base = match spec.retailer {
        Retailer::Walmart => walmart::destination(spec),
        Retailer::Target => target::destination(spec),
        Retailer::Custom => custom::destination(spec),
        Retailer::Instacart => Err(NoDestination {
            key: "retailer",
            message: "Instacart destinations are created by the Instacart API".into(),
        }),
    }?;
    let _ = Intent::ALL; // every intent is handled inside the retailer files
    Ok(base)
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
}
