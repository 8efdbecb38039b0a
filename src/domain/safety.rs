//! Redirect safety: where a link may send shoppers beyond the retailer hosts we build URLs
//! for. A destination may never be this service itself (a short link to a short link loops
//! or launders), and a project may restrict custom destinations to an allow-list of hosts.
//!
//! "This service" is every host the worker answers on: the host a request came in on, the
//! public base URL's, the hosts of `SERVICE_HOSTS`, its own `workers.dev` hosts, and every
//! loopback or unspecified address in any spelling the URL parser accepts (`localhost`,
//! `127.1`, `0x7f.0.0.1`, `[::1]`, `[::ffff:127.0.0.1]`, `0.0.0.0`, …). Hosts are compared
//! as the WHATWG parser leaves them (IPv4 numbers normalised, IDN hosts in punycode).

use super::error::FieldError;
use std::net::IpAddr;
use url::Host;

/// The worker's name (wrangler.toml `name`). Its `workers.dev` hosts are
/// `<name>.<account>.workers.dev`, `<name>-<env>.…` for an environment, and
/// `<version or alias>-<name>.…` for preview URLs.
pub const WORKER_NAME: &str = "in2carts-edge";

/// Every host this worker answers on, besides the loopback and unspecified addresses and its
/// `workers.dev` hosts, which are always included.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnHosts {
    /// Lowercased, punycode, without a trailing dot; subdomains included.
    domains: Vec<String>,
    ips: Vec<IpAddr>,
}

impl OwnHosts {
    /// Adds a host.
    pub fn add(&mut self, host: &Host<String>) {
        match host {
            Host::Domain(d) => self.domains.push(clean_domain(d)),
            Host::Ipv4(a) => self.ips.push(IpAddr::V4(*a)),
            Host::Ipv6(a) => self.ips.push(IpAddr::V6(*a)),
        }
    }

    /// Adds the host of an absolute URL or origin (`https://in2carts.com`); nothing when it
    /// has none.
    pub fn add_url(&mut self, url: &str) {
        if let Some(host) = url::Url::parse(url)
            .ok()
            .and_then(|u| u.host().map(|h| h.to_owned()))
        {
            self.add(&host);
        }
    }

    /// Whether `host` is this service.
    pub fn contains(&self, host: &Host<&str>) -> bool {
        match host {
            Host::Domain(d) => {
                let d = clean_domain(d);
                host_matches(&d, "localhost")
                    || is_own_workers_dev(&d)
                    || self.domains.iter().any(|own| host_matches(&d, own))
            }
            Host::Ipv4(a) => self.own_ip(IpAddr::V4(*a)),
            // `to_ipv4` also reads the IPv4-mapped (`::ffff:127.0.0.1`) and IPv4-compatible
            // (`::127.0.0.1`) forms.
            Host::Ipv6(a) => {
                self.own_ip(IpAddr::V6(*a)) || a.to_ipv4().is_some_and(|v4| self.own_ip(v4.into()))
            }
        }
    }

    fn own_ip(&self, ip: IpAddr) -> bool {
        ip.is_loopback() || ip.is_unspecified() || self.ips.contains(&ip)
    }
}

fn clean_domain(d: &str) -> String {
    d.trim_end_matches('.').to_ascii_lowercase()
}

/// Whether `host` is `allowed` or one of its subdomains.
fn host_matches(host: &str, allowed: &str) -> bool {
    let allowed = allowed.trim_end_matches('.').to_ascii_lowercase();
    host == allowed
        || host
            .strip_suffix(allowed.as_str())
            .is_some_and(|rest| rest.ends_with('.'))
}

/// `<…name…>.<account>.workers.dev`: this worker's `workers.dev` hosts, its environments'
/// and its preview URLs'.
fn is_own_workers_dev(domain: &str) -> bool {
    let Some(rest) = domain.strip_suffix(".workers.dev") else {
        return false;
    };
    let label = rest.split('.').next().unwrap_or("");
    let n = WORKER_NAME;
    label == n
        || label.starts_with(&format!("{n}-"))
        || label.ends_with(&format!("-{n}"))
        || label.contains(&format!("-{n}-"))
}

/// One host of a setting (`SERVICE_HOSTS`, `CUSTOM_DESTINATION_HOSTS`): a bare host
/// (`in2carts.com`, `[::1]`, `go.brand.example:8443`), an origin (`https://in2carts.com`) or
/// `*.brand.example` (subdomains are always included). Normalised as URLs are (punycode).
fn host_url(entry: &str) -> Result<url::Url, String> {
    let e = entry.trim();
    let e = e.strip_prefix("*.").unwrap_or(e);
    let bad = || format!("'{}' is not a host name", entry.trim());
    if e.is_empty() {
        return Err(bad());
    }
    let as_url = if e.contains("://") {
        e.to_string()
    } else {
        format!("http://{e}")
    };
    let u = url::Url::parse(&as_url).map_err(|_| bad())?;
    if u.host_str().is_none_or(str::is_empty)
        || !u.username().is_empty()
        || u.password().is_some()
        || u.path() != "/"
        || u.query().is_some()
        || u.fragment().is_some()
    {
        return Err(bad());
    }
    Ok(u)
}

