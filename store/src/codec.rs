//! Binary encoding of WAL record payloads.
//!
//! A payload starts with a kind byte. Readings are packed as
//! `count:u32, { asset:str16, sensor:str16, ts:i64, value:f64 }*` (little endian, `str16` = u16
//! length + UTF-8 bytes); births are JSON, since they are rare and worth being readable.

use forewarn_domain::{Asset, AssetId, Batch, Reading, SensorName};

const KIND_READINGS: u8 = 1;
const KIND_BIRTH: u8 = 2;

/// One decoded WAL record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A run of readings.
    Readings(Vec<Reading>),
    /// An asset registration.
    Birth(Asset),
}

pub fn encode_readings(readings: &[Reading], out: &mut Vec<u8>) {
    out.push(KIND_READINGS);
    out.extend_from_slice(&(readings.len() as u32).to_le_bytes());
    for r in readings {
        put_str(out, r.asset.as_str());
        put_str(out, r.sensor.as_str());
        out.extend_from_slice(&r.ts_ms.to_le_bytes());
        out.extend_from_slice(&r.value.to_le_bytes());
    }
}

/// The WAL payloads of batches: one record per birth, one per batch of readings.
pub fn encode_batches(batches: &[Batch]) -> Vec<Vec<u8>> {
    let mut payloads = Vec::new();
    for b in batches {
        for a in &b.births {
            let mut p = Vec::new();
            encode_birth(a, &mut p);
            payloads.push(p);
        }
        if !b.readings.is_empty() {
            let mut p = Vec::with_capacity(5 + b.readings.len() * 40);
            encode_readings(&b.readings, &mut p);
            payloads.push(p);
        }
    }
    payloads
}

pub fn encode_birth(asset: &Asset, out: &mut Vec<u8>) {
    out.push(KIND_BIRTH);
    // Serialising a struct of strings cannot fail.
    out.extend_from_slice(&serde_json::to_vec(asset).unwrap_or_default());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Ids are at most 64 bytes (validated in domain), far below u16::MAX.
    out.extend_from_slice(&(s.len() as u16).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Decodes a payload whose checksum already matched; an error here means a writer bug or a
/// collision, and is reported as corruption.
pub fn decode(payload: &[u8]) -> Result<Record, String> {
    let (&kind, mut rest) = payload.split_first().ok_or("empty record")?;
    match kind {
        KIND_READINGS => {
            let count =
                u32::from_le_bytes(take(&mut rest, 4)?.try_into().map_err(|_| "count")?) as usize;
            // Each reading takes at least 22 bytes: refuse counts the payload cannot hold.
            if count > rest.len() / 22 {
                return Err(format!(
                    "record claims {count} readings in {} bytes",
                    rest.len()
                ));
            }
            let mut readings = Vec::with_capacity(count);
            let mut last: Option<(AssetId, SensorName)> = None;
            for _ in 0..count {
                let asset = take_str(&mut rest)?;
                let sensor = take_str(&mut rest)?;
                let ts_ms = i64::from_le_bytes(take(&mut rest, 8)?.try_into().map_err(|_| "ts")?);
                let value =
                    f64::from_le_bytes(take(&mut rest, 8)?.try_into().map_err(|_| "value")?);
                // Consecutive readings mostly share asset and sensor names: reuse the Arc.
                let (asset, sensor) = match &last {
                    Some((a, s)) if a.as_str() == asset && s.as_str() == sensor => {
                        (a.clone(), s.clone())
                    }
                    _ => {
                        let a = match &last {
                            Some((a, _)) if a.as_str() == asset => a.clone(),
                            _ => AssetId::new(asset).map_err(|e| e.to_string())?,
                        };
                        (a, SensorName::new(sensor).map_err(|e| e.to_string())?)
                    }
                };
                last = Some((asset.clone(), sensor.clone()));
                readings.push(Reading {
                    asset,
                    sensor,
                    ts_ms,
                    value,
                });
            }
            if !rest.is_empty() {
                return Err(format!("{} trailing bytes", rest.len()));
            }
            Ok(Record::Readings(readings))
        }
        KIND_BIRTH => serde_json::from_slice(rest)
            .map(Record::Birth)
            .map_err(|e| e.to_string()),
        other => Err(format!("unknown record kind {other}")),
    }
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
    if rest.len() < n {
        return Err("record ends early".into());
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

fn take_str<'a>(rest: &mut &'a [u8]) -> Result<&'a str, String> {
    let len = u16::from_le_bytes(take(rest, 2)?.try_into().map_err(|_| "len")?) as usize;
    std::str::from_utf8(take(rest, len)?).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use forewarn_domain::{AssetTypeId, SiteId};

    use super::*;

    #[test]
    fn round_trips() {
        let r = |a: &str, s: &str, ts, v| Reading {
            asset: AssetId::new(a).unwrap(),
            sensor: SensorName::new(s).unwrap(),
            ts_ms: ts,
            value: v,
        };
        let readings = vec![
            r("p-1", "vib", 1, 2.5),
            r("p-1", "temp", 1, -3.0),
            r("m-2", "vib", 5, f64::MAX),
        ];
        let mut buf = Vec::new();
        encode_readings(&readings, &mut buf);
        assert_eq!(decode(&buf).unwrap(), Record::Readings(readings));

        let asset = Asset {
            id: AssetId::new("p-1").unwrap(),
            site: SiteId::new("s").unwrap(),
            asset_type: AssetTypeId::new("pump").unwrap(),
            model: "m".into(),
            location: "l".into(),
            criticality: Default::default(),
        };
        let mut buf = Vec::new();
        encode_birth(&asset, &mut buf);
        assert_eq!(decode(&buf).unwrap(), Record::Birth(asset));
    }

    #[test]
    fn refuses_garbage() {
        assert!(decode(&[]).is_err());
        assert!(decode(&[9, 1, 2]).is_err());
        assert!(decode(&[1, 255, 255, 255, 255]).is_err());
        let mut buf = Vec::new();
        encode_readings(&[], &mut buf);
        buf.push(0);
        assert!(decode(&buf).is_err());
    }
}
