//! Signing in with an API token (kept in an HttpOnly, SameSite=Strict cookie), signing out, and
//! the language switch. `GET /ui/signin?token=…` signs in at once: the link the demo prints.

use axum::Form;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use forewarn_dashboards::{Chrome, Lang, SignInPage, Tr};
use serde::Deserialize;

use super::{LANG_COOKIE, SESSION_COOKIE, lang_of, render};
use crate::AppState;

/// How long a browser keeps the session: a working month; signing out ends it sooner.
const SESSION_MAX_AGE_S: u64 = 30 * 24 * 3600;

/// `?next=…&token=…`.
#[derive(Debug, Deserialize)]
pub(crate) struct SignInQuery {
    next: Option<String>,
    token: Option<String>,
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub(crate) struct SignInForm {
    token: String,
    next: Option<String>,
}

/// Where to go after signing in: a path of this site, else the fleet.
fn next_path(next: Option<&str>) -> String {
    next.filter(|p| p.starts_with('/') && !p.starts_with("//") && !p.contains('\\'))
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

/// Checks the token; signs in (cookie + redirect) or shows the form again with why not.
async fn attempt(s: &AppState, tr: Tr, token: &str, next: &str) -> Response {
    let token = token.trim();
    // Tokens are `fw_` and hex: anything else cannot be one, and must not reach a cookie.
    if token.is_empty() || !token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return form_page(tr, next, tr.t("signin.unknown"), StatusCode::UNAUTHORIZED);
    }
    match s.db.authenticate(token).await {
        Ok(Some(_)) => {
            let cookie = format!(
                "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_MAX_AGE_S}"
            );
            let mut res = Redirect::to(next).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        Ok(None) => form_page(tr, next, tr.t("signin.unknown"), StatusCode::UNAUTHORIZED),
        Err(e) => {
            tracing::error!(error = %e, "sign-in could not check the token");
            form_page(
                tr,
                next,
                tr.t("error.unavailable"),
                StatusCode::SERVICE_UNAVAILABLE,
            )
        }
    }
}

/// `GET /ui/signin`: the form, or signing in at once with `?token=`.
pub(crate) async fn form(
    State(s): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<SignInQuery>, QueryRejection>,
) -> Response {
    let tr = Tr::new(lang_of(&headers));
    let (next, token) = match q {
        Ok(Query(q)) => (next_path(q.next.as_deref()), q.token),
        Err(_) => ("/".into(), None),
    };
    match token {
        Some(token) => attempt(&s, tr, &token, &next).await,
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
    match f {
        Ok(Form(f)) => attempt(&s, tr, &f.token, &next_path(f.next.as_deref())).await,
        Err(_) => form_page(tr, "/", tr.t("signin.unknown"), StatusCode::BAD_REQUEST),
    }
}

/// `POST /ui/signout`: forgets the cookie.
pub(crate) async fn sign_out() -> Response {
    let mut res = Redirect::to("/ui/signin").into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("forewarn_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
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
