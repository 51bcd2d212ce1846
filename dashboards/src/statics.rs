//! The stylesheet and script, compiled into the binary and served under `/static/`.

use std::sync::LazyLock;

/// The stylesheet.
pub const STYLE_CSS: &str = include_str!("../static/style.css");
/// The script: table sorting and filtering, live refresh over server-sent events.
pub const APP_JS: &str = include_str!("../static/app.js");

/// A static file by name: its content type and bytes.
pub fn file(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "style.css" => Some(("text/css; charset=utf-8", STYLE_CSS)),
        "app.js" => Some(("text/javascript; charset=utf-8", APP_JS)),
        _ => None,
    }
}

/// A short fingerprint of the static files: pages link `?v=<it>` so browsers may cache them for
/// long and still fetch a new version after an upgrade.
pub fn version() -> &'static str {
    static V: LazyLock<String> = LazyLock::new(|| {
        // FNV-1a: stable across builds and platforms, unlike std's hasher.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in STYLE_CSS.bytes().chain(APP_JS.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{:08x}", h >> 32)
    });
    &V
}

#[cfg(test)]
mod tests {
    #[test]
    fn files_are_served_by_name_only() {
        assert!(super::file("style.css").unwrap().0.starts_with("text/css"));
        assert!(super::file("app.js").unwrap().1.contains("EventSource"));
        assert!(super::file("../Cargo.toml").is_none());
        assert_eq!(super::version().len(), 8);
    }
}
