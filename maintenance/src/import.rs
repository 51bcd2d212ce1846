//! Bulk imports of parts, stock counts and technicians: every row checked — its own fields,
//! repeats within the file, references to warehouses and parts — and either all rows applied in
//! one transaction or none, with a report of every bad row. (Assets are the store's: the API
//! imports them as registrations.)

use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::dispatch::Technician;
use crate::dispatch::technicians::upsert;
use crate::parts::ledger::{Movement, apply, ensure_row};
use crate::parts::{Part, StockError, upsert_part};
use crate::{Maintenance, MaintenanceError};

/// One bad row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RowError {
    /// Line in the file (1 is the header).
    pub line: u64,
    /// What is wrong with it.
    pub message: String,
}

/// Why nothing was imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// These rows are bad; nothing was applied.
    #[error("{} bad row(s); nothing imported", .0.len())]
    Rows(Vec<RowError>),
    /// The database failed; nothing was applied.
    #[error(transparent)]
    Db(#[from] MaintenanceError),
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        ImportError::Db(e.into())
    }
}

/// A stock count for one part at one warehouse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockRow {
    /// Where.
    pub warehouse_id: String,
    /// Which part.
    pub part_number: String,
    /// Counted on the shelf.
    pub on_hand: i64,
    /// Below this many available, a low-stock alert.
    #[serde(default)]
    pub reorder_point: i64,
    /// Shelf location.
    #[serde(default)]
    pub bin: String,
}

/// Checks every row with `check` and for repeated keys; the errors of all of them.
fn precheck<T>(
    rows: &[(u64, T)],
    key: impl Fn(&T) -> String,
    check: impl Fn(&T) -> Result<(), StockError>,
) -> Vec<RowError> {
    let mut errors = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (line, row) in rows {
        if let Err(e) = check(row) {
            errors.push(RowError {
                line: *line,
                message: e.to_string(),
            });
        }
        if let Some(first) = seen.insert(key(row), *line) {
            errors.push(RowError {
                line: *line,
                message: format!("{} repeats line {first}", key(row)),
            });
        }
    }
    errors
}

fn outcome(errors: Vec<RowError>) -> Result<(), ImportError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ImportError::Rows(errors))
    }
}

/// A row error from what the database step refused.
fn refused(line: u64, e: StockError) -> Result<RowError, ImportError> {
    match e {
        StockError::Db(e) => Err(ImportError::Db(e)),
        other => Ok(RowError {
            line,
            message: other.to_string(),
        }),
    }
}

impl Maintenance {
    /// Creates or replaces every part, or none.
    pub async fn import_parts(&self, rows: &[(u64, Part)]) -> Result<usize, ImportError> {
        outcome(precheck(rows, |p| p.part_number.clone(), Part::validate))?;
        let mut tx = self.begin_write().await?;
        for (line, p) in rows {
            if let Err(e) = upsert_part(&mut tx, p).await {
                return Err(ImportError::Rows(vec![refused(*line, e)?]));
            }
        }
        tx.commit().await?;
        Ok(rows.len())
    }

    /// Creates or replaces every technician, or none.
    pub async fn import_technicians(
        &self,
        rows: &[(u64, Technician)],
    ) -> Result<usize, ImportError> {
        outcome(precheck(rows, |t| t.id.clone(), Technician::validate))?;
        let mut tx = self.begin_write().await?;
        for (line, t) in rows {
            if let Err(e) = upsert(&mut tx, t).await {
                return Err(ImportError::Rows(vec![refused(*line, e)?]));
            }
        }
        tx.commit().await?;
        Ok(rows.len())
    }

    /// Sets every counted stock level (with its ledger entry, as a stock take by `actor`) and its
    /// reorder point and bin, or none: a row naming an unknown warehouse or part, or counting
    /// fewer than are reserved there, fails the whole import.
    pub async fn import_stock(
        &self,
        actor: &str,
        rows: &[(u64, StockRow)],
    ) -> Result<usize, ImportError> {
        let check = |r: &StockRow| {
            crate::parts::check_id("warehouse id", &r.warehouse_id)?;
            crate::parts::check_id("part number", &r.part_number)?;
            let range = 0..=crate::parts::MAX_STOCK;
            if !range.contains(&r.on_hand) || !range.contains(&r.reorder_point) {
                return Err(StockError::Invalid(format!(
                    "on_hand and reorder_point must be 0 to {}",
                    crate::parts::MAX_STOCK
                )));
            }
            Ok(())
        };
        // Rows that pass their own checks are also tried against the database, so the report
        // names every bad row at once.
        let key = |r: &StockRow| format!("{} at {}", r.part_number, r.warehouse_id);
        let mut errors = precheck(rows, key, check);
        let at = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut tx = self.begin_write().await?;
        for (line, r) in rows {
            if errors.iter().any(|e| e.line == *line) {
                continue;
            }
            if let Err(e) = ensure_row(&mut tx, &r.warehouse_id, &r.part_number).await {
                errors.push(refused(*line, e)?);
                continue;
            }
            let (on_hand, reserved): (i64, i64) = sqlx::query_as(
                "SELECT on_hand, reserved FROM stock WHERE warehouse_id = $1 AND part_number = $2",
            )
            .bind(&r.warehouse_id)
            .bind(&r.part_number)
            .fetch_one(&mut *tx)
            .await?;
            if r.on_hand < reserved {
                errors.push(RowError {
                    line: *line,
                    message: format!(
                        "{reserved} are reserved for tickets; a count of {} is too low",
                        r.on_hand
                    ),
                });
                continue;
            }
            if r.on_hand != on_hand {
                let m = Movement {
                    at: &at,
                    actor,
                    warehouse: &r.warehouse_id,
                    part: &r.part_number,
                    kind: "adjust",
                    on_hand: r.on_hand - on_hand,
                    reserved: 0,
                    ticket: None,
                    note: Some("import"),
                };
                apply(&mut tx, m).await?;
            }
            sqlx::query("UPDATE stock SET reorder_point = $1, bin = $2 WHERE warehouse_id = $3 AND part_number = $4")
                .bind(r.reorder_point)
                .bind(&r.bin)
                .bind(&r.warehouse_id)
                .bind(&r.part_number)
                .execute(&mut *tx)
                .await?;
        }
        if !errors.is_empty() {
            // Dropping the transaction rolls every row back.
            errors.sort_by_key(|e| e.line);
            return Err(ImportError::Rows(errors));
        }
        // New units serve waiting tickets, as a delivery would.
        for (_, r) in rows {
            crate::parts::allocate::fulfil(&mut tx, &at, actor, &r.warehouse_id, &r.part_number)
                .await?;
        }
        tx.commit().await?;
        Ok(rows.len())
    }
}
