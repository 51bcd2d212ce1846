//! `forewarn catalog`: what the service knows about machines, in the terms a newcomer needs
//! to publish telemetry for them — each asset type's sensor names with units and ranges, and the
//! failure modes it recognises with their signatures, skills and parts.

use std::fmt::Write;

use forewarn_domain::{Catalog, Direction, ModeKind};

/// The catalog as plain text, one block per asset type.
pub fn render(catalog: &Catalog) -> String {
    let mut out = String::new();
    for (id, ty) in &catalog.asset_types {
        let _ = writeln!(out, "{id} — {}", ty.description);
        let _ = writeln!(out, "  sensors (metric names in the payload):");
        for (name, s) in &ty.sensors {
            let _ = writeln!(
                out,
                "    {:<22} {:<8} {} … {}",
                name.as_str(),
                s.unit,
                s.min,
                s.max
            );
        }
        let _ = writeln!(out, "  failure modes:");
        for m in &ty.failure_modes {
            let signature: Vec<String> = m
                .signature
                .iter()
                .map(|(s, d)| {
                    let arrow = if *d == Direction::Up { "↑" } else { "↓" };
                    format!("{s} {arrow}")
                })
                .collect();
            let what = match m.kind {
                ModeKind::Instrumentation => "a misreading sensor".to_owned(),
                ModeKind::Machine => signature.join(", "),
            };
            let _ = writeln!(out, "    {:<22} {} ({what})", m.id.as_str(), m.name);
            let _ = writeln!(out, "      skills: {}", m.required_skills().join(", "));
            for p in &m.parts {
                let _ = writeln!(
                    out,
                    "      part: {} × {} ({})",
                    p.quantity, p.part_number, p.description
                );
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalog_names_every_sensor_and_mode() {
        let catalog = Catalog::from_toml(crate::config::BUILTIN_CATALOG).unwrap();
        let text = render(&catalog);
        for ty in catalog.asset_types.values() {
            for s in ty.sensors.keys() {
                assert!(text.contains(s.as_str()), "{s}");
            }
            for m in &ty.failure_modes {
                assert!(text.contains(&m.name), "{}", m.name);
            }
        }
        assert!(text.contains("centrifugal_pump"));
        assert!(text.contains("flow ↓"), "{text}");
    }
}
