//! Where-to-buy links in the API: each offer is authorised, checked and resolved exactly as a
//! link of its retailer would be (`links::create_from_spec`), its problems at `offers[i].…`.

use super::auth::Caller;
use super::errors::ApiError;
use super::links::{check_destinations, resolve_destination};
use super::Ctx;
use crate::domain::error::FieldError;
use crate::domain::link::LinkSpec;
use crate::domain::retailers::append_params;
use crate::domain::where_to_buy::{offer_params, page_record, PageRecord};
use crate::store::Store;
use serde_json::{json, Map, Value};

/// Every offer's retailer scope (the link's own, `retailers:multi`, is checked by the caller).
pub fn require_scopes(caller: &Caller, spec: &LinkSpec) -> Result<(), ApiError> {
    for o in &spec.offers {
        caller.require_scope(o.spec.retailer.scope())?;
    }
    Ok(())
}

/// The redirect safety of every offer's `customUrl` / `fallbackUrl`, at the offer's keys.
pub fn check_offer_destinations(cx: &Ctx, spec: &LinkSpec) -> Result<(), ApiError> {
    let mut problems: Vec<FieldError> = Vec::new();
    for (i, o) in spec.offers.iter().enumerate() {
        match check_destinations(cx, &o.spec) {
            Ok(()) => {}
            Err(mut e) if e.status == 422 => {
                for d in &mut e.details {
                    d.key = format!("offers[{i}].{}", d.key);
                }
                problems.append(&mut e.details);
            }
            Err(e) => return Err(e),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::unprocessable(problems))
    }
}

/// The offers' destinations, tracking included (the link's parameters, then the offer's).
pub struct Resolved {
    pub targets: Vec<String>,
    pub warnings: Vec<Value>,
}

/// Resolves every offer of a where-to-buy link (nothing for another link).
pub async fn resolve(cx: &Ctx, store: &Store, spec: &LinkSpec) -> Result<Resolved, ApiError> {
    let mut out = Resolved {
        targets: Vec::with_capacity(spec.offers.len()),
        warnings: Vec::new(),
    };
    for (i, o) in spec.offers.iter().enumerate() {
        let (dest, warnings) = match resolve_destination(cx, store, &o.spec).await {
            Ok(r) => r,
            Err(mut e) => {
                for d in &mut e.details {
                    d.key = format!("offers[{i}].{}", d.key);
                }
                return Err(e);
            }
        };
        for mut w in warnings {
            if let Some(m) = w.get("message").and_then(Value::as_str) {
                w["message"] = json!(format!("offers[{i}]: {m}"));
            }
            out.warnings.push(w);
        }
        let params = offer_params(&spec.tracking, &o.spec.tracking);
        out.targets.push(append_params(&dest, &params));
    }
    Ok(out)
}

impl Resolved {
    /// The page of the link's redirect record.
    pub fn record(&self, spec: &LinkSpec) -> Option<Box<PageRecord>> {
        let page = spec.page.as_ref()?;
        Some(Box::new(page_record(page, &spec.offers, &self.targets)))
    }

    /// Each offer of the representation (`data.offers`) with its destination, `targetUrl`.
    pub fn annotate(&self, data: &mut Map<String, Value>) {
        if let Some(Value::Array(offers)) = data.get_mut("offers") {
            for (o, t) in offers.iter_mut().zip(&self.targets) {
                if let Value::Object(o) = o {
                    o.insert("targetUrl".into(), json!(t));
                }
            }
        }
    }
}

/// A stored link's offers as they were written (without what the service added), for a
/// change to validate them again.
pub fn as_written(data: &mut Map<String, Value>) {
    if let Some(Value::Array(offers)) = data.get_mut("offers") {
        for o in offers.iter_mut().filter_map(Value::as_object_mut) {
            o.remove("targetUrl");
        }
    }
}

/// The representation of a where-to-buy link's offers: each with its status now.
pub fn offer_statuses(data: &mut Map<String, Value>, now: i64) {
    if let Some(Value::Array(offers)) = data.get_mut("offers") {
        for o in offers.iter_mut().filter_map(Value::as_object_mut) {
            let status = crate::domain::where_to_buy::stored_offer_status(o, now);
            o.insert("status".into(), json!(status.as_str()));
        }
    }
}
