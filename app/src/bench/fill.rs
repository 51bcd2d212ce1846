//! A store filled directly with a seeded fleet's samples (no MQTT): what the dashboards bench
//! serves and what the start-up tests replay.

use forewarn_domain::{
    Asset, AssetId, AssetTypeId, Batch, Criticality, Reading, SensorName, SiteId,
};
use forewarn_simulators::Fleet;
use forewarn_store::Store;

use super::bar;

/// Readings per appended batch.
const BATCH: usize = 50_000;

pub(crate) fn asset_of(
    a: &forewarn_simulators::fleet::SimAsset,
    id: &str,
) -> anyhow::Result<Asset> {
    Ok(Asset {
        id: AssetId::new(id)?,
        site: SiteId::new(&a.site)?,
        asset_type: AssetTypeId::new(a.kind.type_id())?,
        model: a.model.clone(),
        location: a.location.clone(),
        criticality: Criticality::parse(a.criticality).unwrap_or_default(),
    })
}

/// Samples `fleet` into `store`, its assets renamed by `rename`; the readings stored.
pub fn fill(
    store: &Store,
    mut fleet: Fleet,
    rename: impl Fn(&str) -> String,
    what: &str,
) -> anyhow::Result<u64> {
    let births: Vec<Asset> = fleet
        .assets
        .iter()
        .map(|a| asset_of(a, &rename(&a.id)))
        .collect::<anyhow::Result<_>>()?;
    let sensors: Vec<Vec<SensorName>> = fleet
        .assets
        .iter()
        .map(|a| {
            a.kind
                .sensors()
                .iter()
                .map(|s| SensorName::new(s))
                .collect()
        })
        .collect::<Result<_, _>>()?;
    let ticks: Vec<i64> = fleet.ticks().collect();
    let pb = bar(ticks.len() as u64, what);
    let mut seq = 0;
    let mut pending = Vec::with_capacity(BATCH);
    let mut total = 0u64;
    let mut first = Some(births.clone());
    let mut push = |readings: Vec<Reading>, births: Option<Vec<Asset>>| -> anyhow::Result<()> {
        seq += 1;
        total += readings.len() as u64;
        store.append(&[Batch {
            seq,
            messages: readings.len(),
            readings,
            births: births.unwrap_or_default(),
            ..Default::default()
        }])?;
        Ok(())
    };
    for t in ticks {
        for (i, a) in fleet.assets.iter_mut().enumerate() {
            let Some(values) = a.sample(t) else { continue };
            for (s, v) in sensors[i].iter().zip(values) {
                if v.is_finite() {
                    pending.push(Reading {
                        asset: births[i].id.clone(),
                        sensor: s.clone(),
                        ts_ms: t,
                        value: v,
                    });
                }
            }
        }
        if pending.len() >= BATCH {
            push(std::mem::take(&mut pending), first.take())?;
        }
        pb.inc(1);
    }
    push(pending, first.take())?;
    pb.finish_and_clear();
    Ok(total)
}
