//! `POST /api/v1/import/{assets|parts|stock|technicians}` (planner): a CSV file with a header
//! row, validated as a whole. Every bad row is reported (`errors: [{line, message}]` in a 400
//! problem document) and nothing is imported unless every row is good.
//!
//! Columns — assets: `id, site, asset_type, model, location, criticality`; parts:
//! `part_number, description, unit, unit_cost`; stock: `warehouse_id, part_number, on_hand,
//! reorder_point, bin` (on_hand is a count: the difference goes to the ledger); technicians:
//! `id, name, skills, site, lat, lon, shift_start, shift_end, work_days, utc_offset_minutes,
//! active`, with `skills` and `work_days` separated by `;`. Optional columns may be left out.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use forewarn_domain::{Asset, AssetId, AssetTypeId, Batch, Criticality, SiteId};
use forewarn_maintenance::Role;
use forewarn_maintenance::dispatch::Technician;
use forewarn_maintenance::import::{ImportError, RowError, StockRow};
use forewarn_maintenance::parts::Part;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::auth::Authenticated;
use crate::error::WriteErrors;
use crate::{ApiError, AppState};

/// Largest import accepted.
pub const MAX_IMPORT_BYTES: usize = 16 * 1024 * 1024;

/// What an import did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Imported {
    /// Rows applied.
    pub imported: usize,
}

/// Parses `text` into rows with their line numbers, or every row's error.
fn rows<T: DeserializeOwned>(text: &[u8]) -> Result<Vec<(u64, T)>, Vec<RowError>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text);
    let mut out = Vec::new();
    let mut errors = Vec::new();
    if let Err(e) = reader.headers() {
        return Err(vec![RowError {
            line: 1,
            message: format!("no header row: {e}"),
        }]);
    }
    for (i, record) in reader.deserialize::<T>().enumerate() {
        let line = i as u64 + 2;
        match record {
            Ok(row) => out.push((line, row)),
            Err(e) => errors.push(RowError {
                line: e.position().map_or(line, |p| p.line()),
                message: match e.kind() {
                    csv::ErrorKind::Deserialize { err, .. } => err.to_string(),
                    _ => e.to_string(),
                },
            }),
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.push(RowError {
            line: 2,
            message: "the file has no rows".into(),
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// 400 with every bad row.
fn report(errors: Vec<RowError>) -> Response {
    let detail = format!("{} bad row(s); nothing imported", errors.len());
    let mut res = (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({
            "type": "about:blank",
            "title": "Bad Request",
            "status": 400,
            "detail": detail,
            "error": detail,
            "errors": errors,
        })),
    )
        .into_response();
    res.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/problem+json"),
    );
    res
}

/// An asset row.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssetRow {
    id: String,
    site: String,
    asset_type: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    criticality: Option<String>,
}

/// A technician row: lists separated by `;`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TechnicianRow {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    skills: String,
    #[serde(default)]
    site: Option<String>,
    #[serde(default)]
    lat: Option<f64>,
    #[serde(default)]
    lon: Option<f64>,
    #[serde(default)]
    shift_start: Option<String>,
    #[serde(default)]
    shift_end: Option<String>,
    #[serde(default)]
    work_days: Option<String>,
    #[serde(default)]
    utc_offset_minutes: Option<i32>,
    #[serde(default)]
    active: Option<bool>,
}

