//! `LinkClicks`: the Durable Object (SQLite storage) that owns the clicks of one shard of one
//! link (`{linkId}#{shard}`, see `domain::stats::CLICK_SHARDS`).
//!
//! Clicks arrive already counted (`domain::stats::batch_body`): a delivery adds to one
//! `hourly` row per (hour, dimensions) and upserts one `visitors` row per shopper and day, so
//! storage and writes grow with active hours and visitors, not with clicks. An alarm rolls
//! the visitors of past days into hourly unique counts and forgets old batch ids.

use crate::domain::stats::{
    check_batch, floor_to, Partial, DAY_MS, DIMENSIONS, HOUR_MS, INVALID_REFERRER, MAX_VALUE_BYTES,
    SHARD_TOP_VALUES,
};
use serde::Deserialize;
use std::cell::Cell;
use wasm_bindgen::prelude::*;
use worker::{
    durable_object, js_sys, DurableObject, Env, Method, Request, Response, Result, SqlStorage,
    SqlStorageValue as V, State,
};

/// How long batch ids (retry dedupe) and the visitor rows of a finished day are kept before
/// the alarm clears them (visitors are first rolled into hourly unique counts).
pub const RETENTION_MS: i64 = 24 * HOUR_MS;
/// How often the roll-up alarm runs while there is something to clear.
pub const ROLLUP_EVERY_MS: i64 = HOUR_MS;

/// The columns of `hourly`: the counts per hour and dimensions. `event` and `retailer`
/// (`domain::stats::EXTRA_COUNT_FIELDS`) came later: rows stored before them read `''`.
macro_rules! hourly_columns {
    () => {
        "hour INTEGER NOT NULL, country TEXT NOT NULL, device TEXT NOT NULL, os TEXT NOT NULL,
  browser TEXT NOT NULL, referrer TEXT NOT NULL, qr TEXT NOT NULL, is_bot INTEGER NOT NULL,
  clicks INTEGER NOT NULL, event TEXT NOT NULL DEFAULT '', retailer TEXT NOT NULL DEFAULT '',
  region TEXT NOT NULL DEFAULT '', oos INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (hour, country, device, os, browser, referrer, qr, is_bot, event, retailer, region,
    oos)"
    };
}

