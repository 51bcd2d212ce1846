//! Labels in English and Simplified Chinese. Every label of every page is a key in
//! [`MESSAGES`](messages::MESSAGES); a test checks that each key a template or view uses is
//! there, in both languages. Identifiers (asset ids, part numbers, failure modes) are data and
//! stay as they are.

mod messages;

use std::collections::HashMap;
use std::sync::LazyLock;

/// A page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Simplified Chinese.
    Zh,
}

impl Lang {
    /// From a cookie value or a path segment (`en`, `zh`, `zh-CN`, …).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        if s == "en" || s.starts_with("en-") {
            Some(Lang::En)
        } else if s == "zh" || s.starts_with("zh-") {
            Some(Lang::Zh)
        } else {
            None
        }
    }

    /// The best match for an `Accept-Language` header (English when nothing matches).
    pub fn from_accept_language(header: &str) -> Self {
        let mut best = (0.0_f32, Lang::En);
        for part in header.split(',') {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("");
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Lang::parse(tag)
                && q > best.0
            {
                best = (q, lang);
            }
        }
        best.1
    }

    /// The short code kept in the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }
}

static TABLE: LazyLock<HashMap<&'static str, (&'static str, &'static str)>> = LazyLock::new(|| {
    messages::MESSAGES
        .iter()
        .map(|&(k, en, zh)| (k, (en, zh)))
        .collect()
});

/// The translator a page renders with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tr {
    /// Its language.
    pub lang: Lang,
}

impl Tr {
    /// A translator for `lang`.
    pub fn new(lang: Lang) -> Self {
        Tr { lang }
    }

    /// The label for `key`; the key itself when it is missing (a test keeps that from shipping).
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        match TABLE.get(key) {
            Some((en, zh)) => match self.lang {
                Lang::En => en,
                Lang::Zh => zh,
            },
            None => key,
        }
    }

    /// The `lang` attribute of the page.
    pub fn html_lang(&self) -> &'static str {
        match self.lang {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }

    /// A role's name.
    pub fn role(&self, role: &str) -> String {
        self.t(&format!("role.{role}")).to_owned()
    }

    /// A ticket status's name.
    pub fn status(&self, status: &str) -> String {
        self.t(&format!("status.{status}")).to_owned()
    }

    /// A health state's name.
    pub fn state(&self, state: &str) -> String {
        self.t(&format!("state.{state}")).to_owned()
    }

    /// A duration in hours, in days past two days: `5.5 h`, `3.2 d` / `5.5 小时`, `3.2 天`.
    pub fn hours(&self, h: f64) -> String {
        if h.abs() >= 48.0 {
            format!("{:.1} {}", h / 24.0, self.t("unit.days"))
        } else if h.abs() >= 10.0 {
            format!("{h:.0} {}", self.t("unit.hours"))
        } else {
            format!("{h:.1} {}", self.t("unit.hours"))
        }
    }

    /// A span in ms, shortest readable: minutes under two hours.
    pub fn span_ms(&self, ms: i64) -> String {
        let h = ms as f64 / 3_600_000.0;
        if h.abs() < 2.0 {
            format!("{:.0} {}", ms as f64 / 60_000.0, self.t("unit.minutes"))
        } else {
            self.hours(h)
        }
    }
}

