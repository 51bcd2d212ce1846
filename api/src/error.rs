//! JSON errors.

use axum::Json;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered as JSON with its status.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong, for a person.
    pub message: String,
}

impl ApiError {
    /// 400: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// An error with any status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 404: no such resource.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    /// 503: a backing service failed; the request itself was fine.
    pub fn unavailable(message: impl std::fmt::Display) -> Self {
        // The cause names files, URLs or SQL: the log keeps it, the caller gets a reference.
        let reference = incident();
        tracing::error!(error = %message, reference = %reference, "backing service failed");
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: format!(
                "temporarily unavailable: a backing service failed (the service log has the cause, reference {reference})"
            ),
        }
    }
}

/// A short reference tying an error answer to its log line: the time in ms and a counter.
fn incident() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{ms:x}-{n}")
}

impl From<forewarn_store::StoreError> for ApiError {
    fn from(e: forewarn_store::StoreError) -> Self {
        Self::unavailable(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // RFC 9457 problem details; `error` repeats `detail` for clients of the first format.
        let mut res = (
            self.status,
            Json(json!({
                "type": "about:blank",
                "title": self.status.canonical_reason().unwrap_or("Error"),
                "status": self.status.as_u16(),
                "detail": self.message,
                "error": self.message,
            })),
        )
            .into_response();
        res.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        res
    }
}

impl From<forewarn_maintenance::MaintenanceError> for ApiError {
    fn from(e: forewarn_maintenance::MaintenanceError) -> Self {
        ApiError::unavailable(e)
    }
}

/// A handler panicked: 500, logged with the panic's message.
pub fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown");
    tracing::error!(panic = what, "a request handler panicked");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error (logged)").into_response()
}

/// Fallback for unknown routes.
pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    /// 413 for a body over the limit, 415 without a JSON content type, and 400 for anything
    /// that is not the expected document (axum says 422 for a well-formed wrong one; one status
    /// for "your document is wrong" is simpler to handle).
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        let status = match e.status() {
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
            s => s,
        };
        ApiError::new(status, crate::error_text::plain(&e.body_text()))
    }
}

/// An RFC 9457 problem document: every error the API answers.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's reason phrase.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// The same as `detail` (the first error format's field).
    pub error: String,
    /// An import's bad rows (only there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<forewarn_maintenance::import::RowError>>,
}

/// Errors of a read.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Documentation only: the handlers answer `ApiError`.
pub enum ReadErrors {
    /// A malformed id or query parameter.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// No such resource.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// The answer took longer than 30 s.
    #[response(status = 408, content_type = "application/problem+json")]
    Timeout(Problem),
    /// A backing service (database, store) failed; the request was fine.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
}

/// Errors of a write.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Documentation only: the handlers answer `ApiError`.
pub enum WriteErrors {
    /// A malformed body, id or parameter, or values the rules refuse.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// No token, or an unknown one.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// The token's role may not do this.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// No such resource.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// The answer took longer than 30 s.
    #[response(status = 408, content_type = "application/problem+json")]
    Timeout(Problem),
    /// The state does not allow it (lifecycle, stock, a finished ticket).
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(Problem),
    /// The body is over the limit.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    /// The body is not JSON.
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Problem),
    /// A backing service failed; the request was fine.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
}
