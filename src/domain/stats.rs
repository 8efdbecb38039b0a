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

/// How often an isolate's click batch takes in the visits queued meanwhile (and builds their
/// events, releasing the requests).
pub const BATCH_WINDOW_MS: u64 = 200;
/// A batch whose task has not taken visits for this long is taken for lost (a cancelled
/// `wait_until`), and the next visit opens another (`domain::batcher`). Ten windows: a live
/// task takes every window.
pub const BATCH_STALE_MS: u64 = 10 * BATCH_WINDOW_MS;
/// A window with at least this many visits marks a busy isolate: its batch keeps collecting.
pub const BUSY_WINDOW_VISITS: usize = 50;
/// The oldest a batch gets before delivery (its first visit's wait).
pub const MAX_BATCH_AGE_MS: u64 = 1000;
/// Most count rows, and most visitor rows, in one delivery to a shard (bounds the call and the
/// statement; `batch_parts` cuts a larger batch); a batch that holds this many events is
/// delivered at once.
pub const MAX_EVENTS_PER_CALL: usize = 1000;
/// Most bytes of one delivered batch. A shard stores a batch as one SQL parameter, and Durable
/// Object SQLite refuses values over 2 MB (`SQLITE_TOOBIG`, the whole batch lost): a batch
/// that would be larger is cut into several (`batch_parts`), each well under that limit.
pub const MAX_BATCH_BYTES: usize = 256 * 1024;
/// Longest stored dimension value, in bytes: the longest DNS name (every dimension but the
/// referrer is one of a few fixed names, a country code or one of the link's QR code ids).
pub const MAX_VALUE_BYTES: usize = 253;
/// The referrer of a visit whose `Referer` names something that is not a host name: longer
/// than DNS allows or with characters no host has. Never a host itself (no host has `(`).
pub const INVALID_REFERRER: &str = "(invalid)";

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

/// One visit, as recorded after the response is sent. It is never stored as such: an
/// isolate's visits are counted into a batch (`batch_body`) before delivery.
/// The classifier's names are static: only what comes from the request is allocated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClickEvent {
    pub ts: i64,
    pub country: String,
    pub device: &'static str,
    pub os: &'static str,
    pub browser: &'static str,
    /// Referrer host, "" when none.
    pub referrer: String,
    /// Id of the QR code that was scanned, "" for a tap.
    pub qr: String,
    /// Bot or link-preview name, "" for a shopper.
    pub bot: &'static str,
    pub visitor: String,
    /// What the visit was (`EventKind::event`): "" for a visit of the link.
    pub event: &'static str,
    /// The retailer a shopper chose on a where-to-buy page, "" otherwise.
    pub retailer: &'static str,
    /// US state of the visit (`availability::us_region`), "" when not known.
    pub region: &'static str,
    /// For a link with backups: what availability did to the visit's cart.
    pub stock: Option<StockOutcome>,
}

/// What a recorded visit was. A where-to-buy page view and the choice of a retailer on it
/// are separate events: `clicks` counts the visits of the link (its page views for a
/// where-to-buy link), and the choices are counted by retailer, apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EventKind {
    /// A visit of the short link that was answered with its destination (or its fallback, or
    /// a page saying it ended).
    #[default]
    Visit,
    /// A view of a where-to-buy page.
    PageView,
    /// A shopper chose this retailer on a where-to-buy page (`/{shortId}/{retailer}`).
    Choice(crate::domain::retailers::Retailer),
}

/// The `event` values of a click shard's rows.
pub const EVENT_PAGE_VIEW: &str = "page";
pub const EVENT_CHOICE: &str = "choice";

impl EventKind {
    /// The event's `event` and `retailer` values, as stored (`""`: a visit of the link, and
    /// every row stored before events had kinds).
    pub fn values(self) -> (&'static str, &'static str) {
        match self {
            Self::Visit => ("", ""),
            Self::PageView => (EVENT_PAGE_VIEW, ""),
            Self::Choice(r) => (EVENT_CHOICE, r.as_str()),
        }
    }
}

impl ClickEvent {
    /// The same event, of `kind`.
    pub fn of_kind(mut self, kind: EventKind) -> Self {
        (self.event, self.retailer) = kind.values();
        self
    }
}

/// What a visit of a link with backups met (`availability::decide` at the shopper's ZIP).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StockOutcome {
    /// The link's project: its out-of-stock report counts the visit too.
    pub project: String,
    /// At least one primary was known to be out of stock.
    pub out_of_stock: bool,
    /// (primary, the backup in its place), one per swap.
    pub swaps: Vec<(String, String)>,
}

/// Field and row separators of the visits text the redirect's glue reads in one call per
/// batch (ASCII unit and record separators: control characters no header value may hold;
/// the glue also blanks them out, so a row can never spill into another).
pub const VISIT_FIELD_SEP: char = '\u{1f}';
pub const VISIT_ROW_SEP: char = '\u{1e}';

/// What a visit's request says about the visitor, as read by the glue: User-Agent, Referer,
/// client IP, country (the `CF-IPCountry` header, else `request.cf.country`),
/// `request.cf.botManagement.verifiedBot` (when `cf` was read) and region (the
/// `CF-Region-Code` header, else `request.cf.regionCode` when `cf` was read).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VisitFields<'a> {
    pub user_agent: &'a str,
    pub referer: &'a str,
    pub ip: &'a str,
    pub country: &'a str,
    /// `"1"` / `"0"` when the runtime said, `""` when it did not.
    pub verified_bot: &'a str,
    pub region: &'a str,
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
                verified_bot: f.next()?,
                region: f.next()?,
            };
            f.next().is_none().then_some(v)
        })
        .collect()
}

/// A visit's country as stored: a two-character code as Cloudflare gives it (ISO 3166-1
/// alpha-2, also `XX` for no data and `T1` for Tor), upper-cased; `unknown` for anything
/// else. The code may come from the `CF-IPCountry` header, so it is checked, not trusted.
pub fn country_code(code: &str) -> String {
    match code.as_bytes() {
        [a, b] if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric() => {
            code.to_ascii_uppercase()
        }
        _ => "unknown".into(),
    }
}

/// The click event of one visit (pure: the clock and the key come in).
pub fn click_event(
    v: &VisitFields<'_>,
    visitors: &crate::domain::client::VisitorHasher,
    qr: Option<String>,
    now: i64,
) -> ClickEvent {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let verified = match v.verified_bot {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    };
    let ua = some(v.user_agent);
    let info = crate::domain::client::classify(ua.as_deref(), verified);
    let country = country_code(v.country);
    ClickEvent {
        ts: now,
        region: crate::domain::availability::us_region(v.region, &country),
        stock: None,
        country,
        device: info.device.as_str(),
        os: info.os,
        browser: info.browser,
        referrer: stored_referrer(v.referer),
        qr: qr.unwrap_or_default(),
        bot: info.bot.unwrap_or(""),
        // The IP only feeds the keyed, daily-rotating visitor hash; it is never stored.
        visitor: visitors.hash(now.div_euclid(DAY_MS) as u64, v.ip, v.user_agent),
        event: "",
        retailer: "",
    }
}

