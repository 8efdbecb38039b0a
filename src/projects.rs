//! `ProjectIndex`: the Durable Object (SQLite) that lists one project's links, named by the
//! project id. Link ids are ULIDs, so ordering by id is ordering by creation time; a page
//! starts strictly after the previous page's last id, so paging never skips or repeats a link,
//! even while links are being created.

use worker::{
    durable_object, DurableObject, Env, Method, Request, Response, Result, SqlStorageValue as V,
    State,
};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS links (id TEXT PRIMARY KEY) WITHOUT ROWID;";

#[durable_object]
pub struct ProjectIndex {
    state: State,
}

#[derive(serde::Deserialize)]
struct Id {
    id: String,
}

impl DurableObject for ProjectIndex {
    fn new(state: State, _env: Env) -> Self {
        if let Err(e) = state.storage().sql().exec(SCHEMA, None) {
            worker::console_error!("project index schema: {e}");
        }
        ProjectIndex { state }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let url = req.url()?;
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let sql = self.state.storage().sql();
        match (req.method(), url.path()) {
            (Method::Post, "/add") => {
                let id = param("id").unwrap_or_default();
                sql.exec(
                    "INSERT OR IGNORE INTO links (id) VALUES (?)",
                    vec![V::from(id)],
                )?;
                Response::ok("ok")
            }
            // Newest first, `limit` ids strictly older than `before` (when given).
            (Method::Get, "/list") => {
                let limit = param("limit")
                    .and_then(|l| l.parse::<i64>().ok())
                    .unwrap_or(20)
                    .clamp(1, 101);
                let rows: Vec<Id> = match param("before") {
                    Some(before) => sql
                        .exec(
                            "SELECT id FROM links WHERE id < ? ORDER BY id DESC LIMIT ?",
                            vec![V::from(before), V::from(limit)],
                        )?
                        .to_array()?,
                    None => sql
                        .exec(
                            "SELECT id FROM links ORDER BY id DESC LIMIT ?",
                            vec![V::from(limit)],
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
