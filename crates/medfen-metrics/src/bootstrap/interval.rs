//! Percentile and BCa intervals from replicate values.

use serde::{Deserialize, Serialize};

use crate::normal;

/// How the confidence interval is formed from the replicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalMethod {
    /// Quantiles of the replicate values (the default, as in R's pROC).
    #[default]
    Percentile,
    /// Bias-corrected and accelerated, with the acceleration from a leave-one-cluster-out
    /// jackknife. Falls back to percentile (and says so) when BCa is undefined.
    Bca,
}

/// Linear-interpolation quantile of sorted values (numpy's default, "type 7").
pub(crate) fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The percentile interval of sorted replicate values.
pub(crate) fn percentile(sorted: &[f64], level: f64) -> (f64, f64) {
    let alpha = (1.0 - level) / 2.0;
    (
        quantile_sorted(sorted, alpha),
        quantile_sorted(sorted, 1.0 - alpha),
    )
}

/// The BCa interval, or why it is undefined.
///
/// `z0` uses the mid-rank proportion of replicates below the estimate (ties count one
/// half), which keeps it finite for discrete statistics; the acceleration is
/// `a = Σ d³ / (6 (Σ d²)^1.5)` with `d` the jackknife deviations from their mean.
pub(crate) fn bca(
    sorted: &[f64],
    estimate: f64,
    jackknife: &[f64],
    level: f64,
) -> Result<(f64, f64), String> {
    let b = sorted.len() as f64;
    let below = sorted.partition_point(|&v| v < estimate) as f64;
    let equal = sorted.partition_point(|&v| v <= estimate) as f64 - below;
    let prop = (below + 0.5 * equal) / b;
    if prop <= 0.0 || prop >= 1.0 {
        return Err(format!(
            "every replicate lies on one side of the estimate (proportion {prop})"
        ));
    }
    let z0 = normal::quantile(prop);
    let mean = jackknife.iter().sum::<f64>() / jackknife.len() as f64;
    let (mut s2, mut s3) = (0.0, 0.0);
    for &t in jackknife {
        let d = mean - t;
        s2 += d * d;
        s3 += d * d * d;
    }
    let a = if s2 > 0.0 {
        s3 / (6.0 * s2.powf(1.5))
    } else {
        0.0
    };
    let alpha = (1.0 - level) / 2.0;
    let adjust = |z: f64| {
        let num = z0 + z;
        normal::cdf(z0 + num / (1.0 - a * num))
    };
    let (p_lo, p_hi) = (
        adjust(normal::quantile(alpha)),
        adjust(normal::quantile(1.0 - alpha)),
    );
    if !(p_lo.is_finite() && p_hi.is_finite()) {
        return Err("the BCa adjustment is not finite".into());
    }
    Ok((quantile_sorted(sorted, p_lo), quantile_sorted(sorted, p_hi)))
}

/// Sample standard deviation (n - 1 denominator).
pub(crate) fn std_dev(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    Some((ss / (values.len() - 1) as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy_linear() {
        let v = [1.0, 2.0, 4.0, 8.0];
        // numpy.quantile([1,2,4,8], [0.1, 0.5, 0.975]) = [1.3, 3.0, 7.7]
        assert!((quantile_sorted(&v, 0.1) - 1.3).abs() < 1e-12);
        assert!((quantile_sorted(&v, 0.5) - 3.0).abs() < 1e-12);
        assert!((quantile_sorted(&v, 0.975) - 7.7).abs() < 1e-12);
    }

    #[test]
    fn bca_without_bias_or_skew_is_the_percentile_interval() {
        let sorted: Vec<f64> = (0..1001).map(|i| f64::from(i) / 1000.0).collect();
        let jack = [0.4, 0.5, 0.6];
        let (lo, hi) = bca(&sorted, 0.5, &jack, 0.9).unwrap();
        let (plo, phi) = percentile(&sorted, 0.9);
        assert!(
            (lo - plo).abs() < 1e-9 && (hi - phi).abs() < 1e-9,
            "{lo} {hi} vs {plo} {phi}"
        );
        assert!(bca(&sorted, -1.0, &jack, 0.9).is_err());
    }
}