/// A visit's referrer as stored: its host (`client::referrer_host`), "" when the `Referer`
/// names none, and `INVALID_REFERRER` when what it names is not a host name: more than 253
/// characters, a label of more than 63, or characters other than letters, digits, `-` and `_`
/// (IP literals as the URL parser writes them are kept). So no visitor can store more than
/// `MAX_VALUE_BYTES` in a click's row, or a value no one could have been referred from.
pub fn stored_referrer(referer: &str) -> String {
    let some = (!referer.is_empty()).then_some(referer);
    match crate::domain::client::referrer_host(some) {
        None => String::new(),
        Some(host) => {
            let host = host.strip_suffix('.').unwrap_or(&host);
            if is_host_name(host) {
                host.to_string()
            } else {
                INVALID_REFERRER.to_string()
            }
        }
    }
}

/// A lowercase DNS name (1–63 byte labels of letters, digits, `-` and `_`, at most 253 bytes
/// in all), or a bracketed IPv6 literal.
fn is_host_name(host: &str) -> bool {
    if host.is_empty() || host.len() > MAX_VALUE_BYTES {
        return false;
    }
    if let Some(ip6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return !ip6.is_empty()
            && ip6
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    }
    host.split('.').all(|label| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    })
}

/// A delivered batch is a JSON array `[id, counts, visitors]`:
/// - `id`: `bat_` + ULID, made once per delivery, so that a retried delivery counts once;
/// - `counts`: the batch's clicks counted per hour and dimensions, one row per distinct
///   combination, each an array of these fields (the columns of a shard's `hourly` table);
/// - `visitors`: one row per distinct shopper (bots are not visitors) and day, with the hour
///   of that shopper's first visit of the batch (`VISITOR_FIELDS`).
///
/// Rows rather than objects: no key is written, matched or looked up per field, on either
/// side (the shard's upserts read `value ->> i`). Counting before delivery is what keeps a
/// click's cost off the shard: it adds to one row per combination instead of storing a row
/// per click (README, "Benchmark").
pub const COUNT_FIELDS: [&str; 9] = [
    "hour", "country", "device", "os", "browser", "referrer", "qr", "is_bot", "clicks",
];
/// Fields a count row may carry after `COUNT_FIELDS`: what the visit was (`event`, `""` for a
/// visit of the link), the retailer chosen on a where-to-buy page, the visit's US state and
/// whether it met an out-of-stock product (0 or 1). A row of a plain visit ends at `clicks` (so
/// rows, and the rows of batches made before these fields, keep their nine fields); any other
/// row has them all. Each is a column of a shard's `hourly` table with a default (`''`, `0`).
pub const EXTRA_COUNT_FIELDS: [&str; 4] = ["event", "retailer", "region", "oos"];
/// Fields of a swap row, the optional fourth part of a batch (`[id, counts, visitors, swaps]`,
/// only when a shopper's cart had a backup swapped in): per hour, region and swap, how many.
pub const SWAP_FIELDS: [&str; 5] = ["hour", "region", "original", "replacement", "n"];
/// Fields of a visitor row of a delivered batch (see `COUNT_FIELDS`).
pub const VISITOR_FIELDS: [&str; 3] = ["day", "visitor", "first_hour"];

/// A count row's key: hour, then the dimensions, whether the visit was a bot's, and the
/// extra fields (`EXTRA_COUNT_FIELDS`).
type CountKey<'a> = (
    i64,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    u8,
    (&'a str, &'a str),
    &'a str,
    u8,
);

/// The delivery body of a batch of events (see `COUNT_FIELDS`), under the given batch id, in
/// one piece whatever its size (`batch_parts` cuts a batch to the limits a shard accepts).
/// Rows come out sorted, so the same events always make the same body.
pub fn batch_body(id: &str, events: &[ClickEvent]) -> String {
    cut_batch(events, usize::MAX, usize::MAX)
        .first()
        .map(|p| p.body(id))
        .unwrap_or_default()
}

/// A batch's events counted (`batch_body`) and cut into parts that a shard accepts: at most
/// `MAX_EVENTS_PER_CALL` count rows and as many visitor rows, and at most `MAX_BATCH_BYTES`
/// with their id. Each part is delivered under its own id. Always at least one part (an empty
/// batch is one empty part).
pub fn batch_parts(events: &[ClickEvent]) -> Vec<BatchPart> {
    cut_batch(events, MAX_EVENTS_PER_CALL, MAX_BATCH_BYTES)
}

/// Part of a counted batch (`batch_parts`): its rows, already written as JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchPart {
    /// Count rows, comma-separated.
    counts: String,
    /// Visitor rows, comma-separated.
    visitors: String,
    /// Swap rows, comma-separated.
    swaps: String,
    count_rows: usize,
    visitor_rows: usize,
    swap_rows: usize,
    /// Clicks counted in the part's rows.
    pub clicks: u64,
}

/// Room for `["<batch id>",[`, `],[` and `]]` in a body: ids are `bat_` and 26 characters.
const ENVELOPE_BYTES: usize = 64;

impl BatchPart {
    /// The body of this part under a batch id (`bat_` + ULID).
    pub fn body(&self, id: &str) -> String {
        let id = serde_json::to_string(id).unwrap_or_default();
        let mut out = String::with_capacity(self.len() + id.len());
        out.push('[');
        out.push_str(&id);
        out.push_str(",[");
        out.push_str(&self.counts);
        out.push_str("],[");
        out.push_str(&self.visitors);
        if self.swap_rows > 0 {
            out.push_str("],[");
            out.push_str(&self.swaps);
        }
        out.push_str("]]");
        out
    }

    fn len(&self) -> usize {
        self.counts.len() + self.visitors.len() + self.swaps.len() + ENVELOPE_BYTES
    }
}

/// Counts `events` into rows and cuts them into parts of at most `max_rows` rows of each kind
/// and `max_bytes` bytes. Every row is written once, into the part that holds it.
fn cut_batch(events: &[ClickEvent], max_rows: usize, max_bytes: usize) -> Vec<BatchPart> {
    let mut counts: BTreeMap<CountKey<'_>, u32> = BTreeMap::new();
    let mut visitors: BTreeMap<(i64, &str), i64> = BTreeMap::new();
    let mut swaps: BTreeMap<(i64, &str, &str, &str), u32> = BTreeMap::new();
    for e in events {
        let hour = floor_to(e.ts, HOUR_MS);
        let is_bot = u8::from(!e.bot.is_empty());
        let oos = u8::from(e.stock.as_ref().is_some_and(|s| s.out_of_stock));
        let key = (
            hour,
            e.country.as_str(),
            e.device,
            e.os,
            e.browser,
            e.referrer.as_str(),
            e.qr.as_str(),
            is_bot,
            (e.event, e.retailer),
            e.region,
            oos,
        );
        *counts.entry(key).or_default() += 1;
        if is_bot == 0 {
            visitors
                .entry((e.ts.div_euclid(DAY_MS), e.visitor.as_str()))
                .and_modify(|first| *first = (*first).min(hour))
                .or_insert(hour);
            for (original, replacement) in e.stock.iter().flat_map(|s| &s.swaps) {
                *swaps
                    .entry((hour, e.region, original.as_str(), replacement.as_str()))
                    .or_default() += 1;
            }
        }
    }
    let mut parts = vec![BatchPart::default()];
    let mut buf = Vec::new();
    for ((h, c, d, o, b, r, q, bot, extra, region, oos), n) in counts {
        let json = if extra == ("", "") && region.is_empty() && oos == 0 {
            row_json(&mut buf, &(h, c, d, o, b, r, q, bot, n))
        } else {
            row_json(
                &mut buf,
                &(h, c, d, o, b, r, q, bot, n, extra.0, extra.1, region, oos),
            )
        };
        let part = room(&mut parts, json.len(), max_rows, max_bytes, |p| {
            p.count_rows
        });
        append(&mut part.counts, json);
        part.count_rows += 1;
        part.clicks += u64::from(n);
    }
    for ((day, visitor), first) in visitors {
        let json = row_json(&mut buf, &(day, visitor, first));
        let part = room(&mut parts, json.len(), max_rows, max_bytes, |p| {
            p.visitor_rows
        });
        append(&mut part.visitors, json);
        part.visitor_rows += 1;
    }
    for ((hour, region, original, replacement), n) in swaps {
        let json = row_json(&mut buf, &(hour, region, original, replacement, n));
        let part = room(&mut parts, json.len(), max_rows, max_bytes, |p| p.swap_rows);
        append(&mut part.swaps, json);
        part.swap_rows += 1;
    }
    parts
}

