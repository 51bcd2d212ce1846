//! `/api/v1/webhooks` (admin): subscriptions, their delivery logs, pausing, redelivery; and
//! `/api/v1/outbox`, the events themselves in order.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use forewarn_maintenance::webhooks::{Delivery, Webhook};
use forewarn_maintenance::{OutboxEvent, Role};
use serde::{Deserialize, Serialize};

use crate::auth::Authenticated;
use crate::error::{ReadErrors, WriteErrors};
use crate::stock::{body, limit, query};
use crate::{ApiError, AppState};

fn hook_id(id: Result<Path<i64>, PathRejection>) -> Result<i64, ApiError> {
    id.map(|Path(id)| id)
        .map_err(|_| ApiError::bad_request("webhook id must be a number"))
}

/// `GET /api/v1/webhooks` (admin): subscriptions with their pending and failed counts.
#[utoipa::path(get, path = "/api/v1/webhooks", responses((status = 200, body = [Webhook]), WriteErrors), security(("bearer" = [])))]
pub async fn list(
    State(s): State<AppState>,
    auth: Authenticated,
) -> Result<Json<Vec<Webhook>>, ApiError> {
    auth.at_least(Role::Admin, "listing webhooks")?;
    Ok(Json(s.db.webhooks().await?))
}

/// Body of a subscription.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// Where to POST events.
    pub url: String,
    /// Which: kinds (`ticket.opened`), prefixes (`sla.*`) or `*` (default).
    #[serde(default = "everything")]
    pub events: Vec<String>,
}

fn everything() -> Vec<String> {
    vec!["*".into()]
}

/// A new subscription and its secret (shown only here).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Created {
    /// The subscription.
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The HMAC-SHA256 key its requests are signed with.
    pub secret: String,
}

/// `POST /api/v1/webhooks` (admin): subscribes a URL to events from now on (201).
#[utoipa::path(post, path = "/api/v1/webhooks", request_body = CreateRequest, responses((status = 201, body = Created), WriteErrors), security(("bearer" = [])))]
pub async fn create(
    State(s): State<AppState>,
    auth: Authenticated,
    b: Result<Json<CreateRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    auth.at_least(Role::Admin, "creating webhooks")?;
    let r = body(b)?;
    let allow = s.access.allow_private_webhooks;
    if let Some(why) = forewarn_maintenance::webhooks::guard::refusal(&r.url, allow) {
        return Err(ApiError::bad_request(why));
    }
    let (webhook, secret) = s.db.create_webhook(&r.url, &r.events).await?;
    Ok((StatusCode::CREATED, Json(Created { webhook, secret })))
}

/// Paging of a delivery log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Attempts older than this id.
    pub before: Option<i64>,
    /// At most this many (1–1000, default 100).
    pub limit: Option<u32>,
}

/// `GET /api/v1/webhooks/{id}/deliveries` (admin): every attempt, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", params(("id" = i64, Path, description = "Webhook id"), DeliveriesQuery), responses((status = 200, body = [Delivery]), WriteErrors), security(("bearer" = [])))]
pub async fn deliveries(
    State(s): State<AppState>,
    auth: Authenticated,
    id: Result<Path<i64>, PathRejection>,
    q: Result<Query<DeliveriesQuery>, QueryRejection>,
) -> Result<Json<Vec<Delivery>>, ApiError> {
    auth.at_least(Role::Admin, "reading webhook deliveries")?;
    let id = hook_id(id)?;
    let q = query(q)?;
    s.db.deliveries(id, q.before, limit(q.limit)?)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no webhook {id}")))
}

/// Body of a state change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActiveRequest {
    /// False pauses deliveries (events keep queueing); true resumes them.
    pub active: bool,
}

/// `POST /api/v1/webhooks/{id}/active` (admin).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/active", params(("id" = i64, Path, description = "Webhook id")), request_body = ActiveRequest, responses((status = 204, description = "Done"), WriteErrors), security(("bearer" = [])))]
pub async fn set_active(
    State(s): State<AppState>,
    auth: Authenticated,
    id: Result<Path<i64>, PathRejection>,
    b: Result<Json<ActiveRequest>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    auth.at_least(Role::Admin, "pausing webhooks")?;
    let id = hook_id(id)?;
    let r = body(b)?;
    if s.db.set_webhook_active(id, r.active).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no webhook {id}")))
    }
}

/// What a redelivery queued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Requeued {
    /// Given-up events queued again.
    pub requeued: u64,
}

/// `POST /api/v1/webhooks/{id}/redeliver` (admin): queues given-up events again.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/redeliver", params(("id" = i64, Path, description = "Webhook id")), responses((status = 200, body = Requeued), WriteErrors), security(("bearer" = [])))]
pub async fn redeliver(
    State(s): State<AppState>,
    auth: Authenticated,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Requeued>, ApiError> {
    auth.at_least(Role::Admin, "redelivering webhooks")?;
    let id = hook_id(id)?;
    if !s.db.webhooks().await?.iter().any(|w| w.id == id) {
        return Err(ApiError::not_found(format!("no webhook {id}")));
    }
    Ok(Json(Requeued {
        requeued: s.db.redeliver_failed(id).await?,
    }))
}

/// Paging of the outbox.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// Events after this id (default 0: from the start).
    pub after: Option<i64>,
    /// At most this many (1–1000, default 100).
    pub limit: Option<u32>,
}

/// `GET /api/v1/outbox?after=ID&limit=N`: the events webhooks carry, oldest first.
#[utoipa::path(get, path = "/api/v1/outbox", params(OutboxQuery), responses((status = 200, body = [OutboxEvent]), ReadErrors))]
pub async fn outbox(
    State(s): State<AppState>,
    q: Result<Query<OutboxQuery>, QueryRejection>,
) -> Result<Json<Vec<OutboxEvent>>, ApiError> {
    let q = query(q)?;
    Ok(Json(
        s.db.outbox(q.after.unwrap_or(0), limit(q.limit)?).await?,
    ))
}
