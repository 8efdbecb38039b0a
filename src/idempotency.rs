//! `IdempotencyKey`: the Durable Object (SQLite) that owns one `Idempotency-Key` of one API
//! key, named `{apiKeyHash}:{sha256(Idempotency-Key)}`. The claim on a key is made here, where
//! it is strongly consistent, so twenty concurrent requests with one key create one resource:
//! the first claims it, the others get `in_progress` (409) or, once it is done, the replay.
//! The object forgets the key after `RETENTION_MS` (an alarm).

use serde::{Deserialize, Serialize};
use worker::{
    durable_object, DurableObject, Env, Method, Request, Response, Result, SqlStorageValue as V,
    State,
};

/// Keys are remembered this long (the contract promises at least 24 hours).
pub const RETENTION_MS: i64 = 48 * 3_600_000;
/// A claim whose request never finished (the worker was cut off) is released after this.
pub const STALE_CLAIM_MS: i64 = 60_000;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS entry (
  k INTEGER PRIMARY KEY CHECK (k = 1), hash TEXT NOT NULL, state TEXT NOT NULL,
  at INTEGER NOT NULL, status INTEGER, body TEXT, headers TEXT);";
/// Objects made before the response's headers were kept have no `headers` column.
const ADD_HEADERS: &str = "ALTER TABLE entry ADD COLUMN headers TEXT";

/// What `POST /begin` answers.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Begin {
    /// The caller owns the key now and must `finish` or `abort`.
    Claimed,
    /// Another request with this key is being processed.
    InProgress,
    /// The key was used with a different request.
    Conflict,
    /// The first request finished: its response (status, `data` JSON, and the headers a
    /// replay repeats, as `name: value` lines).
    Done {
        status: u16,
        body: String,
        #[serde(default)]
        headers: String,
    },
}

#[derive(Deserialize)]
struct Row {
    hash: String,
    state: String,
    at: f64,
    status: Option<f64>,
    body: Option<String>,
    headers: Option<String>,
}

#[derive(Deserialize)]
pub struct Finish {
    pub status: u16,
    pub body: String,
    #[serde(default)]
    pub headers: String,
}

#[durable_object]
pub struct IdempotencyKey {
    state: State,
}

impl DurableObject for IdempotencyKey {
    fn new(state: State, _env: Env) -> Self {
        let sql = state.storage().sql();
        if let Err(e) = sql.exec(SCHEMA, None) {
            worker::console_error!("idempotency schema: {e}");
        }
        if sql.exec("SELECT headers FROM entry LIMIT 0", None).is_err() {
            if let Err(e) = sql.exec(ADD_HEADERS, None) {
                worker::console_error!("idempotency schema: {e}");
            }
        }
        IdempotencyKey { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let url = req.url()?;
        // The body is read before the row: between reading the row and writing the claim there
        // must be no await, or a concurrent request to this object could claim in between.
        let body = req.text().await?;
        let sql = self.state.storage().sql();
        let now = worker::Date::now().as_millis() as i64;
        let rows: Vec<Row> = sql
            .exec(
                "SELECT hash, state, at, status, body, headers FROM entry WHERE k = 1",
                None,
            )?
            .to_array()?;
        let row = rows.into_iter().next();
        match (req.method(), url.path()) {
            (Method::Post, "/begin") => {
                let hash = body;
                let answer = match row {
                    Some(r) if r.hash != hash => Begin::Conflict,
                    Some(r) if r.state == "done" => Begin::Done {
                        status: r.status.unwrap_or(200.0) as u16,
                        body: r.body.unwrap_or_default(),
                        headers: r.headers.unwrap_or_default(),
                    },
                    Some(r) if now - (r.at as i64) < STALE_CLAIM_MS => Begin::InProgress,
                    _ => {
                        sql.exec(
                            "INSERT INTO entry (k, hash, state, at) VALUES (1, ?, 'pending', ?)
                             ON CONFLICT (k) DO UPDATE SET hash = excluded.hash,
                               state = 'pending', at = excluded.at, status = NULL, body = NULL,
                               headers = NULL",
                            vec![V::from(hash), V::from(now)],
                        )?;
                        let storage = self.state.storage();
                        if storage.get_alarm().await?.is_none() {
                            storage.set_alarm(RETENTION_MS).await?;
                        }
                        Begin::Claimed
                    }
                };
                Response::from_json(&answer)
            }
            (Method::Post, "/finish") => {
                let f: Finish = serde_json::from_str(&body)
                    .map_err(|e| worker::Error::RustError(format!("bad finish body: {e}")))?;
                sql.exec(
                    "UPDATE entry SET state = 'done', status = ?, body = ?, headers = ?, at = ?
                     WHERE k = 1",
                    vec![
                        V::from(i64::from(f.status)),
                        V::from(f.body),
                        V::from(f.headers),
                        V::from(now),
                    ],
                )?;
                Response::ok("ok")
            }
            (Method::Post, "/abort") => {
                sql.exec("DELETE FROM entry WHERE k = 1 AND state = 'pending'", None)?;
                Response::ok("ok")
            }
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.state.storage().delete_all().await?;
        Response::ok("forgotten")
    }
}
