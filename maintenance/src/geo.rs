//! Distances between places on Earth: which warehouse is nearest an asset, how far a technician
//! would drive.

use serde::{Deserialize, Serialize};

/// A point given in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatLon {
    /// Latitude, −90 to 90.
    pub lat: f64,
    /// Longitude, −180 to 180.
    pub lon: f64,
}

impl LatLon {
    /// Both coordinates, when both are known.
    pub fn from_pair(lat: Option<f64>, lon: Option<f64>) -> Option<Self> {
        Some(Self {
            lat: lat?,
            lon: lon?,
        })
    }

    /// Great-circle distance in km (haversine on a sphere of the Earth's mean radius: within
    /// 0.5 % of the ellipsoid, plenty to rank warehouses).
    pub fn km_to(self, other: LatLon) -> f64 {
        const EARTH_KM: f64 = 6371.0;
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_KM * a.sqrt().min(1.0).asin()
    }
}

/// How far something at (`site`, `at`) is from an asset at `asset_site` whose site lies at
/// `asset_at`: 0 at the same site, the great-circle distance when both places are known, and
/// `None` (unknown: ranked after every known distance) otherwise.
pub fn distance_km(
    asset_site: Option<&str>,
    asset_at: Option<LatLon>,
    site: Option<&str>,
    at: Option<LatLon>,
) -> Option<f64> {
    if asset_site.is_some() && asset_site == site {
        return Some(0.0);
    }
    Some(asset_at?.km_to(at?))
}

/// Orders distances nearest first, unknown last.
pub fn nearest_first(a: Option<f64>, b: Option<f64>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_distances() {
        let paris = LatLon {
            lat: 48.8566,
            lon: 2.3522,
        };
        let london = LatLon {
            lat: 51.5074,
            lon: -0.1278,
        };
        let d = paris.km_to(london);
        assert!((d - 343.5).abs() < 2.0, "{d}");
        assert_eq!(paris.km_to(paris), 0.0);
        let antipode = LatLon {
            lat: -48.8566,
            lon: -177.6478,
        };
        assert!((paris.km_to(antipode) - 20015.0).abs() < 5.0);
    }

    #[test]
    fn same_site_is_nearest_and_unknown_is_last() {
        let a = LatLon { lat: 0.0, lon: 0.0 };
        assert_eq!(distance_km(Some("s"), None, Some("s"), None), Some(0.0));
        assert_eq!(distance_km(Some("s"), None, Some("t"), Some(a)), None);
        let mut v = [None, Some(5.0), Some(0.0)];
        v.sort_by(|x, y| nearest_first(*x, *y));
        assert_eq!(v, [Some(0.0), Some(5.0), None]);
    }
}
