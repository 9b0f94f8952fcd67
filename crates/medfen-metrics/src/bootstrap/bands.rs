//! Pointwise bootstrap bands for ROC and precision-recall curves (for plots).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::BootstrapConfig;
use super::clusters::Clusters;
use super::interval::quantile_sorted;
use super::resample::Resampler;
use crate::error::{Result, check_len};
use crate::ranked::{RankedScores, Tally};

/// A curve's pointwise confidence band on a fixed grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveBand {
    /// Grid positions (FPR for ROC, recall for PR), from 0 to 1.
    pub x: Vec<f64>,
    /// Lower bound at each grid position.
    pub lower: Vec<f64>,
    /// Upper bound at each grid position.
    pub upper: Vec<f64>,
    /// Confidence level of the bounds.
    pub level: f64,
}

/// Bands for the ROC curve (sensitivity at each FPR) and the PR curve (interpolated
/// precision at each recall).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveBands {
    /// Confidence level.
    pub level: f64,
    /// Replicates used.
    pub replicates: usize,
    /// ROC band: best TPR among thresholds with FPR <= x.
    pub roc: CurveBand,
    /// PR band: best precision among thresholds with recall >= x.
    pub pr: CurveBand,
}

/// One replicate's curves on the grid.
struct ReplicateCurves {
    roc: Vec<f64>,
    pr: Vec<f64>,
}

/// Pointwise cluster-bootstrap bands on a grid of `grid_points` positions in [0, 1].
///
/// Replicates without both classes are skipped.
///
/// # Errors
/// Input validation errors; [`crate::Error::LengthMismatch`] for clusters.
pub fn curve_bands(
    labels: &[bool],
    scores: &[f64],
    clusters: &Clusters,
    config: BootstrapConfig,
    grid_points: usize,
) -> Result<CurveBands> {
    config.validate()?;
    let ranked = RankedScores::new(labels, scores)?;
    check_len("cluster ids", labels.len(), clusters.n_samples())?;
    let grid: Vec<f64> = (0..grid_points.max(2))
        .map(|i| i as f64 / (grid_points.max(2) - 1) as f64)
        .collect();
    let resampler = Resampler::new(&ranked, labels, clusters, config.stratified, config.seed);
    let n_clusters = clusters.n_clusters();
    let curves: Vec<ReplicateCurves> = (0..config.replicates as u64)
        .into_par_iter()
        .map_init(
            || (vec![0u32; n_clusters], ranked.empty_tally()),
            |(counts, tally), r| {
                resampler.draw(r, counts);
                resampler.tally_into(counts, tally);
                ReplicateCurves {
                    roc: roc_on_grid(tally, &grid),
                    pr: pr_on_grid(tally, &grid),
                }
            },
        )
        .filter(|c| !c.roc.is_empty())
        .collect();
    let band = |pick: fn(&ReplicateCurves) -> &[f64]| {
        let mut lower = Vec::with_capacity(grid.len());
        let mut upper = Vec::with_capacity(grid.len());
        for i in 0..grid.len() {
            let mut column: Vec<f64> = curves.iter().map(|c| pick(c)[i]).collect();
            column.sort_by(f64::total_cmp);
            let alpha = (1.0 - config.level) / 2.0;
            lower.push(if column.is_empty() {
                f64::NAN
            } else {
                quantile_sorted(&column, alpha)
            });
            upper.push(if column.is_empty() {
                f64::NAN
            } else {
                quantile_sorted(&column, 1.0 - alpha)
            });
        }
        CurveBand {
            x: grid.clone(),
            lower,
            upper,
            level: config.level,
        }
    };
    Ok(CurveBands {
        level: config.level,
        replicates: curves.len(),
        roc: band(|c| &c.roc),
        pr: band(|c| &c.pr),
    })
}

/// TPR at each grid FPR (the best TPR among thresholds with FPR <= x); empty when a
/// class is missing from the tally.
fn roc_on_grid(t: &Tally, grid: &[f64]) -> Vec<f64> {
    let (p, n) = (t.total_pos(), t.total_neg());
    if p <= 0.0 || n <= 0.0 {
        return Vec::new();
    }
    let mut out = vec![0.0; grid.len()];
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut gi = 0;
    for (pos, neg) in t.pos.iter().zip(&t.neg) {
        // Grid points before this threshold's FPR keep the previous TPR.
        let fpr_next = (fp + neg) / n;
        while gi < grid.len() && grid[gi] < fpr_next {
            out[gi] = tp / p;
            gi += 1;
        }
        tp += pos;
        fp += neg;
    }
    for v in &mut out[gi..] {
        *v = tp / p;
    }
    out
}

/// Interpolated precision at each grid recall (the best precision among thresholds
/// with recall >= x).
fn pr_on_grid(t: &Tally, grid: &[f64]) -> Vec<f64> {
    let p = t.total_pos();
    if p <= 0.0 || t.total_neg() <= 0.0 {
        return Vec::new();
    }
    let mut points = Vec::with_capacity(t.pos.len());
    let (mut tp, mut fp) = (0.0, 0.0);
    for (pos, neg) in t.pos.iter().zip(&t.neg) {
        tp += pos;
        fp += neg;
        if tp + fp > 0.0 {
            points.push((tp / p, tp / (tp + fp)));
        }
    }
    // Running maximum of precision from the high-recall end.
    let mut best = 0.0f64;
    let mut envelope = vec![0.0; points.len()];
    for (i, &(_, prec)) in points.iter().enumerate().rev() {
        best = best.max(prec);
        envelope[i] = best;
    }
    grid.iter()
        .map(|&r| {
            let i = points.partition_point(|&(rec, _)| rec < r);
            envelope.get(i).copied().unwrap_or(0.0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_curves_of_a_known_ranking() {
        // Descending: P, N, P, N.
        let r = RankedScores::new(&[true, false, true, false], &[0.9, 0.8, 0.7, 0.6]).unwrap();
        let t = r.tally();
        let grid = [0.0, 0.25, 0.5, 0.75, 1.0];
        assert_eq!(roc_on_grid(&t, &grid), vec![0.5, 0.5, 1.0, 1.0, 1.0]);
        // Precision: recall 0.5 at 1.0, recall 1.0 at 2/3.
        let pr = pr_on_grid(&t, &grid);
        assert_eq!(pr[..3], [1.0, 1.0, 1.0]);
        assert!((pr[4] - 2.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn bands_bracket_the_curve() {
        let labels: Vec<bool> = (0..200).map(|i| i % 3 == 0).collect();
        let scores: Vec<f64> = (0..200)
            .map(|i| f64::from((i * 37) % 101) / 100.0 + if i % 3 == 0 { 0.3 } else { 0.0 })
            .collect();
        let clusters = Clusters::from_ids(&(0..200).map(|i| i / 2).collect::<Vec<_>>());
        let b = curve_bands(
            &labels,
            &scores,
            &clusters,
            BootstrapConfig::new().with_replicates(200),
            21,
        )
        .unwrap();
        let full = roc_on_grid(
            &RankedScores::new(&labels, &scores).unwrap().tally(),
            &b.roc.x,
        );
        assert_eq!(full.len(), 21);
        for (i, ((lo, hi), f)) in b.roc.lower.iter().zip(&b.roc.upper).zip(&full).enumerate() {
            assert!(lo <= hi);
            assert!(*lo <= f + 1e-12 && *f <= hi + 1e-12, "at {i}");
        }
        assert_eq!(b.replicates, 200);
    }
}