/// Every English label that has its own Chinese one: what a Chinese page must not show.
pub fn english_labels() -> impl Iterator<Item = &'static str> {
    messages::MESSAGES
        .iter()
        .filter(|(_, en, zh)| en != zh)
        .map(|&(_, en, _)| en)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// Keys used by templates (`chrome.tr.t("…")`) and views (`tr.t("…")`).
    fn used_keys() -> HashSet<String> {
        // At run time: a build cache shared between checkouts may hold a test binary compiled
        // in another one.
        let dir = std::env::var("CARGO_MANIFEST_DIR").map_or_else(
            |_| concat!(env!("CARGO_MANIFEST_DIR"), "/").to_owned(),
            |d| d + "/",
        );
        let mut keys = HashSet::new();
        let mut dirs: Vec<std::path::PathBuf> = ["templates", "src/pages", "../api/src/ui"]
            .iter()
            .map(|sub| format!("{dir}{sub}").into())
            .collect();
        while let Some(d) = dirs.pop() {
            for entry in std::fs::read_dir(d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(path).unwrap();
                for (i, _) in text.match_indices(".t(\"") {
                    let rest = &text[i + 4..];
                    let key = &rest[..rest.find('"').unwrap()];
                    keys.insert(key.to_owned());
                }
            }
        }
        keys
    }

    #[test]
    fn every_used_key_is_translated_both_ways() {
        let used = used_keys();
        assert!(used.len() > 100, "{}", used.len());
        let missing: Vec<_> = used
            .iter()
            .filter(|k| !TABLE.contains_key(k.as_str()))
            .collect();
        assert!(missing.is_empty(), "untranslated: {missing:?}");
        for (k, en, zh) in messages::MESSAGES {
            assert!(!en.is_empty() && !zh.is_empty(), "{k}");
            // A Chinese label that equals the English one was probably not translated.
            if en.chars().any(|c| c.is_ascii_alphabetic()) && !k.starts_with("unit.") {
                assert_ne!(en, zh, "{k} is not translated");
            }
        }
    }

    #[test]
    fn keys_are_unique() {
        let mut seen = HashSet::new();
        for (k, _, _) in messages::MESSAGES {
            assert!(seen.insert(k), "{k} twice");
        }
    }

    #[test]
    fn dynamic_keys_exist() {
        for s in [
            "new",
            "assigned",
            "in_progress",
            "waiting_parts",
            "resolved",
            "closed",
            "cancelled",
            "reopened",
        ] {
            assert!(TABLE.contains_key(format!("status.{s}").as_str()), "{s}");
            assert!(TABLE.contains_key(format!("move.{s}").as_str()), "{s}");
        }
        for s in [
            "ok",
            "watch",
            "act",
            "fault",
            "warming",
            "deviating",
            "faulty",
        ] {
            assert!(TABLE.contains_key(format!("state.{s}").as_str()), "{s}");
        }
        for s in ["viewer", "technician", "planner", "admin"] {
            assert!(TABLE.contains_key(format!("role.{s}").as_str()), "{s}");
        }
        let dynamic = [
            (
                "error",
                &[
                    "bad_request",
                    "unauthorized",
                    "forbidden",
                    "not_found",
                    "conflict",
                    "unavailable",
                ][..],
            ),
            ("sla", &["response", "resolution"][..]),
            ("fault", &["stuck", "spikes", "dropout", "out_of_range"][..]),
            ("change", &["spike", "shift"][..]),
            ("range", &["1h", "6h", "24h", "7d", "30d"][..]),
            (
                "done",
                &["moved", "assigned", "noted", "accepted", "consumed"][..],
            ),
            (
                "resolution",
                &["confirmed", "no_fault_found", "other_mode"][..],
            ),
            (
                "kpi",
                &[
                    "open_tickets",
                    "sla_response",
                    "sla_resolution",
                    "mttr",
                    "prediction_lead",
                    "false_alarm_rate",
                ][..],
            ),
        ];
        for (prefix, names) in dynamic {
            for n in names {
                assert!(
                    TABLE.contains_key(format!("{prefix}.{n}").as_str()),
                    "{prefix}.{n}"
                );
            }
        }
        for n in [
            "open_tickets",
            "sla_response",
            "sla_resolution",
            "mttr",
            "prediction_lead",
            "false_alarm_rate",
        ] {
            assert!(TABLE.contains_key(format!("kpi.{n}.hint").as_str()), "{n}");
        }
    }

    #[test]
    fn languages_parse_and_negotiate() {
        assert_eq!(Lang::parse("zh-CN"), Some(Lang::Zh));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(
            Lang::from_accept_language("fr;q=0.9, zh-CN;q=0.8, en;q=0.5"),
            Lang::Zh
        );
        assert_eq!(Lang::from_accept_language("de"), Lang::En);
        let zh = Tr::new(Lang::Zh);
        assert_eq!(zh.hours(72.0), "3.0 天");
        assert_eq!(Tr::new(Lang::En).span_ms(90 * 60_000), "90 min");
    }
}
