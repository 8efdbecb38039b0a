//! Identifiers: short ids, ULID-based resource ids, API keys. Randomness is passed in, so every
//! function here is deterministic and testable; the glue supplies CSPRNG bytes.

/// Short-id alphabet: digits and letters without look-alikes (0/O/o, 1/l/I/i).
pub const SHORT_ID_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
pub const SHORT_ID_LEN: usize = 7;

/// Draws a short id from random bytes by rejection sampling (no modulo bias): six random
/// characters and a check character keyed by `key` (see `check_char`). Returns `None` when the
/// bytes ran out first; callers pass enough bytes (32 gives a failure probability far below
/// 1e-20).
pub fn short_id_from_bytes(random: &[u8], key: &[u8]) -> Option<String> {
    let n = SHORT_ID_ALPHABET.len();
    let limit = (256 / n) * n;
    let mut out = String::with_capacity(SHORT_ID_LEN);
    for &b in random {
        if (b as usize) < limit {
            out.push(SHORT_ID_ALPHABET[b as usize % n] as char);
            if out.len() == SHORT_ID_LEN - 1 {
                out.push(check_char(&out, key));
                return Some(out);
            }
        }
    }
    None
}

/// The last character of a generated short id: a keyed MAC of the first six. A redirect that
/// misses in KV consults the link's Durable Object only when this matches, so a flood of
/// made-up ids (54 in 55 fail) cannot become a flood of Durable Object calls.
pub fn check_char(body: &str, key: &[u8]) -> char {
    use hmac::{Hmac, Mac};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return SHORT_ID_ALPHABET[0] as char;
    };
    mac.update(body.as_bytes());
    let tag = mac.finalize().into_bytes();
    SHORT_ID_ALPHABET[tag[0] as usize % SHORT_ID_ALPHABET.len()] as char
}

/// Whether `id` looks like one of our generated short ids, check character included.
pub fn has_valid_check(id: &str, key: &[u8]) -> bool {
    id.len() == SHORT_ID_LEN
        && id.bytes().all(|b| SHORT_ID_ALPHABET.contains(&b))
        && id
            .char_indices()
            .last()
            .is_some_and(|(i, c)| check_char(&id[..i], key) == c)
}

/// A path segment that could be a short id: generated ids are 7 characters of the alphabet;
/// we accept 1–64 URL-safe characters so a malformed id is refused before any storage lookup.
pub fn is_plausible_short_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The path of a serialized WHATWG URL (`Request.url`): from the first `/` after the host
/// to the query or fragment. Special-scheme serialization always has a path, and `?`/`#`
/// inside it are percent-encoded, so no full parse is needed.
pub fn url_path(url: &str) -> &str {
    let Some(scheme_end) = url.find("://") else {
        return url;
    };
    let after_host = &url[scheme_end + 3..];
    let path = after_host.find('/').map_or("/", |i| &after_host[i..]);
    path.find(['?', '#']).map_or(path, |end| &path[..end])
}

/// First path segments that are routes, or were routes of the service brands are leaving,
/// and so can never be short ids (compared without regard to ASCII case).
pub const RESERVED_SEGMENTS: [&str; 10] = [
    "v1", "w", "qr", "api", "admin", "app", "www", "link", "test", "_admin",
];

pub fn is_reserved_segment(s: &str) -> bool {
    RESERVED_SEGMENTS.iter().any(|r| r.eq_ignore_ascii_case(s))
}

/// A short id a brand may choose (a vanity id, or one imported from codes already printed):
/// 3–64 of `A-Z a-z 0-9 _ -`. Reserved words are refused separately (`is_reserved_segment`).
pub fn is_chosen_short_id(s: &str) -> bool {
    (3..=64).contains(&s.len()) && is_plausible_short_id(s)
}

/// The short id a visit addresses: `/{shortId}` (one trailing slash allowed) or the form
/// printed on older codes, `/w/{shortId}`; `None` for the API, admin and QR surfaces and
/// anything else.
pub fn redirect_target(path: &str) -> Option<&str> {
    let rest = path.strip_prefix('/')?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let segment = rest.strip_prefix("w/").unwrap_or(rest);
    (!is_reserved_segment(segment) && is_plausible_short_id(segment)).then_some(segment)
}

/// What `/qr/{x}` addresses: one of our QR codes' images (`qr_` + ULID), or a printed QR
/// code's identifier (any other segment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QrPath<'a> {
    Image(&'a str),
    Printed(&'a str),
}

/// The target of a `/qr/{x}` path (one trailing slash allowed).
pub fn qr_path(path: &str) -> Option<QrPath<'_>> {
    let id = path.strip_prefix("/qr/")?;
    let id = id.strip_suffix('/').unwrap_or(id);
    if id.is_empty() || id.contains('/') {
        return None;
    }
    Some(if id.starts_with("qr_") {
        QrPath::Image(id)
    } else {
        QrPath::Printed(id)
    })
}

/// `prefix` + ULID (Crockford base32), from a millisecond clock and 16 random bytes.
pub fn ulid_id(prefix: &str, now_ms: i64, random: [u8; 16]) -> String {
    let rand = u128::from_be_bytes(random) & ((1u128 << 80) - 1);
    let ulid = ulid::Ulid::from_parts(now_ms.max(0) as u64, rand);
    format!("{prefix}{ulid}")
}

/// True for `prefix` followed by a well-formed ULID.
pub fn is_ulid_id(prefix: &str, s: &str) -> bool {
    s.strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == 26 && ulid::Ulid::from_string(rest).is_ok())
}

pub const API_KEY_PREFIX: &str = "i2c_";

