//! Calibration: Brier score, expected calibration error and reliability-curve points.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::normal;
use crate::proportion::wilson;
use crate::ranked::{RankedScores, Tally};

/// One bin of the reliability curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Lowest probability in the bin.
    pub lower: f64,
    /// Highest probability in the bin.
    pub upper: f64,
    /// Samples in the bin.
    pub count: f64,
    /// Mean predicted probability.
    pub mean_predicted: f64,
    /// Observed fraction of positives.
    pub fraction_positive: f64,
    /// Wilson score interval of the fraction of positives (lower).
    pub ci_lower: f64,
    /// Wilson score interval of the fraction of positives (upper).
    pub ci_upper: f64,
}

/// Brier score, ECE and the reliability curve of predicted probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationReport {
    /// Mean squared difference between probability and outcome.
    pub brier: f64,
    /// Expected calibration error over equal-mass bins.
    pub ece: f64,
    /// Requested number of bins (fewer when there are few distinct probabilities).
    pub n_bins: usize,
    /// Confidence level of the per-bin intervals.
    pub level: f64,
    /// The bins, by increasing probability.
    pub bins: Vec<ReliabilityBin>,
}

/// Brier score: the mean of `(p - y)^2`.
///
/// # Errors
/// Input validation errors; [`Error::NotAProbability`] for values outside [0, 1].
///
/// # Examples
/// ```
/// let b = medfen_metrics::brier_score(&[true, false], &[0.8, 0.4])?;
/// assert!((b - (0.04 + 0.16) / 2.0).abs() < 1e-15);
/// # Ok::<(), medfen_metrics::Error>(())
/// ```
pub fn brier_score(labels: &[bool], probabilities: &[f64]) -> Result<f64> {
    let ranked = ranked_probabilities(labels, probabilities, "Brier score")?;
    Ok(brier_tally(&ranked.tally(), ranked.distinct_scores()).unwrap_or(0.0))
}

/// Calibration report with `n_bins` equal-mass bins and Wilson intervals at `level`.
///
/// Bins hold (as nearly as possible) equal numbers of samples, sorted by probability;
/// tied probabilities always share a bin (a tie group goes to the bin where its middle
/// falls), so the result does not depend on input order. ECE is
/// `Σ_b (n_b / n) |mean(y)_b - mean(p)_b|`.
///
/// # Errors
/// As [`brier_score`], plus [`Error::InvalidParameter`] for `n_bins == 0` or a level
/// outside (0, 1).
pub fn calibration(
    labels: &[bool],
    probabilities: &[f64],
    n_bins: usize,
    level: f64,
) -> Result<CalibrationReport> {
    if n_bins == 0 {
        return Err(Error::InvalidParameter {
            name: "n_bins",
            value: "0".into(),
            reason: "must be at least 1",
        });
    }
    if !(level > 0.0 && level < 1.0) {
        return Err(Error::InvalidParameter {
            name: "level",
            value: level.to_string(),
            reason: "must be in (0, 1)",
        });
    }
    let ranked = ranked_probabilities(labels, probabilities, "calibration")?;
    let t = ranked.tally();
    let distinct = ranked.distinct_scores();
    let bins = bin_tally(&t, distinct, n_bins);
    let z = normal::two_sided_z(level);
    let total: f64 = bins.iter().map(|b| b.weight).sum();
    let mut ece = 0.0;
    let bins = bins
        .into_iter()
        .map(|b| {
            let frac = b.pos / b.weight;
            let mean_p = b.sum_p / b.weight;
            ece += b.weight / total * (frac - mean_p).abs();
            let (ci_lower, ci_upper) = wilson(b.pos, b.weight, z);
            ReliabilityBin {
                lower: b.lower,
                upper: b.upper,
                count: b.weight,
                mean_predicted: mean_p,
                fraction_positive: frac,
                ci_lower,
                ci_upper,
            }
        })
        .collect();
    Ok(CalibrationReport {
        brier: brier_tally(&t, distinct).unwrap_or(0.0),
        ece,
        n_bins,
        level,
        bins,
    })
}

fn ranked_probabilities(labels: &[bool], p: &[f64], metric: &'static str) -> Result<RankedScores> {
    let ranked = RankedScores::new(labels, p)?;
    if let Some((index, &value)) = p
        .iter()
        .enumerate()
        .find(|(_, v)| !(0.0..=1.0).contains(*v))
    {
        return Err(Error::NotAProbability {
            metric,
            index,
            value,
        });
    }
    Ok(ranked)
}

/// Weighted Brier score of a tally of probabilities; `None` with zero total weight.
pub(crate) fn brier_tally(t: &Tally, distinct: &[f64]) -> Option<f64> {
    let mut sum = 0.0;
    let mut weight = 0.0;
    for ((pos, neg), &p) in t.pos.iter().zip(&t.neg).zip(distinct) {
        sum += pos * (1.0 - p) * (1.0 - p) + neg * p * p;
        weight += pos + neg;
    }
    (weight > 0.0).then(|| sum / weight)
}

