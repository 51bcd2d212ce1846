//! How a backtest did against a file's own labels: row-wise precision, recall, F1, false- and
//! missed-alarm rates (SKAB's measures), and per labelled event whether it was caught and how
//! many rows after its start.

/// A backtest against labels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Flagged rows that are labelled anomalous, of all flagged rows.
    pub precision: f64,
    /// Labelled rows flagged, of all labelled rows.
    pub recall: f64,
    /// Harmonic mean of the two.
    pub f1: f64,
    /// Normal rows flagged, of all normal rows (%).
    pub false_alarm_rate: f64,
    /// Labelled rows not flagged, of all labelled rows (%).
    pub missed_alarm_rate: f64,
    /// Labelled events (runs of anomalous rows).
    pub events: usize,
    /// Of those, the ones with a flagged row inside.
    pub events_caught: usize,
    /// Mean rows from an event's start to its first flagged row, over the caught ones.
    pub mean_delay_rows: Option<f64>,
}

/// Compares `flagged` rows with `labels` (as long as each other; the shorter bounds both).
pub fn evaluate(labels: &[bool], flagged: &[bool]) -> Evaluation {
    let (mut tp, mut fp, mut fn_, mut tn) = (0usize, 0usize, 0usize, 0usize);
    for (&l, &f) in labels.iter().zip(flagged) {
        match (l, f) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fn_ += 1,
            (false, false) => tn += 1,
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let (precision, recall) = (ratio(tp, tp + fp), ratio(tp, tp + fn_));
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    let (mut events, mut delays) = (0, Vec::new());
    let mut start: Option<usize> = None;
    let mut caught = false;
    let n = labels.len().min(flagged.len());
    for i in 0..=n {
        let l = i < n && labels[i];
        match (start, l) {
            (None, true) => {
                start = Some(i);
                events += 1;
                caught = false;
            }
            (Some(_), false) => start = None,
            _ => {}
        }
        if let Some(s) = start
            && !caught
            && flagged[i]
        {
            caught = true;
            delays.push((i - s) as f64);
        }
    }
    Evaluation {
        precision,
        recall,
        f1,
        false_alarm_rate: 100.0 * ratio(fp, fp + tn),
        missed_alarm_rate: 100.0 * ratio(fn_, fn_ + tp),
        events,
        events_caught: delays.len(),
        mean_delay_rows: (!delays.is_empty())
            .then(|| delays.iter().sum::<f64>() / delays.len() as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_events_are_counted_as_skab_and_a_planner_would() {
        let b = |s: &str| s.chars().map(|c| c == '1').collect::<Vec<_>>();
        // Two events: the first caught two rows late, the second missed; one false row.
        let labels = b("0011110000011100");
        let flagged = b("0100111000000000");
        let e = evaluate(&labels, &flagged);
        assert_eq!((e.events, e.events_caught), (2, 1));
        assert_eq!(e.mean_delay_rows, Some(2.0));
        // tp 2 (rows 4, 5), fp 2 (rows 1, 6), fn 5, tn 7.
        assert!((e.precision - 0.5).abs() < 1e-12);
        assert!((e.recall - 2.0 / 7.0).abs() < 1e-12);
        assert!((e.false_alarm_rate - 100.0 * 2.0 / 9.0).abs() < 1e-9);
        assert!((e.missed_alarm_rate - 100.0 * 5.0 / 7.0).abs() < 1e-9);
        let none = evaluate(&b("0000"), &b("0000"));
        assert_eq!((none.f1, none.events, none.mean_delay_rows), (0.0, 0, None));
    }
}
