//! `GET /api/v1/events`: live updates as server-sent events, for dashboards and integrations.
//!
//! `ticket_opened` (a new ticket, from the pipeline or the API) and `ticket_changed` (a status
//! change) carry the ticket as JSON. A client too slow to keep up gets `lagged` with how many
//! events it missed, and should re-read what it shows.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use forewarn_domain::Metrics;
use forewarn_maintenance::Ticket;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::{Stream, StreamExt};

use crate::AppState;
use crate::error::{ApiError, ReadErrors};

/// Counts an open stream while it lives.
struct Open(Arc<Metrics>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.event_streams.dec();
    }
}

/// `GET /api/v1/events`. At most `[http] max_event_streams` are open at once: each holds a
/// connection and a descriptor for as long as its client stays; past it, 503.
#[utoipa::path(get, path = "/api/v1/events", responses((status = 200, description = "Server-sent events: ticket_opened, ticket_changed, lagged", content_type = "text/event-stream", body = String), (status = 503, description = "Too many event streams open", body = crate::error::Problem), ReadErrors))]
pub async fn stream(State(s): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let open = s.metrics.event_streams.inc() + 1;
    let guard = Open(s.metrics.clone());
    let max = s.access.max_event_streams;
    if max > 0 && open > max as i64 {
        s.metrics.event_streams_refused.inc();
        tracing::warn!(
            max,
            "event stream refused: [http] max_event_streams are open"
        );
        return Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{max} event streams are open, the most this service serves ([http] max_event_streams); try again later"
            ),
        ));
    }
    Ok(events(s, guard))
}

fn events(s: AppState, guard: Open) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
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
    // The guard lives as long as the stream: dropped when the client goes.
    let events = opened.merge(changed).map(move |e| {
        let _alive = &guard;
        e
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
