//! Analytic AUROC variance: DeLong, and Obuchowski's clustered variance; paired tests.
//!
//! Both rest on the structural components of the Mann-Whitney statistic: for each
//! positive, the share of negatives it outranks (`V10`, ties count one half), and for
//! each negative, the share of positives that outrank it (`V01`). DeLong (1988) treats
//! samples as independent. Obuchowski (1997, Biometrics 53:567) sums the components
//! within each cluster (the two ears of an exam), which accounts for their correlation:
//!
//! ```text
//! S10 = I10 / ((I10 - 1) M) Σ_i (V10_i - m_i θ)²
//! S01 = I01 / ((I01 - 1) N) Σ_i (V01_i - n_i θ)²
//! S11 = I / (I - 1)        Σ_i (V10_i - m_i θ)(V01_i - n_i θ)
//! var(θ) = S10 / M + S01 / N + 2 S11 / (M N)
//! ```
//!
//! with `m_i`, `n_i` the positives and negatives of cluster `i`, `M`, `N` their totals,
//! `I10`, `I01` the clusters containing positives and negatives, and `I` all clusters.
//! With one sample per cluster this is exactly DeLong's variance. Everything is f64.

use serde::{Deserialize, Serialize};

use crate::bootstrap::Clusters;
use crate::error::{Error, Result, check_len, check_unit};
use crate::normal;
use crate::ranked::RankedScores;

/// Which analytic variance was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VarianceMethod {
    /// DeLong: independent samples.
    Delong,
    /// Obuchowski: clustered samples.
    Obuchowski,
}

/// AUROC with its analytic variance and a normal-approximation interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AurocInterval {
    /// AUROC.
    pub auroc: f64,
    /// Estimated variance of the AUROC.
    pub variance: f64,
    /// Its square root.
    pub std_error: f64,
    /// Lower bound, `auroc - z * se`, clipped to [0, 1].
    pub lower: f64,
    /// Upper bound, clipped to [0, 1].
    pub upper: f64,
    /// Confidence level.
    pub level: f64,
    /// DeLong or Obuchowski.
    pub method: VarianceMethod,
    /// Positive samples.
    pub n_pos: usize,
    /// Negative samples.
    pub n_neg: usize,
    /// Clusters (equal to the number of samples for DeLong).
    pub n_clusters: usize,
}

/// Two correlated AUROCs (two models on the same cases) compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AurocComparison {
    /// AUROC of model A.
    pub auroc_a: f64,
    /// AUROC of model B.
    pub auroc_b: f64,
    /// A - B.
    pub difference: f64,
    /// Standard error of the difference.
    pub std_error: f64,
    /// Difference / standard error; undefined when the standard error is 0.
    pub z: Option<f64>,
    /// Two-sided p-value of "equal AUROC"; undefined when the standard error is 0.
    pub p_value: Option<f64>,
    /// Lower bound of the difference.
    pub lower: f64,
    /// Upper bound of the difference.
    pub upper: f64,
    /// Correlation of the two AUROC estimates.
    pub correlation: Option<f64>,
    /// Confidence level.
    pub level: f64,
    /// DeLong or Obuchowski.
    pub method: VarianceMethod,
    /// Positive samples.
    pub n_pos: usize,
    /// Negative samples.
    pub n_neg: usize,
    /// Clusters.
    pub n_clusters: usize,
}

/// DeLong's variance of the AUROC and its `level` confidence interval.
///
/// # Errors
/// Input validation errors; [`Error::TooFewForVariance`] with fewer than 2 positives
/// or 2 negatives (the variance has `n - 1` denominators).
///
/// # Examples
/// ```
/// // Positives 0.8, 0.6; negatives 0.7, 0.2. V10 = [1, 0.5], V01 = [0.5, 1]:
/// // AUROC 0.75, S10 = S01 = 0.125, variance = 0.125/2 + 0.125/2 = 0.125.
/// let r = medfen_metrics::delong(&[true, true, false, false], &[0.8, 0.6, 0.7, 0.2], 0.95)?;
/// assert_eq!(r.auroc, 0.75);
/// assert!((r.variance - 0.125).abs() < 1e-15);
/// # Ok::<(), medfen_metrics::Error>(())
/// ```
pub fn delong(labels: &[bool], scores: &[f64], level: f64) -> Result<AurocInterval> {
    interval(
        labels,
        scores,
        &Clusters::singletons(labels.len()),
        level,
        VarianceMethod::Delong,
    )
}

/// Obuchowski's clustered variance of the AUROC and its `level` confidence interval.
///
/// # Errors
/// As [`delong`], counting clusters that contain each class (at least 2 of each), and
/// [`Error::LengthMismatch`] when `clusters` does not cover every sample.
pub fn obuchowski(
    labels: &[bool],
    scores: &[f64],
    clusters: &Clusters,
    level: f64,
) -> Result<AurocInterval> {
    interval(labels, scores, clusters, level, VarianceMethod::Obuchowski)
}