/// One row as JSON, written into `buf` (reused from row to row).
fn row_json<'b, T: Serialize>(buf: &'b mut Vec<u8>, row: &T) -> &'b str {
    buf.clear();
    // Strings and integers always serialize, as UTF-8.
    let _ = serde_json::to_writer(&mut *buf, row);
    std::str::from_utf8(buf).unwrap_or_default()
}

/// The last part when it has room for one more row of `row_bytes` (of the kind `rows`
/// counts), else a new part.
fn room(
    parts: &mut Vec<BatchPart>,
    row_bytes: usize,
    max_rows: usize,
    max_bytes: usize,
    rows: impl Fn(&BatchPart) -> usize,
) -> &mut BatchPart {
    // A part without rows takes any row: a row larger than a part still goes somewhere.
    let full = parts.last().is_none_or(|p| {
        let empty = p.count_rows + p.visitor_rows + p.swap_rows == 0;
        rows(p) >= max_rows || (!empty && p.len().saturating_add(row_bytes + 1) > max_bytes)
    });
    if full {
        parts.push(BatchPart::default());
    }
    let last = parts.len() - 1;
    &mut parts[last]
}

fn append(list: &mut String, json: &str) {
    if !list.is_empty() {
        list.push(',');
    }
    list.push_str(json);
}

/// Longest visitor hash a batch may carry (they are 16 hex digits).
const MAX_VISITOR_BYTES: usize = 64;

/// A delivered batch that passed `check_batch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedBatch {
    /// The batch id (`bat_` + ULID).
    pub id: String,
    /// When the batch was made: its id's time (ms).
    pub at: i64,
    /// Clicks in the batch (shoppers and bots).
    pub clicks: u64,
}