const SCHEMA: &str = concat!(
    "
CREATE TABLE IF NOT EXISTS hourly (",
    hourly_columns!(),
    ") WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS swaps (
  hour INTEGER NOT NULL, region TEXT NOT NULL, original TEXT NOT NULL,
  replacement TEXT NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (hour, region, original, replacement)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS visitors (
  day INTEGER NOT NULL, visitor TEXT NOT NULL, first_hour INTEGER NOT NULL,
  PRIMARY KEY (day, visitor)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uniq_hourly (hour INTEGER PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
"
);

/// Shards written before rows had an `event` and a `retailer` keep `hourly` without them: its
/// rows move, as they are, to a table with them (`''`, a visit of the link), which takes its
/// name. A table's key cannot be changed in place.
const MIGRATE_DIMENSIONS: &str = concat!(
    "
CREATE TABLE hourly_next (",
    hourly_columns!(),
    ") WITHOUT ROWID;
INSERT INTO hourly_next (hour, country, device, os, browser, referrer, qr, is_bot, clicks)
  SELECT hour, country, device, os, browser, referrer, qr, is_bot, clicks FROM hourly WHERE true;
DROP TABLE hourly;
ALTER TABLE hourly_next RENAME TO hourly;
"
);

/// Whether `hourly` has the `retailer` column (`MIGRATE_DIMENSIONS` ran, or it was made so).
const HAS_DIMENSIONS: &str = "SELECT COUNT(*) AS n FROM sqlite_master
  WHERE type = 'table' AND name = 'hourly' AND sql LIKE '%retailer TEXT%'";

/// Shards written before visits had a region and an out-of-stock flag have `hourly` with
/// `event` and `retailer` but not those two: its rows move, as they are, to a table with them
/// (no region, not out of stock), which takes its name.
const MIGRATE_STOCK: &str = concat!(
    "
CREATE TABLE hourly_next (",
    hourly_columns!(),
    ") WITHOUT ROWID;
INSERT INTO hourly_next
  (hour, country, device, os, browser, referrer, qr, is_bot, clicks, event, retailer)
  SELECT hour, country, device, os, browser, referrer, qr, is_bot, clicks, event, retailer
  FROM hourly WHERE true;
DROP TABLE hourly;
ALTER TABLE hourly_next RENAME TO hourly;
"
);

/// Whether `hourly` has the `oos` column (the table of today's schema).
const HAS_STOCK: &str = "SELECT COUNT(*) AS n FROM sqlite_master
  WHERE type = 'table' AND name = 'hourly' AND sql LIKE '%oos INTEGER%'";

/// Shards written by earlier versions kept one raw row per click in `events` (and a trigger
/// that added visitor rows). Their events are counted into `hourly` once, then dropped.
const MIGRATE_EVENTS: &str = "
INSERT INTO hourly (hour, country, device, os, browser, referrer, qr, is_bot, clicks)
  SELECT ts - (ts % 3600000), country, device, os, browser, referrer, qr, bot != '', COUNT(*)
  FROM events WHERE true GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
ON CONFLICT (hour, country, device, os, browser, referrer, qr, is_bot, event, retailer, region, oos)
  DO UPDATE SET clicks = clicks + excluded.clicks;
DROP TRIGGER IF EXISTS shopper_visitor;
DROP TABLE events;
";

/// Records a batch id; answers a row only the first time (a retried delivery answers none).
const CLAIM_BATCH: &str =
    "INSERT INTO batches (id, at) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING 1 AS n";

/// Adds a batch's counts (its `'$[1]'`, rows in `COUNT_FIELDS` order, then the
/// `EXTRA_COUNT_FIELDS` a row may leave out) to `hourly`.
const ADD_COUNTS: &str = "INSERT INTO hourly
  (hour, country, device, os, browser, referrer, qr, is_bot, clicks, event, retailer, region, oos)
  SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
         value ->> 6, value ->> 7, value ->> 8,
         COALESCE(value ->> 9, ''), COALESCE(value ->> 10, ''), COALESCE(value ->> 11, ''),
         COALESCE(value ->> 12, 0)
  FROM json_each(?, '$[1]') WHERE true
ON CONFLICT (hour, country, device, os, browser, referrer, qr, is_bot, event, retailer, region, oos)
  DO UPDATE SET clicks = clicks + excluded.clicks";

/// Adds a batch's swaps (its optional `'$[3]'`, rows in `SWAP_FIELDS` order) to `swaps`.
const ADD_SWAPS: &str = "INSERT INTO swaps (hour, region, original, replacement, n)
  SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4
  FROM json_each(?, '$[3]') WHERE true
ON CONFLICT (hour, region, original, replacement) DO UPDATE SET n = n + excluded.n";

/// Adds a batch's visitors (its `'$[2]'`, rows in `VISITOR_FIELDS` order): a visitor seen
/// before that day keeps the earliest first hour.
const ADD_VISITORS: &str = "INSERT INTO visitors (day, visitor, first_hour)
  SELECT value ->> 0, value ->> 1, value ->> 2
  FROM json_each(?, '$[2]') WHERE true
ON CONFLICT (day, visitor) DO UPDATE SET first_hour = min(first_hour, excluded.first_hour)";

/// The counted rows of `[?, ?)`. `visit`: the row counts visits of the link (not the
/// choices made on its where-to-buy page, which are counted apart).
const RANGE: &str = "WITH u AS (
  SELECT hour, country, device, os, browser, referrer, qr, is_bot, clicks AS c,
         event, retailer, region, oos, event != 'choice' AS visit
    FROM hourly WHERE hour >= ? AND hour < ?)";

/// The shopper clicks (visits of the link) of `[?, ?)` per value of a dimension's column, the
/// most clicked `SHARD_TOP_VALUES` (ties by value): the shard's answer stays small however many distinct
/// values it holds. QR codes leave taps out. A value longer than `MAX_VALUE_BYTES` (stored
/// before values were bounded) reads as `INVALID_REFERRER`.
fn top_values_sql(column: &str) -> String {
    let scans_only = if column == "qr" { " AND qr != ''" } else { "" };
    format!(
        "{RANGE} SELECT CASE WHEN length(CAST({column} AS BLOB)) > {MAX_VALUE_BYTES}
                        THEN '{INVALID_REFERRER}' ELSE {column} END AS k, SUM(c) AS n
         FROM u WHERE is_bot = 0 AND visit{scans_only} GROUP BY k ORDER BY n DESC, k
         LIMIT {SHARD_TOP_VALUES}"
    )
}

#[durable_object]
pub struct LinkClicks {
    state: State,
    alarm_checked: Cell<bool>,
}

impl DurableObject for LinkClicks {
    fn new(state: State, _env: Env) -> Self {
        if let Err(e) = prepare(&state.storage().sql()) {
            worker::console_error!("click schema: {e}");
        }
        LinkClicks {
            state,
            alarm_checked: Cell::new(false),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let url = req.url()?;
        match (req.method(), url.path()) {
            (Method::Get, "/stats") => {
                let q: RangeQuery = req.query()?;
                Response::from_json(&self.partial(q.from, q.to)?)
            }
            (Method::Post, "/rollup") => {
                let q: CutoffQuery = req.query()?;
                self.rollup(q.cutoff)?;
                Response::ok("ok")
            }
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let now = worker::Date::now().as_millis() as i64;
        self.rollup(floor_to(now - RETENTION_MS, HOUR_MS))?;
        let remaining: Vec<Count> = self
            .sql()
            .exec(
                "SELECT (SELECT COUNT(*) FROM visitors) + (SELECT COUNT(*) FROM batches) AS n",
                None,
            )?
            .to_array()?;
        if remaining.first().is_some_and(|c| c.n > 0.0) {
            self.state.storage().set_alarm(ROLLUP_EVERY_MS).await?;
        }
        Response::ok("rolled up")
    }
}

#[derive(Deserialize)]
struct RangeQuery {
    from: i64,
    to: i64,
}

#[derive(Deserialize)]
struct CutoffQuery {
    cutoff: i64,
}

#[derive(Deserialize)]
struct Count {
    n: f64,
}

#[derive(Deserialize)]
struct Totals {
    clicks: f64,
    qr_scans: f64,
    bot_clicks: f64,
    page_views: f64,
    out_of_stock: f64,
}

#[derive(Deserialize)]
struct Swap {
    o: String,
    r: String,
    n: f64,
}

#[derive(Deserialize)]
struct Row {
    k: serde_json::Value,
    n: f64,
}

/// The click path's entry, called with JS RPC (`stub.record(batch)`, see `src/worker.js`)
/// rather than `fetch`: a Durable Object `fetch` builds and parses an HTTP request and a
/// response on both sides, and that costs several times the CPU of the call itself
/// (README, "Benchmark"). Stats and roll-ups, which are rare, stay on `fetch`.
#[wasm_bindgen(wasm_bindgen_futures = ::worker::wasm_bindgen_futures)]
impl LinkClicks {
    /// Stores a batch (one isolate's clicks of this shard, counted by
    /// `domain::stats::batch_body`). The batch is checked whole before anything is stored: a
    /// malformed batch stores nothing and fails the call. Answers the number of clicks in the
    /// batch (a repeated batch is stored once, but counted in the answer).
    ///
    /// The batch arrives as UTF-8 bytes (a `Uint8Array`), which enter Wasm memory with one
    /// native copy; a string would go through wasm-bindgen's JavaScript loop over its
    /// characters.
    pub async fn record(&self, batch: Vec<u8>) -> std::result::Result<u32, JsValue> {
        let refuse = |e: &str| JsValue::from(js_sys::Error::new(&format!("bad click batch: {e}")));
        let batch = std::str::from_utf8(&batch).map_err(|_| refuse("not UTF-8"))?;
        let checked = check_batch(batch).map_err(|e| refuse(&e))?;
        self.add_batch(&checked.id, checked.at, batch)?;
        self.ensure_alarm().await?;
        Ok(u32::try_from(checked.clicks).unwrap_or(u32::MAX))
    }
}

/// Creates the tables, and migrates a shard written by an earlier version.
fn prepare(sql: &SqlStorage) -> Result<()> {
    sql.exec(SCHEMA, None)?;
    let full: Vec<Count> = sql.exec(HAS_STOCK, None)?.to_array()?;
    if full.first().is_some_and(|c| c.n == 0.0) {
        let current: Vec<Count> = sql.exec(HAS_DIMENSIONS, None)?.to_array()?;
        if current.first().is_some_and(|c| c.n == 0.0) {
            sql.exec(MIGRATE_DIMENSIONS, None)?;
        } else {
            sql.exec(MIGRATE_STOCK, None)?;
        }
    }
    let old: Vec<Count> = sql
        .exec(
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'events'",
            None,
        )?
        .to_array()?;
    if old.first().is_some_and(|c| c.n > 0.0) {
        sql.exec(MIGRATE_EVENTS, None)?;
    }
    Ok(())
}

impl LinkClicks {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    /// Stores a checked batch: claims its id, then adds its counts and visitors, with no
    /// await in between (so in one implicit transaction: all or nothing). A batch whose id is
    /// already claimed was stored by an earlier delivery and is left alone: a retried
    /// delivery counts once.
    fn add_batch(&self, id: &str, at: i64, batch: &str) -> Result<()> {
        let sql = self.sql();
        let claimed: Vec<Count> = sql
            .exec(CLAIM_BATCH, vec![V::from(id), V::from(at)])?
            .to_array()?;
        if claimed.is_empty() {
            return Ok(());
        }
        sql.exec(ADD_COUNTS, vec![V::from(batch)])?;
        sql.exec(ADD_VISITORS, vec![V::from(batch)])?;
        sql.exec(ADD_SWAPS, vec![V::from(batch)])?;
        Ok(())
    }

    /// Schedules the roll-up alarm once per object lifetime (the check is cheap after that).
    async fn ensure_alarm(&self) -> Result<()> {
        if self.alarm_checked.get() {
            return Ok(());
        }
        let storage = self.state.storage();
        if storage.get_alarm().await?.is_none() {
            storage.set_alarm(ROLLUP_EVERY_MS).await?;
        }
        self.alarm_checked.set(true);
        Ok(())
    }

    /// Rolls the visitors of days before the cutoff's day into hourly unique counts and
    /// forgets batch ids made before the cutoff, in one implicit transaction (no await).
    fn rollup(&self, cutoff: i64) -> Result<()> {
        let sql = self.sql();
        let day = cutoff.div_euclid(DAY_MS);
        sql.exec(
            "INSERT INTO uniq_hourly (hour, n)
               SELECT first_hour, COUNT(*) FROM visitors WHERE day < ? GROUP BY first_hour
             ON CONFLICT (hour) DO UPDATE SET n = n + excluded.n",
            vec![V::from(day)],
        )?;
        sql.exec("DELETE FROM visitors WHERE day < ?", vec![V::from(day)])?;
        sql.exec("DELETE FROM batches WHERE at < ?", vec![V::from(cutoff)])?;
        Ok(())
    }

    /// This shard's share of the stats for the hour-aligned range `[from, to)`.
    fn partial(&self, from: i64, to: i64) -> Result<Partial> {
        let sql = self.sql();
        let range = || vec![V::from(from), V::from(to)];
        let mut p = Partial::default();
        let totals: Vec<Totals> = sql
            .exec(
                &format!(
                    "{RANGE} SELECT
                       COALESCE(SUM(CASE WHEN is_bot = 0 AND visit THEN c ELSE 0 END), 0) AS clicks,
                       COALESCE(SUM(CASE WHEN is_bot = 0 AND visit AND qr != '' THEN c ELSE 0 END), 0) AS qr_scans,
                       COALESCE(SUM(CASE WHEN is_bot != 0 THEN c ELSE 0 END), 0) AS bot_clicks,
                       COALESCE(SUM(CASE WHEN is_bot = 0 AND event = 'page' THEN c ELSE 0 END), 0) AS page_views,
                       COALESCE(SUM(CASE WHEN is_bot = 0 AND visit AND oos != 0 THEN c ELSE 0 END), 0)
                         AS out_of_stock
                     FROM u"
                ),
                range(),
            )?
            .to_array()?;
        if let Some(t) = totals.first() {
            p.clicks = t.clicks as u64;
            p.qr_scans = t.qr_scans as u64;
            p.bot_clicks = t.bot_clicks as u64;
            p.page_views = t.page_views as u64;
            p.out_of_stock = t.out_of_stock as u64;
        }
        let swaps: Vec<Swap> = sql
            .exec(
                &format!(
                    "SELECT original AS o, replacement AS r, SUM(n) AS n FROM swaps
                      WHERE hour >= ? AND hour < ? GROUP BY original, replacement
                      ORDER BY n DESC, original, replacement LIMIT {SHARD_TOP_VALUES}"
                ),
                range(),
            )?
            .to_array()?;
        p.substitutions = swaps.into_iter().map(|s| (s.o, s.r, s.n as u64)).collect();
        // The series, then each breakdown (Durable Object SQLite allows few compound terms,
        // so one statement per grouping).
        let series: Vec<Row> = sql
            .exec(
                &format!(
                    "{RANGE} SELECT hour AS k, SUM(c) AS n FROM u WHERE is_bot = 0 AND visit GROUP BY hour"
                ),
                range(),
            )?
            .to_array()?;
        for r in series {
            if let Some(hour) = r.k.as_f64() {
                p.series.insert(hour as i64, r.n as u64);
            }
        }
        for (name, column) in DIMENSIONS {
            let rows: Vec<Row> = sql.exec(&top_values_sql(column), range())?.to_array()?;
            p.add_top_values(
                name,
                rows.into_iter().map(|r| {
                    let key = match r.k {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, r.n as u64)
                }),
            );
        }
        // Where shoppers went: the retailers chosen on the page, and (under '') the visits a
        // single-retailer link sent to its retailer.
        let retailers: Vec<Row> = sql
            .exec(
                &format!(
                    "{RANGE} SELECT retailer AS k, SUM(c) AS n FROM u
                     WHERE is_bot = 0 AND event IN ('', 'choice') GROUP BY retailer"
                ),
                range(),
            )?
            .to_array()?;
        for r in retailers {
            if let serde_json::Value::String(k) = r.k {
                p.retailers.insert(k, r.n as u64);
            }
        }
        let uniq: Vec<Count> = sql
            .exec(
                "SELECT (SELECT COUNT(*) FROM visitors WHERE first_hour >= ? AND first_hour < ?)
                      + (SELECT COALESCE(SUM(n), 0) FROM uniq_hourly WHERE hour >= ? AND hour < ?) AS n",
                [range(), range()].concat(),
            )?
            .to_array()?;
        p.unique_visitors = uniq.first().map_or(0, |c| c.n as u64);
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::stats::{COUNT_FIELDS, EXTRA_COUNT_FIELDS, SWAP_FIELDS, VISITOR_FIELDS};

    /// The key of an `hourly` row (the target of its upserts).
    const HOURLY_KEY: &str =
        "hour, country, device, os, browser, referrer, qr, is_bot, event, retailer, region, oos";

    fn words(sql: &str) -> String {
        sql.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// `INSERT INTO t (fields) SELECT value ->> 0, … FROM json_each(?, 'path') WHERE true`.
    fn upsert_reads(table: &str, fields: &[&str], path: &str) -> String {
        let reads: Vec<String> = (0..fields.len())
            .map(|i| format!("value ->> {i}"))
            .collect();
        format!(
            "INSERT INTO {table} ({}) SELECT {} FROM json_each(?, '{path}') WHERE true ON CONFLICT",
            fields.join(", "),
            reads.join(", ")
        )
    }

    #[test]
    fn upserts_read_rows_in_the_domain_field_order() {
        let counts = words(ADD_COUNTS);
        let fields: Vec<&str> = COUNT_FIELDS
            .iter()
            .chain(&EXTRA_COUNT_FIELDS)
            .copied()
            .collect();
        let mut reads: Vec<String> = (0..COUNT_FIELDS.len())
            .map(|i| format!("value ->> {i}"))
            .collect();
        reads.extend((COUNT_FIELDS.len()..fields.len()).map(|i| {
            let default = if EXTRA_COUNT_FIELDS[i - COUNT_FIELDS.len()] == "oos" {
                "0"
            } else {
                "''"
            };
            format!("COALESCE(value ->> {i}, {default})")
        }));
        assert_eq!(
            counts,
            format!(
                "INSERT INTO hourly ({}) SELECT {} FROM json_each(?, '$[1]') WHERE true \
                 ON CONFLICT ({HOURLY_KEY}) DO UPDATE SET clicks = clicks + excluded.clicks",
                fields.join(", "),
                reads.join(", ")
            )
        );
        let swaps = words(ADD_SWAPS);
        assert!(
            swaps.starts_with(&upsert_reads("swaps", &SWAP_FIELDS, "$[3]")),
            "{swaps}"
        );
        let visitors = words(ADD_VISITORS);
        assert!(
            visitors.starts_with(&upsert_reads("visitors", &VISITOR_FIELDS, "$[2]")),
            "{visitors}"
        );
    }

    #[test]
    fn every_upsert_targets_the_key_of_the_table() {
        let schema = words(SCHEMA);
        assert!(
            schema.contains(&format!("PRIMARY KEY ({HOURLY_KEY})")),
            "{schema}"
        );
        assert!(words(MIGRATE_EVENTS).contains(&format!("ON CONFLICT ({HOURLY_KEY})")));
        // The migration makes the table the schema makes, and copies every column it had.
        let migrate = words(MIGRATE_DIMENSIONS);
        assert!(migrate.contains(&words(concat!(
            "CREATE TABLE hourly_next (",
            hourly_columns!(),
            ")"
        ))));
        assert!(schema.contains(&words(concat!(
            "CREATE TABLE IF NOT EXISTS hourly (",
            hourly_columns!(),
            ")"
        ))));
        let old = COUNT_FIELDS.join(", ");
        assert!(migrate.contains(&format!(
            "INSERT INTO hourly_next ({old}) SELECT {old} FROM hourly"
        )));
        for f in EXTRA_COUNT_FIELDS {
            let column = if f == "oos" {
                format!("{f} INTEGER NOT NULL DEFAULT 0")
            } else {
                format!("{f} TEXT NOT NULL DEFAULT ''")
            };
            assert!(words(hourly_columns!()).contains(&column), "{column}");
        }
    }

    #[test]
    fn the_migration_buckets_events_by_the_domain_hour() {
        assert_eq!(HOUR_MS, 3_600_000);
        assert!(MIGRATE_EVENTS.contains(&format!("ts - (ts % {HOUR_MS})")));
    }
}