/// Paired DeLong test of two models' AUROCs on the same cases.
///
/// # Errors
/// As [`delong`] for either model; [`Error::LengthMismatch`] when the score vectors
/// differ in length.
pub fn paired_delong(
    labels: &[bool],
    scores_a: &[f64],
    scores_b: &[f64],
    level: f64,
) -> Result<AurocComparison> {
    compare(
        labels,
        scores_a,
        scores_b,
        &Clusters::singletons(labels.len()),
        level,
        VarianceMethod::Delong,
    )
}

/// Paired comparison of two models' AUROCs with Obuchowski's clustered covariance.
///
/// # Errors
/// As [`obuchowski`] and [`paired_delong`].
pub fn paired_obuchowski(
    labels: &[bool],
    scores_a: &[f64],
    scores_b: &[f64],
    clusters: &Clusters,
    level: f64,
) -> Result<AurocComparison> {
    compare(
        labels,
        scores_a,
        scores_b,
        clusters,
        level,
        VarianceMethod::Obuchowski,
    )
}

/// Per-cluster sums of the structural components.
struct ClusterComponents {
    theta: f64,
    /// Σ V10 over the positives of each cluster.
    v10: Vec<f64>,
    /// Σ V01 over the negatives of each cluster.
    v01: Vec<f64>,
}

/// Cluster sizes and the counts the variance formula needs.
struct Design {
    m: Vec<f64>,
    n: Vec<f64>,
    total_m: f64,
    total_n: f64,
    i10: f64,
    i01: f64,
    i: f64,
}

fn design(labels: &[bool], clusters: &Clusters, method: VarianceMethod) -> Result<Design> {
    check_len("cluster ids", labels.len(), clusters.n_samples())?;
    let k = clusters.n_clusters();
    let (mut m, mut n) = (vec![0.0; k], vec![0.0; k]);
    for (i, &l) in labels.iter().enumerate() {
        let c = clusters.cluster_of(i);
        if l { m[c] += 1.0 } else { n[c] += 1.0 }
    }
    let i10 = m.iter().filter(|&&v| v > 0.0).count();
    let i01 = n.iter().filter(|&&v| v > 0.0).count();
    if i10 < 2 || i01 < 2 {
        return Err(Error::TooFewForVariance {
            method: match method {
                VarianceMethod::Delong => "DeLong",
                VarianceMethod::Obuchowski => "Obuchowski",
            },
            unit: match method {
                VarianceMethod::Delong => "samples",
                VarianceMethod::Obuchowski => "clusters",
            },
            n_pos: i10,
            n_neg: i01,
        });
    }
    Ok(Design {
        total_m: m.iter().sum(),
        total_n: n.iter().sum(),
        m,
        n,
        i10: i10 as f64,
        i01: i01 as f64,
        i: k as f64,
    })
}

fn components(labels: &[bool], scores: &[f64], clusters: &Clusters) -> Result<ClusterComponents> {
    let ranked = RankedScores::new(labels, scores)?;
    let t = ranked.tally();
    let (p, n) = (t.total_pos(), t.total_neg());
    let g = t.pos.len();
    // Negatives strictly below and positives strictly above each group.
    let mut neg_below = vec![0.0; g];
    let mut acc = 0.0;
    for j in (0..g).rev() {
        neg_below[j] = acc;
        acc += t.neg[j];
    }
    let mut pos_above = vec![0.0; g];
    acc = 0.0;
    for (above, pos) in pos_above.iter_mut().zip(&t.pos) {
        *above = acc;
        acc += pos;
    }
    let k = clusters.n_clusters();
    let (mut v10, mut v01) = (vec![0.0; k], vec![0.0; k]);
    let mut u = 0.0;
    for (i, &l) in labels.iter().enumerate() {
        let j = ranked.group_of(i);
        let c = clusters.cluster_of(i);
        if l {
            let v = (neg_below[j] + 0.5 * t.neg[j]) / n;
            v10[c] += v;
            u += v;
        } else {
            v01[c] += (pos_above[j] + 0.5 * t.pos[j]) / p;
        }
    }
    Ok(ClusterComponents {
        theta: u / p,
        v10,
        v01,
    })
}

/// Obuchowski covariance of two AUROC estimates (variance when `a` is `b`).
fn covariance(a: &ClusterComponents, b: &ClusterComponents, d: &Design) -> f64 {
    let (mut s10, mut s01, mut s11_ab, mut s11_ba) = (0.0, 0.0, 0.0, 0.0);
    for c in 0..d.m.len() {
        let xa = a.v10[c] - d.m[c] * a.theta;
        let xb = b.v10[c] - d.m[c] * b.theta;
        let ya = a.v01[c] - d.n[c] * a.theta;
        let yb = b.v01[c] - d.n[c] * b.theta;
        s10 += xa * xb;
        s01 += ya * yb;
        s11_ab += xa * yb;
        s11_ba += xb * ya;
    }
    let s10 = d.i10 / ((d.i10 - 1.0) * d.total_m) * s10;
    let s01 = d.i01 / ((d.i01 - 1.0) * d.total_n) * s01;
    let s11 = d.i / (d.i - 1.0) * (s11_ab + s11_ba);
    s10 / d.total_m + s01 / d.total_n + s11 / (d.total_m * d.total_n)
}

