//! The demo's stores: the simulator's sites placed in Bavaria, two warehouses and a stock of the
//! catalog's parts — enough for some repairs and not for others, so the demo shows reservations
//! at the nearest warehouse, splits and requisitions. Seeded once, into an empty database.

use forewarn_maintenance::Maintenance;
use forewarn_maintenance::parts::{Actor, Site, Warehouse};

/// The simulator names its sites `site-a` … `site-e`.
const SITES: [(&str, &str, f64, f64); 5] = [
    ("site-a", "Munich plant", 48.137, 11.575),
    ("site-b", "Augsburg plant", 48.371, 10.898),
    ("site-c", "Ingolstadt plant", 48.766, 11.426),
    ("site-d", "Regensburg plant", 49.013, 12.101),
    ("site-e", "Nuremberg plant", 49.452, 11.077),
];

/// Seeds sites, warehouses and stock when the database has no warehouse yet.
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
