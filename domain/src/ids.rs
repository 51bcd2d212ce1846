//! Validated identifiers.
//!
//! Ids arrive from MQTT topics, config files and URLs. They are checked once, at the boundary, and
//! are cheap to clone afterwards (`Arc<str>`), because every reading carries its asset and sensor.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The longest id accepted anywhere; longer ids are almost always a mis-parsed payload.
pub const MAX_ID_LEN: usize = 64;

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The string is empty.
    #[error("{kind} is empty")]
    Empty {
        /// Which kind of id was being parsed.
        kind: &'static str,
    },
    /// The string is longer than [`MAX_ID_LEN`].
    #[error("{kind} is longer than {MAX_ID_LEN} characters")]
    TooLong {
        /// Which kind of id was being parsed.
        kind: &'static str,
    },
    /// The string holds a character outside `[A-Za-z0-9_.-]` or does not start with a letter or digit.
    #[error(
        "{kind} {value:?} may only hold letters, digits, '_', '-' and '.', starting with a letter or digit"
    )]
    Invalid {
        /// Which kind of id was being parsed.
        kind: &'static str,
        /// The rejected string (truncated to [`MAX_ID_LEN`] characters).
        value: String,
    },
}

/// Checks the shared id syntax: 1 to 64 characters of `[A-Za-z0-9_.-]`, starting with a letter or
/// digit. This excludes MQTT wildcards and separators (`+`, `#`, `/`) so an id is always one topic level.
fn validate(kind: &'static str, s: &str) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if s.len() > MAX_ID_LEN {
        return Err(IdError::TooLong { kind });
    }
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let starts_ok = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !starts_ok || !s.chars().all(ok_char) {
        return Err(IdError::Invalid {
            kind,
            value: s.chars().take(MAX_ID_LEN).collect(),
        });
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Arc<str>);

        impl $name {
            /// Parses and validates an id.
            pub fn new(s: &str) -> Result<Self, IdError> {
                validate($kind, s)?;
                Ok(Self(Arc::from(s)))
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        // In the OpenAPI document an id is a string.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                <String as utoipa::PartialSchema>::schema()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::new(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.to_string()
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", &*self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// One piece of equipment (a pump, a motor), unique across the fleet.
    AssetId,
    "asset id"
);
id_type!(
    /// A site (plant, building) that groups assets; the second level of the MQTT topic.
    SiteId,
    "site id"
);
id_type!(
    /// A sensor of an asset, e.g. `vibration_rms`; unique within the asset type.
    SensorName,
    "sensor name"
);
id_type!(
    /// An asset type from the catalog, e.g. `centrifugal_pump`.
    AssetTypeId,
    "asset type"
);
id_type!(
    /// A failure mode of an asset type, e.g. `bearing_wear`.
    FailureModeId,
    "failure mode"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_ids() {
        for s in ["p-001", "site_a", "a.b", "X9", &"a".repeat(64)] {
            assert_eq!(AssetId::new(s).unwrap().as_str(), s);
        }
    }

    #[test]
    fn rejects_bad_ids() {
        assert!(matches!(AssetId::new(""), Err(IdError::Empty { .. })));
        assert!(matches!(
            AssetId::new(&"a".repeat(65)),
            Err(IdError::TooLong { .. })
        ));
        for s in ["a/b", "+", "#", "-lead", "sp ace", "é"] {
            assert!(
                matches!(AssetId::new(s), Err(IdError::Invalid { .. })),
                "{s}"
            );
        }
    }

    #[test]
    fn serde_validates() {
        let ok: AssetId = serde_json::from_str("\"p-1\"").unwrap();
        assert_eq!(ok.as_str(), "p-1");
        assert!(serde_json::from_str::<AssetId>("\"a/b\"").is_err());
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"p-1\"");
    }
}
