//! The dashboards' colours, checked the way people will see them: every text colour meets the
//! WCAG 2.1 AA contrast for normal text (4.5:1) on the backgrounds it sits on, chart lines and
//! marks meet the 3:1 for graphics, and the colours that tell states apart (health states,
//! chart series) stay apart with colour-blind vision — simulated with the Machado, Oliveira and
//! Fernandes (2009) matrices at full severity, compared by CIEDE2000 colour difference.
//!
//! Colour is never the only cue (every state has a word and a shape, chart marks a dash); these
//! tests make sure it is a good one too.

use std::collections::HashMap;

use palette::color_difference::{Ciede2000, Wcag21RelativeContrast};
use palette::{FromColor, Lab, LinSrgb, Srgb};

use crate::statics::STYLE_CSS;

/// Colour differences below this are hard to tell apart at a glance; categorical palettes are
/// usually designed to keep neighbours at least this far apart (CIEDE2000 units).
const MIN_DELTA_E: f32 = 10.0;

/// Linear-RGB simulation matrices, severity 1.0 (Machado et al. 2009, table 1).
const VISIONS: [(&str, [[f32; 3]; 3]); 4] = [
    (
        "normal",
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
    ),
    (
        "protanopia",
        [
            [0.152_286, 1.052_583, -0.204_868],
            [0.114_503, 0.786_281, 0.099_216],
            [-0.003_882, -0.048_116, 1.051_998],
        ],
    ),
    (
        "deuteranopia",
        [
            [0.367_322, 0.860_646, -0.227_968],
            [0.280_085, 0.672_501, 0.047_413],
            [-0.011_820, 0.042_940, 0.968_881],
        ],
    ),
    (
        "tritanopia",
        [
            [1.255_528, -0.076_749, -0.178_779],
            [-0.078_411, 0.930_809, 0.147_602],
            [0.004_733, 0.691_367, 0.303_900],
        ],
    ),
];

fn hex(s: &str) -> Srgb<f32> {
    let s = s.trim().trim_start_matches('#');
    // CSS's short form: #abc is #aabbcc.
    let s: String = match s.len() {
        3 => s.chars().flat_map(|c| [c, c]).collect(),
        6 => s.to_owned(),
        _ => panic!("#rgb or #rrggbb expected, got #{s}"),
    };
    let v = u32::from_str_radix(&s, 16).unwrap_or_else(|e| panic!("#{s}: {e}"));
    Srgb::from(v).into_format()
}

/// The custom properties of the stylesheet's `:root` rule that hold colours.
fn root_colours() -> HashMap<String, Srgb<f32>> {
    let start = STYLE_CSS.find(":root").expect("a :root rule");
    let body = &STYLE_CSS[start..];
    let body = &body[body.find('{').unwrap() + 1..body.find('}').unwrap()];
    body.split(';')
        .filter_map(|decl| decl.split_once(':'))
        .map(|(name, value)| (name.trim(), value.trim()))
        .filter(|(name, value)| name.starts_with("--") && value.starts_with('#'))
        .map(|(name, value)| (name.trim_start_matches("--").to_owned(), hex(value)))
        .collect()
}

fn seen(c: Srgb<f32>, m: &[[f32; 3]; 3]) -> Lab {
    let l: LinSrgb<f32> = c.into_linear();
    let [r, g, b] = [l.red, l.green, l.blue];
    let row = |i: usize| (m[i][0] * r + m[i][1] * g + m[i][2] * b).clamp(0.0, 1.0);
    Lab::from_color(LinSrgb::new(row(0), row(1), row(2)))
}

/// Asserts that every pair of `colours` differs by at least [`MIN_DELTA_E`] in every vision.
fn assert_apart(what: &str, colours: &[(&str, Srgb<f32>)]) {
    for (vision, m) in &VISIONS {
        for (i, (na, a)) in colours.iter().enumerate() {
            for (nb, b) in &colours[i + 1..] {
                let d = seen(*a, m).difference(seen(*b, m));
                assert!(
                    d >= MIN_DELTA_E,
                    "{what}: {na} and {nb} differ by only ΔE {d:.1} with {vision} vision"
                );
            }
        }
    }
}

fn assert_contrast(fg_name: &str, fg: Srgb<f32>, bg_name: &str, bg: Srgb<f32>, min: f32) {
    let ratio = fg.relative_contrast(bg);
    assert!(
        ratio >= min,
        "{fg_name} on {bg_name}: contrast {ratio:.2}:1, at least {min}:1 needed"
    );
}

#[test]
fn text_colours_meet_wcag_aa_on_their_backgrounds() {
    let c = root_colours();
    let get = |n: &str| *c.get(n).unwrap_or_else(|| panic!("--{n} in :root"));
    let white = hex("#ffffff");
    // State words, SLA countdowns, priorities and muted notes sit on cards and on the page.
    for fg in ["ink", "muted", "ok", "watch", "act", "fault", "brand"] {
        for bg in ["card", "bg"] {
            assert_contrast(fg, get(fg), bg, get(bg), 4.5);
        }
    }
    // White text on the P1 badge, the red-alert label, the header and primary buttons.
    for bg in ["act", "brand"] {
        assert_contrast("white", white, bg, get(bg), 4.5);
    }
    // The keyboard focus ring must stand out against the header it is drawn on (graphics).
    assert_contrast("focus", get("focus"), "brand", get("brand"), 3.0);
}

#[test]
fn health_states_stay_apart_with_colour_blind_vision() {
    let c = root_colours();
    let states: Vec<(&str, Srgb<f32>)> = ["ok", "watch", "act", "fault"]
        .iter()
        .map(|n| (*n, c[*n]))
        .collect();
    assert_apart("health states", &states);
}

#[test]
fn chart_colours_are_visible_and_apart() {
    use crate::chart::colours as p;
    let white = hex("#ffffff");
    let rgb = |c: plotters::style::RGBColor| hex(&format!("{:02x}{:02x}{:02x}", c.0, c.1, c.2));
    let lines = [
        ("mean", rgb(p::MEAN)),
        ("baseline", rgb(p::BASELINE)),
        ("mark", rgb(p::MARK)),
        ("repair", rgb(p::REPAIR)),
    ];
    for (name, c) in lines {
        assert_contrast(name, c, "white", white, 3.0);
    }
    assert_apart("chart lines", &lines);
    // The asset page's legend draws its keys in the charts' own colours.
    for (class, c) in [
        ("key-mean", p::MEAN),
        ("key-band", p::BAND),
        ("key-baseline", p::BASELINE),
        ("key-mark", p::MARK),
        ("key-repair", p::REPAIR),
    ] {
        let at = STYLE_CSS
            .find(&format!(".{class} {{"))
            .unwrap_or_else(|| panic!(".{class} in the stylesheet"));
        let rule = &STYLE_CSS[at..at + STYLE_CSS[at..].find('}').unwrap()];
        let hex = format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2);
        assert!(rule.contains(&hex), "{rule} should use {hex}");
    }
}

#[test]
fn the_checks_can_fail() {
    // Okabe–Ito's bluish green and vermilion are told apart by hue; a red and a green of equal
    // lightness are not, with deuteranopia — the classic case the check must catch.
    let red_green = [("red", hex("#d03c3c")), ("green", hex("#3c8a3c"))];
    let caught = std::panic::catch_unwind(|| assert_apart("red/green", &red_green));
    assert!(caught.is_err(), "a red/green pair must fail");
    assert!(hex("#009e73").relative_contrast(hex("#ffffff")) < 4.5);
}
