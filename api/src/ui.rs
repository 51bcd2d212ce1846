//! The dashboards: server-rendered pages for planners and technicians (`/`, `/ui/…`), signed in
//! with an API token kept in an HttpOnly cookie. Pages read what the API reads; actions are
//! plain form posts that go through the same maintenance calls and role checks as the API, then
//! redirect back (post/redirect/get). The pages are not part of the OpenAPI document: they are
//! for browsers, and their contract is what they show.
//!
//! [`session`] signs in and out and switches the language; [`fleet`], [`asset`], [`tickets`],
//! [`people`], [`inventory`] and [`findings`] render the pages; [`actions`] takes the forms; [`format`] holds
//! the formatting the pages share.

mod actions;
mod asset;
mod dispatch_text;
mod findings;
mod fleet;
mod format;
mod inventory;
mod people;
mod session;
mod ticket_page;
mod tickets;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use forewarn_dashboards::{Chrome, ErrorPage, Flash, Lang, Tr, User};
use forewarn_maintenance::Caller;

use crate::{ApiError, AppState};

/// The session cookie: the API token itself, HttpOnly, SameSite=Strict.
pub(crate) const SESSION_COOKIE: &str = "forewarn_session";
/// The language cookie.
pub(crate) const LANG_COOKIE: &str = "forewarn_lang";

/// The dashboard routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(fleet::page))
        .route("/ui/assets/{id}", get(asset::page))
        .route("/ui/tickets", get(tickets::board))
        .route("/ui/tickets/{id}", get(ticket_page::page))
        .route("/ui/tickets/{id}/transition", post(actions::transition))
        .route("/ui/tickets/{id}/assign", post(actions::assign))
        .route("/ui/tickets/{id}/notes", post(actions::note))
        .route("/ui/tickets/{id}/accept", post(actions::accept))
        .route("/ui/tickets/{id}/consume", post(actions::consume))
        .route("/ui/technicians", get(people::list))
        .route("/ui/technicians/{id}", get(people::jobs))
        .route("/ui/me", get(people::me))
        .route("/ui/inventory", get(inventory::page))
        .route("/ui/findings", get(findings::page))
        .route("/ui/findings/{id}/ticket", post(findings::ticket))
        .route("/ui/signin", get(session::form).post(session::sign_in))
        .route("/ui/signout", post(session::sign_out))
        .route("/ui/lang/{lang}", get(session::language))
        .route("/static/{file}", get(static_file))
}

/// `GET /static/{file}`: the embedded stylesheet and script, cacheable for a year (pages link
/// them with their fingerprint).
async fn static_file(Path(file): Path<String>) -> Response {
    match forewarn_dashboards::statics::file(&file) {
        Some((ty, body)) => (
            [
                (header::CONTENT_TYPE, ty),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

/// The value of cookie `name`, if the request has it.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The dashboard session id the browser holds, if any.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, SESSION_COOKIE)
}

/// The language: the cookie's, else the browser's.
pub(crate) fn lang_of(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE)
        .and_then(Lang::parse)
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|h| h.to_str().ok())
                .map(Lang::from_accept_language)
        })
        .unwrap_or_default()
}

/// A signed-in visitor: their token's caller, their language and the page's path.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// Who.
    pub caller: Caller,
    /// Labels.
    pub tr: Tr,
    /// Path and query of this request.
    pub path: String,
    /// `?done=<key>` after an action: the message to show once.
    pub done: Option<String>,
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let tr = Tr::new(lang_of(&parts.headers));
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into());
        let caller = match session_cookie(&parts.headers) {
            Some(id) => {
                s.db.session(id)
                    .await
                    .map_err(|e| error_page(tr, None, &path, ApiError::from(e)))?
            }
            None => None,
        };
        let Some(caller) = caller else {
            // Forms are posted to actions; after signing in, go back to the page instead.
            let next = if parts.method == axum::http::Method::GET {
                path
            } else {
                "/".into()
            };
            let to = format!("/ui/signin?next={}", forewarn_dashboards::encode(&next));
            return Err(Redirect::to(&to).into_response());
        };
        let done = parts.uri.query().and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("done="))
                .filter(|k| k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                .map(str::to_owned)
        });
        Ok(Session {
            caller,
            tr,
            path,
            done,
        })
    }
}

impl Session {
    /// The frame of a page this session sees.
    pub fn chrome(&self, active: &'static str, title: &str) -> Chrome {
        let mut c = Chrome::new(self.tr, Some(self.user()), active, title, &self.path);
        c.flash = self.done.as_ref().map(|k| Flash {
            ok: true,
            text: self.tr.t(&format!("done.{k}")).to_owned(),
        });
        c
    }

    fn user(&self) -> User {
        User {
            name: self.caller.name.clone(),
            role: self.caller.role.as_str().to_owned(),
        }
    }

    /// The page, or the error as a page.
    pub fn respond(&self, page: Result<impl Template, ApiError>) -> Response {
        match page {
            Ok(p) => render(&p),
            Err(e) => self.error(e),
        }
    }

    /// An error as a page this session sees.
    pub fn error(&self, e: ApiError) -> Response {
        error_page(self.tr, Some(self.user()), &self.path, e)
    }
}

/// Renders a page; a template that fails to render is a bug, reported as a 500 page.
pub(crate) fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page did not render");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page did not render").into_response()
        }
    }
}

/// An error as a page: its status, a translated heading and the message.
pub(crate) fn error_page(tr: Tr, user: Option<User>, path: &str, e: ApiError) -> Response {
    let heading = match e.status.as_u16() {
        400 | 413 | 422 => "error.bad_request",
        401 => "error.unauthorized",
        403 => "error.forbidden",
        404 => "error.not_found",
        409 => "error.conflict",
        _ => "error.unavailable",
    };
    let page = ErrorPage {
        chrome: Chrome::new(tr, user, "", tr.t(heading), path),
        heading: tr.t(heading).to_owned(),
        message: e.message.clone(),
        back: "/".into(),
    };
    let mut res = render(&page);
    *res.status_mut() = e.status;
    res
}