/// Checks a delivered batch (`batch_body`) before any of it is stored: its id a batch id,
/// every row complete and every field with its type, every hour a whole hour, `is_bot` and
/// `oos` 0 or 1, every count at least 1, and every visitor's first hour within its day.
/// Batches of earlier versions (no region or `oos` in their rows, no swaps) read as they did.
pub fn check_batch(json: &str) -> Result<CheckedBatch, String> {
    if json.len() > MAX_BATCH_BYTES {
        return Err(format!("larger than {MAX_BATCH_BYTES} bytes"));
    }
    // Read as a `Value` (a batch holds one row per distinct combination, not per click): no
    // deserializer of its own to add to the bundle.
    let batch: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let (id, counts, visitors, swaps) = match batch.as_array().map(Vec::as_slice) {
        Some([Value::String(id), Value::Array(c), Value::Array(v)]) => (id, c, v, &[][..]),
        Some([Value::String(id), Value::Array(c), Value::Array(v), Value::Array(s)]) => {
            (id, c, v, s.as_slice())
        }
        _ => return Err("not a batch: [id, counts, visitors]".into()),
    };
    let at = id
        .strip_prefix("bat_")
        .and_then(|u| ulid::Ulid::from_string(u).ok())
        .and_then(|u| i64::try_from(u.timestamp_ms()).ok())
        .ok_or("the batch id is not a bat_ ULID")?;
    if [counts.len(), visitors.len(), swaps.len()]
        .iter()
        .any(|n| *n > MAX_EVENTS_PER_CALL)
    {
        return Err(format!("more than {MAX_EVENTS_PER_CALL} rows"));
    }
    let mut clicks = 0u64;
    for (i, row) in counts.iter().enumerate() {
        let problem = |what: &str| format!("count {i}: {what}");
        let Some(fields) = row.as_array().map(Vec::as_slice) else {
            return Err(problem("not a row"));
        };
        // Nine fields; eleven (with an event and a retailer, as rows were before region and
        // out-of-stock were counted); or thirteen.
        let (base, extra) = match fields.len() {
            9 => (fields, &[][..]),
            11 | 13 => fields.split_at(9),
            _ => (&[][..], &[][..]),
        };
        let Some([hour, dimensions @ .., is_bot, n]) = Some(base).filter(|b| !b.is_empty()) else {
            return Err(problem(
                "expected hour, six dimension strings, is_bot and clicks",
            ));
        };
        let strings = extra.len().min(3);
        if dimensions.len() != COUNT_FIELDS.len() - 3
            || !dimensions
                .iter()
                .chain(&extra[..strings])
                .all(Value::is_string)
        {
            return Err(problem(
                "expected hour, six dimension strings, is_bot and clicks",
            ));
        }
        if let [_, _, region, oos] = extra {
            if region.as_str().is_none_or(|r| r.len() > MAX_VALUE_BYTES) {
                return Err(problem("region must be a string of at most 253 bytes"));
            }
            if !matches!(oos.as_u64(), Some(0 | 1)) {
                return Err(problem("oos must be 0 or 1"));
            }
        }
        if dimensions
            .iter()
            .chain(extra)
            .any(|d| d.as_str().is_some_and(|d| d.len() > MAX_VALUE_BYTES))
        {
            return Err(problem(&format!(
                "a dimension is longer than {MAX_VALUE_BYTES} bytes"
            )));
        }
        if hour.as_i64().is_none_or(|h| h.rem_euclid(HOUR_MS) != 0) {
            return Err(problem("hour is not a whole hour"));
        }
        if !matches!(is_bot.as_u64(), Some(0 | 1)) {
            return Err(problem("is_bot must be 0 or 1"));
        }
        match n.as_u64() {
            Some(n @ 1..=0xffff_ffff) => clicks += n,
            _ => return Err(problem("clicks must be at least 1")),
        }
    }
    for (i, row) in visitors.iter().enumerate() {
        let of_its_day = match row.as_array().map(Vec::as_slice) {
            Some([day, Value::String(visitor), first_hour]) => {
                match (day.as_i64(), first_hour.as_i64()) {
                    (Some(day), Some(first)) => {
                        !visitor.is_empty()
                            && visitor.len() <= MAX_VISITOR_BYTES
                            && first.rem_euclid(HOUR_MS) == 0
                            && first.div_euclid(DAY_MS) == day
                    }
                    _ => false,
                }
            }
            _ => false,
        };
        if !of_its_day {
            return Err(format!("visitor {i}: not a visitor of its day"));
        }
    }
    for (i, row) in swaps.iter().enumerate() {
        let ok = match row.as_array().map(Vec::as_slice) {
            Some([hour, region, original, replacement, n]) => {
                hour.as_i64().is_some_and(|h| h.rem_euclid(HOUR_MS) == 0)
                    && region.as_str().is_some_and(|r| r.len() <= MAX_VALUE_BYTES)
                    && [original, replacement].iter().all(|id| {
                        id.as_str().is_some_and(|s| {
                            (1..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
                        })
                    })
                    && matches!(n.as_u64(), Some(1..=0xffff_ffff))
            }
            _ => false,
        };
        if !ok {
            return Err(format!(
                "swap {i}: expected hour, region, two item ids and a count"
            ));
        }
    }
    Ok(CheckedBatch {
        id: id.clone(),
        at,
        clicks,
    })
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

/// Breakdown dimensions, in answer order. Each is a column of a shard's `hourly` table.
pub const DIMENSIONS: [(&str, &str); 7] = [
    ("country", "country"),
    ("device", "device"),
    ("os", "os"),
    ("browser", "browser"),
    ("referrer", "referrer"),
    ("qrCode", "qr"),
    ("region", "region"),
];

/// Values a breakdown of the stats answer lists, by clicks; the clicks of the others are
/// summed in one last `OTHER_VALUE` entry. So an answer stays small however many distinct
/// values (referrers, above all) visitors bring.
pub const TOP_VALUES: usize = 50;
/// Values each shard answers per breakdown, by clicks (ties by value). More than `TOP_VALUES`:
/// a value ranked in the top of the link but lower in one shard is still counted there.
pub const SHARD_TOP_VALUES: usize = 2 * TOP_VALUES;
/// The breakdown entry that sums the values not listed. No stored value has parentheses.
pub const OTHER_VALUE: &str = "(other)";

/// What one shard answers for a time range (hour-aligned).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partial {
    pub clicks: u64,
    pub qr_scans: u64,
    pub bot_clicks: u64,
    pub unique_visitors: u64,
    /// Hour start (ms) → shopper clicks.
    pub series: BTreeMap<i64, u64>,
    /// Dimension name → value → shopper clicks (from a shard: its `SHARD_TOP_VALUES` values
    /// of each dimension, the rest summed in `other`).
    pub breakdowns: BTreeMap<String, BTreeMap<String, u64>>,
    /// Dimension name → shopper clicks of the values a shard left out of `breakdowns`.
    #[serde(default)]
    pub other: BTreeMap<String, u64>,
    /// Shopper views of a where-to-buy page (in `clicks` too).
    #[serde(default)]
    pub page_views: u64,
    /// Retailer → shopper visits that went to it: the retailers chosen on a where-to-buy page,
    /// and under `""` the visits of a single-retailer link (not in `clicks` for the choices).
    #[serde(default)]
    pub retailers: BTreeMap<String, u64>,
    /// Shopper visits that met at least one out-of-stock primary.
    #[serde(default)]
    pub out_of_stock: u64,
    /// (primary, backup, shopper visits it was swapped in for): a shard's
    /// `SHARD_TOP_VALUES` most frequent.
    #[serde(default)]
    pub substitutions: Vec<(String, String, u64)>,
}

impl Partial {
    /// A shard's top values of one breakdown (`SHARD_TOP_VALUES` at most), given its totals
    /// (`clicks`, `qr_scans`) are in: the clicks of the values not listed go to `other`. Every
    /// shopper click has one value of each dimension (QR codes: every scan), so listed and
    /// other add up to the total.
    pub fn add_top_values(&mut self, name: &str, values: impl IntoIterator<Item = (String, u64)>) {
        let total = if name == "qrCode" {
            self.qr_scans
        } else {
            self.clicks
        };
        let listed = self.breakdowns.entry(name.to_string()).or_default();
        for (value, n) in values {
            *listed.entry(value).or_default() += n;
        }
        let other = total.saturating_sub(listed.values().sum());
        if other > 0 {
            self.other.insert(name.to_string(), other);
        }
    }

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
        for (dim, n) in other.other {
            *self.other.entry(dim).or_default() += n;
        }
        self.page_views += other.page_views;
        for (r, n) in other.retailers {
            *self.retailers.entry(r).or_default() += n;
        }
        self.out_of_stock += other.out_of_stock;
        self.substitutions.extend(other.substitutions);
        self
    }
}

/// Swaps summed over shards, most frequent first (ties by ids), the `TOP_VALUES` first.
pub fn substitutions(rows: &[(String, String, u64)]) -> Value {
    let mut sums: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for (original, replacement, n) in rows {
        *sums.entry((original, replacement)).or_default() += n;
    }
    let mut list: Vec<((&str, &str), u64)> = sums.into_iter().filter(|(_, n)| *n > 0).collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Value::Array(
        list.into_iter()
            .take(TOP_VALUES)
            .map(|((o, r), n)| json!({"originalId": o, "replacementId": r, "count": n}))
            .collect(),
    )
}

/// Caps the number of buckets a series may have (a year of hours fits).
pub const MAX_BUCKETS: i64 = 10_000;

/// The `data` of the stats answer: totals, a zero-filled series over `[from, to)` and
/// breakdowns sorted by clicks (ties by value). Empty values read as "(none)" for referrer
/// (direct visits) and QR code (taps), and are left out of the QR breakdown. Each breakdown
/// lists its `TOP_VALUES` values, then, when there were more, `OTHER_VALUE` with the clicks
/// of the rest: a breakdown's clicks add up to `clicks` (`qrScans` for QR codes).
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
        let unlisted: u64 = rows.iter().skip(TOP_VALUES).map(|(_, n)| n).sum();
        rows.truncate(TOP_VALUES);
        let other = unlisted + p.other.get(name).copied().unwrap_or(0);
        let mut list: Vec<Value> = rows
            .into_iter()
            .map(|(k, n)| {
                let value = if k.is_empty() { "(none)" } else { k.as_str() };
                json!({"value": value, "clicks": n})
            })
            .collect();
        if other > 0 {
            list.push(json!({"value": OTHER_VALUE, "clicks": other}));
        }
        breakdowns.insert(name.to_string(), Value::Array(list));
    }
    json!({
        "clicks": p.clicks,
        "qrScans": p.qr_scans,
        "botClicks": p.bot_clicks,
        "uniqueVisitors": p.unique_visitors,
        "outOfStock": p.out_of_stock,
        "substitutions": substitutions(&p.substitutions),
        "from": super::time::format_rfc3339(from),
        "to": super::time::format_rfc3339(to),
        "granularity": if g == Granularity::Hour { "hour" } else { "day" },
        "series": series,
        "breakdowns": breakdowns,
    })
}

