//! Technicians: skills, home base, working hours; stored and listed.

use chrono::{Datelike, Duration as ChronoDuration, TimeZone, Timelike, Utc, Weekday};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::parts::StockError;
use crate::{Maintenance, MaintenanceError};

/// A technician.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Technician {
    /// Id (e.g. the personnel number).
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// What they can do: skill names as the catalog's failure modes ask for them, failure mode
    /// ids, or `*` for everything.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Home base site, if any.
    #[serde(default)]
    pub site: Option<String>,
    /// Home base latitude.
    #[serde(default)]
    pub lat: Option<f64>,
    /// Home base longitude.
    #[serde(default)]
    pub lon: Option<f64>,
    /// Shift start, local `HH:MM`.
    #[serde(default = "default_start")]
    pub shift_start: String,
    /// Shift end, local `HH:MM` (before the start: the shift crosses midnight).
    #[serde(default = "default_end")]
    pub shift_end: String,
    /// Working days: `mon`, `tue`, …
    #[serde(default = "default_days")]
    pub work_days: Vec<String>,
    /// Local time's offset from UTC, minutes.
    #[serde(default)]
    pub utc_offset_minutes: i32,
    /// Takes work.
    #[serde(default = "yes")]
    pub active: bool,
}

fn default_start() -> String {
    "07:00".into()
}
fn default_end() -> String {
    "16:00".into()
}
fn default_days() -> Vec<String> {
    ["mon", "tue", "wed", "thu", "fri"]
        .map(String::from)
        .to_vec()
}
fn yes() -> bool {
    true
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Minutes after midnight of `HH:MM` (24:00 allowed as an end).
fn minutes(hhmm: &str) -> Option<u32> {
    let (h, m) = hhmm.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24
        && m < 60
        && h * 60 + m <= 1440
        && h.to_string().len() <= 2
        && m.to_string().len() <= 2)
        .then_some(h * 60 + m)
}

impl Technician {
    /// A technician with this id and the defaults: no skills, 07:00–16:00 Monday to Friday,
    /// UTC, active.
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            name: String::new(),
            skills: Vec::new(),
            site: None,
            lat: None,
            lon: None,
            shift_start: default_start(),
            shift_end: default_end(),
            work_days: default_days(),
            utc_offset_minutes: 0,
            active: true,
        }
    }

    /// Checks the fields before they are stored.
    pub fn validate(&self) -> Result<(), StockError> {
        crate::parts::check_id("technician id", &self.id)?;
        let bad = |m: String| Err(StockError::Invalid(m));
        if self.lat.is_some() != self.lon.is_some() {
            return bad("give both lat and lon, or neither".into());
        }
        if self.lat.is_some_and(|l| !(-90.0..=90.0).contains(&l))
            || self.lon.is_some_and(|l| !(-180.0..=180.0).contains(&l))
        {
            return bad("lat must be within -90 to 90 and lon within -180 to 180".into());
        }
        let (Some(start), Some(end)) = (minutes(&self.shift_start), minutes(&self.shift_end))
        else {
            return bad("shift_start and shift_end must be HH:MM".into());
        };
        if start == end || start >= 1440 {
            return bad("a shift must not be empty".into());
        }
        if let Some(d) = self.work_days.iter().find(|d| !DAYS.contains(&d.as_str())) {
            return bad(format!(
                "{d:?} is not a day (mon, tue, wed, thu, fri, sat, sun)"
            ));
        }
        if !(-840..=840).contains(&self.utc_offset_minutes) {
            return bad("utc_offset_minutes must be within -840 and 840".into());
        }
        if self.skills.iter().any(|s| s.trim().is_empty()) {
            return bad("skills must not be empty strings".into());
        }
        Ok(())
    }

    /// Whether the skills cover everything in `needed`.
    pub fn covers(&self, needed: &[String], failure_mode: &str) -> bool {
        let has = |s: &str| self.skills.iter().any(|k| k == s || k == "*");
        has(failure_mode) || needed.iter().all(|n| has(n))
    }

    /// Hours from `now_ms` until the technician is on shift (0 when on shift now); `None` when
    /// they never work (no working days).
    pub fn hours_until_on_shift(&self, now_ms: i64) -> Option<f64> {
        let start = minutes(&self.shift_start)? as i64;
        let end = minutes(&self.shift_end)? as i64;
        let local = Utc.timestamp_millis_opt(now_ms).single()?
            + ChronoDuration::minutes(self.utc_offset_minutes.into());
        let works = |d: Weekday| {
            self.work_days
                .iter()
                .any(|w| w == DAYS[d.num_days_from_monday() as usize])
        };
        let now_min = local.hour() as i64 * 60 + local.minute() as i64;
        // Shifts that began today or yesterday (a night shift) may cover now.
        let length = if end > start {
            end - start
        } else {
            end + 1440 - start
        };
        for back in [0i64, 1] {
            let day = (local - ChronoDuration::days(back)).weekday();
            let since_start = now_min + back * 1440 - start;
            if works(day) && (0..length).contains(&since_start) {
                return Some(0.0);
            }
        }
        // Otherwise the next start, within a week.
        (0..=7i64).find_map(|ahead| {
            let day = (local + ChronoDuration::days(ahead)).weekday();
            let wait = ahead * 1440 + start - now_min;
            (works(day) && wait > 0).then(|| (wait as f64 - local.second() as f64 / 60.0) / 60.0)
        })
    }
}

impl Maintenance {
    /// Creates or replaces a technician.
    pub async fn put_technician(&self, t: &Technician) -> Result<(), StockError> {
        t.validate()?;
        let mut conn = self.pool.acquire().await?;
        upsert(&mut conn, t).await
    }

