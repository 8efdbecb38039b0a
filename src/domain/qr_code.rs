//! A link's QR codes as the API knows them: the request of a named QR code (identifier, name,
//! metadata, style), the link's `defaultQrCode`, and the QR code object every response shows.
//! Rendering is `qr.rs`'s.

use super::error::Invalid;
use super::qr;
use super::record::QR_PARAM;
use super::validate::*;
use serde_json::{json, Map, Value};

/// The identifier of every link's default QR code.
pub const DEFAULT_IDENTIFIER: &str = "default";
/// The name of a default QR code that was given none.
pub const DEFAULT_NAME: &str = "Default QR code";
/// The marker of a link's default QR code in its encoded URL (`?qr=1`); named QR codes get
/// 2, 3, … in order of creation.
pub const DEFAULT_MARKER: &str = "1";
/// QR codes per link (their markers are read on every redirect of the link).
pub const MAX_QR_CODES: usize = 50;
pub const MAX_NAME: usize = 120;
pub const MAX_METADATA_BYTES: usize = 4096;
/// The fields of a QR style (`style`).
pub const STYLE_FIELDS: [&str; 5] = ["size", "margin", "ec", "fg", "bg"];
const CREATE_FIELDS: [&str; 4] = ["identifier", "name", "metadata", "style"];
const DEFAULT_FIELDS: [&str; 3] = ["name", "metadata", "style"];

/// A validated QR code request.
#[derive(Clone, Debug, PartialEq)]
pub struct QrSpec {
    pub identifier: String,
    pub name: String,
    pub metadata: Map<String, Value>,
    pub style: qr::Style,
}

impl Default for QrSpec {
    fn default() -> Self {
        QrSpec {
            identifier: DEFAULT_IDENTIFIER.into(),
            name: DEFAULT_NAME.into(),
            metadata: Map::new(),
            style: qr::Style::default(),
        }
    }
}

