//! Who is calling: `Authorization: Bearer <token>` checked against the hashed tokens
//! (`forewarn token create`). Every write needs a token whose role allows it; reads are open.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use forewarn_maintenance::{Caller, Role};

use crate::{ApiError, AppState};

/// A caller with a valid token.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Caller);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, m);
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("this needs a token: Authorization: Bearer <token>"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthorized("the Authorization header must be Bearer <token>"))?;
        s.db.authenticate(token)
            .await?
            .map(Authenticated)
            .ok_or_else(|| unauthorized("unknown token"))
    }
}

impl Authenticated {
    /// The caller, if its role is at least `role`; 403 saying what needs which role otherwise.
    pub fn at_least(&self, role: Role, action: &str) -> Result<&Caller, ApiError> {
        if self.0.role >= role {
            Ok(&self.0)
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "{action} needs a {} token or higher; this one is {}",
                    role.as_str(),
                    self.0.role.as_str()
                ),
            ))
        }
    }
}
