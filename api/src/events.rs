//! `GET /api/v1/events`: live updates as server-sent events, for dashboards and integrations.
//!
//! `ticket_opened` (a new ticket, from the pipeline or the API) and `ticket_changed` (a status
//! change) carry the ticket as JSON. A client too slow to keep up gets `lagged` with how many
//! events it missed, and should re-read what it shows.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use forewarn_maintenance::Ticket;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::{Stream, StreamExt};

use crate::AppState;
use crate::error::ReadErrors;

/// `GET /api/v1/events`.
#[utoipa::path(get, path = "/api/v1/events", responses((status = 200, description = "Server-sent events: ticket_opened, ticket_changed, lagged", content_type = "text/event-stream", body = String), ReadErrors))]
pub async fn stream(
    State(s): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let as_event = |name: &'static str| {
        move |item: Result<Ticket, BroadcastStreamRecvError>| {
            Ok(match item {
                Ok(t) => Event::default()
                    .event(name)
                    .json_data(&t)
                    .unwrap_or_else(|_| Event::default().event(name)),
                Err(BroadcastStreamRecvError::Lagged(n)) => {
                    Event::default().event("lagged").data(n.to_string())
                }
            })
        }
    };
    let opened = BroadcastStream::new(s.opened.subscribe()).map(as_event("ticket_opened"));
    let changed = BroadcastStream::new(s.changed.subscribe()).map(as_event("ticket_changed"));
    Sse::new(opened.merge(changed)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
