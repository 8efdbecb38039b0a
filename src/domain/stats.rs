//! Click events and the stats answer: the event a redirect records, the partial aggregates a
//! click shard returns, how partials merge, and the API shape (zero-filled series, breakdowns
//! sorted by clicks). Pure: the Durable Object runs the SQL, this file owns the meaning.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 86_400_000;

/// Click shards per link. A visitor always lands on the same shard (chosen by the visitor
/// hash), so unique-visitor counts add up exactly across shards, and one very popular link
/// spreads its writes over this many Durable Objects.
pub const CLICK_SHARDS: u32 = 4;

/// How often an isolate's click batch takes in the visits queued meanwhile (and builds their
/// events, releasing the requests).
pub const BATCH_WINDOW_MS: u64 = 200;
/// A window with at least this many visits marks a busy isolate: its batch keeps collecting.
pub const BUSY_WINDOW_VISITS: usize = 50;
/// The oldest a batch gets before delivery (its first visit's wait).
pub const MAX_BATCH_AGE_MS: u64 = 1000;
/// Most events in one delivery to a shard (bounds the call and the statement); a batch that
/// holds this many is delivered at once.
pub const MAX_EVENTS_PER_CALL: usize = 1000;

/// Whether an isolate's click batch keeps collecting after a window instead of being
/// delivered now: only while the isolate is busy (the window brought `BUSY_WINDOW_VISITS` or
/// more), the batch would still be at most `MAX_BATCH_AGE_MS` old after one more window, and
/// it does not fill a call yet. A quiet link's clicks reach its stats one window after the
/// visit; a busy isolate makes one Durable Object call per shard per second instead of five,
/// and each call costs CPU on both sides and is billed.
pub fn keep_batching(window_visits: usize, batch_events: usize, age_ms: u64) -> bool {
    window_visits >= BUSY_WINDOW_VISITS
        && batch_events < MAX_EVENTS_PER_CALL
        && age_ms + BATCH_WINDOW_MS <= MAX_BATCH_AGE_MS
}

/// One visit, as recorded after the response is sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClickEvent {
    /// Unique per visit; a retried delivery of the same event is stored once.
    pub id: String,
    pub ts: i64,
    pub country: String,
    pub colo: String,
    pub device: String,
    pub os: String,
    pub browser: String,
    /// Referrer host, "" when none.
    pub referrer: String,
    /// Id of the QR code that was scanned, "" for a tap.
    pub qr: String,
    /// Bot or link-preview name, "" for a shopper.
    pub bot: String,
    pub visitor: String,
}

/// Field and row separators of the visits text the redirect's glue reads in one call per
/// batch (ASCII unit and record separators: control characters no header value may hold;
/// the glue also blanks them out, so a row can never spill into another).
pub const VISIT_FIELD_SEP: char = '\u{1f}';
pub const VISIT_ROW_SEP: char = '\u{1e}';

/// What a visit's request says about the visitor, as read by the glue: User-Agent, Referer,
/// client IP, and from `request.cf` country, colo and `botManagement.verifiedBot`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VisitFields<'a> {
    pub user_agent: &'a str,
    pub referer: &'a str,
    pub ip: &'a str,
    pub country: &'a str,
    pub colo: &'a str,
    /// `"1"` / `"0"` when the runtime said, `""` when it did not.
    pub verified_bot: &'a str,
}

/// Splits the visits text into exactly `expected` rows of six fields; `None` when the text
/// has another shape (then nothing of the batch is trusted).
pub fn parse_visits(text: &str, expected: usize) -> Option<Vec<VisitFields<'_>>> {
    if expected == 0 {
        return text.is_empty().then(Vec::new);
    }
    let rows: Vec<&str> = text.split(VISIT_ROW_SEP).collect();
    if rows.len() != expected {
        return None;
    }
    rows.into_iter()
        .map(|row| {
            let mut f = row.split(VISIT_FIELD_SEP);
            let v = VisitFields {
                user_agent: f.next()?,
                referer: f.next()?,
                ip: f.next()?,
                country: f.next()?,
                colo: f.next()?,
                verified_bot: f.next()?,
            };
            f.next().is_none().then_some(v)
        })
        .collect()
}

