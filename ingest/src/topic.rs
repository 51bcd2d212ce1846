//! Topic layout: `{prefix}/{site}/{asset}/{kind}`.

use forewarn_domain::{AssetId, IdError, SiteId};

/// What a message on a topic carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicKind {
    /// Periodic sensor values.
    Telemetry,
    /// The asset's retained registration (type, model, location).
    Birth,
}

/// The telemetry topic of an asset.
pub fn telemetry_topic(prefix: &str, site: &SiteId, asset: &AssetId) -> String {
    format!("{prefix}/{site}/{asset}/telemetry")
}

/// The birth topic of an asset.
pub fn birth_topic(prefix: &str, site: &SiteId, asset: &AssetId) -> String {
    format!("{prefix}/{site}/{asset}/birth")
}

/// Splits a topic into site, asset and kind. The error is a human-readable reason.
pub fn parse_topic(prefix: &str, topic: &str) -> Result<(SiteId, AssetId, TopicKind), String> {
    let rest = topic
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('/'))
        .ok_or_else(|| format!("topic does not start with {prefix}/"))?;
    let mut levels = rest.split('/');
    let (Some(site), Some(asset), Some(kind), None) =
        (levels.next(), levels.next(), levels.next(), levels.next())
    else {
        return Err(format!(
            "expected {prefix}/{{site}}/{{asset}}/{{telemetry|birth}}"
        ));
    };
    let site = SiteId::new(site).map_err(|e: IdError| e.to_string())?;
    let asset = AssetId::new(asset).map_err(|e| e.to_string())?;
    let kind = match kind {
        "telemetry" => TopicKind::Telemetry,
        "birth" => TopicKind::Birth,
        other => return Err(format!("unknown message kind {other:?}")),
    };
    Ok((site, asset, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let site = SiteId::new("site-a").unwrap();
        let asset = AssetId::new("p-1").unwrap();
        let t = telemetry_topic("forewarn", &site, &asset);
        assert_eq!(
            parse_topic("forewarn", &t).unwrap(),
            (site.clone(), asset.clone(), TopicKind::Telemetry)
        );
        let b = birth_topic("plant/fw", &site, &asset);
        assert_eq!(parse_topic("plant/fw", &b).unwrap().2, TopicKind::Birth);
    }

    #[test]
    fn rejects_bad_shapes() {
        for t in [
            "other/s/a/telemetry",
            "forewarn/s/a",
            "forewarn/s/a/telemetry/x",
            "forewarn/s/a/status",
            "forewarn/s/-a/telemetry",
            "forewarnx/s/a/telemetry",
        ] {
            assert!(parse_topic("forewarn", t).is_err(), "{t}");
        }
    }
}
