//! `ProjectStockouts`: the Durable Object (SQLite storage) that keeps one project's
//! out-of-stock report, named by the project id. The click batcher sends it each batch's
//! visits of the project's links with backups, already counted per (UTC day, US state)
//! and per (day, state, original, replacement) (`domain::stockouts`), so the report reads one
//! object however many links the project has.

use crate::domain::stats::DAY_MS;
use crate::domain::stockouts::{check_project_batch, ReportRows, REPORT_TOP_SUBSTITUTIONS};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use worker::{
    durable_object, js_sys, DurableObject, Env, Method, Request, Response, Result, SqlStorage,
    SqlStorageValue as V, State,
};

/// How long batch ids are kept to recognise a repeated delivery.
const BATCH_IDS_KEPT_MS: i64 = DAY_MS;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS daily (
  day INTEGER NOT NULL, region TEXT NOT NULL, visits INTEGER NOT NULL, oos INTEGER NOT NULL,
  PRIMARY KEY (day, region)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS swaps (
  day INTEGER NOT NULL, region TEXT NOT NULL, original TEXT NOT NULL, replacement TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (day, region, original, replacement)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
";

const CLAIM_BATCH: &str =
    "INSERT INTO batches (id, at) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING 1 AS n";

const ADD_DAILY: &str = "INSERT INTO daily (day, region, visits, oos)
  SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?, '$[1]') WHERE true
ON CONFLICT (day, region) DO UPDATE SET visits = visits + excluded.visits, oos = oos + excluded.oos";

const ADD_SWAPS: &str = "INSERT INTO swaps (day, region, original, replacement, n)
  SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4
  FROM json_each(?, '$[2]') WHERE true
ON CONFLICT (day, region, original, replacement) DO UPDATE SET n = n + excluded.n";

/// Per value of `column` (day or region) in `[?, ?)`: visits, out-of-stock visits and swaps.
fn grouped_sql(column: &str) -> String {
    format!(
        "SELECT d.k AS k, d.visits AS visits, d.oos AS oos, COALESCE(s.n, 0) AS subs FROM
           (SELECT {column} AS k, SUM(visits) AS visits, SUM(oos) AS oos FROM daily
             WHERE day >= ? AND day < ? GROUP BY {column}) d
         LEFT JOIN
           (SELECT {column} AS k, SUM(n) AS n FROM swaps
             WHERE day >= ? AND day < ? GROUP BY {column}) s
         ON s.k = d.k"
    )
}

#[durable_object]
pub struct ProjectStockouts {
    state: State,
}

#[derive(Deserialize)]
struct Grouped {
    k: serde_json::Value,
    visits: f64,
    oos: f64,
    subs: f64,
}

#[derive(Deserialize)]
struct Top {
    o: String,
    r: String,
    n: f64,
}

#[derive(Deserialize)]
struct DayRange {
    from: i64,
    to: i64,
}

impl DurableObject for ProjectStockouts {
    fn new(state: State, _env: Env) -> Self {
        if let Err(e) = state.storage().sql().exec(SCHEMA, None) {
            worker::console_error!("out-of-stock report schema: {e}");
        }
        ProjectStockouts { state }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let url = req.url()?;
        match (req.method(), url.path()) {
            (Method::Get, "/report") => {
                let q: DayRange = req.query()?;
                Response::from_json(&self.report(q.from, q.to)?)
            }
            _ => Response::error("not found", 404),
        }
    }
}

/// Batches arrive by JS RPC (`stub.record(batch)`, see `src/worker.js`), as click batches do.
#[wasm_bindgen(wasm_bindgen_futures = ::worker::wasm_bindgen_futures)]
impl ProjectStockouts {
    /// Stores a report batch (`domain::stockouts::ProjectRows::bodies`), checked whole first; a
    /// batch already stored is left alone. Answers 1; a malformed batch fails the call.
    pub async fn record(&self, batch: Vec<u8>) -> std::result::Result<u32, JsValue> {
        let refuse = |e: &str| JsValue::from(js_sys::Error::new(&format!("bad report batch: {e}")));
        let batch = std::str::from_utf8(&batch).map_err(|_| refuse("not UTF-8"))?;
        let checked = check_project_batch(batch).map_err(|e| refuse(&e))?;
        self.add(&checked.id, checked.at, batch)?;
        Ok(1)
    }
}

impl ProjectStockouts {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    /// Claims the batch id, adds its rows and forgets old ids, with no await in between (one
    /// implicit transaction).
    fn add(&self, id: &str, at: i64, batch: &str) -> Result<()> {
        let sql = self.sql();
        let claimed: Vec<serde_json::Value> = sql
            .exec(CLAIM_BATCH, vec![V::from(id), V::from(at)])?
            .to_array()?;
        if claimed.is_empty() {
            return Ok(());
        }
        sql.exec(ADD_DAILY, vec![V::from(batch)])?;
        sql.exec(ADD_SWAPS, vec![V::from(batch)])?;
        let cutoff = worker::Date::now().as_millis() as i64 - BATCH_IDS_KEPT_MS;
        sql.exec("DELETE FROM batches WHERE at < ?", vec![V::from(cutoff)])?;
        Ok(())
    }

    /// The rows of the days `[from, to)`.
    fn report(&self, from: i64, to: i64) -> Result<ReportRows> {
        let sql = self.sql();
        let range = || vec![V::from(from), V::from(to), V::from(from), V::from(to)];
        let grouped = |column: &str| -> Result<Vec<Grouped>> {
            sql.exec(&grouped_sql(column), range())?.to_array()
        };
        let days = grouped("day")?
            .into_iter()
            .filter_map(|g| {
                let day = g.k.as_f64()? as i64;
                Some((day, g.visits as u64, g.oos as u64, g.subs as u64))
            })
            .collect();
        let regions = grouped("region")?
            .into_iter()
            .map(|g| {
                let region = g.k.as_str().unwrap_or_default().to_string();
                (region, g.visits as u64, g.oos as u64, g.subs as u64)
            })
            .collect();
        let top: Vec<Top> = sql
            .exec(
                &format!(
                    "SELECT original AS o, replacement AS r, SUM(n) AS n FROM swaps
                      WHERE day >= ? AND day < ? GROUP BY original, replacement
                      ORDER BY n DESC, original, replacement LIMIT {REPORT_TOP_SUBSTITUTIONS}"
                ),
                vec![V::from(from), V::from(to)],
            )?
            .to_array()?;
        Ok(ReportRows {
            days,
            regions,
            top: top.into_iter().map(|t| (t.o, t.r, t.n as u64)).collect(),
        })
    }
}
