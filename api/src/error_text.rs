//! Rejections in plain language. axum and serde word their errors for programmers ("Failed to
//! deserialize query string: limit: invalid digit found in string", "expected value at line 1
//! column 8"); a client's author wants the field, what is wrong with it and what is accepted.
//! Parser wording that is not recognised is passed on after the field, never dropped.

/// The rejection text of a JSON body, query string or path, rewritten.
pub(crate) fn plain(text: &str) -> String {
    let (what, rest) = source(text);
    if let Some(at) = rest.strip_prefix("syntax: ") {
        return format!("the {what} is not valid JSON: {}", position(at));
    }
    let (field, message) = split_field(&rest);
    let said = reword(message);
    match field {
        Some(f) => format!("{f}: {said}"),
        None if said.is_empty() => format!("the {what} could not be read"),
        None => format!("{what}: {said}"),
    }
}

/// Which part of the request, and the message without axum's prefix. JSON syntax errors are
/// marked `syntax: `.
fn source(text: &str) -> (&'static str, String) {
    const PREFIXES: [(&str, &str, bool); 5] = [
        ("Failed to parse the request body as JSON: ", "body", true),
        (
            "Failed to deserialize the JSON body into the target type: ",
            "body",
            false,
        ),
        (
            "Failed to deserialize query string: ",
            "query string",
            false,
        ),
        ("Invalid URL: ", "path", false),
        (
            "Expected request with `Content-Type: application/json`",
            "body",
            false,
        ),
    ];
    for (prefix, what, syntax) in PREFIXES {
        if let Some(rest) = text.strip_prefix(prefix) {
            if prefix.starts_with("Expected request") {
                return (
                    what,
                    "send it with the header Content-Type: application/json".into(),
                );
            }
            let rest = if syntax {
                format!("syntax: {rest}")
            } else {
                rest.to_owned()
            };
            return (what, rest);
        }
    }
    ("request", text.to_owned())
}

/// `field: message` when serde named the field (`a.b[0].c: …`).
fn split_field(rest: &str) -> (Option<&str>, &str) {
    match rest.split_once(": ") {
        Some((f, m))
            if !f.is_empty()
                && f.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._[]".contains(c)) =>
        {
            (Some(f), m)
        }
        _ => (None, rest),
    }
}

/// One serde message in words.
fn reword(m: &str) -> String {
    let m = strip_position(m);
    let ticks = |s: &str| s.replace('`', "");
    if let Some(f) = m.strip_prefix("missing field ") {
        return format!("{} is required", ticks(f));
    }
    if let Some((head, accepted)) = m.split_once(", expected one of ") {
        let got = head
            .trim_start_matches("unknown field ")
            .trim_start_matches("unknown variant ");
        let kind = if head.starts_with("unknown field") {
            "is not a field here"
        } else {
            "is not accepted"
        };
        return format!("{} {kind}; accepted: {}", ticks(got), ticks(accepted));
    }
    if let Some((got, want)) = m
        .strip_prefix("invalid type: ")
        .and_then(|r| r.split_once(", expected "))
    {
        return format!("expected {}, got {}", ticks(want), ticks(got));
    }
    match m {
        "invalid digit found in string" => "must be a whole number".into(),
        "invalid float literal" => "must be a number".into(),
        "provided string was not `true` or `false`" => "must be true or false".into(),
        "number too large to fit in target type" => "is too large".into(),
        "number too small to fit in target type" => "is too small".into(),
        "cannot parse integer from empty string" => "must not be empty".into(),
        other => ticks(other),
    }
}

/// Drops serde's ` at line L column C`.
fn strip_position(m: &str) -> &str {
    m.rfind(" at line ").map_or(m, |i| &m[..i])
}

/// `it breaks at line 1, column 8 (expected a value)`.
fn position(m: &str) -> String {
    match m.rfind(" at line ") {
        Some(i) => {
            let at = m[i + 1..].replacen(" column", ", column", 1);
            format!("it breaks {at} ({})", reword(&m[..i]))
        }
        None => reword(m),
    }
}

#[cfg(test)]
mod tests {
    use super::plain;

    #[test]
    fn parser_wording_becomes_the_field_and_what_is_accepted() {
        for (raw, want) in [
            (
                "Failed to deserialize query string: limit: invalid digit found in string",
                "limit: must be a whole number",
            ),
            (
                "Failed to parse the request body as JSON: expected value at line 1 column 8",
                "the body is not valid JSON: it breaks at line 1, column 8 (expected value)",
            ),
            (
                "Failed to deserialize the JSON body into the target type: missing field `failure_mode` at line 1 column 20",
                "body: failure_mode is required",
            ),
            (
                "Failed to deserialize the JSON body into the target type: unknown field `colour`, expected one of `asset_id`, `failure_mode` at line 1 column 9",
                "body: colour is not a field here; accepted: asset_id, failure_mode",
            ),
            (
                "Failed to deserialize the JSON body into the target type: score: invalid type: string \"x\", expected f64 at line 1 column 30",
                "score: expected f64, got string \"x\"",
            ),
            (
                "Failed to deserialize query string: classified: provided string was not `true` or `false`",
                "classified: must be true or false",
            ),
        ] {
            assert_eq!(plain(raw), want, "{raw}");
        }
    }
}