/// Weighted ECE of a tally (same binning as [`calibration`], and the same value to the
/// last bit).
///
/// The bootstrap calls it once per replicate, where about a third of the groups have
/// weight 0, so it bins without branching on the weight (a zero weight adds nothing)
/// and keeps the current bin's sums in registers: the bin index never decreases along
/// the walk.
pub(crate) fn ece_tally(t: &Tally, distinct: &[f64], n_bins: usize) -> Option<f64> {
    let total = t.total_pos() + t.total_neg();
    if total <= 0.0 {
        return None;
    }
    // (weight, positives, sum of weight * p) per bin.
    let mut bins = vec![(0.0, 0.0, 0.0); n_bins];
    let (mut current, mut sums) = (0, (0.0, 0.0, 0.0));
    let mut cumulative = 0.0;
    for g in (0..distinct.len()).rev() {
        let (pos, neg) = (t.pos[g], t.neg[g]);
        let w = pos + neg;
        let middle = cumulative + w / 2.0;
        cumulative += w;
        let b = ((middle / total * n_bins as f64) as usize).min(n_bins - 1);
        if b != current {
            bins[current] = sums;
            (current, sums) = (b, bins[b]);
        }
        sums.0 += w;
        sums.1 += pos;
        sums.2 += w * distinct[g];
    }
    bins[current] = sums;
    let used = || bins.iter().filter(|b| b.0 > 0.0);
    let weight: f64 = used().map(|b| b.0).sum();
    (weight > 0.0).then(|| {
        used()
            .map(|&(w, pos, sum_p)| w / weight * (pos / w - sum_p / w).abs())
            .sum()
    })
}

struct Bin {
    lower: f64,
    upper: f64,
    weight: f64,
    pos: f64,
    sum_p: f64,
}

/// Equal-mass bins over tie groups in increasing probability (distinct is descending).
fn bin_tally(t: &Tally, distinct: &[f64], n_bins: usize) -> Vec<Bin> {
    let total: f64 = t.total_pos() + t.total_neg();
    let mut bins: Vec<Option<Bin>> = (0..n_bins).map(|_| None).collect();
    let mut cumulative = 0.0;
    for g in (0..distinct.len()).rev() {
        let w = t.pos[g] + t.neg[g];
        if w <= 0.0 {
            continue;
        }
        let middle = cumulative + w / 2.0;
        cumulative += w;
        // The quotient is never negative, so truncation is its floor (and cheaper).
        let b = ((middle / total * n_bins as f64) as usize).min(n_bins - 1);
        let p = distinct[g];
        let bin = bins[b].get_or_insert(Bin {
            lower: p,
            upper: p,
            weight: 0.0,
            pos: 0.0,
            sum_p: 0.0,
        });
        bin.upper = p;
        bin.weight += w;
        bin.pos += t.pos[g];
        bin.sum_p += w * p;
    }
    bins.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfectly_calibrated_bins_have_zero_ece() {
        // Two bins: p = 0.25 with 1 of 4 positive, p = 0.75 with 3 of 4 positive.
        let labels = [true, false, false, false, true, true, true, false];
        let p = [0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75];
        let r = calibration(&labels, &p, 2, 0.95).unwrap();
        assert_eq!(r.bins.len(), 2);
        assert!(r.ece.abs() < 1e-15);
        assert_eq!(r.bins[0].fraction_positive, 0.25);
        assert!(r.bins[0].ci_lower < 0.25 && r.bins[0].ci_upper > 0.25);
        assert!((r.brier - 0.1875).abs() < 1e-15);
    }

    #[test]
    fn ties_never_straddle_bins_and_bad_probabilities_are_named() {
        let r = calibration(&[true, false, true, false], &[0.5, 0.5, 0.5, 0.9], 4, 0.9).unwrap();
        assert_eq!(r.bins.len(), 2);
        assert_eq!(r.bins[0].count, 3.0);
        let err = brier_score(&[true, false], &[0.5, 1.2]).unwrap_err();
        assert!(
            matches!(err, Error::NotAProbability { index: 1, .. }),
            "{err}"
        );
        // Wilson at 0/10 stays inside [0, 1].
        let (lo, hi) = wilson(0.0, 10.0, 1.96);
        assert!(lo == 0.0 && hi > 0.2 && hi < 0.35);
    }

    #[test]
    fn the_replicate_ece_equals_the_binned_one_to_the_last_bit() {
        // Weighted tallies as a bootstrap makes them: many groups of weight 0.
        let n = 500;
        let labels: Vec<bool> = (0..n).map(|i| (i * 7919) % 5 < 2).collect();
        let p: Vec<f64> = (0..n)
            .map(|i| f64::from((i * 104_729) % 997) / 997.0)
            .collect();
        let ranked = RankedScores::new(&labels, &p).unwrap();
        let distinct = ranked.distinct_scores();
        for seed in 0..20u64 {
            let mut t = ranked.tally();
            for (g, (pos, neg)) in t.pos.iter_mut().zip(&mut t.neg).enumerate() {
                let k = (g as u64 * g as u64 + 31 * g as u64 + 17 * seed) % 4;
                let w = [0.0, 0.0, 1.0, 2.0][k as usize];
                (*pos, *neg) = (*pos * w, *neg * w);
            }
            t.total_pos = t.pos.iter().sum();
            t.total_neg = t.neg.iter().sum();
            for n_bins in [1, 7, 10] {
                let bins = bin_tally(&t, distinct, n_bins);
                let total: f64 = bins.iter().map(|b| b.weight).sum();
                let mut reference = 0.0;
                for b in &bins {
                    reference += b.weight / total * (b.pos / b.weight - b.sum_p / b.weight).abs();
                }
                assert_eq!(
                    ece_tally(&t, distinct, n_bins),
                    Some(reference),
                    "seed {seed}"
                );
            }
        }
    }
}