/// Lowercase hex of SHA-256: API keys are stored and looked up only by this hash.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(data))
}

pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn url_path_slices_the_serialized_url() {
        assert_eq!(url_path("https://go.example/abc1234"), "/abc1234");
        assert_eq!(
            url_path("https://go.example/abc1234?qr=1&x=%23"),
            "/abc1234"
        );
        assert_eq!(url_path("https://go.example/abc1234#frag"), "/abc1234");
        assert_eq!(url_path("https://go.example"), "/");
        assert_eq!(
            url_path("http://127.0.0.1:8787/v1/links?cursor=a"),
            "/v1/links"
        );
        assert_eq!(url_path("/relative"), "/relative");
    }

    #[test]
    fn qr_paths_are_images_or_printed_identifiers() {
        assert_eq!(qr_path("/qr/qr_01ABC"), Some(QrPath::Image("qr_01ABC")));
        assert_eq!(qr_path("/qr/qr_01ABC/"), Some(QrPath::Image("qr_01ABC")));
        assert_eq!(
            qr_path("/qr/in-store-display"),
            Some(QrPath::Printed("in-store-display"))
        );
        for other in ["/qr", "/qr/", "/qr//", "/qr/a/b", "/v1/qr/a", "/abc1234"] {
            assert_eq!(qr_path(other), None, "{other}");
        }
    }

    #[test]
    fn chosen_ids_and_reserved_words() {
        for ok in ["c60F1Yf7c", "abc", "summer-sale_2026", &"x".repeat(64)] {
            assert!(is_chosen_short_id(ok), "{ok}");
        }
        for bad in ["ab", "a.b", "a b", "ünï", &"x".repeat(65)] {
            assert!(!is_chosen_short_id(bad), "{bad}");
        }
        for r in [
            "v1", "w", "QR", "Api", "admin", "app", "www", "link", "test", "_admin",
        ] {
            assert!(is_reserved_segment(r), "{r}");
        }
        assert!(!is_reserved_segment("wine"));
    }

    #[test]
    fn redirect_target_is_one_plausible_segment() {
        assert_eq!(redirect_target("/abc1234"), Some("abc1234"));
        assert_eq!(redirect_target("/abc1234/"), Some("abc1234"));
        assert_eq!(redirect_target("/summer-grill_24"), Some("summer-grill_24"));
        assert_eq!(redirect_target("/w/c60F1Yf7c"), Some("c60F1Yf7c"));
        assert_eq!(redirect_target("/w/c60F1Yf7c/"), Some("c60F1Yf7c"));
        assert_eq!(redirect_target("/wine"), Some("wine"));
        for other in [
            "/",
            "//",
            "/w",
            "/w/",
            "/w/w",
            "/w/qr",
            "/w/a/b",
            "/admin",
            "/API",
            "/v1",
            "/v1/links",
            "/qr",
            "/qr/abc",
            "/_admin",
            "/a/b",
            "/abc%20",
            "/abc.png",
            "/abc1234//",
            "",
        ] {
            assert_eq!(redirect_target(other), None, "{other}");
        }
        assert_eq!(redirect_target(&format!("/{}", "a".repeat(65))), None);
    }

    use super::*;

    #[test]
    fn short_ids_use_only_the_alphabet_and_carry_a_check() {
        let bytes: Vec<u8> = (0..=255).collect();
        let id = short_id_from_bytes(&bytes, b"k").unwrap();
        assert_eq!(&id[..6], "234567");
        assert_eq!(id.len(), SHORT_ID_LEN);
        assert!(has_valid_check(&id, b"k"));
        let id = short_id_from_bytes(&[255, 254, 54, 0, 1, 2, 3, 4, 5], b"k").unwrap();
        assert_eq!(&id[..6], "Z23456");
        for bad in ["0", "O", "o", "1", "l", "I", "i"] {
            assert!(!SHORT_ID_ALPHABET.contains(&bad.as_bytes()[0]), "{bad}");
        }
        assert_eq!(short_id_from_bytes(&[250; 40], b"k"), None);
    }

    #[test]
    fn made_up_ids_rarely_pass_the_check() {
        let passing = (0..5500u32)
            .filter(|i| {
                let body: String = (0..6)
                    .map(|j| SHORT_ID_ALPHABET[((i >> j) as usize * 7 + j) % 55] as char)
                    .collect();
                has_valid_check(&format!("{body}Z"), b"secret")
            })
            .count();
        assert!(passing < 300, "{passing}");
        let id = short_id_from_bytes(&[9; 32], b"secret").unwrap();
        assert!(has_valid_check(&id, b"secret"));
        assert!(!has_valid_check("abc", b"secret"));
        assert!(!has_valid_check("abc1234", b"secret"));
    }

    #[test]
    fn plausible_short_ids() {
        assert!(is_plausible_short_id("abc1234"));
        assert!(is_plausible_short_id("summer-sale_2"));
        for bad in ["", "a/b", "a.b", "héllo", &"x".repeat(65)] {
            assert!(!is_plausible_short_id(bad), "{bad}");
        }
    }

    #[test]
    fn ulid_ids_sort_by_time_and_validate() {
        let a = ulid_id("lnk_", 1_000, [0xff; 16]);
        let b = ulid_id("lnk_", 2_000, [0; 16]);
        assert!(a < b);
        assert_eq!(a.len(), 30);
        assert!(is_ulid_id("lnk_", &a));
        assert!(!is_ulid_id("qr_", &a));
        assert!(!is_ulid_id("lnk_", "lnk_123"));
    }

    #[test]
    fn sha256_matches_known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
