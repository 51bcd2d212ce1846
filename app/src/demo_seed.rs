//! The demo's stores and crew: the simulator's sites placed in Bavaria, two warehouses and a
//! stock of the catalog's parts — enough for some repairs and not for others, so the demo shows
//! reservations at the nearest warehouse, splits and requisitions — and four technicians with
//! different skills, bases and shifts, so tickets get proposals with reasons. Seeded once, into
//! an empty database.

use forewarn_maintenance::Maintenance;
use forewarn_maintenance::dispatch::Technician;
use forewarn_maintenance::parts::{Actor, Site, Warehouse};

/// The simulator names its sites `site-a` … `site-e`.
const SITES: [(&str, &str, f64, f64); 5] = [
    ("site-a", "Munich plant", 48.137, 11.575),
    ("site-b", "Augsburg plant", 48.371, 10.898),
    ("site-c", "Ingolstadt plant", 48.766, 11.426),
    ("site-d", "Regensburg plant", 49.013, 12.101),
    ("site-e", "Nuremberg plant", 49.452, 11.077),
];

/// Seeds sites, warehouses, stock and technicians when the database has no warehouse yet.
pub async fn stores(db: &Maintenance) -> anyhow::Result<()> {
    if !db.warehouses().await?.is_empty() {
        return Ok(());
    }
    for (id, name, lat, lon) in SITES {
        db.put_site(&Site {
            id: id.into(),
            name: name.into(),
            lat: Some(lat),
            lon: Some(lon),
        })
        .await?;
    }
    let warehouses = [
        (
            "central",
            "Central stores, Munich",
            Some("site-a"),
            48.15,
            11.60,
        ),
        (
            "north",
            "Stores north, Nuremberg",
            Some("site-e"),
            49.44,
            11.06,
        ),
    ];
    for (id, name, site, lat, lon) in warehouses {
        db.put_warehouse(&Warehouse {
            id: id.into(),
            name: name.into(),
            site: site.map(Into::into),
            lat,
            lon,
        })
        .await?;
    }
    let crew = [
        (
            "t-anna",
            "Anna Berger",
            &["mechanical", "pumps"][..],
            "site-a",
            "06:00",
            "14:30",
        ),
        (
            "t-jonas",
            "Jonas Huber",
            &["mechanical"][..],
            "site-e",
            "07:00",
            "16:00",
        ),
        (
            "t-mia",
            "Mia Wolf",
            &["electrical", "instrumentation"][..],
            "site-c",
            "07:00",
            "16:00",
        ),
        (
            "t-lukas",
            "Lukas Maier (on call)",
            &["*"][..],
            "site-b",
            "00:00",
            "24:00",
        ),
    ];
    for (id, name, skills, site, start, end) in crew {
        let (_, _, lat, lon) = SITES
            .iter()
            .find(|s| s.0 == site)
            .copied()
            .unwrap_or(SITES[0]);
        let on_call = end == "24:00";
        db.put_technician(&Technician {
            id: id.into(),
            name: name.into(),
            skills: skills.iter().map(|s| s.to_string()).collect(),
            site: Some(site.into()),
            lat: Some(lat),
            lon: Some(lon),
            shift_start: start.into(),
            shift_end: end.into(),
            work_days: if on_call {
                ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                    .map(String::from)
                    .to_vec()
            } else {
                ["mon", "tue", "wed", "thu", "fri"]
                    .map(String::from)
                    .to_vec()
            },
            // Central European Time.
            utc_offset_minutes: 60,
            active: true,
        })
        .await?;
    }
    let who = Actor {
        name: "demo",
        note: Some("opening stock"),
    };
    // Per part, in catalog order: a few repairs' worth centrally, one repair's worth up north,
    // and every third part missing up north entirely (splits and requisitions to look at).
    for (i, part) in db.parts().await?.iter().enumerate() {
        db.receive(who, "central", &part.part_number, 2 + (i % 3) as i64)
            .await?;
        db.set_stock_settings("central", &part.part_number, 2, &format!("C-{:02}", i + 1))
            .await?;
        if i % 3 != 2 {
            db.receive(who, "north", &part.part_number, 1).await?;
        }
    }
    Ok(())
}