/// A setting's host as the URL parser reads it (see `host_url`).
pub fn parse_host(entry: &str) -> Result<Host<String>, String> {
    let u = host_url(entry)?;
    Ok(match u.host() {
        Some(Host::Domain(d)) => Host::Domain(clean_domain(d)),
        Some(h) => h.to_owned(),
        None => unreachable!("host_url answers URLs with a host"),
    })
}

/// `SERVICE_HOSTS`: comma-separated hosts the worker is also routed on. Empty entries are
/// ignored; any other unreadable entry makes the whole setting unusable.
pub fn parse_service_hosts(v: &str) -> Result<Vec<Host<String>>, String> {
    v.split(',')
        .filter(|e| !e.trim().is_empty())
        .map(|e| parse_host(e).map_err(|m| format!("SERVICE_HOSTS: {m}")))
        .collect()
}

/// Per-project allow-lists: (project id, hosts), hosts as `host_str` serialises them.
pub type AllowLists = Vec<(String, Vec<String>)>;

/// `CUSTOM_DESTINATION_HOSTS`: a JSON object of project id → list of hosts; empty means no
/// project is restricted. Any other shape makes the setting unusable.
pub fn parse_allow_lists(v: &str) -> Result<AllowLists, String> {
    use serde_json::Value;
    let shape = || {
        "CUSTOM_DESTINATION_HOSTS must be a JSON object of project id → list of host names, \
e.g. {\"proj_123\": [\"brand.example\"]}"
            .to_string()
    };
    if v.trim().is_empty() {
        return Ok(Vec::new());
    }
    let Ok(Value::Object(raw)) = serde_json::from_str::<Value>(v) else {
        return Err(shape());
    };
    raw.into_iter()
        .map(|(project, hosts)| {
            let Value::Array(hosts) = hosts else {
                return Err(shape());
            };
            let hosts = hosts
                .iter()
                .map(|h| {
                    let h = h.as_str().ok_or_else(shape)?;
                    host_url(h)
                        .map(|u| clean_domain(u.host_str().unwrap_or_default()))
                        .map_err(|m| format!("CUSTOM_DESTINATION_HOSTS ({project}): {m}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((project, hosts))
        })
        .collect()
}

/// Checks `customUrl` / `fallbackUrl` (given as `(key, url)`) against our own hosts and the
/// project's allow-list (`None`: no restriction).
pub fn check_destinations(
    urls: &[(&str, &str)],
    own: &OwnHosts,
    allowed: Option<&[String]>,
) -> Vec<FieldError> {
    let mut problems = Vec::new();
    for (key, url) in urls {
        let Ok(parsed) = url::Url::parse(url) else {
            continue;
        };
        let Some(host) = parsed.host() else { continue };
        let shown = clean_domain(parsed.host_str().unwrap_or_default());
        if own.contains(&host) {
            problems.push(FieldError::new(
                *key,
                "redirect_loop",
                format!("'{shown}' is this link service: a link cannot redirect to a short link"),
            ));
        } else if let Some(list) = allowed {
            if !list.iter().any(|a| host_matches(&shown, a)) {
                problems.push(FieldError::new(
                    *key,
                    "host_not_allowed",
                    format!(
                        "'{shown}' is not an allowed destination for this project (allowed: {})",
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

    fn own(urls: &[&str]) -> OwnHosts {
        let mut o = OwnHosts::default();
        for u in urls {
            o.add_url(u);
        }
        o
    }

    fn code(url: &str, own: &OwnHosts) -> Option<&'static str> {
        check_destinations(&[("customUrl", url)], own, None)
            .first()
            .map(|p| p.code)
    }

    #[test]
    fn refuses_our_own_hosts() {
        let own = own(&["https://in2carts.com", "http://127.0.0.1:8787"]);
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
        assert_eq!(p[1].message.split('\'').nth(1), Some("www.in2carts.com"));
        assert_eq!(code("http://127.0.0.1:8787/x", &own), Some("redirect_loop"));
        assert_eq!(code("https://notin2carts.com/", &own), None);
        assert_eq!(code("https://in2carts.com.evil.example/", &own), None);
    }

    #[test]
    fn every_spelling_of_loopback_and_unspecified_is_ours() {
        // Nothing configured at all: these are still this machine.
        let none = OwnHosts::default();
        for url in [
            "http://localhost/x",
            "http://LOCALHOST./x",
            "http://api.localhost:8787/",
            "http://127.0.0.1/",
            "http://127.1.2.3/",
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f.0.0.1/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://017700000001/",
            "http://0.0.0.0/",
            "http://0/",
            "http://[::1]/",
            "http://[0:0:0:0:0:0:0:1]/",
            "http://[::]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[::ffff:0.0.0.0]/",
            "http://[::127.0.0.1]/",
            "http://\u{ff11}\u{ff12}\u{ff17}.\u{ff10}.\u{ff10}.\u{ff11}/",
            "http://%31%32%37.0.0.1/",
        ] {
            assert_eq!(code(url, &none), Some("redirect_loop"), "{url}");
        }
        for url in [
            "http://128.0.0.1/",
            "http://10.0.0.1/",
            "http://[::2]/",
            "http://[::ffff:8.8.8.8]/",
            "http://localhost.example/",
            "http://mylocalhost/",
        ] {
            assert_eq!(code(url, &none), None, "{url}");
        }
    }

    #[test]
    fn this_workers_dev_hosts_are_ours() {
        let none = OwnHosts::default();
        for url in [
            "https://in2carts-edge.acme.workers.dev/x",
            "https://IN2CARTS-EDGE.acme.workers.dev./x",
            "https://in2carts-edge.workers.dev/",
            "https://in2carts-edge-staging.acme.workers.dev/",
            "https://1a2b3c4d-in2carts-edge.acme.workers.dev/",
            "https://pr-12-in2carts-edge-staging.acme.workers.dev/",
        ] {
            assert_eq!(code(url, &none), Some("redirect_loop"), "{url}");
        }
        for url in [
            "https://other-worker.acme.workers.dev/",
            "https://in2carts-edgex.acme.workers.dev/",
            "https://acme.in2carts-edge.workers.dev.evil.example/",
        ] {
            assert_eq!(code(url, &none), None, "{url}");
        }
    }

    #[test]
    fn configured_hosts_compare_as_parsed() {
        let mut o = own(&["https://xn--e1afmkfd.xn--p1ai"]);
        for h in parse_service_hosts(
            " go.in2carts.com, https://shop.example:8443 ,[2001:db8::1],,203.0.113.7",
        )
        .unwrap()
        {
            o.add(&h);
        }
        for url in [
            "https://пример.рф/x",
            "https://ПРИМЕР.рф/x",
            "https://go.in2carts.com/abc",
            "https://www.go.in2carts.com/abc",
            "https://shop.example/",
            "http://[2001:db8:0::1]/",
            "http://203.0.113.7/",
            "http://[::ffff:203.0.113.7]/",
            "http://3405803783/",
        ] {
            assert_eq!(code(url, &o), Some("redirect_loop"), "{url}");
        }
        assert_eq!(code("https://in2carts.com/", &o), None);
    }

    #[test]
    fn host_settings_are_read_strictly() {
        assert_eq!(
            parse_host("*.Brand.Example").unwrap(),
            Host::Domain("brand.example".to_string())
        );
        assert_eq!(
            parse_host("ｂｒａｎｄ.example").unwrap(),
            Host::Domain("brand.example".to_string())
        );
        assert_eq!(
            parse_host("https://bücher.example").unwrap(),
            Host::Domain("xn--bcher-kva.example".to_string())
        );
        for bad in [
            "",
            "brand.example/path",
            "user@brand.example",
            "https://brand.example/x",
            "brand.example?x",
            "exa mple.com",
            "http://",
            "[::1",
        ] {
            assert!(parse_host(bad).is_err(), "{bad:?}");
        }
        assert!(parse_service_hosts("").unwrap().is_empty());
        let e = parse_service_hosts("ok.example, bad/host").unwrap_err();
        assert!(e.starts_with("SERVICE_HOSTS: "), "{e}");
    }

    #[test]
    fn allow_lists_are_read_strictly() {
        assert!(parse_allow_lists("").unwrap().is_empty());
        assert!(parse_allow_lists("  ").unwrap().is_empty());
        let m =
            parse_allow_lists(r#"{"p": ["Brand.Example", "*.shop.example", "bücher.example"]}"#)
                .unwrap();
        assert_eq!(
            m,
            vec![(
                "p".to_string(),
                s(&["brand.example", "shop.example", "xn--bcher-kva.example"])
            )]
        );
        let ip = parse_allow_lists(r#"{"p": ["[::1]", "127.0.0.1:80"]}"#).unwrap();
        assert_eq!(ip[0].1, s(&["[::1]", "127.0.0.1"]));
        for bad in [
            "{not json",
            r#"["brand.example"]"#,
            r#"{"p": "brand.example"}"#,
            r#"{"p": [1]}"#,
            r#"{"p": ["brand.example/x"]}"#,
            "null",
        ] {
            let e = parse_allow_lists(bad).unwrap_err();
            assert!(e.starts_with("CUSTOM_DESTINATION_HOSTS"), "{bad}: {e}");
        }
    }

    #[test]
    fn allow_list_with_subdomains() {
        let allowed = s(&["brand.example", "xn--bcher-kva.example"]);
        let own = own(&["https://in2carts.com"]);
        for ok in [
            "https://brand.example/",
            "https://shop.brand.example/p?x=1",
            "https://bücher.example/",
        ] {
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

    #[test]
    fn worker_name_is_wranglers() {
        let toml = include_str!("../../wrangler.toml");
        let name = toml
            .lines()
            .find_map(|l| l.strip_prefix("name = "))
            .map(|v| v.trim().trim_matches('"'));
        assert_eq!(name, Some(WORKER_NAME));
    }
}