/// An identifier: 3–64 of `A-Z a-z 0-9 -`.
pub fn is_identifier(s: &str) -> bool {
    (3..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `POST /v1/links/{linkId}/qr-codes`: `identifier` and `name` required, `metadata` and
/// `style` optional. Uniqueness within the link is the caller's (it needs the link).
pub fn validate_create(body: &Value) -> Result<QrSpec, Invalid> {
    let mut p = Problems::default();
    let Value::Object(obj) = body else {
        p.push(
            "",
            "invalid_type",
            format!(
                "Request body must be a JSON object, got {}",
                json_type(body)
            ),
        );
        return Err(Invalid::shape(p.shape));
    };
    reject_unknown(obj, &CREATE_FIELDS, "", &mut p);
    let identifier = req_string(obj, "identifier", "", 1, 64, &mut p).and_then(|s| {
        if is_identifier(s) {
            Some(s.to_string())
        } else {
            p.push(
                "identifier",
                "invalid_format",
                "Must be 3–64 of A-Z a-z 0-9 and -",
            );
            None
        }
    });
    let name = req_string(obj, "name", "", 1, MAX_NAME, &mut p);
    let metadata = metadata(obj, "", &mut p);
    let style = style(obj, "", &mut p);
    match (identifier, name, style, p.into_invalid()) {
        (Some(identifier), Some(name), Some(style), None) => Ok(QrSpec {
            identifier,
            name: name.to_string(),
            metadata,
            style,
        }),
        (_, _, _, Some(invalid)) => Err(invalid),
        // A missing field was reported above; this is not reached.
        _ => Err(Invalid::shape(Vec::new())),
    }
}

/// A link's `defaultQrCode` (`name`, `metadata`, `style`, all optional); problems go to `p`.
pub fn validate_default(obj: &Map<String, Value>, p: &mut Problems) -> QrSpec {
    let mut out = QrSpec::default();
    let Some(q) = opt_object(obj, "defaultQrCode", "", p) else {
        return out;
    };
    reject_unknown(q, &DEFAULT_FIELDS, "defaultQrCode", p);
    if let Some(n) = opt_string(q, "name", "defaultQrCode", 1, MAX_NAME, p) {
        out.name = n.to_string();
    }
    out.metadata = metadata(q, "defaultQrCode", p);
    if let Some(s) = style(q, "defaultQrCode", p) {
        out.style = s;
    }
    out
}

/// An optional `metadata` object of at most `MAX_METADATA_BYTES` serialized.
pub fn metadata(obj: &Map<String, Value>, parent: &str, p: &mut Problems) -> Map<String, Value> {
    let Some(m) = opt_object(obj, "metadata", parent, p) else {
        return Map::new();
    };
    let size = serde_json::to_string(m).map_or(usize::MAX, |s| s.len());
    if size > MAX_METADATA_BYTES {
        p.push(
            path(parent, "metadata"),
            "too_large",
            format!("Must be at most {MAX_METADATA_BYTES} bytes serialized (got {size})"),
        );
        return Map::new();
    }
    m.clone()
}

/// The optional `style` object under `parent` (defaults filled in); `None` when invalid.
fn style(obj: &Map<String, Value>, parent: &str, p: &mut Problems) -> Option<qr::Style> {
    let key = path(parent, "style");
    let Some(q) = opt_object(obj, "style", parent, p) else {
        return (!p.has_key(&key)).then(qr::Style::default);
    };
    reject_unknown(q, &STYLE_FIELDS, &key, p);
    // Style values arrive as JSON numbers or strings; the QR module parses their text.
    let mut raw: [Option<String>; 5] = Default::default();
    let mut typed = true;
    for (slot, field) in raw.iter_mut().zip(STYLE_FIELDS) {
        match q.get(field) {
            None => {}
            Some(Value::String(s)) => *slot = Some(s.clone()),
            Some(Value::Number(n)) if field == "size" || field == "margin" => {
                *slot = Some(json_uint(n).map_or_else(|| n.to_string(), |u| u.to_string()))
            }
            Some(other) => {
                typed = false;
                p.push(
                    path(&key, field),
                    "invalid_type",
                    format!("Must be a string or number, got {}", json_type(other)),
                )
            }
        }
    }
    let [size, margin, ec, fg, bg] = &raw;
    match qr::style_from_options(
        &qr::Style::default(),
        size.as_deref(),
        margin.as_deref(),
        ec.as_deref(),
        fg.as_deref(),
        bg.as_deref(),
    ) {
        Ok(style) if typed => Some(style),
        Ok(_) => None,
        Err(problems) => {
            for sp in problems {
                p.push(path(&key, sp.key), "invalid_style", sp.message);
            }
            None
        }
    }
}

/// Refuses a style whose `size` would leave the code of `encoded_url` under
/// [`qr::MIN_MODULE_PX`] pixels per module: a 400 at `parent.size` that names the smallest size
/// that works. The module count depends on the URL, so this runs where the URL is known (or its
/// longest form: a URL a code may encode, as long as the real one, in byte mode, is never
/// smaller).
pub fn check_fits(encoded_url: &str, style: &qr::Style, parent: &str, p: &mut Problems) {
    if let Some(sp) = qr::size_problem(encoded_url, style) {
        p.push(path(parent, sp.key), "invalid_style", sp.message);
    }
}

/// The longest short link a drawn or chosen short id gives, for `check_fits` before the id is
/// known: every character in byte mode, as long as the id.
pub fn probe_short_link(base_url: &str, short_id: Option<&str>) -> String {
    let len = short_id.map_or(super::ids::SHORT_ID_LEN, str::len);
    format!("{base_url}/{}", "x".repeat(len))
}

/// The API form of a QR style.
pub fn style_json(style: &qr::Style) -> Value {
    json!({
        "size": style.size,
        "margin": style.margin,
        "ec": style.ec.as_char().to_string(),
        "fg": style.fg.to_hex(),
        "bg": style.bg.to_hex(),
    })
}

/// What a QR code object is made of.
pub struct QrInit<'a> {
    pub base_url: &'a str,
    pub qr_id: &'a str,
    pub link_id: &'a str,
    pub spec: &'a QrSpec,
    pub short_link: &'a str,
    pub marker: &'a str,
    pub is_default: bool,
    pub created_at: &'a str,
    /// The URL the code encodes, when it is not the short link with the code's marker (a
    /// printed code's own address, `{base}/qr/{identifier}`).
    pub encoded_url: Option<&'a str>,
}

/// The API object of a QR code. Its `encodedUrl` is the short link plus the QR code's
/// marker, so a scan is told from a tap and attributed to the code that was scanned.
pub fn qr_object(q: &QrInit) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(q.qr_id));
    m.insert("linkId".into(), json!(q.link_id));
    m.insert("identifier".into(), json!(q.spec.identifier));
    m.insert("name".into(), json!(q.spec.name));
    m.insert(
        "imageUrl".into(),
        json!(format!("{}/qr/{}", q.base_url, q.qr_id)),
    );
    let encoded = match q.encoded_url {
        Some(u) => u.to_string(),
        None => format!("{}?{QR_PARAM}={}", q.short_link, q.marker),
    };
    m.insert("encodedUrl".into(), json!(encoded));
    m.insert("isDefault".into(), json!(q.is_default));
    m.insert("metadata".into(), Value::Object(q.spec.metadata.clone()));
    m.insert("style".into(), style_json(&q.spec.style));
    m.insert("createdAt".into(), json!(q.created_at));
    m
}

