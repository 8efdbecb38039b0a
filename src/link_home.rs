//! `LinkHome`: the Durable Object (SQLite) that is the authoritative home of one short link,
//! named `s:{shortId}`. It holds
//! - the link's redirect record, written before the link is announced in KV, so a redirect
//!   that misses in KV (not yet replicated to that location) can still resolve, and a short id
//!   can be claimed exactly once;
//! - the use counter of capped links (`options.maxClicks`), incremented atomically, so
//!   concurrent shoppers can never both pass the cap;
//! - named `p:{identifier}` instead, the claim of a printed QR code's identifier (unique across
//!   the service, as `/qr/{identifier}` is one address): `PUT /claim` and `DELETE /claim`;
//! - the link's QR codes (marker, id, identifier): a new code is added here, one request at a
//!   time, so concurrent creates never share a marker or an identifier, never pass the cap,
//!   and the record's marker list is always the table's (a record written by an update keeps
//!   the markers the object holds).

use crate::domain::qr_code::{DEFAULT_IDENTIFIER, DEFAULT_MARKER};
use crate::domain::record::RedirectRecord;
use worker::{
    durable_object, DurableObject, Env, Method, Request, Response, Result, SqlStorage,
    SqlStorageValue as V, State,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS record (k INTEGER PRIMARY KEY CHECK (k = 1), json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS uses (k INTEGER PRIMARY KEY CHECK (k = 1), n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS qr (
  marker INTEGER PRIMARY KEY, id TEXT NOT NULL, identifier TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS claim (k INTEGER PRIMARY KEY CHECK (k = 1), owner TEXT NOT NULL);
";

/// A link's home record as its create writes it: the redirect record and the link's QR codes.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct HomeCreate {
    pub record: RedirectRecord,
    pub qr: Vec<QrEntry>,
}

#[derive(serde::Deserialize)]
struct Owner {
    owner: String,
}

/// One QR code of the link, as `GET /qr` lists them and `POST /qr` adds them.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct QrEntry {
    pub marker: String,
    pub id: String,
    pub identifier: String,
}

#[derive(serde::Deserialize)]
struct QrRow {
    marker: f64,
    id: String,
    identifier: String,
}

/// What `POST /qr` answers: the new code's marker and the record as it now stands.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct QrAdded {
    pub marker: String,
    pub record: String,
}

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
            // `?create=1` claims the short id: 409 when it already belongs to a link. Answers
            // the record as stored: an update keeps the QR markers this object holds.
            (Method::Put, "/record") => {
                let body = req.text().await?;
                let create = param("create").is_some();
                if create && self.record()?.is_some() {
                    return Response::error("short id taken", 409);
                }
                let parsed = if create {
                    serde_json::from_str::<HomeCreate>(&body).ok()
                } else {
                    serde_json::from_str::<RedirectRecord>(&body)
                        .ok()
                        .map(|record| HomeCreate {
                            record,
                            qr: Vec::new(),
                        })
                };
                let Some(HomeCreate {
                    record: mut rec,
                    qr,
                }) = parsed
                else {
                    return Response::error("not a redirect record", 400);
                };
                if create {
                    self.sql().exec("DELETE FROM qr", None)?;
                    for e in &qr {
                        self.sql().exec(
                            "INSERT INTO qr (marker, id, identifier) VALUES (?, ?, ?)",
                            vec![
                                V::from(e.marker.parse::<i64>().unwrap_or(0)),
                                V::from(e.id.as_str()),
                                V::from(e.identifier.as_str()),
                            ],
                        )?;
                    }
                    rec.qr = self.qr_markers()?;
                } else {
                    self.ensure_qr()?;
                    rec.qr = self.qr_markers()?;
                }
                let json = serde_json::to_string(&rec)?;
                self.put_record(&json)?;
                Response::ok(json)
            }
            // Gives the short id back: a create that claimed it could not finish.
            (Method::Delete, "/record") => {
                self.sql().exec("DELETE FROM record", None)?;
                self.sql().exec("DELETE FROM qr", None)?;
                Response::ok("ok")
            }
            // Claims this object's name (a printed identifier) for `owner`: 200 when it is free
            // or already the owner's, 409 when another owner holds it.
            (Method::Put, "/claim") => {
                let Ok(o) = serde_json::from_str::<Owner>(&req.text().await?) else {
                    return Response::error("not an owner", 400);
                };
                match self.claim_owner()? {
                    Some(current) if current != o.owner => Response::error("claimed", 409),
                    Some(_) => Response::ok("ok"),
                    None => {
                        self.sql().exec(
                            "INSERT INTO claim (k, owner) VALUES (1, ?)",
                            vec![V::from(o.owner)],
                        )?;
                        Response::ok("ok")
                    }
                }
            }
            // Releases the claim, when `owner` holds it.
            (Method::Delete, "/claim") => {
                let owner = param("owner").unwrap_or_default();
                self.sql()
                    .exec("DELETE FROM claim WHERE owner = ?", vec![V::from(owner)])?;
                Response::ok("ok")
            }
            (Method::Get, "/qr") => {
                if self.record()?.is_none() {
                    return Response::error("no such link", 404);
                }
                self.ensure_qr()?;
                Response::from_json(&self.qr_entries()?)
            }
            // Adds a QR code `{"id", "identifier"}` when the identifier is free and fewer than
            // `max` codes exist: 200 `QrAdded`, 409 `duplicate_identifier` or `limit_reached`.
            (Method::Post, "/qr") => {
                let max = param("max")
                    .and_then(|m| m.parse::<usize>().ok())
                    .unwrap_or(0);
                let Ok(entry) = serde_json::from_str::<QrEntry>(&req.text().await?) else {
                    return Response::error("not a QR entry", 400);
                };
                let Some(raw) = self.record()? else {
                    return Response::error("no such link", 404);
                };
                let Ok(mut rec) = serde_json::from_str::<RedirectRecord>(&raw) else {
                    return Response::error("stored record unreadable", 500);
                };
                self.ensure_qr()?;
                let entries = self.qr_entries()?;
                if entries.iter().any(|e| e.identifier == entry.identifier) {
                    return Response::error("duplicate_identifier", 409);
                }
                if entries.len() >= max {
                    return Response::error("limit_reached", 409);
                }
                let next = entries
                    .iter()
                    .filter_map(|e| e.marker.parse::<i64>().ok())
                    .max()
                    .unwrap_or(0)
                    + 1;
                self.sql().exec(
                    "INSERT INTO qr (marker, id, identifier) VALUES (?, ?, ?)",
                    vec![V::from(next), V::from(entry.id), V::from(entry.identifier)],
                )?;
                rec.qr = self.qr_markers()?;
                let json = serde_json::to_string(&rec)?;
                self.put_record(&json)?;
                Response::from_json(&QrAdded {
                    marker: next.to_string(),
                    record: json,
                })
            }
            // Takes back a code that could not be stored elsewhere: the record as it now stands.
            (Method::Delete, "/qr") => {
                let id = param("id").unwrap_or_default();
                let Some(raw) = self.record()? else {
                    return Response::error("no such link", 404);
                };
                let Ok(mut rec) = serde_json::from_str::<RedirectRecord>(&raw) else {
                    return Response::error("stored record unreadable", 500);
                };
                self.ensure_qr()?;
                self.sql()
                    .exec("DELETE FROM qr WHERE id = ?", vec![V::from(id)])?;
                rec.qr = self.qr_markers()?;
                let json = serde_json::to_string(&rec)?;
                self.put_record(&json)?;
                Response::ok(json)
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

    fn claim_owner(&self) -> Result<Option<String>> {
        let rows: Vec<Owner> = self
            .sql()
            .exec("SELECT owner FROM claim WHERE k = 1", None)?
            .to_array()?;
        Ok(rows.into_iter().next().map(|r| r.owner))
    }

    fn put_record(&self, json: &str) -> Result<()> {
        self.sql().exec(
            "INSERT INTO record (k, json) VALUES (1, ?)
             ON CONFLICT (k) DO UPDATE SET json = excluded.json",
            vec![V::from(json)],
        )?;
        Ok(())
    }

    /// The table from a record's markers: the default code is `default`, a named code stored
    /// before identifiers existed is `qr-<marker>` (as its upgraded QR object says).
    fn seed_qr(&self, rec: &RedirectRecord) -> Result<()> {
        for (marker, id) in &rec.qr {
            let Ok(m) = marker.parse::<i64>() else {
                continue;
            };
            let identifier = if marker == DEFAULT_MARKER {
                DEFAULT_IDENTIFIER.to_string()
            } else {
                format!("qr-{marker}")
            };
            self.sql().exec(
                "INSERT OR IGNORE INTO qr (marker, id, identifier) VALUES (?, ?, ?)",
                vec![V::from(m), V::from(id.as_str()), V::from(identifier)],
            )?;
        }
        Ok(())
    }

    /// Links created before this object kept QR codes have only the record's markers: the
    /// table is filled from them once.
    fn ensure_qr(&self) -> Result<()> {
        let rows: Vec<Count> = self
            .sql()
            .exec("SELECT COUNT(*) AS n FROM qr", None)?
            .to_array()?;
        if rows.first().is_some_and(|c| c.n > 0.0) {
            return Ok(());
        }
        if let Some(raw) = self.record()? {
            if let Ok(rec) = serde_json::from_str::<RedirectRecord>(&raw) {
                self.seed_qr(&rec)?;
            }
        }
        Ok(())
    }

    fn qr_entries(&self) -> Result<Vec<QrEntry>> {
        let rows: Vec<QrRow> = self
            .sql()
            .exec(
                "SELECT marker, id, identifier FROM qr ORDER BY marker",
                None,
            )?
            .to_array()?;
        Ok(rows
            .into_iter()
            .map(|r| QrEntry {
                marker: (r.marker as i64).to_string(),
                id: r.id,
                identifier: r.identifier,
            })
            .collect())
    }

    fn qr_markers(&self) -> Result<Vec<(String, String)>> {
        Ok(self
            .qr_entries()?
            .into_iter()
            .map(|e| (e.marker, e.id))
            .collect())
    }

    fn uses(&self) -> Result<i64> {
        let rows: Vec<Count> = self
            .sql()
            .exec("SELECT n FROM uses WHERE k = 1", None)?
            .to_array()?;
        Ok(rows.first().map_or(0, |c| c.n as i64))
    }
}