    /// Every technician, by id, with their current load (open tickets assigned to them).
    pub async fn technicians(&self) -> Result<Vec<(Technician, i64)>, MaintenanceError> {
        let mut conn = self.pool.acquire().await?;
        all(&mut conn).await
    }
}

/// Creates or replaces a (validated) technician on `conn`.
pub(crate) async fn upsert(
    conn: &mut sqlx::AnyConnection,
    t: &Technician,
) -> Result<(), StockError> {
    let days = t.work_days.join(",");
    sqlx::query(
            "INSERT INTO technicians (id, name, skills, site, lat, lon, shift_start, shift_end, work_days, utc_offset, active)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, skills = excluded.skills,
                 site = excluded.site, lat = excluded.lat, lon = excluded.lon,
                 shift_start = excluded.shift_start, shift_end = excluded.shift_end,
                 work_days = excluded.work_days, utc_offset = excluded.utc_offset, active = excluded.active",
        )
        .bind(&t.id)
        .bind(&t.name)
        .bind(serde_json::to_string(&t.skills).unwrap_or_else(|_| "[]".into()))
        .bind(&t.site)
        .bind(t.lat)
        .bind(t.lon)
        .bind(minutes(&t.shift_start).unwrap_or(420) as i64)
        .bind(minutes(&t.shift_end).unwrap_or(960) as i64)
        .bind(days)
        .bind(t.utc_offset_minutes)
        .bind(i64::from(t.active))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Every technician, by id, with their load, read on `conn` (inside a transaction).
pub(crate) async fn all(
    conn: &mut sqlx::AnyConnection,
) -> Result<Vec<(Technician, i64)>, MaintenanceError> {
    {
        let rows = sqlx::query(
            "SELECT id, name, skills, site, lat, lon, shift_start, shift_end, work_days, utc_offset, active,
                    (SELECT count(*) FROM tickets t WHERE t.assignee = technicians.id
                     AND t.status NOT IN ('resolved', 'closed', 'cancelled')) AS load
             FROM technicians ORDER BY id",
        )
        .fetch_all(&mut *conn)
        .await?;
        let hhmm = |m: i64| format!("{:02}:{:02}", m / 60, m % 60);
        Ok(rows
            .iter()
            .map(|r| {
                let skills: String = r.get(2);
                let days: String = r.get(8);
                let t = Technician {
                    id: r.get(0),
                    name: r.get(1),
                    skills: serde_json::from_str(&skills).unwrap_or_default(),
                    site: r.get(3),
                    lat: r.get(4),
                    lon: r.get(5),
                    shift_start: hhmm(r.get(6)),
                    shift_end: hhmm(r.get(7)),
                    work_days: days
                        .split(',')
                        .filter(|d| !d.is_empty())
                        .map(String::from)
                        .collect(),
                    utc_offset_minutes: r.get(9),
                    active: r.get::<i64, _>(10) != 0,
                };
                (t, r.get(11))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tech(start: &str, end: &str, days: &[&str]) -> Technician {
        Technician {
            id: "t".into(),
            name: String::new(),
            skills: vec!["mechanical".into()],
            site: None,
            lat: None,
            lon: None,
            shift_start: start.into(),
            shift_end: end.into(),
            work_days: days.iter().map(|d| d.to_string()).collect(),
            utc_offset_minutes: 60,
            active: true,
        }
    }

    /// Wednesday 2026-11-25 at `h`:00 UTC.
    fn wed(h: i64) -> i64 {
        Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0)
            .unwrap()
            .timestamp_millis()
            + h * 3_600_000
    }

    #[test]
    fn shifts_in_local_time() {
        let day = tech("07:00", "16:00", &["mon", "tue", "wed", "thu", "fri"]);
        // 10:00 UTC = 11:00 local: on shift. 15:30 UTC = 16:30 local: off until 07:00 local
        // Thursday = 06:00 UTC, 14.5 h later.
        assert_eq!(day.hours_until_on_shift(wed(10)), Some(0.0));
        assert_eq!(day.hours_until_on_shift(wed(15) + 1_800_000), Some(14.5));
        // Friday evening to Monday morning.
        let fri_evening = wed(2 * 24 + 18);
        assert_eq!(day.hours_until_on_shift(fri_evening), Some(60.0));
        // A night shift crossing midnight covers the small hours of the next day.
        let night = tech("22:00", "06:00", &["tue"]);
        assert_eq!(
            night.hours_until_on_shift(wed(1)),
            Some(0.0),
            "02:00 local Wednesday"
        );
        assert_eq!(
            night.hours_until_on_shift(wed(6)),
            Some(159.0),
            "next Tuesday 22:00"
        );
        assert_eq!(
            tech("07:00", "16:00", &[]).hours_until_on_shift(wed(10)),
            None
        );
    }

    #[test]
    fn skills_and_validation() {
        let t = tech("07:00", "16:00", &["mon"]);
        assert!(t.covers(&["mechanical".into()], "bearing_wear"));
        assert!(!t.covers(&["mechanical".into(), "pumps".into()], "impeller_wear"));
        let mut all = t.clone();
        all.skills = vec!["*".into()];
        assert!(all.covers(&["electrical".into()], "winding_overheating"));
        assert!(t.validate().is_ok());
        for bad in [
            tech("7", "16:00", &["mon"]),
            tech("07:00", "07:00", &["mon"]),
            tech("07:00", "16:00", &["monday"]),
            tech("25:00", "16:00", &["mon"]),
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