/// Names the QR codes of a stats answer's `breakdowns.qrCode` by identifier: an entry whose
/// `value` is a code's id becomes `{"value": identifier, "qrId": id, "clicks"}`. `codes` are
/// the link's `(id, identifier)` pairs; other entries are left as they are.
pub fn name_breakdown(stats: &mut Value, codes: &[(String, String)]) {
    let Some(Value::Array(list)) = stats.pointer_mut("/breakdowns/qrCode") else {
        return;
    };
    for entry in list.iter_mut().filter_map(Value::as_object_mut) {
        let Some(id) = entry
            .get("value")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            continue;
        };
        if let Some((_, identifier)) = codes.iter().find(|(qr_id, _)| *qr_id == id) {
            let clicks = entry.remove("clicks").unwrap_or(Value::Null);
            entry.clear();
            entry.insert("value".into(), json!(identifier));
            entry.insert("qrId".into(), json!(id));
            entry.insert("clicks".into(), clicks);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: Value) -> Vec<(String, &'static str)> {
        validate_create(&v)
            .err()
            .map(|e| e.keys())
            .unwrap_or_default()
    }

    #[test]
    fn the_documented_body_is_accepted() {
        let spec = validate_create(&json!({"identifier": "in-store-display",
            "name": "In-store display", "metadata": {"placement": "endcap"}}))
        .unwrap();
        assert_eq!(spec.identifier, "in-store-display");
        assert_eq!(spec.metadata["placement"], "endcap");
        assert_eq!(spec.style, qr::Style::default());
    }

    #[test]
    fn identifier_name_metadata_and_style_are_checked() {
        assert_eq!(
            keys(json!({})),
            vec![
                ("identifier".into(), "required"),
                ("name".into(), "required")
            ]
        );
        assert_eq!(
            keys(json!({"identifier": "a b", "name": "x"})),
            vec![("identifier".into(), "invalid_format")]
        );
        assert_eq!(
            keys(json!({"identifier": "ab", "name": "x"})),
            vec![("identifier".into(), "invalid_format")]
        );
        assert_eq!(
            keys(json!({"identifier": "abc", "name": "x".repeat(121)})),
            vec![("name".into(), "too_long")]
        );
        assert_eq!(
            keys(json!({"identifier": "abc", "name": "x", "metadata": {"k": "v".repeat(5000)}})),
            vec![("metadata".into(), "too_large")]
        );
        assert_eq!(
            keys(json!({"identifier": "abc", "name": "x", "size": 256})),
            vec![("size".into(), "unknown_field")]
        );
        assert_eq!(
            keys(json!({"identifier": "abc", "name": "x", "style": {"size": 10, "ec": true}})),
            vec![
                ("style.ec".into(), "invalid_type"),
                ("style.size".into(), "invalid_style")
            ]
        );
        let spec = validate_create(
            &json!({"identifier": "abc", "name": "x", "style": {"size": "256", "ec": "h"}}),
        )
        .unwrap();
        assert_eq!(
            (spec.style.size, style_json(&spec.style)["ec"].clone()),
            (256, json!("H"))
        );
    }

    #[test]
    fn stats_name_codes_by_identifier() {
        let mut stats = json!({"breakdowns": {"qrCode": [
            {"value": "qr_B", "clicks": 3}, {"value": "qr_A", "clicks": 1},
            {"value": "other", "clicks": 2}]}});
        name_breakdown(
            &mut stats,
            &[
                ("qr_A".into(), "default".into()),
                ("qr_B".into(), "in-store-display".into()),
            ],
        );
        assert_eq!(
            stats["breakdowns"]["qrCode"],
            json!([{"value": "in-store-display", "qrId": "qr_B", "clicks": 3},
                   {"value": "default", "qrId": "qr_A", "clicks": 1},
                   {"value": "other", "clicks": 2}])
        );
    }

    #[test]
    fn a_style_too_small_for_its_code_names_a_size_that_works() {
        let mut p = Problems::default();
        let style = qr::Style {
            size: 64,
            ec: qr::EcLevel::H,
            ..qr::Style::default()
        };
        let link = probe_short_link("https://in2carts.com", None);
        assert_eq!(link, "https://in2carts.com/xxxxxxx");
        check_fits(
            &format!("{link}?qr=1"),
            &style,
            "defaultQrCode.style",
            &mut p,
        );
        assert_eq!(p.shape.len(), 1);
        assert_eq!(p.shape[0].key, "defaultQrCode.style.size");
        assert!(
            p.shape[0].message.contains("use size"),
            "{}",
            p.shape[0].message
        );
        let mut p = Problems::default();
        check_fits(&format!("{link}?qr=1"), &qr::Style::default(), "", &mut p);
        assert!(p.is_empty());
    }

    #[test]
    fn identifiers() {
        for ok in ["abc", "in-store-display", "A1-b2", &"x".repeat(64)] {
            assert!(is_identifier(ok), "{ok}");
        }
        for bad in ["ab", "a_b", "a b", "ä-b-c", "", &"x".repeat(65)] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }
}
