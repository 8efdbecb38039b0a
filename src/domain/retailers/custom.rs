//! Custom destinations: the validated `customUrl`.

use super::NoDestination;
use crate::domain::link::LinkSpec;

pub(super) fn destination(spec: &LinkSpec) -> Result<String, NoDestination> {
    spec.custom_url.clone().ok_or(NoDestination {
        key: "customUrl",
        message: "'customUrl' is required for custom_url links".into(),
    })
}
