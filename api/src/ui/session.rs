//! Signing in, signing out and the language switch. Signing in posts an API token to a form
//! and starts a server-side session: the HttpOnly, SameSite=Strict cookie holds a random session
//! id, never the token, and signing out ends the session in the database. A one-time link
//! (`/ui/signin?once=…`, printed by the demo) starts a session once; a token in a URL does not.

use axum::Form;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use forewarn_dashboards::{Chrome, Lang, SignInPage, Tr};
use forewarn_domain::AccessEvent;
use forewarn_maintenance::Caller;
use forewarn_maintenance::sessions::SESSION_MAX_MS;
use serde::Deserialize;

use super::{LANG_COOKIE, SESSION_COOKIE, cookie, lang_of, render};
use crate::AppState;

/// `?next=…&once=…`.
#[derive(Debug, Deserialize)]
pub(crate) struct SignInQuery {
    next: Option<String>,
    once: Option<String>,
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub(crate) struct SignInForm {
    token: String,
    next: Option<String>,
}

/// Where to go after signing in: a path of this site, else the fleet. Browsers drop tabs and
/// newlines from URLs and read `\` as `/`, so `/%09/evil.example` would leave the site: any
/// control character, whitespace or backslash, or a second leading slash, is refused.
fn next_path(next: Option<&str>) -> String {
    next.filter(|p| {
        p.starts_with('/')
            && !p[1..].starts_with('/')
            && !p
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    })
    .unwrap_or("/")
    .to_owned()
}

fn form_page(tr: Tr, next: &str, error: &str, status: StatusCode) -> Response {
    let page = SignInPage {
        chrome: Chrome::new(tr, None, "", tr.t("signin.title"), "/ui/signin"),
        next: next.to_owned(),
        error: error.to_owned(),
    };
    let mut res = render(&page);
    *res.status_mut() = status;
    res
}

/// The cookie carrying session `id` (`Secure` over HTTPS); an empty id clears it.
fn session_cookie(s: &AppState, id: &str) -> Option<HeaderValue> {
    let max_age = if id.is_empty() {
        0
    } else {
        SESSION_MAX_MS / 1000
    };
    let secure = if s.access.https { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .ok()
}

/// The outcome of a sign-in attempt: a session (cookie + redirect) or the form with why not.
fn signed_in(
    s: &AppState,
    tr: Tr,
    next: &str,
    started: Result<Option<(String, Caller)>, forewarn_maintenance::MaintenanceError>,
    how: &str,
) -> Response {
    match started {
        Ok(Some((id, who))) => {
            s.metrics.access(AccessEvent::SignIn);
            tracing::info!(caller = %who.name, role = who.role.as_str(), how, "signed in");
            let mut res = Redirect::to(next).into_response();
            if let Some(v) = session_cookie(s, &id) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        Ok(None) => {
            s.metrics.access(AccessEvent::SignInFailed);
            tracing::warn!(how, "sign-in refused: unknown, revoked or expired");
            form_page(tr, next, tr.t("signin.unknown"), StatusCode::UNAUTHORIZED)
        }
        Err(e) => {
            tracing::error!(error = %e, "sign-in could not reach the database");
            let unavailable = tr.t("error.unavailable");
            form_page(tr, next, unavailable, StatusCode::SERVICE_UNAVAILABLE)
        }
    }
}

/// Tokens and codes are `fw_` and hex: anything else cannot be one.
fn well_formed(secret: &str) -> bool {
    !secret.is_empty()
        && secret
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `GET /ui/signin`: the form, or a one-time link's session.
pub(crate) async fn form(
    State(s): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<SignInQuery>, QueryRejection>,
) -> Response {
    let tr = Tr::new(lang_of(&headers));
    let (next, once) = match q {
        Ok(Query(q)) => (next_path(q.next.as_deref()), q.once),
        Err(_) => ("/".into(), None),
    };
    match once.map(|c| c.trim().to_owned()) {
        Some(code) if well_formed(&code) => {
            let started = s.db.use_signin_link(&code).await;
            signed_in(&s, tr, &next, started, "one-time link")
        }
        Some(_) => signed_in(&s, tr, &next, Ok(None), "one-time link"),
        None => form_page(tr, &next, "", StatusCode::OK),
    }
}

/// `POST /ui/signin`.
pub(crate) async fn sign_in(
    State(s): State<AppState>,
    headers: HeaderMap,
    f: Result<Form<SignInForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let tr = Tr::new(lang_of(&headers));
    let Ok(Form(f)) = f else {
        return form_page(tr, "/", tr.t("signin.unknown"), StatusCode::BAD_REQUEST);
    };
    let next = next_path(f.next.as_deref());
    let token = f.token.trim();
    if !well_formed(token) {
        return signed_in(&s, tr, &next, Ok(None), "form");
    }
    let started = s.db.start_session(token).await;
    signed_in(&s, tr, &next, started, "form")
}

/// `POST /ui/signout`: ends the session (the cookie is worthless from now on) and forgets it.
pub(crate) async fn sign_out(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        match s.db.end_session(id).await {
            Ok(()) => {
                s.metrics.access(AccessEvent::SignOut);
                tracing::info!("signed out");
            }
            Err(e) => tracing::error!(error = %e, "sign-out could not end the session"),
        }
    }
    let mut res = Redirect::to("/ui/signin").into_response();
    if let Some(v) = session_cookie(&s, "") {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// `?back=…`.
#[derive(Debug, Deserialize)]
pub(crate) struct LangQuery {
    back: Option<String>,
}

/// `GET /ui/lang/{en|zh}?back=…`: keeps the language in a cookie for a year and goes back.
pub(crate) async fn language(
    Path(lang): Path<String>,
    q: Result<Query<LangQuery>, QueryRejection>,
) -> Response {
    let Some(lang) = Lang::parse(&lang) else {
        return (StatusCode::NOT_FOUND, "languages: en, zh").into_response();
    };
    let back = next_path(q.as_ref().ok().and_then(|Query(q)| q.back.as_deref()));
    let mut res = Redirect::to(&back).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
        lang.code()
    )) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}
