//! Redirect safety: where a link may send shoppers beyond the retailer hosts we build URLs
//! for. A destination may never be this service itself (a short link to a short link loops
//! or launders), and a project may restrict custom destinations to an allow-list of hosts.

use super::error::FieldError;

/// Lowercased host of an absolute URL.
fn host_of(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .host_str()
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
}

/// Whether `host` is `allowed` or one of its subdomains.
fn host_matches(host: &str, allowed: &str) -> bool {
    let allowed = allowed.trim_end_matches('.').to_ascii_lowercase();
    host == allowed
        || host
            .strip_suffix(allowed.as_str())
            .is_some_and(|rest| rest.ends_with('.'))
}

/// Checks `customUrl` / `fallbackUrl` (given as `(key, url)`) against our own hosts and the
/// project's allow-list (`None`: no restriction).
pub fn check_destinations(
    urls: &[(&str, &str)],
    own_hosts: &[String],
    allowed: Option<&[String]>,
) -> Vec<FieldError> {
    let mut problems = Vec::new();
    for (key, url) in urls {
        let Some(host) = host_of(url) else { continue };
        if own_hosts.iter().any(|own| host_matches(&host, own)) {
            problems.push(FieldError::new(
                *key,
                "redirect_loop",
                format!("'{host}' is this link service: a link cannot redirect to a short link"),
            ));
        } else if let Some(list) = allowed {
            if !list.iter().any(|a| host_matches(&host, a)) {
                problems.push(FieldError::new(
                    *key,
                    "host_not_allowed",
                    format!(
                        "'{host}' is not an allowed destination for this project (allowed: {})",
                        list.join(", ")
                    ),
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn refuses_our_own_hosts() {
        let own = s(&["in2carts.com", "127.0.0.1"]);
        let p = check_destinations(
            &[
                ("customUrl", "https://in2carts.com/abc1234"),
                ("fallbackUrl", "https://WWW.In2carts.com./x"),
            ],
            &own,
            None,
        );
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].code, "redirect_loop");
        assert_eq!(p[1].key, "fallbackUrl");
        assert!(
            check_destinations(&[("customUrl", "http://127.0.0.1:8787/x")], &own, None)[0].code
                == "redirect_loop"
        );
        assert!(
            check_destinations(&[("customUrl", "https://notin2carts.com/")], &own, None).is_empty()
        );
    }

    #[test]
    fn allow_list_with_subdomains() {
        let allowed = s(&["brand.example"]);
        let own = s(&["in2carts.com"]);
        for ok in ["https://brand.example/", "https://shop.brand.example/p?x=1"] {
            assert!(
                check_destinations(&[("customUrl", ok)], &own, Some(&allowed)).is_empty(),
                "{ok}"
            );
        }
        for bad in [
            "https://evilbrand.example/",
            "https://brand.example.evil.com/",
        ] {
            let p = check_destinations(&[("customUrl", bad)], &own, Some(&allowed));
            assert_eq!(p[0].code, "host_not_allowed", "{bad}");
        }
    }
}
