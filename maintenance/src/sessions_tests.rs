//! Tokens that end and sessions that hold no token: expiry, revocation, sign-out, one-time
//! links, idle and absolute session limits.

use crate::Role;
use crate::sessions::{SESSION_IDLE_MS, SESSION_MAX_MS};
use crate::tokens::hash;

#[tokio::test]
async fn revoked_and_expired_tokens_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    let kept = db.create_token("kept", Role::Viewer).await.unwrap();
    let gone = db.create_token("gone", Role::Planner).await.unwrap();
    let past = db
        .create_token_expiring("past", Role::Admin, Some(chrono::Duration::seconds(-1)))
        .await
        .unwrap();
    let soon = db
        .create_token_expiring("soon", Role::Viewer, Some(chrono::Duration::days(90)))
        .await
        .unwrap();
    assert_eq!(db.authenticate(&kept).await.unwrap().unwrap().name, "kept");
    assert!(db.authenticate(&soon).await.unwrap().is_some());
    assert!(db.authenticate(&past).await.unwrap().is_none(), "expired");
    assert!(db.authenticate(&gone).await.unwrap().is_some());
    assert!(db.revoke_token("gone").await.unwrap());
    assert!(db.authenticate(&gone).await.unwrap().is_none(), "revoked");
    assert!(!db.revoke_token("gone").await.unwrap(), "revoked twice");
    assert!(!db.revoke_token("nobody").await.unwrap());

    let list = db.tokens().await.unwrap();
    let names: Vec<_> = list.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["gone", "kept", "past", "soon"]);
    let now = crate::tokens::stamp(chrono::Utc::now());
    let active: Vec<_> = list
        .iter()
        .filter(|t| t.active(&now))
        .map(|t| &t.name)
        .collect();
    assert_eq!(active, ["kept", "soon"]);
    let kept_info = &list[1];
    assert!(kept_info.last_used_at.is_some(), "use recorded");
    assert!(
        list[2].last_used_at.is_none(),
        "an expired token was not used"
    );
    assert!(list[3].expires_at.is_some());
}

#[tokio::test]
async fn a_session_holds_no_token_and_ends_with_sign_out_or_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    let token = db.create_token("ana", Role::Technician).await.unwrap();
    assert!(db.start_session("fw_wrong").await.unwrap().is_none());
    let (a, who) = db.start_session(&token).await.unwrap().unwrap();
    assert_eq!(who.name, "ana");
    assert_ne!(a, token, "the cookie is not the token");
    assert!(
        db.session(&token).await.unwrap().is_none(),
        "a token is no session id"
    );
    assert_eq!(
        db.session(&a).await.unwrap().unwrap().role,
        Role::Technician
    );
    db.end_session(&a).await.unwrap();
    assert!(db.session(&a).await.unwrap().is_none(), "signed out");

    let (b, _) = db.start_session(&token).await.unwrap().unwrap();
    assert!(db.session(&b).await.unwrap().is_some());
    db.revoke_token("ana").await.unwrap();
    assert!(db.session(&b).await.unwrap().is_none(), "its token revoked");
}

#[tokio::test]
async fn sessions_end_when_idle_or_too_old() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    let token = db.create_token("bo", Role::Viewer).await.unwrap();
    let (idle, _) = db.start_session(&token).await.unwrap().unwrap();
    let (old, _) = db.start_session(&token).await.unwrap().unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    // Age them in the database: the wall clock cannot be wound forward.
    sqlx::query("UPDATE sessions SET last_seen_ms = $1 WHERE hash = $2")
        .bind(now - SESSION_IDLE_MS - 1000)
        .bind(hash(&idle))
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE sessions SET created_at_ms = $1 WHERE hash = $2")
        .bind(now - SESSION_MAX_MS - 1000)
        .bind(hash(&old))
        .execute(&db.pool)
        .await
        .unwrap();
    assert!(db.session(&idle).await.unwrap().is_none(), "idle");
    assert!(db.session(&old).await.unwrap().is_none(), "too old");
}

#[tokio::test]
async fn a_sign_in_link_works_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    let token = db.create_token("demo", Role::Admin).await.unwrap();
    assert!(db.signin_link("fw_nobody").await.unwrap().is_none());
    let code = db.signin_link(&token).await.unwrap().unwrap();
    let (session, who) = db.use_signin_link(&code).await.unwrap().unwrap();
    assert_eq!(who.role, Role::Admin);
    assert!(db.session(&session).await.unwrap().is_some());
    assert!(
        db.use_signin_link(&code).await.unwrap().is_none(),
        "used twice"
    );
    assert!(
        db.use_signin_link(&token).await.unwrap().is_none(),
        "a token is no code"
    );
}