/// The click event of one visit (pure: the clock, the randomness and the key come in).
pub fn click_event(
    v: &VisitFields<'_>,
    visitors: &crate::domain::client::VisitorHasher,
    qr: Option<String>,
    now: i64,
    random: [u8; 16],
) -> ClickEvent {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let verified = match v.verified_bot {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    };
    let ua = some(v.user_agent);
    let info = crate::domain::client::classify(ua.as_deref(), verified);
    ClickEvent {
        id: crate::domain::ids::ulid_id("clk_", now, random),
        ts: now,
        country: some(v.country).unwrap_or_else(|| "unknown".into()),
        colo: v.colo.to_string(),
        device: info.device.as_str().to_string(),
        os: info.os.to_string(),
        browser: info.browser.to_string(),
        referrer: crate::domain::client::referrer_host(some(v.referer).as_deref())
            .unwrap_or_default(),
        qr: qr.unwrap_or_default(),
        bot: info.bot.unwrap_or("").to_string(),
        // The IP only feeds the keyed, daily-rotating visitor hash; it is never stored.
        visitor: visitors.hash(now.div_euclid(DAY_MS) as u64, v.ip, v.user_agent),
    }
}

/// A batch as delivered to a click shard: a JSON array with one row per event, each row an
/// array of the event's fields in this order. Rows rather than objects: no key is written,
/// matched or looked up per field, on either side (the shard's insert reads `value ->> i`).
pub const ROW_FIELDS: [&str; 11] = [
    "id", "ts", "country", "colo", "device", "os", "browser", "referrer", "qr", "bot", "visitor",
];

/// The delivery body of a batch of events (see `ROW_FIELDS`).
pub fn batch_rows(events: &[ClickEvent]) -> String {
    let rows: Vec<_> = events
        .iter()
        .map(|e| {
            (
                &e.id,
                e.ts,
                &e.country,
                &e.colo,
                &e.device,
                &e.os,
                &e.browser,
                &e.referrer,
                &e.qr,
                &e.bot,
                &e.visitor,
            )
        })
        .collect();
    // Strings and integers always serialize; an empty body would be refused by the shard.
    serde_json::to_string(&rows).unwrap_or_default()
}

/// A delivered row as `check_batch` reads it (`ROW_FIELDS` order), its strings borrowed
/// from the batch text where they need no unescaping. A row of another length is refused.
#[derive(Deserialize)]
#[allow(dead_code)] // read only to check the shape
struct DeliveredRow<'a>(
    #[serde(borrow)] Cow<'a, str>,
    i64,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
);

/// Checks a delivered batch (`batch_rows`) before any of it is stored: every row complete,
/// every field with its type, and every id an event id (`clk_` + ULID) whose time is the
/// event's `ts`, so that (ts, id), the key a click shard stores events under, identifies an
/// event exactly as its id does. Returns the number of events.
pub fn check_batch(json: &str) -> Result<usize, String> {
    let rows: Vec<DeliveredRow<'_>> = serde_json::from_str(json).map_err(|e| e.to_string())?;
    for (i, DeliveredRow(id, ts, ..)) in rows.iter().enumerate() {
        let ulid = id
            .strip_prefix("clk_")
            .and_then(|u| ulid::Ulid::from_string(u).ok());
        if ulid.map(|u| u.timestamp_ms()) != u64::try_from(*ts).ok() {
            return Err(format!("event {i}: id does not match its time"));
        }
    }
    Ok(rows.len())
}

/// The shard of a visitor: a stable function of its hash.
pub fn shard_for(visitor: &str) -> u32 {
    let h = visitor.bytes().fold(2_166_136_261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16_777_619)
    });
    h % CLICK_SHARDS
}

/// Durable Object name of a link's click shard.
pub fn shard_name(link_id: &str, shard: u32) -> String {
    format!("{link_id}#{shard}")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    Hour,
    Day,
}

impl Granularity {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hour" => Some(Self::Hour),
            "day" => Some(Self::Day),
            _ => None,
        }
    }
    pub fn ms(self) -> i64 {
        match self {
            Self::Hour => HOUR_MS,
            Self::Day => DAY_MS,
        }
    }
}

pub fn floor_to(ts: i64, step: i64) -> i64 {
    ts - ts.rem_euclid(step)
}

pub fn ceil_to(ts: i64, step: i64) -> i64 {
    let f = floor_to(ts, step);
    if f == ts {
        ts
    } else {
        f + step
    }
}

