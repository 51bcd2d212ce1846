//! Who is calling: `Authorization: Bearer <token>` checked against the hashed tokens
//! (`forewarn token create`); revoked and expired tokens are refused. Every read of `/api/v1`
//! needs a token of any role ([`crate::access`]); every write one whose role allows it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use forewarn_domain::AccessEvent;
use forewarn_maintenance::{Caller, Role};

use crate::{ApiError, AppState};

/// A caller with a valid token.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Caller);

fn unauthorized(m: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, m)
}

/// The token of an `Authorization: Bearer …` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("this needs a token: Authorization: Bearer <token>"))?;
    header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthorized("the Authorization header must be Bearer <token>"))
}

/// The refusal of a token that is not (or no longer) valid: counted and logged, no secret.
pub(crate) fn unknown_token(s: &AppState) -> ApiError {
    s.metrics.access(AccessEvent::UnknownToken);
    tracing::warn!("request refused: unknown, revoked or expired token");
    unauthorized("unknown, revoked or expired token")
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        // The access guard already checked this request's token.
        if let Some(a) = parts.extensions.get::<Authenticated>() {
            return Ok(a.clone());
        }
        let token = bearer(&parts.headers)?;
        s.db.authenticate(token)
            .await?
            .map(Authenticated)
            .ok_or_else(|| unknown_token(s))
    }
}

impl Authenticated {
    /// The caller, if its role is at least `role`; 403 saying what needs which role otherwise.
    pub fn at_least(&self, role: Role, action: &str) -> Result<&Caller, ApiError> {
        if self.0.role >= role {
            Ok(&self.0)
        } else {
            Err(forbidden(
                &self.0,
                format!(
                    "{action} needs a {} token or higher; this one is {}",
                    role.as_str(),
                    self.0.role.as_str()
                ),
            ))
        }
    }
}

/// A refused write: 403 with why, logged with who (never the token).
pub(crate) fn forbidden(caller: &Caller, why: String) -> ApiError {
    tracing::warn!(caller = %caller.name, role = caller.role.as_str(), why = %why, "write refused");
    ApiError::new(StatusCode::FORBIDDEN, why)
}

/// A technician acts only on tickets assigned to them (planners and admins on all): 403 saying
/// whose ticket it is. An unknown ticket passes, for the handler's 404.
pub(crate) async fn own_ticket(s: &AppState, caller: &Caller, id: i64) -> Result<(), ApiError> {
    if caller.role != Role::Technician {
        return Ok(());
    }
    let Some(t) = s.db.ticket(id).await? else {
        return Ok(());
    };
    forewarn_maintenance::lifecycle::check_owner(
        caller.role,
        &caller.name,
        id,
        t.assignee.as_deref(),
    )
    .map_err(|e| forbidden(caller, e.to_string()))
}
