//! `LinkHome`: the Durable Object (SQLite) that is the authoritative home of one short link,
//! named `s:{shortId}`. It holds
//! - the link's redirect record, written before the link is announced in KV, so a redirect
//!   that misses in KV (not yet replicated to that location) can still resolve, and a short id
//!   can be claimed exactly once;
//! - the use counter of capped links (`options.maxClicks`), incremented atomically, so
//!   concurrent shoppers can never both pass the cap.

use worker::{
    durable_object, DurableObject, Env, Method, Request, Response, Result, SqlStorage,
    SqlStorageValue as V, State,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS record (k INTEGER PRIMARY KEY CHECK (k = 1), json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS uses (k INTEGER PRIMARY KEY CHECK (k = 1), n INTEGER NOT NULL);
";

#[durable_object]
pub struct LinkHome {
    state: State,
}

#[derive(serde::Deserialize)]
struct Json {
    json: String,
}

#[derive(serde::Deserialize)]
struct Count {
    n: f64,
}

impl DurableObject for LinkHome {
    fn new(state: State, _env: Env) -> Self {
        if let Err(e) = state.storage().sql().exec(SCHEMA, None) {
            worker::console_error!("link home schema: {e}");
        }
        LinkHome { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let url = req.url()?;
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        match (req.method(), url.path()) {
            (Method::Get, "/record") => match self.record()? {
                Some(json) => Response::ok(json),
                None => Response::error("no such link", 404),
            },
            // `?create=1` claims the short id: 409 when it already belongs to a link.
            (Method::Put, "/record") => {
                let body = req.text().await?;
                if param("create").is_some() && self.record()?.is_some() {
                    return Response::error("short id taken", 409);
                }
                self.sql().exec(
                    "INSERT INTO record (k, json) VALUES (1, ?)
                     ON CONFLICT (k) DO UPDATE SET json = excluded.json",
                    vec![V::from(body)],
                )?;
                Response::ok("ok")
            }
            // Takes one use if fewer than `max` were taken: {"ok": bool, "n": uses}.
            (Method::Post, "/claim") => {
                let max = param("max")
                    .and_then(|m| m.parse::<i64>().ok())
                    .unwrap_or(0);
                let n = self.uses()?;
                let ok = n < max;
                if ok {
                    self.sql().exec(
                        "INSERT INTO uses (k, n) VALUES (1, 1)
                         ON CONFLICT (k) DO UPDATE SET n = n + 1",
                        None,
                    )?;
                }
                let n = if ok { n + 1 } else { n };
                Response::ok(format!("{{\"ok\":{ok},\"n\":{n}}}"))
            }
            (Method::Get, "/uses") => Response::ok(format!("{{\"n\":{}}}", self.uses()?)),
            _ => Response::error("not found", 404),
        }
    }
}

impl LinkHome {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    fn record(&self) -> Result<Option<String>> {
        let rows: Vec<Json> = self
            .sql()
            .exec("SELECT json FROM record WHERE k = 1", None)?
            .to_array()?;
        Ok(rows.into_iter().next().map(|r| r.json))
    }

    fn uses(&self) -> Result<i64> {
        let rows: Vec<Count> = self
            .sql()
            .exec("SELECT n FROM uses WHERE k = 1", None)?
            .to_array()?;
        Ok(rows.first().map_or(0, |c| c.n as i64))
    }
}
