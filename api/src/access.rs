//! Who may reach what, before any handler runs: the Host header checked against DNS rebinding,
//! a token (or a dashboard session) on every read of `/api/v1` and on `/metrics`, and the
//! security headers on every response.
//!
//! DNS rebinding always carries the attacker's own host name in `Host` (the browser believes it
//! talks to that name), so a request naming an IP address or `localhost` is never one: those
//! are accepted, and any other name must be listed in `[http] allowed_hosts`.

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use forewarn_domain::AccessEvent;
use forewarn_maintenance::Caller;

use crate::auth::{Authenticated, bearer};
use crate::{ApiError, AppState};

/// How open the service is: the `[http]` settings that decide who may read.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Reads of `/api/v1` without a token (a lab setting; off by default, logged at start).
    pub anonymous_read: bool,
    /// `/metrics` without a token (for a Prometheus that cannot send one).
    pub metrics_public: bool,
    /// Host names (besides IP addresses and `localhost`) the service answers to; `*` for any.
    pub allowed_hosts: Vec<String>,
    /// Served over HTTPS: cookies get `Secure`.
    pub https: bool,
    /// Webhook receivers on loopback or private addresses may be subscribed.
    pub allow_private_webhooks: bool,
    /// Event streams open at once at most (0: no limit).
    pub max_event_streams: usize,
}

impl Access {
    /// Whether a request naming `host` (the Host header, port included or not) is answered.
    pub fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host);
        // No browser omits Host: a request without one is not a rebinding attack.
        if name.is_empty()
            || name.eq_ignore_ascii_case("localhost")
            || name.parse::<IpAddr>().is_ok()
        {
            return true;
        }
        self.allowed_hosts
            .iter()
            .any(|h| h == "*" || h.eq_ignore_ascii_case(name))
    }

    /// Whether `path` needs a caller: every `/api/v1` route but the OpenAPI document, and
    /// `/metrics` unless public.
    fn needs_caller(&self, path: &str) -> bool {
        if path == "/metrics" {
            return !self.metrics_public;
        }
        (path == "/api/v1" || path.starts_with("/api/v1/"))
            && path != "/api/v1/openapi.json"
            && !self.anonymous_read
    }
}

/// The host part of a Host header: without the port, IPv6 brackets removed.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

/// Liveness and readiness are asked by orchestrators by address; they reveal nothing.
fn is_probe(path: &str) -> bool {
    path == "/healthz" || path == "/readyz"
}

/// The middleware: Host, then caller, then the handler; security headers on whatever answers.
pub(crate) async fn guard(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().host())
        .unwrap_or("")
        .to_owned();
    let mut res = if !is_probe(&path) && !s.access.host_allowed(&host) {
        tracing::warn!(host = %host, path = %path, "request refused: host not allowed");
        s.metrics.access(AccessEvent::RefusedHost);
        ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "this service does not answer to the host name {:?}; [http] allowed_hosts lists the names it does",
                host_name(&host)
            ),
        )
        .into_response()
    } else if s.access.needs_caller(&path) {
        match caller(&s, req.headers()).await {
            Ok(Some((c, from_bearer))) => {
                if from_bearer {
                    req.extensions_mut().insert(Authenticated(c));
                }
                next.run(req).await
            }
            Ok(None) => {
                s.metrics.access(AccessEvent::RefusedRead);
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "reading this needs a token: Authorization: Bearer <token> (any role; `forewarn token create --role viewer` makes one)",
                )
                .into_response()
            }
            Err(e) => e.into_response(),
        }
    } else {
        next.run(req).await
    };
    if res.status() == StatusCode::FORBIDDEN {
        s.metrics.access(AccessEvent::RefusedWrite);
    }
    security_headers(res.headers_mut());
    res
}

/// The caller by bearer token (true), else by dashboard session cookie (false: the dashboards'
/// live updates read `/api/v1/events`); a presented but unknown token is an error, not
/// anonymity.
async fn caller(s: &AppState, headers: &HeaderMap) -> Result<Option<(Caller, bool)>, ApiError> {
    if headers.contains_key(header::AUTHORIZATION) {
        let token = bearer(headers)?;
        return match s.db.authenticate(token).await? {
            Some(c) => Ok(Some((c, true))),
            None => Err(crate::auth::unknown_token(s)),
        };
    }
    match crate::ui::session_cookie(headers) {
        Some(id) => Ok(s.db.session(id).await?.map(|c| (c, false))),
        None => Ok(None),
    }
}

/// Headers that keep a browser from being turned against the service: no inline or foreign
/// script, never framed, no content sniffing, no referrer leaving the site.
pub(crate) fn security_headers(h: &mut HeaderMap) {
    let set = |h: &mut HeaderMap, name: &'static str, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(
        h,
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    set(h, "x-content-type-options", "nosniff");
    set(h, "x-frame-options", "DENY");
    set(h, "referrer-policy", "same-origin");
    set(h, "cross-origin-opener-policy", "same-origin");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_localhost_always_listed_names_only() {
        let a = Access {
            allowed_hosts: vec!["forewarn.plant.example".into()],
            ..Access::default()
        };
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST",
            "[::1]:8080",
            "10.1.2.3",
            "forewarn.plant.example:443",
            "Forewarn.Plant.Example",
        ] {
            assert!(a.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "127.0.0.1.evil.example",
        ] {
            assert!(!a.host_allowed(bad), "{bad}");
        }
        let any = Access {
            allowed_hosts: vec!["*".into()],
            ..Access::default()
        };
        assert!(any.host_allowed("evil.example"));
    }

    #[test]
    fn every_api_read_needs_a_caller_but_the_document_and_probes() {
        let a = Access::default();
        assert!(a.needs_caller("/api/v1/tickets"));
        assert!(a.needs_caller("/api/v1/events"));
        assert!(a.needs_caller("/metrics"));
        assert!(!a.needs_caller("/api/v1/openapi.json"));
        assert!(!a.needs_caller("/healthz"));
        assert!(
            !a.needs_caller("/ui/tickets"),
            "pages sign in by themselves"
        );
        let lab = Access {
            anonymous_read: true,
            metrics_public: true,
            ..Access::default()
        };
        assert!(!lab.needs_caller("/api/v1/tickets"));
        assert!(!lab.needs_caller("/metrics"));
    }
}