/// Breakdown dimensions, in answer order. Each is a column of the events table.
pub const DIMENSIONS: [(&str, &str); 6] = [
    ("country", "country"),
    ("device", "device"),
    ("os", "os"),
    ("browser", "browser"),
    ("referrer", "referrer"),
    ("qrCode", "qr"),
];

/// What one shard answers for a time range (hour-aligned).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partial {
    pub clicks: u64,
    pub qr_scans: u64,
    pub bot_clicks: u64,
    pub unique_visitors: u64,
    /// Hour start (ms) → shopper clicks.
    pub series: BTreeMap<i64, u64>,
    /// Dimension name → value → shopper clicks.
    pub breakdowns: BTreeMap<String, BTreeMap<String, u64>>,
}

impl Partial {
    pub fn merge(mut self, other: Partial) -> Partial {
        self.clicks += other.clicks;
        self.qr_scans += other.qr_scans;
        self.bot_clicks += other.bot_clicks;
        self.unique_visitors += other.unique_visitors;
        for (k, v) in other.series {
            *self.series.entry(k).or_default() += v;
        }
        for (dim, values) in other.breakdowns {
            let mine = self.breakdowns.entry(dim).or_default();
            for (value, n) in values {
                *mine.entry(value).or_default() += n;
            }
        }
        self
    }
}

/// Caps the number of buckets a series may have (a year of hours fits).
pub const MAX_BUCKETS: i64 = 10_000;

/// The `data` of the stats answer: totals, a zero-filled series over `[from, to)` and
/// breakdowns sorted by clicks (ties by value). Empty values read as "(none)" for referrer
/// (direct visits) and QR code (taps), and are left out of the QR breakdown.
pub fn answer(p: &Partial, from: i64, to: i64, g: Granularity) -> Value {
    let step = g.ms();
    // Shards report hourly buckets; days are sums of hours.
    let mut buckets: BTreeMap<i64, u64> = BTreeMap::new();
    for (t, n) in &p.series {
        *buckets.entry(floor_to(*t, step)).or_default() += n;
    }
    let mut series = Vec::new();
    let mut t = floor_to(from, step);
    while t < to && (series.len() as i64) < MAX_BUCKETS {
        let clicks = buckets.get(&t).copied().unwrap_or(0);
        series.push(json!({"start": super::time::format_rfc3339(t), "clicks": clicks}));
        t += step;
    }
    let mut breakdowns = serde_json::Map::new();
    for (name, _) in DIMENSIONS {
        let mut rows: Vec<(&String, u64)> = p
            .breakdowns
            .get(name)
            .map(|m| m.iter().map(|(k, v)| (k, *v)).collect())
            .unwrap_or_default();
        rows.retain(|(k, n)| *n > 0 && !(name == "qrCode" && k.is_empty()));
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let list: Vec<Value> = rows
            .into_iter()
            .map(|(k, n)| {
                let value = if k.is_empty() { "(none)" } else { k.as_str() };
                json!({"value": value, "clicks": n})
            })
            .collect();
        breakdowns.insert(name.to_string(), Value::Array(list));
    }
    json!({
        "clicks": p.clicks,
        "qrScans": p.qr_scans,
        "botClicks": p.bot_clicks,
        "uniqueVisitors": p.unique_visitors,
        "from": super::time::format_rfc3339(from),
        "to": super::time::format_rfc3339(to),
        "granularity": if g == Granularity::Hour { "hour" } else { "day" },
        "series": series,
        "breakdowns": breakdowns,
    })
}

#[cfg(test)]
mod tests {
    fn row(fields: [&str; 6]) -> String {
        fields.join(&VISIT_FIELD_SEP.to_string())
    }

    #[test]
    fn visits_text_splits_into_rows_of_six_fields() {
        let phone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 334.0.4.32.98";
        let text = [
            row([
                phone,
                "https://l.instagram.com/",
                "203.0.113.9",
                "US",
                "DFW",
                "0",
            ]),
            row(["facebookexternalhit/1.1", "", "198.51.100.1", "", "", ""]),
        ]
        .join(&VISIT_ROW_SEP.to_string());
        let v = parse_visits(&text, 2).expect("two rows");
        assert_eq!(v[0].user_agent, phone);
        assert_eq!(v[0].country, "US");
        assert_eq!(v[1].referer, "");
        assert_eq!(v[1].verified_bot, "");
        // Any other shape is refused whole.
        assert_eq!(parse_visits(&text, 3), None);
        assert_eq!(parse_visits(&text, 1), None);
        let five = ["a", "b", "c", "d", "e"].join(&VISIT_FIELD_SEP.to_string());
        assert_eq!(parse_visits(&five, 1), None);
        let seven = format!(
            "{}{}x",
            row(["a", "b", "c", "d", "e", "f"]),
            VISIT_FIELD_SEP
        );
        assert_eq!(parse_visits(&seven, 1), None);
        assert_eq!(parse_visits("", 0), Some(vec![]));
        assert_eq!(parse_visits("x", 0), None);
    }

