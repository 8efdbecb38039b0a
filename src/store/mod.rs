//! Typed KV access: each kind of record has one key prefix, one key function and one value
//! type, so no key string is built by hand anywhere else.

pub mod durable;
pub mod fast;

use crate::domain::record::RedirectRecord;
use crate::http::errors::ApiError;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;
use worker::{kv::KvStore, Env};

/// The KV binding (see wrangler.toml).
pub const KV_BINDING: &str = "LINKS";

/// Edge-cache lifetime of redirect reads. KV's minimum; an edit reaches every location
/// within about this long (see the README's propagation notes).
pub const REDIRECT_CACHE_TTL: u64 = 60;

pub(crate) mod key {
    pub fn redirect(short_id: &str) -> String {
        format!("s:{short_id}")
    }
    pub fn link(link_id: &str) -> String {
        format!("l:{link_id}")
    }
    pub fn api_key(hash: &str) -> String {
        format!("k:{hash}")
    }
    pub fn qr(qr_id: &str) -> String {
        format!("q:{qr_id}")
    }
    pub fn instacart_url(content_hash: &str) -> String {
        format!("ic:{content_hash}")
    }
    pub fn printed_qr(identifier: &str) -> String {
        format!("p:{identifier}")
    }
}

/// An API key as stored: only the SHA-256 of the key is ever kept (it is the KV key).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyRecord {
    pub projects: Vec<String>,
    pub scopes: Vec<String>,
    #[serde(default)]
    pub name: String,
    /// The first characters of the key, to recognise it in listings.
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub created_at: String,
}

/// A link as stored: its API representation (without the derived `status`) and the state the
/// status is derived from.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredLink {
    pub data: serde_json::Map<String, Value>,
    pub short_id: String,
    pub project_id: String,
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub starts_at: Option<i64>,
    #[serde(default)]
    pub expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_clicks: Option<u64>,
    /// Every QR code of the link, default first.
    #[serde(default)]
    pub qr_codes: Vec<String>,
}

/// A QR code as stored: its API object and the link's short id.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredQr {
    pub data: serde_json::Map<String, Value>,
    pub link_id: String,
    pub project_id: String,
}

/// A printed QR code (`/qr/{identifier}`): the link it belongs to (by short id) and its scan
/// marker in that link's redirect record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintedQr {
    #[serde(rename = "s")]
    pub short_id: String,
    #[serde(rename = "m")]
    pub marker: String,
}

/// A page URL that Instacart returned, cached under the hash of the content that determines
/// it (`retailers::instacart::content_hash`), as Instacart asks: reused, not regenerated.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InstacartUrl {
    pub url: String,
    /// When Instacart returned it (ms since the epoch).
    pub at: i64,
}

pub struct Store {
    kv: KvStore,
}

impl Store {
    pub fn new(env: &Env) -> Result<Self, ApiError> {
        Ok(Store {
            kv: env.kv(KV_BINDING)?,
        })
    }

    async fn get_json<T: DeserializeOwned>(&self, k: &str) -> Result<Option<T>, ApiError> {
        Ok(self.kv.get(k).json::<T>().await?)
    }

    async fn put_json<T: Serialize>(
        &self,
        k: &str,
        v: &T,
        ttl: Option<u64>,
    ) -> Result<(), ApiError> {
        let body = serde_json::to_string(v).map_err(|_| ApiError::internal())?;
        let mut put = self.kv.put(k, body)?;
        if let Some(ttl) = ttl {
            put = put.expiration_ttl(ttl);
        }
        put.execute().await?;
        Ok(())
    }

    pub async fn put_redirect(&self, short_id: &str, rec: &RedirectRecord) -> Result<(), ApiError> {
        self.put_json(&key::redirect(short_id), rec, None).await
    }

    pub async fn put_printed_qr(&self, identifier: &str, rec: &PrintedQr) -> Result<(), ApiError> {
        self.put_json(&key::printed_qr(identifier), rec, None).await
    }

    pub async fn link(&self, link_id: &str) -> Result<Option<StoredLink>, ApiError> {
        self.get_json(&key::link(link_id)).await
    }
    pub async fn put_link(&self, link_id: &str, link: &StoredLink) -> Result<(), ApiError> {
        self.put_json(&key::link(link_id), link, None).await
    }

    pub async fn qr(&self, qr_id: &str) -> Result<Option<StoredQr>, ApiError> {
        self.get_json(&key::qr(qr_id)).await
    }
    pub async fn put_qr(&self, qr_id: &str, qr: &StoredQr) -> Result<(), ApiError> {
        self.put_json(&key::qr(qr_id), qr, None).await
    }

    pub async fn api_key(&self, hash: &str) -> Result<Option<ApiKeyRecord>, ApiError> {
        self.get_json(&key::api_key(hash)).await
    }
    pub async fn put_api_key(&self, hash: &str, rec: &ApiKeyRecord) -> Result<(), ApiError> {
        self.put_json(&key::api_key(hash), rec, None).await
    }
    pub async fn delete_link(&self, link_id: &str) -> Result<(), ApiError> {
        Ok(self.kv.delete(&key::link(link_id)).await?)
    }
    pub async fn delete_redirect(&self, short_id: &str) -> Result<(), ApiError> {
        Ok(self.kv.delete(&key::redirect(short_id)).await?)
    }
    pub async fn delete_printed_qr(&self, identifier: &str) -> Result<(), ApiError> {
        Ok(self.kv.delete(&key::printed_qr(identifier)).await?)
    }
    pub async fn delete_qr(&self, qr_id: &str) -> Result<(), ApiError> {
        Ok(self.kv.delete(&key::qr(qr_id)).await?)
    }

    pub async fn delete_api_key(&self, hash: &str) -> Result<(), ApiError> {
        Ok(self.kv.delete(&key::api_key(hash)).await?)
    }

    pub async fn instacart_url(
        &self,
        content_hash: &str,
    ) -> Result<Option<InstacartUrl>, ApiError> {
        self.get_json(&key::instacart_url(content_hash)).await
    }
    pub async fn put_instacart_url(
        &self,
        content_hash: &str,
        rec: &InstacartUrl,
        ttl_secs: u64,
    ) -> Result<(), ApiError> {
        self.put_json(&key::instacart_url(content_hash), rec, Some(ttl_secs))
            .await
    }
}
