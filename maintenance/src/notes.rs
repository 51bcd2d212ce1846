//! Notes on a ticket: what a technician or planner writes down between status changes, and a
//! technician accepting the job assigned to them. Append-only, like the audit log, and announced
//! as `ticket.note_added` events in the same transaction.

use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::lifecycle::Role;
use crate::outbox::emit;
use crate::{Caller, Maintenance, MaintenanceError, TicketStatus};

/// Longest note kept, in characters: a note is a sentence or a paragraph, not a report.
pub const MAX_NOTE_CHARS: usize = 4000;

/// What a note records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// Free text.
    #[default]
    Note,
    /// The assignee accepted the job.
    Accepted,
}

impl NoteKind {
    /// The name stored in SQL.
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Note => "note",
            NoteKind::Accepted => "accepted",
        }
    }
}

/// One note.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TicketNote {
    /// Order of the note (increasing across all tickets).
    pub id: i64,
    /// The ticket.
    pub ticket_id: i64,
    /// When (wall clock, RFC 3339).
    pub at: String,
    /// Who wrote it (a token's name).
    pub actor: String,
    /// What it records.
    pub kind: NoteKind,
    /// The text.
    pub text: String,
}

/// Why a note was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum NoteError {
    /// No such ticket.
    #[error("no ticket {0}")]
    NotFound(i64),
    /// Empty or too long.
    #[error("{0}")]
    Refused(String),
    /// Not allowed to this caller (role, or not the assignee).
    #[error("{0}")]
    Forbidden(String),
    /// The ticket is not in a state where this can be recorded.
    #[error("{0}")]
    Conflict(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] MaintenanceError),
}

impl From<sqlx::Error> for NoteError {
    fn from(e: sqlx::Error) -> Self {
        NoteError::Db(e.into())
    }
}

impl Maintenance {
    /// Adds `by`'s note to ticket `id`. Free notes need a technician's role or higher; accepting
    /// is for the assignee of an assigned ticket, once.
    pub async fn add_note(
        &self,
        id: i64,
        by: &Caller,
        kind: NoteKind,
        text: &str,
    ) -> Result<TicketNote, NoteError> {
        let text = text.trim();
        if by.role < Role::Technician {
            return Err(NoteError::Forbidden(format!(
                "notes need a technician token or higher; this one is {}",
                by.role.as_str()
            )));
        }
        if kind == NoteKind::Note && text.is_empty() {
            return Err(NoteError::Refused("a note needs some text".into()));
        }
        // PostgreSQL's text cannot hold NUL, and no person types one.
        if text.contains('\0') {
            return Err(NoteError::Refused(
                "a note cannot contain NUL characters".into(),
            ));
        }
        if text.chars().count() > MAX_NOTE_CHARS {
            return Err(NoteError::Refused(format!(
                "a note is at most {MAX_NOTE_CHARS} characters"
            )));
        }
        let at = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        // The write lock first: the checks below must still hold when the note lands.
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT status, assignee FROM tickets WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(NoteError::NotFound(id))?;
        let status: String = row.get(0);
        let assignee: Option<String> = row.get(1);
        crate::lifecycle::check_owner(by.role, &by.name, id, assignee.as_deref())
            .map_err(|e| NoteError::Forbidden(e.to_string()))?;
        if kind == NoteKind::Accepted {
            if assignee.as_deref() != Some(by.name.as_str()) {
                return Err(NoteError::Forbidden(format!(
                    "only the assignee accepts a job; ticket {id} is assigned to {}",
                    assignee.as_deref().unwrap_or("nobody")
                )));
            }
            if status != TicketStatus::Assigned.as_str() {
                return Err(NoteError::Conflict(format!(
                    "only an assigned job is accepted; ticket {id} is {status}"
                )));
            }
            let already: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM ticket_notes WHERE ticket_id = $1 AND kind = 'accepted' AND actor = $2",
            )
            .bind(id)
            .bind(&by.name)
            .fetch_optional(&mut *tx)
            .await?;
            if already.is_some() {
                return Err(NoteError::Conflict(format!(
                    "ticket {id} is accepted already"
                )));
            }
        }
        let note_id: i64 = sqlx::query_scalar(
            "INSERT INTO ticket_notes (ticket_id, at, actor, kind, text)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(id)
        .bind(&at)
        .bind(&by.name)
        .bind(kind.as_str())
        .bind(text)
        .fetch_one(&mut *tx)
        .await?;
        let note = TicketNote {
            id: note_id,
            ticket_id: id,
            at,
            actor: by.name.clone(),
            kind,
            text: text.to_owned(),
        };
        emit(&mut tx, &note.at, "ticket.note_added", Some(id), &note).await?;
        tx.commit().await?;
        Ok(note)
    }