    #[test]
    fn batches_keep_collecting_only_while_busy_and_young() {
        // A quiet window: deliver now, whatever the age.
        assert!(!keep_batching(0, 0, BATCH_WINDOW_MS));
        assert!(!keep_batching(BUSY_WINDOW_VISITS - 1, 300, BATCH_WINDOW_MS));
        // Busy: keep collecting while one more window stays within the age limit.
        assert!(keep_batching(BUSY_WINDOW_VISITS, 50, BATCH_WINDOW_MS));
        assert!(keep_batching(300, 900, MAX_BATCH_AGE_MS - BATCH_WINDOW_MS));
        assert!(!keep_batching(
            300,
            900,
            MAX_BATCH_AGE_MS - BATCH_WINDOW_MS + 1
        ));
        assert!(!keep_batching(300, 900, MAX_BATCH_AGE_MS));
        // A batch that fills a call goes at once.
        assert!(!keep_batching(
            MAX_EVENTS_PER_CALL,
            MAX_EVENTS_PER_CALL,
            BATCH_WINDOW_MS
        ));
        // Windows of BATCH_WINDOW_MS under steady load: delivered at MAX_BATCH_AGE_MS.
        let ages: Vec<u64> = (1..10).map(|w| w * BATCH_WINDOW_MS).collect();
        let last = ages.iter().find(|&&a| !keep_batching(100, 10, a));
        assert_eq!(last, Some(&MAX_BATCH_AGE_MS));
    }

    #[test]
    fn check_batch_takes_real_events_and_refuses_anything_else() {
        let now = 1_767_225_600_123;
        let tap = VisitFields {
            user_agent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148",
            referer: "https://l.instagram.com/",
            ip: "203.0.113.9",
            country: "US",
            colo: "DFW",
            verified_bot: "",
        };
        let events = vec![
            click_event(&tap, &VisitorHasher::new(b"k"), None, now, [3; 16]),
            click_event(
                &tap,
                &VisitorHasher::new(b"k"),
                Some("qr_\"x".into()),
                now + 5,
                [4; 16],
            ),
        ];
        let json = batch_rows(&events);
        let rows: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(rows[1][ROW_FIELDS.len() - 1], json!(events[1].visitor));
        assert_eq!(rows[1][1], json!(now + 5));
        assert_eq!(rows[1][8], json!("qr_\"x"));
        assert_eq!(check_batch(&json), Ok(2));
        assert_eq!(check_batch("[]"), Ok(0));

        // The id's time must be the event's time.
        let mut moved = events.clone();
        moved[1].ts += 1;
        let err = check_batch(&batch_rows(&moved)).unwrap_err();
        assert_eq!(err, "event 1: id does not match its time");
        let mut foreign = events.clone();
        foreign[0].id = "evt_01ARZ3NDEKTSV4RRFFQ69G5FAV".into();
        assert!(check_batch(&batch_rows(&foreign)).is_err());

        // Shape: a short row, a long row, a wrong type, objects, not an array.
        let mut v = rows.clone();
        v[0].as_array_mut().unwrap().pop();
        assert!(check_batch(&v.to_string())
            .unwrap_err()
            .contains("invalid length 10"));
        let mut v = rows.clone();
        v[0].as_array_mut().unwrap().push(json!("x"));
        assert!(check_batch(&v.to_string()).is_err());
        let mut v = rows.clone();
        v[1][1] = json!("soon");
        assert!(check_batch(&v.to_string()).is_err());
        assert!(check_batch(&serde_json::to_string(&events).unwrap()).is_err());
        assert!(check_batch("{}").is_err());
        assert!(check_batch("[1]").is_err());
    }

