//! What planners and technicians do from the pages: form posts that make the same maintenance
//! calls with the same role checks as the API, then redirect back with `?done=<what>`. A refused
//! action is an error page with the API's status and message.
//!
//! The session cookie is `SameSite=Strict`, so another site cannot post with it; a request
//! whose `Origin` names another host is refused as well.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use forewarn_maintenance::parts::Actor;
use forewarn_maintenance::{Caller, Move, NoteKind, Resolution, Role, TicketStatus};
use serde::Deserialize;

use super::Session;
use crate::auth::Authenticated;
use crate::dispatch::assign_error;
use crate::notes::note_error;
use crate::tickets::check_mode;
use crate::{ApiError, AppState};

/// A status change.
#[derive(Debug, Deserialize)]
pub(crate) struct TransitionForm {
    to: String,
    note: Option<String>,
    /// `confirmed`, `no_fault_found` or `other_mode:<mode>`.
    resolution: Option<String>,
    back: Option<String>,
}

/// An assignment.
#[derive(Debug, Deserialize)]
pub(crate) struct AssignForm {
    technician: String,
    note: Option<String>,
    back: Option<String>,
}

/// A note.
#[derive(Debug, Deserialize)]
pub(crate) struct NoteForm {
    text: String,
    back: Option<String>,
}

/// Accepting a job.
#[derive(Debug, Deserialize)]
pub(crate) struct AcceptForm {
    back: Option<String>,
}

/// Parts used.
#[derive(Debug, Deserialize)]
pub(crate) struct ConsumeForm {
    part: String,
    quantity: String,
    back: Option<String>,
}

/// A posted form: where to go back to after the action.
trait Posted {
    /// The page the form was on, if it says.
    fn back(&self) -> Option<&str>;
}

macro_rules! posted {
    ($($t:ty),*) => {$(
        impl Posted for $t {
            fn back(&self) -> Option<&str> {
                self.back.as_deref()
            }
        }
    )*};
}
posted!(
    TransitionForm,
    AssignForm,
    NoteForm,
    AcceptForm,
    ConsumeForm
);

/// Runs an action for the session — the form checked, the ticket number parsed, the caller
/// handed over — then redirects back with `?done=<done>`, or shows why not.
async fn act<T, F, Fut>(
    session: &Session,
    headers: &HeaderMap,
    id: &str,
    form: Result<Form<T>, FormRejection>,
    done: &str,
    f: F,
) -> Response
where
    T: Posted,
    F: FnOnce(i64, T, Caller) -> Fut,
    Fut: std::future::Future<Output = Result<(), ApiError>>,
{
    if let Err(e) = same_origin(headers) {
        return session.error(e);
    }
    let form = match form {
        Ok(Form(f)) => f,
        Err(e) => {
            return session.error(ApiError::bad_request(crate::error_text::plain(
                &e.body_text(),
            )));
        }
    };
    let Ok(id) = id.parse::<i64>() else {
        return session.error(ApiError::bad_request(format!(
            "{id:?} is not a ticket number"
        )));
    };
    let back = form
        .back()
        .filter(|b| local_path(b))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("/ui/tickets/{id}"));
    match f(id, form, session.caller.clone()).await {
        Ok(()) => {
            let sep = if back.contains('?') { '&' } else { '?' };
            Redirect::to(&format!("{back}{sep}done={done}")).into_response()
        }
        Err(e) => session.error(e),
    }
}

/// Only paths of this site: no scheme, no host, no `//`.
fn local_path(p: &str) -> bool {
    p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') && !p.contains("done=")
}

/// Refuses a post whose `Origin` is another host than the one asked.
pub(crate) fn same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split("://").nth(1).unwrap_or("");
    if origin != "null" && origin_host == host {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "this form was posted from another site",
        ))
    }
}

fn note_text(n: &Option<String>) -> Result<Option<&str>, ApiError> {
    let n = n.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if n.is_some_and(|n| n.chars().count() > 2000) {
        return Err(ApiError::bad_request("a note is at most 2000 characters"));
    }
    Ok(n)
}