    /// A ticket's notes, oldest first (`None`: no such ticket).
    pub async fn notes(&self, id: i64) -> Result<Option<Vec<TicketNote>>, MaintenanceError> {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM tickets WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        if exists.is_none() {
            return Ok(None);
        }
        let rows = sqlx::query(
            "SELECT id, at, actor, kind, text FROM ticket_notes WHERE ticket_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some(
            rows.iter()
                .map(|r| TicketNote {
                    id: r.get(0),
                    ticket_id: id,
                    at: r.get(1),
                    actor: r.get(2),
                    kind: if r.get::<String, _>(3) == "accepted" {
                        NoteKind::Accepted
                    } else {
                        NoteKind::Note
                    },
                    text: r.get(4),
                })
                .collect(),
        ))
    }

    /// Tickets among `ids` whose assignee has accepted them.
    pub async fn accepted(&self, ids: &[i64]) -> Result<Vec<i64>, MaintenanceError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT DISTINCT n.ticket_id FROM ticket_notes n JOIN tickets t ON t.id = n.ticket_id
             WHERE n.kind = 'accepted' AND n.actor = t.assignee",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| r.get::<i64, _>(0))
            .filter(|id| ids.contains(id))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use forewarn_domain::{Criticality, Severity};

    use super::*;
    use crate::Opened;
    use crate::db::tests::alert;

    fn caller(name: &str, role: Role) -> Caller {
        Caller {
            name: name.into(),
            role,
        }
    }

    async fn ticket(db: &Maintenance) -> i64 {
        match db
            .open_ticket(
                &alert("p-1", "bearing_wear", Severity::Medium),
                &Criticality::Medium.into(),
            )
            .await
            .unwrap()
        {
            Opened::New(t) => t.id,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn notes_are_kept_in_order_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::testdb::open(dir.path()).await;
        let id = ticket(&db).await;
        let tech = caller("tech-1", Role::Technician);
        let viewer = caller("v", Role::Viewer);
        assert!(matches!(
            db.add_note(id, &tech, NoteKind::Note, "not mine yet").await,
            Err(NoteError::Forbidden(m)) if m.contains("assigned to nobody")
        ));
        sqlx::query("UPDATE tickets SET assignee = 'tech-1' WHERE id = $1")
            .bind(id)
            .execute(&db.pool)
            .await
            .unwrap();
        assert!(matches!(
            db.add_note(id, &viewer, NoteKind::Note, "hello").await,
            Err(NoteError::Forbidden(_))
        ));
        assert!(matches!(
            db.add_note(id, &tech, NoteKind::Note, "   ").await,
            Err(NoteError::Refused(_))
        ));
        assert!(matches!(
            db.add_note(id, &tech, NoteKind::Note, &"x".repeat(MAX_NOTE_CHARS + 1))
                .await,
            Err(NoteError::Refused(_))
        ));
        assert!(matches!(
            db.add_note(id, &tech, NoteKind::Note, "a\0b").await,
            Err(NoteError::Refused(_))
        ));
        assert!(matches!(
            db.add_note(999, &tech, NoteKind::Note, "x").await,
            Err(NoteError::NotFound(999))
        ));
        for text in ["bearing noisy", "grease ordered"] {
            db.add_note(id, &tech, NoteKind::Note, text).await.unwrap();
        }
        let notes = db.notes(id).await.unwrap().unwrap();
        let texts: Vec<_> = notes.iter().map(|n| n.text.as_str()).collect();
        assert_eq!(texts, ["bearing noisy", "grease ordered"]);
        assert!(db.notes(999).await.unwrap().is_none());
        let events = db.outbox(0, 100).await.unwrap();
        assert_eq!(
            events
                .iter()
                .filter(|e| e.kind == "ticket.note_added")
                .count(),
            2
        );
        // Append-only.
        assert!(
            sqlx::query("UPDATE ticket_notes SET text = 'changed'")
                .execute(&db.pool)
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn only_the_assignee_accepts_an_assigned_job_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::testdb::open(dir.path()).await;
        let id = ticket(&db).await;
        let tech = caller("tech-1", Role::Technician);
        // Not assigned yet.
        assert!(matches!(
            db.add_note(id, &tech, NoteKind::Accepted, "").await,
            Err(NoteError::Forbidden(_))
        ));
        sqlx::query("UPDATE tickets SET assignee = 'tech-1', status = 'assigned' WHERE id = $1")
            .bind(id)
            .execute(&db.pool)
            .await
            .unwrap();
        let other = caller("tech-2", Role::Technician);
        assert!(matches!(
            db.add_note(id, &other, NoteKind::Accepted, "").await,
            Err(NoteError::Forbidden(_))
        ));
        db.add_note(id, &tech, NoteKind::Accepted, "")
            .await
            .unwrap();
        assert_eq!(db.accepted(&[id, id + 1]).await.unwrap(), vec![id]);
        assert!(matches!(
            db.add_note(id, &tech, NoteKind::Accepted, "").await,
            Err(NoteError::Conflict(_))
        ));
    }
}
