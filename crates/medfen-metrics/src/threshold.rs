//! Choosing an operating threshold on one prediction set and applying it to another.
//!
//! Thresholds are chosen on validation predictions, stored (the [`ChosenThreshold`]
//! serialises to JSON) and applied unchanged to test predictions, so the reported test
//! numbers never depend on the test labels.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::confusion::{ConfusionCounts, ConfusionMetrics, counts_at, counts_top_groups};
use crate::error::{Error, Result, check_unit};
use crate::operating_point::{
    groups_for_sensitivity, groups_for_specificity, threshold_for_groups,
};
use crate::ranked::{RankedScores, Tally};

/// How to choose a threshold.
///
/// Text form (command lines): `youden`, `f1`, `sens@spec:0.95` (highest sensitivity with
/// specificity >= 0.95), `spec@sens:0.9`, `fixed:0.5`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum ThresholdRule {
    /// Maximise Youden's J = sensitivity + specificity - 1.
    Youden,
    /// Maximise F1.
    F1,
    /// Highest sensitivity subject to specificity >= `min_specificity`.
    MaxSensitivity {
        /// The specificity floor.
        min_specificity: f64,
    },
    /// Highest specificity subject to sensitivity >= `min_sensitivity`.
    MaxSpecificity {
        /// The sensitivity floor.
        min_sensitivity: f64,
    },
    /// A given threshold.
    Fixed {
        /// The threshold (positive when `score >= threshold`).
        threshold: f64,
    },
}

impl fmt::Display for ThresholdRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Youden => f.write_str("youden"),
            Self::F1 => f.write_str("f1"),
            Self::MaxSensitivity { min_specificity } => write!(f, "sens@spec:{min_specificity}"),
            Self::MaxSpecificity { min_sensitivity } => write!(f, "spec@sens:{min_sensitivity}"),
            Self::Fixed { threshold } => write!(f, "fixed:{threshold}"),
        }
    }
}

impl FromStr for ThresholdRule {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::InvalidParameter {
            name: "threshold rule",
            value: s.to_owned(),
            reason: "expected youden, f1, sens@spec:X, spec@sens:X or fixed:X",
        };
        let t = s.trim().to_ascii_lowercase();
        let (name, value) = match t.split_once(':') {
            Some((n, v)) => (n, Some(v.trim().parse::<f64>().map_err(|_| bad())?)),
            None => (t.as_str(), None),
        };
        let rule = match (name, value) {
            ("youden", None) => Self::Youden,
            ("f1", None) => Self::F1,
            ("sens@spec", Some(v)) => Self::MaxSensitivity { min_specificity: v },
            ("spec@sens", Some(v)) => Self::MaxSpecificity { min_sensitivity: v },
            ("fixed", Some(v)) if v.is_finite() => Self::Fixed { threshold: v },
            _ => return Err(bad()),
        };
        match rule {
            Self::MaxSensitivity { min_specificity: v }
            | Self::MaxSpecificity { min_sensitivity: v } => {
                check_unit("threshold rule target", v)?;
            }
            _ => {}
        }
        Ok(rule)
    }
}

/// A threshold chosen on one prediction set, with how it performed there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChosenThreshold {
    /// The rule that chose it.
    pub rule: ThresholdRule,
    /// Positive when `score >= threshold`.
    pub threshold: f64,
    /// Samples in the set it was chosen on.
    pub chosen_on_n: usize,
    /// Counts on that set.
    pub counts: ConfusionCounts,
    /// Metrics on that set.
    pub metrics: ConfusionMetrics,
}

/// The result of applying a stored threshold to a prediction set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdResult {
    /// The threshold applied.
    pub threshold: f64,
    /// The rule it came from.
    pub rule: ThresholdRule,
    /// Counts on this set.
    pub counts: ConfusionCounts,
    /// Metrics on this set.
    pub metrics: ConfusionMetrics,
}

