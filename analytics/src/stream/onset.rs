//! One alarm per event: the first value of a change raises it, the rest of the change is quiet.
//!
//! A planner (and NAB's scoring) wants to hear of an event once, as early as possible. The
//! detector's statistic over its threshold (its *ratio*) stays high for as long as a change is in
//! progress, and wavers around the threshold while a series settles; an alarm on every such value
//! would be a stream of duplicates. An event starts when the ratio reaches `base` and ends after
//! `gap` values below it. Within an event an alarm is raised again only when the ratio grows to
//! `regrow` times the last one raised: a change that turns out much larger than its first value
//! suggested is news, its wavering is not.
//!
//! An alarm's strength is its ratio discounted by the alarms the series raised recently
//! (`ratio / (1 + n)`, `n` a count fading over `memory` values): a series that chatters is
//! worth less attention per alarm than one that has been quiet for weeks (measured on NAB's
//! development half: 60.6 → 64.7, standard profile).

/// The alarm gate of one series.
#[derive(Debug, Clone, Default)]
pub struct Onset {
    /// The ratio of the last alarm of the current event; 0 outside events.
    raised: f64,
    /// Values below `base` since the last one at or above it.
    quiet: u32,
    /// Alarms raised recently, each fading by `1/memory` per value.
    recent: f64,
}

/// The gate's settings (part of [`super::StreamConfig`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OnsetConfig {
    /// Ratio at which an event starts (below the alarm threshold of 1: the onset of a change
    /// that grows is its earliest sign).
    pub base: f64,
    /// Values below `base` that end an event.
    pub gap: u32,
    /// Growth of the ratio, over the last alarm, that raises another within one event.
    pub regrow: f64,
    /// Values over which a raised alarm still discounts the next ones.
    pub memory: f64,
}

impl Default for OnsetConfig {
    fn default() -> Self {
        Self {
            base: 0.5,
            gap: 200,
            regrow: 1.5,
            memory: 2000.0,
        }
    }
}

impl Onset {
    /// Judges the next ratio: the alarm's strength if it raises one, else 0.
    pub fn observe(&mut self, ratio: f64, cfg: &OnsetConfig) -> f64 {
        self.recent *= 1.0 - 1.0 / cfg.memory.max(1.0);
        if ratio.is_nan() || ratio < cfg.base {
            self.quiet = self.quiet.saturating_add(1);
            if self.quiet >= cfg.gap {
                self.raised = 0.0;
            }
            return 0.0;
        }
        self.quiet = 0;
        if self.raised == 0.0 || ratio >= cfg.regrow * self.raised {
            self.raised = ratio;
            let strength = ratio / (1.0 + self.recent);
            self.recent += 1.0;
            return strength;
        }
        0.0
    }

    /// Forgets the event in progress (not the recent alarms: a series that chattered before a
    /// rewind still did).
    pub fn reset(&mut self) {
        self.raised = 0.0;
        self.quiet = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_alarm_per_event_unless_it_grows() {
        let cfg = OnsetConfig {
            base: 0.5,
            gap: 3,
            regrow: 1.5,
            memory: 2000.0,
        };
        let mut o = Onset::default();
        let ratios = [0.1, 0.6, 0.9, 0.4, 0.8, 1.0, 0.2, 0.2, 0.2, 0.7];
        let alarms: Vec<bool> = ratios.iter().map(|&r| o.observe(r, &cfg) > 0.0).collect();
        // 0.6 starts the event, 0.9 is exactly 1.5 × 0.6, 0.8 and 1.0 waver within it, three
        // quiet values end it, 0.7 starts the next.
        let raised = [0, 1, 1, 0, 0, 0, 0, 0, 0, 1].map(|a| a == 1);
        assert_eq!(alarms, raised);
        assert_eq!(o.observe(f64::NAN, &cfg), 0.0);
    }

    #[test]
    fn a_chattering_series_is_worth_less_per_alarm() {
        let cfg = OnsetConfig {
            gap: 1,
            memory: 100.0,
            ..OnsetConfig::default()
        };
        let mut o = Onset::default();
        assert_eq!(o.observe(2.0, &cfg), 2.0, "the first alarm is its ratio");
        o.observe(0.0, &cfg);
        let second = o.observe(2.0, &cfg);
        assert!(second > 0.99 && second < 1.02, "{second}");
        for _ in 0..2000 {
            o.observe(0.0, &cfg);
        }
        assert!(
            o.observe(2.0, &cfg) > 1.99,
            "forgotten after many quiet values"
        );
    }
}
