//! The redirect's one KV read, without the general `KvStore` wrapper (which looks up five
//! methods of the binding every time it is built). The options object is built once per
//! isolate.

use super::{key, KV_BINDING, REDIRECT_CACHE_TTL};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{js_sys, Env};

#[wasm_bindgen]
extern "C" {
    type KvNamespace;
    #[wasm_bindgen(method, catch, js_name = get)]
    fn get_with(
        this: &KvNamespace,
        key: &str,
        options: &JsValue,
    ) -> Result<js_sys::Promise, JsValue>;
}

thread_local! {
    /// `{type: "arrayBuffer", cacheTtl: 60}`: the record's bytes, which enter Wasm memory
    /// with one native copy (a string would be passed in by a JavaScript loop over its
    /// characters, and decoded from UTF-8 first).
    static BYTES_CACHED: JsValue = {
        let o = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&o, &"type".into(), &"arrayBuffer".into());
        let _ = js_sys::Reflect::set(&o, &"cacheTtl".into(), &JsValue::from(REDIRECT_CACHE_TTL as f64));
        o.into()
    };
    static BINDING: JsValue = JsValue::from_str(KV_BINDING);
}

/// The raw redirect record of `short_id` (`Err` when KV failed).
pub async fn redirect_raw(env: &Env, short_id: &str) -> Result<Option<Vec<u8>>, JsValue> {
    let value = JsFuture::from(redirect_read(env, short_id)?).await?;
    Ok(value
        .dyn_ref::<js_sys::ArrayBuffer>()
        .map(|b| js_sys::Uint8Array::new(b).to_vec()))
}

/// The KV read behind `redirect_raw`, not awaited: a promise of the record's bytes (an
/// `ArrayBuffer`) or null.
pub fn redirect_read(env: &Env, short_id: &str) -> Result<js_sys::Promise, JsValue> {
    cached_read(env, &key::redirect(short_id))
}

/// The record of a printed QR code (`/qr/{identifier}`), read as the redirect's is.
pub async fn printed_qr_raw(env: &Env, identifier: &str) -> Result<Option<Vec<u8>>, JsValue> {
    let value = JsFuture::from(cached_read(env, &key::printed_qr(identifier))?).await?;
    Ok(value
        .dyn_ref::<js_sys::ArrayBuffer>()
        .map(|b| js_sys::Uint8Array::new(b).to_vec()))
}

fn cached_read(env: &Env, key: &str) -> Result<js_sys::Promise, JsValue> {
    let ns: KvNamespace = BINDING
        .with(|b| js_sys::Reflect::get(env, b))?
        .unchecked_into();
    BYTES_CACHED.with(|opts| ns.get_with(key, opts))
}