/// Chooses a threshold on `labels`/`scores` by `rule`.
///
/// Candidates are the distinct scores (plus "above the highest score"). Youden and F1
/// break ties towards the higher threshold (fewer positive calls).
///
/// # Errors
/// Input validation errors; [`Error::SingleClass`] when a class is absent (except for
/// [`ThresholdRule::Fixed`], which needs no labels of either class).
///
/// # Examples
/// ```
/// use medfen_metrics::{choose_threshold, ThresholdRule};
/// let val_labels = [false, false, true, false, true, true];
/// let val_scores = [0.1, 0.3, 0.55, 0.4, 0.7, 0.8];
/// let chosen = choose_threshold(&val_labels, &val_scores, ThresholdRule::Youden)?;
/// assert_eq!(chosen.threshold, 0.55); // separates the classes: J = 1
/// // Frozen, then applied to test predictions: only the 0.7 positive reaches 0.55.
/// let test = chosen.apply(&[true, false, true], &[0.5, 0.2, 0.7])?;
/// assert_eq!(test.metrics.sensitivity, Some(0.5));
/// # Ok::<(), medfen_metrics::Error>(())
/// ```
pub fn choose_threshold(
    labels: &[bool],
    scores: &[f64],
    rule: ThresholdRule,
) -> Result<ChosenThreshold> {
    let ranked = RankedScores::new(labels, scores)?;
    let t = ranked.tally();
    let distinct = ranked.distinct_scores();
    let threshold = if let ThresholdRule::Fixed { threshold } = rule {
        threshold
    } else {
        if ranked.n_pos() == 0 || ranked.n_neg() == 0 {
            return Err(Error::SingleClass {
                metric: "threshold selection",
                n_pos: ranked.n_pos(),
                n_neg: ranked.n_neg(),
            });
        }
        threshold_for_groups(distinct, groups_for_rule(&t, rule))
    };
    let w = counts_at(&t, distinct, threshold);
    Ok(ChosenThreshold {
        rule,
        threshold,
        chosen_on_n: ranked.len(),
        counts: ConfusionCounts::from_weighted(w),
        metrics: w.metrics(),
    })
}

impl ChosenThreshold {
    /// Applies this threshold, unchanged, to another prediction set.
    ///
    /// # Errors
    /// Input validation errors of the new set.
    pub fn apply(&self, labels: &[bool], scores: &[f64]) -> Result<ThresholdResult> {
        let counts = ConfusionCounts::at_threshold(labels, scores, self.threshold)?;
        Ok(ThresholdResult {
            threshold: self.threshold,
            rule: self.rule,
            counts,
            metrics: counts.metrics(),
        })
    }
}

/// Number of top groups the rule calls positive.
fn groups_for_rule(t: &Tally, rule: ThresholdRule) -> usize {
    match rule {
        ThresholdRule::MaxSensitivity { min_specificity } => {
            groups_for_specificity(t, min_specificity)
        }
        ThresholdRule::MaxSpecificity { min_sensitivity } => {
            groups_for_sensitivity(t, min_sensitivity)
        }
        ThresholdRule::Youden => best_k(t, |w| {
            let m = w.metrics();
            m.sensitivity.unwrap_or(0.0) + m.specificity.unwrap_or(0.0) - 1.0
        }),
        ThresholdRule::F1 => best_k(t, |w| w.metrics().f1.unwrap_or(0.0)),
        ThresholdRule::Fixed { .. } => 0,
    }
}

/// The smallest `k` (highest threshold) maximising `score`.
fn best_k(t: &Tally, score: impl Fn(&crate::confusion::WeightedCounts) -> f64) -> usize {
    let mut best = (f64::NEG_INFINITY, 0);
    for k in 0..=t.pos.len() {
        let s = score(&counts_top_groups(t, k));
        if s > best.0 {
            best = (s, k);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_print() {
        for text in [
            "youden",
            "f1",
            "sens@spec:0.95",
            "spec@sens:0.9",
            "fixed:0.5",
        ] {
            let rule: ThresholdRule = text.parse().unwrap();
            assert_eq!(rule.to_string(), text);
        }
        assert!("sens@spec:1.5".parse::<ThresholdRule>().is_err());
        assert!("median".parse::<ThresholdRule>().is_err());
        assert!("fixed:nan".parse::<ThresholdRule>().is_err());
    }

    #[test]
    fn f1_and_floor_rules_and_json_round_trip() {
        let labels = [true, true, false, true, false, false];
        let scores = [0.9, 0.8, 0.7, 0.6, 0.2, 0.1];
        // F1 at 0.6: tp 3, fp 1 -> 6/7; at 0.8: tp 2 -> 4/5.
        let chosen = choose_threshold(&labels, &scores, ThresholdRule::F1).unwrap();
        assert_eq!(chosen.threshold, 0.6);
        let floor = ThresholdRule::MaxSensitivity {
            min_specificity: 1.0,
        };
        assert_eq!(
            choose_threshold(&labels, &scores, floor).unwrap().threshold,
            0.8
        );
        let json = serde_json::to_string(&chosen).unwrap();
        let back: ChosenThreshold = serde_json::from_str(&json).unwrap();
        assert_eq!(back, chosen);
        assert!(json.contains("\"rule\":\"f1\""), "{json}");
    }
}
