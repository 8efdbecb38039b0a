//! RFC 3339 timestamps without a date library: UTC formatting and strict parsing.
//! All instants are milliseconds since the Unix epoch (`i64`).

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d)
}

/// 9999-12-31T23:59:59.999Z, the last instant we read or write.
pub const MAX_MS: i64 = 253_402_300_799_999;

/// `2026-05-20T07:19:00Z` (whole seconds, UTC), the format of every timestamp we emit.
pub fn format_rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn digits(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0')))
}

/// Parses an RFC 3339 date-time (`2026-05-20T07:19:00Z`, `…T07:19:00.123+02:00`) into epoch
/// milliseconds. Years 1970–9999 only; fractional seconds beyond milliseconds are truncated.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b.len() > 40 {
        return None;
    }
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let y = digits(&b[0..4])?;
    let mo = digits(&b[5..7])? as u32;
    let d = digits(&b[8..10])? as u32;
    let h = digits(&b[11..13])?;
    let mi = digits(&b[14..16])?;
    let se = digits(&b[17..19])?;
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&mo) || d == 0 {
        return None;
    }
    if d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &b[19..];
    let mut millis = 0i64;
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let frac = &rest[1..1 + n];
        for i in 0..3 {
            millis = millis * 10 + frac.get(i).map_or(0, |c| i64::from(c - b'0'));
        }
        rest = &rest[1 + n..];
    }
    let offset_min = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let oh = digits(&[*h1, *h2])?;
            let om = digits(&[*m1, *m2])?;
            if oh > 23 || om > 59 {
                return None;
            }
            let v = oh * 60 + om;
            if *sign == b'-' {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se.min(59);
    let ms = (secs - offset_min * 60) * 1000 + millis;
    // The offset may carry an edge date outside the years we format (found by fuzzing).
    (0..=MAX_MS).contains(&ms).then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(1_779_261_540_000), "2026-05-20T07:19:00Z");
        assert_eq!(format_rfc3339(951_782_400_999), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn parses_and_round_trips() {
        for ms in [0, 1_779_261_540_000, 951_782_400_000, 4_102_444_799_000] {
            assert_eq!(parse_rfc3339(&format_rfc3339(ms)), Some(ms));
        }
        assert_eq!(
            parse_rfc3339("2026-05-20T09:19:00.250+02:00"),
            Some(1_779_261_540_250)
        );
        assert_eq!(
            parse_rfc3339("2026-05-20T02:19:00-05:00"),
            Some(1_779_261_540_000)
        );
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "2026-05-20",
            "2026-05-20T07:19:00",
            "2026-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-05-20T24:00:00Z",
            "2026-05-20T07:19:00.Z",
            "2026-05-20T07:19:00+2:00",
            "1969-12-31T23:59:59Z",
            "２026-05-20T07:19:00Z",
            "2026-05-20T07:19:00Zjunk",
        ] {
            assert_eq!(parse_rfc3339(s), None, "{s}");
        }
    }
}
