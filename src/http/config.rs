//! The worker's settings, read once per isolate (vars and secrets are fixed for its life) and
//! checked by `domain::config`. A worker missing a required secret, or with an unusable
//! `PUBLIC_BASE_URL`, answers 503 on every path until it is fixed, rather than serve with a
//! weaker key: `misconfigured` in the error envelope on the JSON surfaces (`/v1`, `/qr`,
//! `/_admin`), a plain page for shoppers. The problem is logged once per isolate.
//!
//! The destination settings (`CUSTOM_DESTINATION_HOSTS`, `SERVICE_HOSTS`) only concern links
//! with a `customUrl` or `fallbackUrl`: while one is unreadable, those links are refused (503
//! `misconfigured`, naming the setting), never let through unchecked.

use super::errors::ApiError;
use super::Ctx;
use crate::domain::config::{self, Settings};
use crate::domain::safety::{self, parse_allow_lists, parse_service_hosts, AllowLists, OwnHosts};
use std::cell::OnceCell;
use worker::{web_sys, Env, Request};

/// A var's or secret's value (both are strings to the worker); `None` when unset.
fn read(env: &Env, name: &str) -> Option<String> {
    env.secret(name).ok().map(|v| v.to_string())
}

/// What the destination checks read from the settings.
struct Destinations {
    /// `CUSTOM_DESTINATION_HOSTS`: project id → allowed hosts.
    allow: AllowLists,
    /// `SERVICE_HOSTS`, with nothing else yet (the request's and the base URL's hosts are
    /// added per request).
    service: OwnHosts,
}

thread_local! {
    static SETTINGS: OnceCell<Result<Settings, String>> = const { OnceCell::new() };
    static DESTINATIONS: OnceCell<Result<Destinations, String>> = const { OnceCell::new() };
    static ASSOCIATE_TAGS: OnceCell<Result<Vec<(String, String)>, String>> =
        const { OnceCell::new() };
}

/// The Amazon Associates tag of a project (`AMAZON_ASSOCIATE_TAGS`), for its Amazon carts
/// without a tag of their own. While the setting cannot be read, those carts are refused (503
/// `misconfigured`, naming it), never made without the tag.
pub fn associate_tag(cx: &Ctx, project_id: &str) -> Result<Option<String>, ApiError> {
    ASSOCIATE_TAGS.with(|cell| {
        let tags = cell.get_or_init(|| {
            let parsed = config::parse_associate_tags(
                &read(&cx.env, "AMAZON_ASSOCIATE_TAGS").unwrap_or_default(),
            );
            if let Err(problem) = &parsed {
                worker::console_error!("misconfigured: {problem}; Amazon carts are refused");
            }
            parsed
        });
        match tags {
            Ok(tags) => Ok(tags
                .iter()
                .find(|(p, _)| p == project_id)
                .map(|(_, t)| t.clone())),
            Err(problem) => Err(misconfigured_error(&format!(
                "{problem}. Amazon add_to_cart links without options.amazon.associateTag are \
                 refused until it is fixed"
            ))),
        }
    })
}

fn with_settings<R>(env: &Env, f: impl FnOnce(&Result<Settings, String>) -> R) -> R {
    SETTINGS.with(|cell| {
        f(cell.get_or_init(|| {
            config::load(|name| read(env, name)).map_err(|problems| {
                let problem = problems.join("; ");
                worker::console_error!("misconfigured: {problem}");
                problem
            })
        }))
    })
}

/// Whether the worker must refuse to serve (cheap after the first call of an isolate).
pub fn misconfigured(env: &Env) -> bool {
    with_settings(env, Result::is_err)
}

/// The `misconfigured` error: 503, naming the settings (never their values).
pub fn misconfigured_error(problem: &str) -> ApiError {
    ApiError::new(
        503,
        "misconfigured",
        format!(
            "This service is misconfigured: {problem}. Its operator must fix its settings \
(see README, Configuration)"
        ),
    )
}

