//! What happened at the door: sign-ins, sign-outs and refusals, counted in `/metrics` as
//! `forewarn_access_events_total{event=…}` and logged (never with a secret).

/// One kind of access event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessEvent {
    /// A dashboard session started (by the form or a one-time link).
    SignIn,
    /// A sign-in refused: unknown, revoked or expired token, used link.
    SignInFailed,
    /// A session ended by its holder.
    SignOut,
    /// A read without a caller (401).
    RefusedRead,
    /// A token presented that is unknown, revoked or expired (401).
    UnknownToken,
    /// A write by a caller whose role or assignment does not allow it (403).
    RefusedWrite,
    /// A request naming a host the service does not answer to (DNS rebinding).
    RefusedHost,
}

impl AccessEvent {
    /// Every event, for the zeros a dashboard expects from the start.
    pub const ALL: [AccessEvent; 7] = [
        Self::SignIn,
        Self::SignInFailed,
        Self::SignOut,
        Self::RefusedRead,
        Self::UnknownToken,
        Self::RefusedWrite,
        Self::RefusedHost,
    ];

    /// Its label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::SignInFailed => "sign_in_failed",
            Self::SignOut => "sign_out",
            Self::RefusedRead => "refused_read",
            Self::UnknownToken => "unknown_token",
            Self::RefusedWrite => "refused_write",
            Self::RefusedHost => "refused_host",
        }
    }
}