fn interval(
    labels: &[bool],
    scores: &[f64],
    clusters: &Clusters,
    level: f64,
    method: VarianceMethod,
) -> Result<AurocInterval> {
    check_level(level)?;
    let comp = components(labels, scores, clusters)?;
    let d = design(labels, clusters, method)?;
    let variance = covariance(&comp, &comp, &d).max(0.0);
    let se = variance.sqrt();
    let z = normal::two_sided_z(level);
    Ok(AurocInterval {
        auroc: comp.theta,
        variance,
        std_error: se,
        lower: (comp.theta - z * se).clamp(0.0, 1.0),
        upper: (comp.theta + z * se).clamp(0.0, 1.0),
        level,
        method,
        n_pos: d.total_m as usize,
        n_neg: d.total_n as usize,
        n_clusters: clusters.n_clusters(),
    })
}

fn compare(
    labels: &[bool],
    scores_a: &[f64],
    scores_b: &[f64],
    clusters: &Clusters,
    level: f64,
    method: VarianceMethod,
) -> Result<AurocComparison> {
    check_level(level)?;
    check_len("scores of model B", scores_a.len(), scores_b.len())?;
    let a = components(labels, scores_a, clusters)?;
    let b = components(labels, scores_b, clusters)?;
    let d = design(labels, clusters, method)?;
    let (va, vb, cab) = (
        covariance(&a, &a, &d),
        covariance(&b, &b, &d),
        covariance(&a, &b, &d),
    );
    let var = (va + vb - 2.0 * cab).max(0.0);
    let se = var.sqrt();
    let diff = a.theta - b.theta;
    let z = (se > 0.0).then(|| diff / se);
    let crit = normal::two_sided_z(level);
    Ok(AurocComparison {
        auroc_a: a.theta,
        auroc_b: b.theta,
        difference: diff,
        std_error: se,
        z,
        p_value: z.map(|z| (2.0 * (1.0 - normal::cdf(z.abs()))).min(1.0)),
        lower: diff - crit * se,
        upper: diff + crit * se,
        correlation: (va > 0.0 && vb > 0.0).then(|| cab / (va * vb).sqrt()),
        level,
        method,
        n_pos: d.total_m as usize,
        n_neg: d.total_n as usize,
        n_clusters: clusters.n_clusters(),
    })
}

fn check_level(level: f64) -> Result<()> {
    check_unit("level", level)?;
    if level == 0.0 || level == 1.0 {
        return Err(Error::InvalidParameter {
            name: "level",
            value: level.to_string(),
            reason: "must be in (0, 1)",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singleton_clusters_give_delong() {
        let labels = [true, false, true, true, false, false, true, false];
        let scores = [0.9, 0.3, 0.4, 0.8, 0.4, 0.1, 0.6, 0.7];
        let d = delong(&labels, &scores, 0.95).unwrap();
        let o = obuchowski(&labels, &scores, &Clusters::singletons(8), 0.95).unwrap();
        assert!((d.variance - o.variance).abs() < 1e-15);
        assert!((d.auroc - crate::auroc(&labels, &scores).unwrap()).abs() < 1e-15);
    }

    #[test]
    fn identical_models_have_zero_difference_and_too_few_is_an_error() {
        let labels = [true, false, true, false];
        let scores = [0.9, 0.3, 0.4, 0.5];
        let c = paired_delong(&labels, &scores, &scores, 0.95).unwrap();
        assert_eq!(
            (c.difference, c.std_error, c.z, c.p_value),
            (0.0, 0.0, None, None)
        );
        let err = delong(&[true, false, false], &[0.9, 0.3, 0.4], 0.95).unwrap_err();
        assert!(
            matches!(
                err,
                Error::TooFewForVariance {
                    n_pos: 1,
                    n_neg: 2,
                    ..
                }
            ),
            "{err}"
        );
        let err = obuchowski(&labels, &scores, &Clusters::from_ids(&[1, 1, 2, 2]), 0.95);
        assert!(err.is_ok());
        let err =
            obuchowski(&labels, &scores, &Clusters::from_ids(&[1, 1, 1, 2]), 0.95).unwrap_err();
        assert!(
            matches!(
                err,
                Error::TooFewForVariance {
                    unit: "clusters",
                    ..
                }
            ),
            "{err}"
        );
    }
}
