//! `LinkClicks`: the Durable Object (SQLite storage) that owns the click events of one shard
//! of one link (`{linkId}#{shard}`, see `domain::stats::CLICK_SHARDS`).
//!
//! Raw events are kept for `RAW_RETENTION_MS`, then an alarm rolls them into hourly
//! aggregates and deletes them; unique visitors roll into hourly counts once their day is
//! over. Every stats query reads aggregates and raw rows together, so the answer is the same
//! before and after a roll-up, and storage per link grows with active hours, not with clicks.

use crate::domain::stats::{check_batch, floor_to, Partial, DAY_MS, DIMENSIONS, HOUR_MS};
use serde::Deserialize;
use std::cell::Cell;
use wasm_bindgen::prelude::*;
use worker::{
    durable_object, js_sys, DurableObject, Env, Method, Request, Response, Result, SqlStorage,
    SqlStorageValue as V, State,
};

/// Raw events older than this are rolled into hourly aggregates.
pub const RAW_RETENTION_MS: i64 = 24 * HOUR_MS;
/// How often the roll-up alarm runs while raw events exist.
pub const ROLLUP_EVERY_MS: i64 = HOUR_MS;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
  ts INTEGER NOT NULL, id TEXT NOT NULL, country TEXT NOT NULL, colo TEXT NOT NULL,
  device TEXT NOT NULL, os TEXT NOT NULL, browser TEXT NOT NULL, referrer TEXT NOT NULL,
  qr TEXT NOT NULL, bot TEXT NOT NULL, visitor TEXT NOT NULL,
  PRIMARY KEY (ts, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hourly (
  hour INTEGER NOT NULL, country TEXT NOT NULL, device TEXT NOT NULL, os TEXT NOT NULL,
  browser TEXT NOT NULL, referrer TEXT NOT NULL, qr TEXT NOT NULL, is_bot INTEGER NOT NULL,
  clicks INTEGER NOT NULL,
  PRIMARY KEY (hour, country, device, os, browser, referrer, qr, is_bot)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS visitors (
  day INTEGER NOT NULL, visitor TEXT NOT NULL, first_hour INTEGER NOT NULL,
  PRIMARY KEY (day, visitor)) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS shopper_visitor AFTER INSERT ON events WHEN NEW.bot = ''
BEGIN
  INSERT OR IGNORE INTO visitors (day, visitor, first_hour)
    VALUES (NEW.ts / 86400000, NEW.visitor, NEW.ts - NEW.ts % 3600000);
END;
CREATE TABLE IF NOT EXISTS uniq_hourly (hour INTEGER PRIMARY KEY, n INTEGER NOT NULL);
";

/// Stores a delivered batch: one row per element of the array, its fields in `ROW_FIELDS`
/// order (the column list below; a unit test holds the two together).
const INSERT_BATCH: &str = "INSERT OR IGNORE INTO events
  (id, ts, country, colo, device, os, browser, referrer, qr, bot, visitor)
  SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
         value ->> 6, value ->> 7, value ->> 8, value ->> 9, value ->> 10
  FROM json_each(?)";

/// Raw and rolled-up rows of `[?, ?)` as one relation, bucketed by hour.
const UNION: &str = "WITH u AS (
  SELECT hour, country, device, os, browser, referrer, qr, is_bot, clicks AS c
    FROM hourly WHERE hour >= ? AND hour < ?
  UNION ALL
  SELECT ts - (ts % 3600000), country, device, os, browser, referrer, qr, bot != '', 1
    FROM events WHERE ts >= ? AND ts < ?)";

#[durable_object]
pub struct LinkClicks {
    state: State,
    alarm_checked: Cell<bool>,
}

impl DurableObject for LinkClicks {
    fn new(state: State, _env: Env) -> Self {
        if let Err(e) = state.storage().sql().exec(SCHEMA, None) {
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
        self.rollup(floor_to(now - RAW_RETENTION_MS, HOUR_MS))?;
        let remaining: Vec<Count> = self
            .sql()
            .exec("SELECT COUNT(*) AS n FROM events", None)?
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
    /// Stores a batch of events (one isolate's clicks of this shard, as
    /// `domain::stats::batch_rows` writes them) together. The batch is checked whole before
    /// anything is stored: a malformed batch stores nothing and fails the call. Answers the
    /// number of events (a repeated one is stored once, but counted in the answer).
    pub async fn record(&self, batch: String) -> std::result::Result<u32, JsValue> {
        let n = check_batch(&batch)
            .map_err(|e| JsValue::from(js_sys::Error::new(&format!("bad click batch: {e}"))))?;
        self.insert_batch(&batch)?;
        self.ensure_alarm().await?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}

impl LinkClicks {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    /// Stores a batch (rows in `ROW_FIELDS` order, already checked) with one statement,
    /// whatever its length: SQLite walks the array itself (`json_each`), and the
    /// `shopper_visitor` trigger adds each shopper's visitor row in the same pass (and the
    /// same statement, so both or neither). A repeated event (same id, hence same time) is
    /// ignored, and so its visitor row is not added again: a retried delivery counts once.
    fn insert_batch(&self, events_json: &str) -> Result<()> {
        self.sql().exec(INSERT_BATCH, vec![V::from(events_json)])?;
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

    /// Moves raw events before `cutoff` into hourly aggregates, and visitors of days before
    /// the cutoff's day into hourly unique counts, in one implicit transaction (no await).
    fn rollup(&self, cutoff: i64) -> Result<()> {
        let sql = self.sql();
        sql.exec(
            "INSERT INTO hourly (hour, country, device, os, browser, referrer, qr, is_bot, clicks)
               SELECT ts - (ts % 3600000), country, device, os, browser, referrer, qr, bot != '', COUNT(*)
               FROM events WHERE ts < ? GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
             ON CONFLICT (hour, country, device, os, browser, referrer, qr, is_bot)
               DO UPDATE SET clicks = clicks + excluded.clicks",
            vec![V::from(cutoff)],
        )?;
        sql.exec("DELETE FROM events WHERE ts < ?", vec![V::from(cutoff)])?;
        let day = cutoff.div_euclid(DAY_MS);
        sql.exec(
            "INSERT INTO uniq_hourly (hour, n)
               SELECT first_hour, COUNT(*) FROM visitors WHERE day < ? GROUP BY first_hour
             ON CONFLICT (hour) DO UPDATE SET n = n + excluded.n",
            vec![V::from(day)],
        )?;
        sql.exec("DELETE FROM visitors WHERE day < ?", vec![V::from(day)])?;
        Ok(())
    }

    /// This shard's share of the stats for the hour-aligned range `[from, to)`.
    fn partial(&self, from: i64, to: i64) -> Result<Partial> {
        let sql = self.sql();
        let range = || vec![V::from(from), V::from(to), V::from(from), V::from(to)];
        let mut p = Partial::default();
        let totals: Vec<Totals> = sql
            .exec(
                &format!(
                    "{UNION} SELECT
                       COALESCE(SUM(CASE WHEN is_bot = 0 THEN c ELSE 0 END), 0) AS clicks,
                       COALESCE(SUM(CASE WHEN is_bot = 0 AND qr != '' THEN c ELSE 0 END), 0) AS qr_scans,
                       COALESCE(SUM(CASE WHEN is_bot != 0 THEN c ELSE 0 END), 0) AS bot_clicks
                     FROM u"
                ),
                range(),
            )?
            .to_array()?;
        if let Some(t) = totals.first() {
            p.clicks = t.clicks as u64;
            p.qr_scans = t.qr_scans as u64;
            p.bot_clicks = t.bot_clicks as u64;
        }
        // The series, then each breakdown (Durable Object SQLite allows few compound terms,
        // so one statement per grouping).
        let mut groupings = vec![("series", "hour")];
        groupings.extend(DIMENSIONS);
        for (name, column) in groupings {
            let rows: Vec<Row> = sql
                .exec(
                    &format!("{UNION} SELECT {column} AS k, SUM(c) AS n FROM u WHERE is_bot = 0 GROUP BY {column}"),
                    range(),
                )?
                .to_array()?;
            for r in rows {
                let n = r.n as u64;
                if name == "series" {
                    if let Some(hour) = r.k.as_f64() {
                        p.series.insert(hour as i64, n);
                    }
                } else {
                    let key = match r.k {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    p.breakdowns
                        .entry(name.to_string())
                        .or_default()
                        .insert(key, n);
                }
            }
        }
        let uniq: Vec<Count> = sql
            .exec(
                "SELECT (SELECT COUNT(*) FROM visitors WHERE first_hour >= ? AND first_hour < ?)
                      + (SELECT COALESCE(SUM(n), 0) FROM uniq_hourly WHERE hour >= ? AND hour < ?) AS n",
                range(),
            )?
            .to_array()?;
        p.unique_visitors = uniq.first().map_or(0, |c| c.n as u64);
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::stats::ROW_FIELDS;

    #[test]
    fn the_visitor_trigger_uses_the_domain_day_and_hour() {
        let values =
            format!("VALUES (NEW.ts / {DAY_MS}, NEW.visitor, NEW.ts - NEW.ts % {HOUR_MS})");
        assert!(SCHEMA.contains(&values), "{SCHEMA}");
    }

    #[test]
    fn batch_insert_reads_rows_in_row_field_order() {
        let sql = INSERT_BATCH
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let columns = format!("({})", ROW_FIELDS.join(", "));
        let reads: Vec<String> = (0..ROW_FIELDS.len())
            .map(|i| format!("value ->> {i}"))
            .collect();
        let select = format!("SELECT {} FROM json_each(?)", reads.join(", "));
        assert!(sql.contains(&columns), "{sql}");
        assert!(sql.ends_with(&select), "{sql}");
    }
}
