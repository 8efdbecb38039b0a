//! Identifiers: short ids, ULID-based resource ids, API keys. Randomness is passed in, so every
//! function here is deterministic and testable; the glue supplies CSPRNG bytes.

/// Short-id alphabet: digits and letters without look-alikes (0/O/o, 1/l/I/i).
pub const SHORT_ID_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
pub const SHORT_ID_LEN: usize = 7;

/// Draws a short id from random bytes by rejection sampling (no modulo bias). Returns `None`
/// when the bytes ran out before `SHORT_ID_LEN` characters were accepted; callers pass enough
/// bytes (32 gives a failure probability far below 1e-20).
pub fn short_id_from_bytes(random: &[u8]) -> Option<String> {
    let n = SHORT_ID_ALPHABET.len();
    let limit = (256 / n) * n;
    let mut out = String::with_capacity(SHORT_ID_LEN);
    for &b in random {
        if (b as usize) < limit {
            out.push(SHORT_ID_ALPHABET[b as usize % n] as char);
            if out.len() == SHORT_ID_LEN {
                return Some(out);
            }
        }
    }
    None
}

/// A path segment that could be a short id: generated ids are 7 characters of the alphabet;
/// we accept 1–64 URL-safe characters so a malformed id is refused before any storage lookup.
pub fn is_plausible_short_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
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
    use super::*;

    #[test]
    fn short_ids_use_only_the_alphabet() {
        let bytes: Vec<u8> = (0..=255).collect();
        let id = short_id_from_bytes(&bytes).unwrap();
        assert_eq!(id, "2345678");
        let id = short_id_from_bytes(&[255, 254, 54, 0, 1, 2, 3, 4, 5]).unwrap();
        assert_eq!(id, "Z23456"[..].to_string() + "7");
        for bad in ["0", "O", "o", "1", "l", "I", "i"] {
            assert!(!SHORT_ID_ALPHABET.contains(&bad.as_bytes()[0]), "{bad}");
        }
        assert_eq!(short_id_from_bytes(&[250; 40]), None);
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