fn list(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

impl TechnicianRow {
    fn into_technician(self) -> Technician {
        let d = Technician::new(&self.id);
        Technician {
            name: self.name,
            skills: list(&self.skills),
            site: self.site.filter(|s| !s.is_empty()),
            lat: self.lat,
            lon: self.lon,
            shift_start: self.shift_start.unwrap_or(d.shift_start),
            shift_end: self.shift_end.unwrap_or(d.shift_end),
            work_days: self.work_days.map(|w| list(&w)).unwrap_or(d.work_days),
            utc_offset_minutes: self.utc_offset_minutes.unwrap_or(d.utc_offset_minutes),
            active: self.active.unwrap_or(d.active),
            id: self.id,
        }
    }
}

impl AssetRow {
    fn check(self, s: &AppState) -> Result<Asset, String> {
        let asset_type = AssetTypeId::new(&self.asset_type).map_err(|e| e.to_string())?;
        if s.catalog.asset_type(&asset_type).is_none() {
            return Err(format!(
                "{:?} is not an asset type of the catalog",
                self.asset_type
            ));
        }
        let criticality = match self.criticality.as_deref() {
            None | Some("") => Criticality::default(),
            Some(c) => Criticality::parse(c)
                .ok_or_else(|| format!("criticality must be low, medium or high, not {c:?}"))?,
        };
        Ok(Asset {
            id: AssetId::new(&self.id).map_err(|e| e.to_string())?,
            site: SiteId::new(&self.site).map_err(|e| e.to_string())?,
            asset_type,
            model: self.model,
            location: self.location,
            criticality,
        })
    }
}

/// `POST /api/v1/import/{kind}` with a CSV body.
#[utoipa::path(post, path = "/api/v1/import/{kind}", params(("kind" = String, Path, description = "assets, parts, stock or technicians")), request_body(content = String, content_type = "text/csv", description = "A CSV file with a header row"), responses((status = 200, body = Imported), WriteErrors), security(("bearer" = [])))]
pub async fn import(
    State(s): State<AppState>,
    auth: Authenticated,
    kind: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let caller = auth.at_least(Role::Planner, "importing")?;
    let Path(kind) =
        kind.map_err(|e| ApiError::bad_request(crate::error_text::plain(&e.body_text())))?;
    let done = match kind.as_str() {
        "parts" => match rows::<Part>(&body) {
            Ok(r) => s.db.import_parts(&r).await,
            Err(e) => return Ok(report(e)),
        },
        "stock" => match rows::<StockRow>(&body) {
            Ok(r) => s.db.import_stock(&caller.name, &r).await,
            Err(e) => return Ok(report(e)),
        },
        "technicians" => match rows::<TechnicianRow>(&body) {
            Ok(r) => {
                let r: Vec<_> = r
                    .into_iter()
                    .map(|(l, t)| (l, t.into_technician()))
                    .collect();
                s.db.import_technicians(&r).await
            }
            Err(e) => return Ok(report(e)),
        },
        "assets" => match rows::<AssetRow>(&body) {
            Ok(r) => return import_assets(&s, r).await,
            Err(e) => return Ok(report(e)),
        },
        other => {
            return Err(ApiError::not_found(format!(
                "no import of {other:?}: assets, parts, stock or technicians"
            )));
        }
    };
    match done {
        Ok(imported) => Ok(Json(Imported { imported }).into_response()),
        Err(ImportError::Rows(errors)) => Ok(report(errors)),
        Err(ImportError::Db(e)) => Err(e.into()),
    }
}

/// Checks every asset row, then registers them all in one durable batch. The store (API,
/// tickets) knows them at once; ingest learns them from their birth messages or at the next start.
async fn import_assets(s: &AppState, rows: Vec<(u64, AssetRow)>) -> Result<Response, ApiError> {
    let mut errors = Vec::new();
    let mut assets: Vec<Asset> = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (line, row) in rows {
        let id = row.id.clone();
        if let Some(first) = seen.insert(id.clone(), line) {
            errors.push(RowError {
                line,
                message: format!("{id} repeats line {first}"),
            });
        }
        match row.check(s) {
            Ok(a) => assets.push(a),
            Err(message) => errors.push(RowError { line, message }),
        }
    }
    if !errors.is_empty() {
        return Ok(report(errors));
    }
    let imported = assets.len();
    s.store
        .append(std::sync::Arc::new(vec![Batch {
            births: assets,
            ..Default::default()
        }]))
        .await?;
    Ok(Json(Imported { imported }).into_response())
}
