//! Click events and the stats answer: the event a redirect records, the partial aggregates a
//! click shard returns, how partials merge, and the API shape (zero-filled series, breakdowns
//! sorted by clicks). Pure: the Durable Object runs the SQL, this file owns the meaning.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 86_400_000;

/// Click shards per link. A visitor always lands on the same shard (chosen by the visitor
/// hash), so unique-visitor counts add up exactly across shards, and one very popular link
/// spreads its writes over this many Durable Objects.
pub const CLICK_SHARDS: u32 = 4;

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
    use super::*;

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