fn settings_error(env: &Env) -> ApiError {
    with_settings(env, |s| match s {
        Ok(_) => ApiError::internal(),
        Err(problem) => misconfigured_error(problem),
    })
}

/// Key of the short ids' check character (`SHORT_ID_SECRET`).
pub fn short_id_key(env: &Env) -> Result<Vec<u8>, ApiError> {
    with_settings(env, |s| s.as_ref().ok().map(|s| s.short_id_key.clone()))
        .ok_or_else(|| settings_error(env))
}

/// Key of the daily visitor hash (`VISITOR_HASH_SECRET`).
pub fn visitor_hash_key(env: &Env) -> Result<Vec<u8>, ApiError> {
    with_settings(env, |s| s.as_ref().ok().map(|s| s.visitor_hash_key.clone()))
        .ok_or_else(|| settings_error(env))
}

/// `PUBLIC_BASE_URL` as an origin, when set (and usable).
pub fn public_base_url(env: &Env) -> Option<String> {
    with_settings(env, |s| {
        s.as_ref().ok().and_then(|s| s.public_base_url.clone())
    })
}

/// The answer of a misconfigured worker to any request: `None` when it is not misconfigured.
pub fn refusal(env: &Env, path: &str, req: &web_sys::Request) -> Option<web_sys::Response> {
    if !misconfigured(env) {
        return None;
    }
    let json_surface = path == "/v1"
        || path == "/_admin"
        || ["/v1/", "/qr/", "/_admin/"]
            .iter()
            .any(|p| path.starts_with(p));
    let resp = if json_surface {
        let req = Request::from(<web_sys::Request as Clone>::clone(req));
        let id = match super::correlation_id(&req) {
            Ok(id) | Err((id, _)) => id,
        };
        super::with_correlation(settings_error(env).into_response(&id), &id)
    } else {
        super::shopper_page(
            503,
            "Temporarily unavailable",
            "This link cannot be opened right now. Please try again later.",
        )
    };
    Some(resp.into())
}

fn with_destinations<R>(env: &Env, f: impl FnOnce(&Result<Destinations, String>) -> R) -> R {
    DESTINATIONS.with(|cell| {
        f(cell.get_or_init(|| {
            let allow =
                parse_allow_lists(&read(env, "CUSTOM_DESTINATION_HOSTS").unwrap_or_default());
            let service = parse_service_hosts(&read(env, "SERVICE_HOSTS").unwrap_or_default());
            let loaded = match (allow, service) {
                (Ok(allow), Ok(hosts)) => {
                    let mut service = OwnHosts::default();
                    for h in &hosts {
                        service.add(h);
                    }
                    Ok(Destinations { allow, service })
                }
                (a, s) => Err([a.err(), s.err()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join("; ")),
            };
            if let Err(problem) = &loaded {
                worker::console_error!("misconfigured: {problem}; custom destinations are refused");
            }
            loaded
        }))
    })
}

/// Redirect safety of `customUrl` / `fallbackUrl` (`(key, url)`, not empty): never this
/// service (every host it answers on), and within the project's allow-list when it has one.
pub fn check_destinations(
    cx: &Ctx,
    project_id: &str,
    urls: &[(&str, &str)],
) -> Result<(), ApiError> {
    with_destinations(&cx.env, |d| {
        let d = d.as_ref().map_err(|problem| {
            misconfigured_error(&format!(
                "{problem}. Links with a customUrl or fallbackUrl are refused until it is fixed"
            ))
        })?;
        let mut own = d.service.clone();
        own.add_url(&cx.base_url);
        own.add_url(&cx.request_origin);
        let allowed = d
            .allow
            .iter()
            .find(|(p, _)| p == project_id)
            .map(|(_, hosts)| hosts.as_slice());
        let problems = safety::check_destinations(urls, &own, allowed);
        if problems.is_empty() {
            Ok(())
        } else {
            // Well-formed URLs that point where a link may not go: a business rule.
            Err(ApiError::unprocessable(problems))
        }
    })
}