/// Adds to a stats answer (`answer`) what the link's retailers got: `pageViews`,
/// `retailerClicks` (retailer → shopper visits sent there: for a where-to-buy link the choices
/// on its page, every offer's retailer listed; for another link its visits, under its
/// retailer), `clickThroughRate` (choices ÷ page views, `null` without page views) and the
/// `retailer` breakdown (the same counts, most first, as the other breakdowns).
/// `link_retailer`: the link's retailer; `offers`: its offers' retailers, in page order.
pub fn add_retailer_stats(data: &mut Value, p: &Partial, link_retailer: &str, offers: &[&str]) {
    let multi = link_retailer == crate::domain::retailers::Retailer::Multi.as_str();
    let mut by: BTreeMap<&str, u64> = BTreeMap::new();
    if multi {
        for r in offers {
            by.insert(r, 0);
        }
    }
    for (r, n) in &p.retailers {
        // Rows of a single-retailer link's visits carry no retailer: the link's.
        let name = if r.is_empty() {
            link_retailer
        } else {
            r.as_str()
        };
        let not_a_retailer = name.is_empty() || (multi && r.is_empty());
        if !not_a_retailer {
            *by.entry(name).or_default() += n;
        }
    }
    if !multi && !link_retailer.is_empty() {
        by.entry(link_retailer).or_default();
    }
    let choices: u64 = if multi { by.values().sum() } else { 0 };
    let rate = (multi && p.page_views > 0)
        .then(|| ((choices as f64 / p.page_views as f64) * 10_000.0).round() / 10_000.0);
    let mut rows: Vec<(&str, u64)> = by.iter().map(|(k, n)| (*k, *n)).collect();
    rows.retain(|(_, n)| *n > 0);
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let Some(obj) = data.as_object_mut() else {
        return;
    };
    obj.insert("pageViews".into(), json!(p.page_views));
    obj.insert(
        "retailerClicks".into(),
        Value::Object(by.iter().map(|(k, n)| (k.to_string(), json!(n))).collect()),
    );
    obj.insert("clickThroughRate".into(), json!(rate));
    if let Some(Value::Object(b)) = obj.get_mut("breakdowns") {
        b.insert(
            "retailer".into(),
            Value::Array(
                rows.into_iter()
                    .map(|(k, n)| json!({"value": k, "clicks": n}))
                    .collect(),
            ),
        );
    }
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
                "0",
                "TX",
            ]),
            row(["facebookexternalhit/1.1", "", "198.51.100.1", "", "", ""]),
        ]
        .join(&VISIT_ROW_SEP.to_string());
        let v = parse_visits(&text, 2).expect("two rows");
        assert_eq!(v[0].user_agent, phone);
        assert_eq!(v[0].country, "US");
        assert_eq!(v[0].verified_bot, "0");
        assert_eq!((v[0].region, v[1].region), ("TX", ""));
        assert_eq!(v[1].referer, "");
        assert_eq!(v[1].verified_bot, "");
        // Any other shape is refused whole.
        assert_eq!(parse_visits(&text, 3), None);
        assert_eq!(parse_visits(&text, 1), None);
        let four = ["a", "b", "c", "d"].join(&VISIT_FIELD_SEP.to_string());
        assert_eq!(parse_visits(&four, 1), None);
        let seven = format!(
            "{}{}x",
            row(["a", "b", "c", "d", "e", "f"]),
            VISIT_FIELD_SEP
        );
        assert_eq!(parse_visits(&seven, 1), None);
        let five = ["a", "b", "c", "d", "e"].join(&VISIT_FIELD_SEP.to_string());
        assert_eq!(parse_visits(&five, 1), None);
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

    const BATCH_ID: &str = "bat_01KAMR8WW0000000000000000Z";

    fn tap_at(ts: i64, visitor: &str, qr: &str) -> ClickEvent {
        ClickEvent {
            ts,
            country: "US".into(),
            device: "mobile",
            os: "ios",
            browser: "instagram",
            referrer: "l.instagram.com".into(),
            qr: qr.into(),
            bot: "",
            visitor: visitor.into(),
            event: "",
            retailer: "",
            region: "",
            stock: None,
        }
    }

    #[test]
    fn a_batch_counts_its_clicks_per_hour_and_dimensions() {
        let h = 1_767_225_600_000; // 2026-01-01T00:00:00Z, a whole day
        let bot = ClickEvent {
            device: "bot",
            bot: "facebookexternalhit",
            ..tap_at(h + 30, "v3", "")
        };
        let events = vec![
            tap_at(h + 5_000, "v1", ""),
            tap_at(h + HOUR_MS + 1, "v1", ""),
            tap_at(h + 10, "v2", "qr_\"x"),
            tap_at(h + 20, "v1", ""),
            bot.clone(),
            bot,
            // Late on the same day, and just after midnight: another day, another visitor row.
            tap_at(h + DAY_MS - 1, "v2", "qr_\"x"),
            tap_at(h + DAY_MS + 1, "v2", ""),
        ];
        let body = batch_body(BATCH_ID, &events);
        let v: Value = serde_json::from_str(&body).unwrap();
        let tap = |hour: i64, qr: &str, n: u32| {
            json!([
                hour,
                "US",
                "mobile",
                "ios",
                "instagram",
                "l.instagram.com",
                qr,
                0,
                n
            ])
        };
        let bots = json!([
            h,
            "US",
            "bot",
            "ios",
            "instagram",
            "l.instagram.com",
            "",
            1,
            2
        ]);
        assert_eq!(
            v,
            json!([
                BATCH_ID,
                [
                    bots,
                    tap(h, "", 2),
                    tap(h, "qr_\"x", 1),
                    tap(h + HOUR_MS, "", 1),
                    tap(h + DAY_MS - HOUR_MS, "qr_\"x", 1),
                    tap(h + DAY_MS, "", 1),
                ],
                [
                    [h / DAY_MS, "v1", h],
                    [h / DAY_MS, "v2", h],
                    [h / DAY_MS + 1, "v2", h + DAY_MS],
                ]
            ])
        );
        assert_eq!(COUNT_FIELDS.len(), v[1][0].as_array().unwrap().len());
        assert_eq!(VISITOR_FIELDS.len(), v[2][0].as_array().unwrap().len());
        // Order of the events does not matter: the same body.
        let mut reversed = events.clone();
        reversed.reverse();
        assert_eq!(batch_body(BATCH_ID, &reversed), body);
        let checked = check_batch(&body).unwrap();
        assert_eq!(checked.clicks, 8);
        assert_eq!(checked.id, BATCH_ID);
        let ulid = ulid::Ulid::from_string(&BATCH_ID[4..]).unwrap();
        assert_eq!(checked.at as u64, ulid.timestamp_ms());
        assert_eq!(batch_body(BATCH_ID, &[]), format!("[\"{BATCH_ID}\",[],[]]"));
        assert_eq!(check_batch(&batch_body(BATCH_ID, &[])).unwrap().clicks, 0);
    }

    fn stocked(
        ts: i64,
        visitor: &str,
        region: &'static str,
        oos: bool,
        swaps: &[(&str, &str)],
    ) -> ClickEvent {
        ClickEvent {
            region,
            stock: Some(StockOutcome {
                project: "proj_1".into(),
                out_of_stock: oos,
                swaps: swaps
                    .iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect(),
            }),
            ..tap_at(ts, visitor, "")
        }
    }

    #[test]
    fn regions_out_of_stock_visits_and_swaps_are_counted_into_the_batch() {
        let h = 1_767_225_600_000;
        let mut bot = stocked(h + 4, "b", "TX", true, &[("1", "7")]);
        bot.bot = "googlebot";
        bot.device = "bot";
        let events = vec![
            stocked(h + 1, "v1", "TX", true, &[("1", "7")]),
            stocked(h + 2, "v2", "TX", true, &[("1", "7"), ("2", "9")]),
            stocked(h + 3, "v3", "", false, &[]),
            tap_at(h + 5, "v4", ""),
            bot,
        ];
        let body = batch_body(BATCH_ID, &events);
        let v: Value = serde_json::from_str(&body).unwrap();
        let row = |region: &str, oos: u8, n: u32| {
            let mut r = json!([
                h,
                "US",
                "mobile",
                "ios",
                "instagram",
                "l.instagram.com",
                "",
                0,
                n
            ]);
            if !region.is_empty() || oos > 0 {
                r.as_array_mut()
                    .unwrap()
                    .extend([json!(""), json!(""), json!(region), json!(oos)]);
            }
            r
        };
        let bot_row = json!([
            h,
            "US",
            "bot",
            "ios",
            "instagram",
            "l.instagram.com",
            "",
            1,
            1,
            "",
            "",
            "TX",
            1
        ]);
        assert_eq!(v[1], json!([bot_row, row("", 0, 2), row("TX", 1, 2)]));
        // Swaps of shoppers only, per hour, region and pair.
        assert_eq!(
            v[3],
            json!([[h, "TX", "1", "7", 2], [h, "TX", "2", "9", 1]])
        );
        let checked = check_batch(&body).unwrap();
        assert_eq!(checked.clicks, 5);
        // Batches without any of it keep the shape earlier versions wrote.
        let plain = batch_body(BATCH_ID, &[tap_at(h, "v", "")]);
        assert_eq!(
            serde_json::from_str::<Value>(&plain)
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            3
        );
        // The extra fields and swap rows are checked too.
        let refused = |edit: &dyn Fn(&mut Value)| {
            let mut v = v.clone();
            edit(&mut v);
            check_batch(&v.to_string()).unwrap_err()
        };
        assert_eq!(
            refused(&|v| v[1][2][12] = json!(2)),
            "count 2: oos must be 0 or 1"
        );
        assert_eq!(
            refused(&|v| v[1][2][11] = json!("r".repeat(300))),
            "count 2: region must be a string of at most 253 bytes"
        );
        refused(&|v| {
            v[1][2].as_array_mut().unwrap().pop();
        });
        let swap_err = "swap 0: expected hour, region, two item ids and a count";
        assert_eq!(refused(&|v| v[3][0][2] = json!("x")), swap_err);
        assert_eq!(refused(&|v| v[3][0][4] = json!(0)), swap_err);
        assert_eq!(refused(&|v| v[3][0][0] = json!(h + 1)), swap_err);
        refused(&|v| v.as_array_mut().unwrap().push(json!([])));
    }

    #[test]
    fn out_of_stock_visits_and_substitutions_merge_across_shards() {
        let shard = |oos: u64, subs: Vec<(&str, &str, u64)>| Partial {
            out_of_stock: oos,
            substitutions: subs
                .into_iter()
                .map(|(a, b, n)| (a.to_string(), b.to_string(), n))
                .collect(),
            ..Default::default()
        };
        let p = shard(2, vec![("1", "7", 2), ("2", "9", 1)])
            .merge(shard(3, vec![("2", "9", 4), ("3", "5", 1), ("1", "8", 1)]));
        let a = answer(&p, 0, HOUR_MS, Granularity::Hour);
        assert_eq!(a["outOfStock"], 5);
        assert_eq!(
            a["substitutions"],
            json!([
                {"originalId": "2", "replacementId": "9", "count": 5},
                {"originalId": "1", "replacementId": "7", "count": 2},
                {"originalId": "1", "replacementId": "8", "count": 1},
                {"originalId": "3", "replacementId": "5", "count": 1},
            ])
        );
        assert_eq!(a["breakdowns"]["region"], json!([]));
        // A shard of an earlier version answers without them.
        let old: Partial = serde_json::from_str(
            r#"{"clicks":1,"qr_scans":0,"bot_clicks":0,"unique_visitors":1,"series":{},"breakdowns":{}}"#,
        )
        .unwrap();
        assert_eq!((old.out_of_stock, old.substitutions.len()), (0, 0));
    }

    #[test]
    fn page_views_and_choices_are_rows_of_their_own() {
        use crate::domain::retailers::Retailer;
        let h = 1_767_225_600_000;
        let view = tap_at(h + 1, "v1", "qr_A").of_kind(EventKind::PageView);
        let choice = tap_at(h + 2, "v1", "").of_kind(EventKind::Choice(Retailer::Amazon));
        let events = vec![tap_at(h, "v1", ""), view, choice.clone(), choice];
        let body = batch_body(BATCH_ID, &events);
        let v: Value = serde_json::from_str(&body).unwrap();
        let row = |qr: &str, extra: &[&str], n: u32| {
            let mut r = json!([
                h,
                "US",
                "mobile",
                "ios",
                "instagram",
                "l.instagram.com",
                qr,
                0,
                n
            ]);
            if !extra.is_empty() {
                for e in extra {
                    r.as_array_mut().unwrap().push(json!(e));
                }
                // No region, not out of stock.
                r.as_array_mut().unwrap().extend([json!(""), json!(0)]);
            }
            r
        };
        // A visit of the link keeps its nine fields (as every row did before events had
        // kinds); the others carry the event, the retailer, the region and out-of-stock.
        assert_eq!(
            v[1],
            json!([
                row("", &[], 1),
                row("", &["choice", "amazon"], 2),
                row("qr_A", &["page", ""], 1)
            ])
        );
        assert_eq!(v[2], json!([[h / DAY_MS, "v1", h]]));
        assert_eq!(check_batch(&body).unwrap().clicks, 4);
        let mut bad = v.clone();
        bad[1][1][10] = json!(7);
        assert!(check_batch(&bad.to_string()).is_err());
        bad[1][1][10] = json!("r".repeat(MAX_VALUE_BYTES + 1));
        assert!(check_batch(&bad.to_string()).is_err());
    }

    #[test]
    fn retailer_stats_of_a_where_to_buy_link_and_of_another() {
        let mut p = Partial {
            clicks: 10,
            page_views: 8,
            ..Default::default()
        };
        p.retailers.insert("walmart".into(), 3);
        p.retailers.insert("amazon".into(), 1);
        let mut d = answer(&p, 0, HOUR_MS, Granularity::Hour);
        add_retailer_stats(&mut d, &p, "multi", &["walmart", "target", "amazon"]);
        assert_eq!(d["pageViews"], 8);
        assert_eq!(
            d["retailerClicks"],
            json!({"walmart": 3, "target": 0, "amazon": 1})
        );
        assert_eq!(d["clickThroughRate"], json!(0.5));
        assert_eq!(
            d["breakdowns"]["retailer"],
            json!([{"value": "walmart", "clicks": 3}, {"value": "amazon", "clicks": 1}])
        );
        // No page views yet: no rate.
        let empty = Partial::default();
        let mut d = answer(&empty, 0, HOUR_MS, Granularity::Hour);
        add_retailer_stats(&mut d, &empty, "multi", &["walmart", "target"]);
        assert_eq!(d["clickThroughRate"], Value::Null);
        assert_eq!(d["retailerClicks"], json!({"walmart": 0, "target": 0}));
        assert_eq!(d["breakdowns"]["retailer"], json!([]));
        // A single-retailer link: its visits, under its retailer; no page, no rate.
        let mut one = Partial {
            clicks: 5,
            ..Default::default()
        };
        one.retailers.insert(String::new(), 5);
        let mut d = answer(&one, 0, HOUR_MS, Granularity::Hour);
        add_retailer_stats(&mut d, &one, "walmart", &[]);
        assert_eq!(d["pageViews"], 0);
        assert_eq!(d["retailerClicks"], json!({"walmart": 5}));
        assert_eq!(d["clickThroughRate"], Value::Null);
        assert_eq!(
            d["breakdowns"]["retailer"],
            json!([{"value": "walmart", "clicks": 5}])
        );
        // Partials merge their page views and retailers.
        let m = p.clone().merge(p);
        assert_eq!((m.page_views, m.retailers["walmart"]), (16, 6));
    }

    #[test]
    fn check_batch_refuses_anything_but_a_batch() {
        let h = 1_767_225_600_000;
        let body = batch_body(BATCH_ID, &[tap_at(h + 1, "v1", "")]);
        let good: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(check_batch(&good.to_string()).unwrap().clicks, 1);
        let refused = |edit: &dyn Fn(&mut Value)| {
            let mut v = good.clone();
            edit(&mut v);
            check_batch(&v.to_string()).unwrap_err()
        };
        // The id.
        let e = refused(&|v| v[0] = json!("clk_01KAMR8WW0000000000000000Z"));
        assert_eq!(e, "the batch id is not a bat_ ULID");
        refused(&|v| v[0] = json!("bat_nope"));
        refused(&|v| v[0] = json!(7));
        // Count rows: whole hours, 0/1, at least one click, their length and types.
        let e = refused(&|v| v[1][0][0] = json!(h + 1));
        assert_eq!(e, "count 0: hour is not a whole hour");
        let e = refused(&|v| v[1][0][7] = json!(2));
        assert_eq!(e, "count 0: is_bot must be 0 or 1");
        let e = refused(&|v| v[1][0][8] = json!(0));
        assert_eq!(e, "count 0: clicks must be at least 1");
        refused(&|v| v[1][0][8] = json!(-1));
        refused(&|v| v[1][0][1] = json!(null));
        refused(&|v| v[1][0][0] = json!("soon"));
        let e = refused(&|v| {
            v[1][0].as_array_mut().unwrap().pop();
        });
        assert_eq!(
            e,
            "count 0: expected hour, six dimension strings, is_bot and clicks"
        );
        refused(&|v| v[1][0].as_array_mut().unwrap().push(json!(1)));
        refused(&|v| v[1][0] = json!({}));
        refused(&|v| v[1][0][8] = json!(1.5));
        refused(&|v| v[1][0][8] = json!(0x1_0000_0000u64));
        // Visitor rows: the first hour a whole hour of the row's day, a visitor.
        let e = refused(&|v| v[2][0][0] = json!(h / DAY_MS + 1));
        assert_eq!(e, "visitor 0: not a visitor of its day");
        refused(&|v| v[2][0][2] = json!(h + 1));
        refused(&|v| v[2][0][1] = json!(""));
        refused(&|v| {
            v[2][0].as_array_mut().unwrap().pop();
        });
        // The envelope.
        refused(&|v| {
            v.as_array_mut().unwrap().pop();
        });
        // A fourth part is a list of swaps; nothing else, and nothing after it.
        refused(&|v| v.as_array_mut().unwrap().push(json!({})));
        refused(&|v| v.as_array_mut().unwrap().extend([json!([]), json!([])]));
        let many: Vec<Value> = (0..=MAX_EVENTS_PER_CALL as i64)
            .map(|i| json!([h + i * HOUR_MS, "", "", "", "", "", "", 0, 1]))
            .collect();
        let e = refused(&|v| v[1] = json!(many));
        assert_eq!(e, format!("more than {MAX_EVENTS_PER_CALL} rows"));
        assert_eq!(
            check_batch("{}").unwrap_err(),
            "not a batch: [id, counts, visitors]"
        );
        assert!(check_batch("[]").is_err());
        assert!(check_batch("").is_err());
    }

    #[test]
    fn click_event_of_a_phone_tap_and_of_a_preview_bot() {
        let tap = VisitFields {
            user_agent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 334.0.4.32.98",
            referer: "https://l.instagram.com/?u=x",
            ip: "203.0.113.9",
            country: "US",
            verified_bot: "0",
            region: "tx",
        };
        let now = 1_767_225_600_000; // 2026-01-01T00:00:00Z
        let e = click_event(&tap, &VisitorHasher::new(b"k"), Some("qr_1".into()), now);
        assert_eq!(e.ts, now);
        assert_eq!(e.country, "US");
        assert_eq!(e.device, "mobile");
        assert_eq!(e.os, "ios");
        assert_eq!(e.referrer, "l.instagram.com");
        assert_eq!(e.region, "TX");
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
        let b = click_event(&preview, &VisitorHasher::new(b"k"), None, now);
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
            click_event(&verified, &VisitorHasher::new(b"k"), None, now).device,
            "bot"
        );
    }

    use super::*;
    use crate::domain::client::VisitorHasher;

    #[test]
    fn countries_are_two_character_codes_or_unknown() {
        for (given, stored) in [
            ("US", "US"),
            ("de", "DE"),
            ("T1", "T1"),
            ("XX", "XX"),
            ("", "unknown"),
            ("USA", "unknown"),
            ("U", "unknown"),
            ("U ", "unknown"),
            ("<s", "unknown"),
            ("ü", "unknown"),
            ("\u{1f}\u{1f}", "unknown"),
        ] {
            assert_eq!(country_code(given), stored, "{given:?}");
        }
        let tap = VisitFields {
            user_agent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)",
            country: "<script>",
            ..VisitFields::default()
        };
        let e = click_event(&tap, &VisitorHasher::new(b"k"), None, 0);
        assert_eq!(e.country, "unknown");
    }

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

    #[test]
    fn referrers_are_hosts_of_at_most_253_characters_or_invalid() {
        let label = |c: &str, n: usize| c.repeat(n);
        let longest = format!(
            "{}.{}.{}.{}.example",
            label("b", 60),
            label("c", 60),
            label("d", 61),
            label("e", 61)
        );
        assert_eq!(longest.len(), MAX_VALUE_BYTES);
        let too_long = format!("a{longest}");
        let long_label = format!("{}.example", label("a", 64));
        for (referer, stored) in [
            ("", ""),
            ("about:blank", ""),
            ("https://l.instagram.com/?u=x", "l.instagram.com"),
            ("https://WWW.Example.COM./p", "www.example.com"),
            (
                "android-app://com.google.android.gm/",
                "com.google.android.gm",
            ),
            ("https://[2001:DB8::1]:8080/", "[2001:db8::1]"),
            ("https://192.168.0.1/", "192.168.0.1"),
            ("https://bücher.example/", "xn--bcher-kva.example"),
            ("https://my_host.example/", "my_host.example"),
            (&format!("https://{}/x", longest.to_uppercase()), &longest),
            (&format!("https://{too_long}/"), INVALID_REFERRER),
            (&format!("https://{long_label}/"), INVALID_REFERRER),
            (
                &format!("https://a1-{}.com/", label("a", 100_000)),
                INVALID_REFERRER,
            ),
            ("https://exa_mple!.com/", INVALID_REFERRER),
            ("https://a..b/", INVALID_REFERRER),
            ("https://a$b.example/", INVALID_REFERRER),
        ] {
            let got = stored_referrer(referer);
            assert_eq!(got, stored, "{}", &referer[..referer.len().min(80)]);
            assert!(got.len() <= MAX_VALUE_BYTES);
        }
        // What the glue does to a long header (cut at 2,048 characters) cannot make an
        // over-long host valid.
        let cut: String = format!("https://{}/", label("h", 5_000))
            .chars()
            .take(2048)
            .collect();
        assert_eq!(stored_referrer(&cut), INVALID_REFERRER);
    }

    fn long_tap(i: usize, visitor: &str) -> ClickEvent {
        // A distinct referrer of MAX_VALUE_BYTES per event: the longest rows a batch holds.
        let host = format!("{i:06}{}", "r".repeat(MAX_VALUE_BYTES - 6));
        ClickEvent {
            referrer: host,
            ..tap_at(
                1_767_225_600_000 + i as i64,
                visitor,
                "qr_01KAMR8WW0000000000000000Z",
            )
        }
    }

    #[test]
    fn a_large_batch_is_cut_into_parts_a_shard_accepts_each_counted_once() {
        let events: Vec<ClickEvent> = (0..2_500)
            .map(|i| long_tap(i, &format!("{:016x}", i % 1_200)))
            .collect();
        let parts = batch_parts(&events);
        assert!(parts.len() >= 3, "{} parts", parts.len());
        let (mut clicks, mut rows, mut visitors) = (0, 0, std::collections::BTreeSet::new());
        for (i, part) in parts.iter().enumerate() {
            let body = part.body(BATCH_ID);
            assert!(
                body.len() <= MAX_BATCH_BYTES,
                "part {i}: {} bytes",
                body.len()
            );
            let checked = check_batch(&body).unwrap_or_else(|e| panic!("part {i}: {e}"));
            assert_eq!(checked.clicks, part.clicks);
            clicks += checked.clicks;
            let v: Value = serde_json::from_str(&body).unwrap();
            rows += v[1].as_array().unwrap().len();
            for row in v[2].as_array().unwrap() {
                assert!(
                    visitors.insert(row[1].as_str().unwrap().to_string()),
                    "a visitor twice"
                );
            }
        }
        assert_eq!(clicks, 2_500);
        assert_eq!(rows, 2_500);
        assert_eq!(visitors.len(), 1_200);
        // Small batches stay one part, the same as the whole body.
        let few: Vec<ClickEvent> = (0..10).map(|i| long_tap(i, "v")).collect();
        let parts = batch_parts(&few);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].body(BATCH_ID), batch_body(BATCH_ID, &few));
        assert_eq!(batch_parts(&[]).len(), 1);
        assert_eq!(
            batch_parts(&[])[0].body(BATCH_ID),
            batch_body(BATCH_ID, &[])
        );
        // Many rows of one kind: cut at MAX_EVENTS_PER_CALL rows however small.
        let short: Vec<ClickEvent> = (0..2_001)
            .map(|i| tap_at(1_767_225_600_000 + i * HOUR_MS, "v", ""))
            .collect();
        let parts = batch_parts(&short);
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| check_batch(&p.body(BATCH_ID)).is_ok()));
    }

    #[test]
    fn check_batch_refuses_oversized_values_and_bodies() {
        let h = 1_767_225_600_000;
        let mut v: Value =
            serde_json::from_str(&batch_body(BATCH_ID, &[tap_at(h, "v", "")])).unwrap();
        v[1][0][5] = json!("r".repeat(MAX_VALUE_BYTES));
        assert!(check_batch(&v.to_string()).is_ok());
        v[1][0][5] = json!("r".repeat(MAX_VALUE_BYTES + 1));
        assert_eq!(
            check_batch(&v.to_string()).unwrap_err(),
            "count 0: a dimension is longer than 253 bytes"
        );
        v[1][0][5] = json!("");
        v[2][0][1] = json!("v".repeat(65));
        assert_eq!(
            check_batch(&v.to_string()).unwrap_err(),
            "visitor 0: not a visitor of its day"
        );
        let huge = format!(
            "{}{}",
            " ".repeat(MAX_BATCH_BYTES),
            batch_body(BATCH_ID, &[])
        );
        assert_eq!(
            check_batch(&huge).unwrap_err(),
            format!("larger than {MAX_BATCH_BYTES} bytes")
        );
    }

    #[test]
    fn breakdowns_list_the_top_values_and_sum_the_rest_as_other() {
        // Two shards, each answering its top values and the rest of its clicks as other.
        let shard = |offset: u64| {
            let mut p = Partial {
                qr_scans: 30,
                ..Default::default()
            };
            // Sixty values listed, with 60 clicks down to 1, and 100 clicks of others.
            let values: Vec<(String, u64)> = (0..60u64)
                .map(|i| (format!("v{:03}", i + offset), 60 - i))
                .collect();
            let listed: u64 = values.iter().map(|(_, n)| n).sum();
            p.clicks = listed + 100;
            p.add_top_values("referrer", values);
            p.add_top_values("device", [("mobile".to_string(), p.clicks)]);
            p.add_top_values("qrCode", [("qr_A".to_string(), 20)]);
            p
        };
        let a = shard(0);
        assert_eq!(a.other.get("referrer"), Some(&100));
        assert_eq!(a.other.get("device"), None);
        assert_eq!(a.other.get("qrCode"), Some(&10));
        let p = a.merge(shard(30));
        let d = answer(&p, 0, HOUR_MS, Granularity::Hour);
        let referrer = d["breakdowns"]["referrer"].as_array().unwrap();
        assert_eq!(referrer.len(), TOP_VALUES + 1);
        // v030…v059 are listed by both shards (v030: 30 + 60 clicks) and lead.
        assert_eq!(referrer[0], json!({"value": "v030", "clicks": 30 + 60}));
        let listed: u64 = referrer.iter().map(|x| x["clicks"].as_u64().unwrap()).sum();
        assert_eq!(listed, p.clicks, "the breakdown adds up to the clicks");
        assert_eq!(referrer[TOP_VALUES]["value"], OTHER_VALUE);
        for w in referrer[..TOP_VALUES].windows(2) {
            assert!(w[0]["clicks"].as_u64() >= w[1]["clicks"].as_u64());
        }
        assert_eq!(
            d["breakdowns"]["device"],
            json!([{"value": "mobile", "clicks": p.clicks}])
        );
        assert_eq!(
            d["breakdowns"]["qrCode"],
            json!([{"value": "qr_A", "clicks": 40}, {"value": OTHER_VALUE, "clicks": 20}])
        );
    }
}
