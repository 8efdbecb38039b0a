//! `ProjectIndex`: the Durable Object (SQLite) that lists one project's links, named by the
//! project id. Link ids are ULIDs, so ordering by id is ordering by creation time; a page
//! starts strictly after the previous page's last id, so paging never skips or repeats a link,
//! even while links are being created. Each link's tags (`tracking.tags`) are kept beside
//! it, so a project's links carrying a tag are listed the same way.

use worker::{
    durable_object, DurableObject, Env, Method, Request, Response, Result, SqlStorageValue as V,
    State,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS links (id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tags (tag TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (tag, id))
  WITHOUT ROWID;
";

#[durable_object]
pub struct ProjectIndex {
    state: State,
}

#[derive(serde::Deserialize)]
struct Id {
    id: String,
}

/// `POST /add`: a link and its tags (replacing the tags it had).
#[derive(serde::Deserialize)]
struct Entry {
    id: String,
    #[serde(default)]
    tags: Vec<String>,
}

impl DurableObject for ProjectIndex {
    fn new(state: State, _env: Env) -> Self {
        if let Err(e) = state.storage().sql().exec(SCHEMA, None) {
            worker::console_error!("project index schema: {e}");
        }
        ProjectIndex { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let url = req.url()?;
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let sql = self.state.storage().sql();
        match (req.method(), url.path()) {
            // One link and its tags (`Entry`), or several at once (`[Entry]`).
            (Method::Post, "/add") => {
                let body = req.text().await?;
                let entries: Vec<Entry> = match serde_json::from_str::<Entry>(&body) {
                    Ok(one) => vec![one],
                    Err(_) => match serde_json::from_str::<Vec<Entry>>(&body) {
                        Ok(many) => many,
                        Err(_) => return Response::error("not an entry", 400),
                    },
                };
                for entry in entries {
                    sql.exec(
                        "INSERT OR IGNORE INTO links (id) VALUES (?)",
                        vec![V::from(entry.id.as_str())],
                    )?;
                    sql.exec(
                        "DELETE FROM tags WHERE id = ?",
                        vec![V::from(entry.id.as_str())],
                    )?;
                    for tag in entry.tags {
                        sql.exec(
                            "INSERT OR IGNORE INTO tags (tag, id) VALUES (?, ?)",
                            vec![V::from(tag), V::from(entry.id.as_str())],
                        )?;
                    }
                }
                Response::ok("ok")
            }
            // Newest first, `limit` ids strictly older than `before` (when given).
            (Method::Get, "/list") => {
                let limit = param("limit")
                    .and_then(|l| l.parse::<i64>().ok())
                    .unwrap_or(20)
                    .clamp(1, 101);
                // Without `before`, a bound above every id (ids are ASCII; SQLite compares
                // text bytewise).
                let before = param("before").unwrap_or_else(|| "\u{10FFFF}".into());
                let rows: Vec<Id> = match param("tag") {
                    Some(tag) => sql
                        .exec(
                            "SELECT id FROM tags WHERE tag = ? AND id < ? ORDER BY id DESC LIMIT ?",
                            vec![V::from(tag), V::from(before), V::from(limit)],
                        )?
                        .to_array()?,
                    None => sql
                        .exec(
                            "SELECT id FROM links WHERE id < ? ORDER BY id DESC LIMIT ?",
                            vec![V::from(before), V::from(limit)],
                        )?
                        .to_array()?,
                };
                let ids: Vec<String> = rows.into_iter().map(|r| r.id).collect();
                Response::from_json(&ids)
            }
            _ => Response::error("not found", 404),
        }
    }
}