    #[test]
    fn click_event_of_a_phone_tap_and_of_a_preview_bot() {
        let tap = VisitFields {
            user_agent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 334.0.4.32.98",
            referer: "https://l.instagram.com/?u=x",
            ip: "203.0.113.9",
            country: "US",
            colo: "DFW",
            verified_bot: "0",
        };
        let now = 1_767_225_600_000; // 2026-01-01T00:00:00Z
        let e = click_event(
            &tap,
            &VisitorHasher::new(b"k"),
            Some("qr_1".into()),
            now,
            [7; 16],
        );
        assert_eq!(e.ts, now);
        assert!(e.id.starts_with("clk_") && e.id.len() == 30, "{}", e.id);
        assert_eq!((e.country.as_str(), e.colo.as_str()), ("US", "DFW"));
        assert_eq!(e.device, "mobile");
        assert_eq!(e.os, "ios");
        assert_eq!(e.referrer, "l.instagram.com");
        assert_eq!(e.qr, "qr_1");
        assert_eq!(e.bot, "");
        assert_eq!(
            e.visitor,
            crate::domain::client::visitor_hash(b"k", 20_454, "203.0.113.9", tap.user_agent)
        );
        assert!(!e.visitor.contains("203.0.113.9"));

        let preview = VisitFields {
            user_agent: "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            ..VisitFields::default()
        };
        let b = click_event(&preview, &VisitorHasher::new(b"k"), None, now, [1; 16]);
        assert_eq!(b.device, "bot");
        assert!(!b.bot.is_empty());
        assert_eq!(b.country, "unknown");
        assert_eq!((b.referrer.as_str(), b.qr.as_str()), ("", ""));

        // A verified bot by the runtime's word, whatever its user agent says.
        let verified = VisitFields {
            verified_bot: "1",
            ..tap.clone()
        };
        assert_eq!(
            click_event(&verified, &VisitorHasher::new(b"k"), None, now, [2; 16]).device,
            "bot"
        );
    }

    use super::*;
    use crate::domain::client::VisitorHasher;

    #[test]
    fn shards_are_stable_and_spread() {
        assert_eq!(shard_for("abc"), shard_for("abc"));
        let mut seen = [0u32; CLICK_SHARDS as usize];
        for i in 0..1000 {
            seen[shard_for(&format!("{i:016x}")) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 150), "{seen:?}");
        assert_eq!(shard_name("lnk_1", 3), "lnk_1#3");
    }

    #[test]
    fn rounding() {
        assert_eq!(floor_to(3_600_001, HOUR_MS), HOUR_MS);
        assert_eq!(ceil_to(3_600_001, HOUR_MS), 2 * HOUR_MS);
        assert_eq!(ceil_to(HOUR_MS, HOUR_MS), HOUR_MS);
    }

    fn partial(clicks: u64, hour: i64, referrer: &str) -> Partial {
        let mut p = Partial {
            clicks,
            qr_scans: 1,
            bot_clicks: 2,
            unique_visitors: 1,
            ..Default::default()
        };
        p.series.insert(hour * HOUR_MS, clicks);
        p.breakdowns
            .entry("referrer".into())
            .or_default()
            .insert(referrer.into(), clicks);
        p.breakdowns
            .entry("qrCode".into())
            .or_default()
            .insert("".into(), clicks);
        p
    }

    #[test]
    fn merge_and_answer() {
        let p = partial(3, 1, "l.instagram.com")
            .merge(partial(5, 2, ""))
            .merge(partial(2, 1, "l.instagram.com"));
        assert_eq!(
            (p.clicks, p.qr_scans, p.bot_clicks, p.unique_visitors),
            (10, 3, 6, 3)
        );
        let a = answer(&p, 0, 4 * HOUR_MS, Granularity::Hour);
        let series: Vec<u64> = a["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["clicks"].as_u64().unwrap())
            .collect();
        assert_eq!(series, vec![0, 5, 5, 0]);
        assert_eq!(a["series"][1]["start"], "1970-01-01T01:00:00Z");
        assert_eq!(
            a["breakdowns"]["referrer"],
            json!([{"value": "(none)", "clicks": 5}, {"value": "l.instagram.com", "clicks": 5}])
        );
        assert_eq!(a["breakdowns"]["qrCode"], json!([]));
        assert_eq!(a["breakdowns"]["device"], json!([]));
        let d = answer(&p, 0, DAY_MS, Granularity::Day);
        assert_eq!(
            d["series"],
            json!([{"start": "1970-01-01T00:00:00Z", "clicks": 10}])
        );
    }
}