/// `POST /ui/tickets/{id}/transition`.
pub(crate) async fn transition(
    State(s): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Path(id): Path<String>,
    f: Result<Form<TransitionForm>, FormRejection>,
) -> Response {
    act(
        &session,
        &headers,
        &id,
        f,
        "moved",
        |id, f, me| async move {
            let caller = Authenticated(me);
            let caller = caller.at_least(Role::Technician, "moving tickets")?;
            let to = TicketStatus::parse(&f.to)
                .ok_or_else(|| ApiError::bad_request(format!("no status {:?}", f.to)))?;
            let resolution = match f.resolution.as_deref().filter(|r| !r.is_empty()) {
                None => None,
                Some("confirmed") => Some(Resolution::Confirmed),
                Some("no_fault_found") => Some(Resolution::NoFaultFound),
                Some(r) => match r.strip_prefix("other_mode:") {
                    Some(mode) if !mode.is_empty() => {
                        check_mode(&s, id, mode).await?;
                        Some(Resolution::OtherMode {
                            failure_mode: mode.to_owned(),
                        })
                    }
                    _ => return Err(ApiError::bad_request(format!("no resolution {r:?}"))),
                },
            };
            let m = Move {
                actor: &caller.name,
                role: caller.role,
                to,
                note: note_text(&f.note)?,
                resolution: resolution.as_ref(),
                device_ms: None,
            };
            crate::moves::make(&s, id, m, None).await?;
            Ok(())
        },
    )
    .await
}

/// `POST /ui/tickets/{id}/assign`.
pub(crate) async fn assign(
    State(s): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Path(id): Path<String>,
    f: Result<Form<AssignForm>, FormRejection>,
) -> Response {
    act(
        &session,
        &headers,
        &id,
        f,
        "assigned",
        |id, f, me| async move {
            let caller = Authenticated(me);
            let caller = caller.at_least(Role::Planner, "assigning tickets")?;
            let tech = f.technician.trim();
            if tech.is_empty() {
                return Err(ApiError::bad_request("choose a technician"));
            }
            let t =
                s.db.assign(id, &caller.name, Some(tech), note_text(&f.note)?)
                    .await
                    .map_err(assign_error)?;
            let _ = s.changed.send(t);
            Ok(())
        },
    )
    .await
}

async fn add_note(
    s: &AppState,
    caller: &Caller,
    id: i64,
    kind: NoteKind,
    text: &str,
) -> Result<(), ApiError> {
    s.db.add_note(id, caller, kind, text)
        .await
        .map_err(note_error)?;
    if let Some(t) = s.db.ticket(id).await? {
        let _ = s.changed.send(t);
    }
    Ok(())
}

/// `POST /ui/tickets/{id}/notes`.
pub(crate) async fn note(
    State(s): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Path(id): Path<String>,
    f: Result<Form<NoteForm>, FormRejection>,
) -> Response {
    act(
        &session,
        &headers,
        &id,
        f,
        "noted",
        |id, f: NoteForm, me| async move { add_note(&s, &me, id, NoteKind::Note, &f.text).await },
    )
    .await
}

/// `POST /ui/tickets/{id}/accept`.
pub(crate) async fn accept(
    State(s): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Path(id): Path<String>,
    f: Result<Form<AcceptForm>, FormRejection>,
) -> Response {
    act(
        &session,
        &headers,
        &id,
        f,
        "accepted",
        |id, _: AcceptForm, me| async move { add_note(&s, &me, id, NoteKind::Accepted, "").await },
    )
    .await
}

/// `POST /ui/tickets/{id}/consume`: the technician used parts; what was only reserved is
/// issued first (they took it from the shelf).
pub(crate) async fn consume(
    State(s): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Path(id): Path<String>,
    f: Result<Form<ConsumeForm>, FormRejection>,
) -> Response {
    act(
        &session,
        &headers,
        &id,
        f,
        "consumed",
        |id, f, me| async move {
            let caller = Authenticated(me);
            let caller = caller.at_least(Role::Technician, "consuming parts")?;
            crate::auth::own_ticket(&s, caller, id).await?;
            let quantity: i64 = f
                .quantity
                .trim()
                .parse()
                .ok()
                .filter(|q| (1..=1000).contains(q))
                .ok_or_else(|| {
                    ApiError::bad_request("the quantity is a whole number from 1 to 1000")
                })?;
            let part = f.part.trim();
            let who = Actor {
                name: &caller.name,
                note: None,
            };
            let held =
                s.db.ticket_parts(id)
                    .await?
                    .ok_or_else(|| ApiError::not_found(format!("no ticket {id}")))?;
            let issued: i64 = held
                .reservations
                .iter()
                .filter(|r| r.part_number == part)
                .map(super::people::in_hand)
                .sum();
            if issued < quantity {
                s.db.issue(who, id, Some(part), Some(quantity - issued))
                    .await?;
            }
            s.db.consume(who, id, part, quantity).await?;
            if let Some(t) = s.db.ticket(id).await? {
                let _ = s.changed.send(t);
            }
            Ok(())
        },
    )
    .await
}
