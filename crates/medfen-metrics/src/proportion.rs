//! Confidence intervals of a proportion.

use crate::error::{Error, Result};
use crate::normal;

/// The Wilson score interval of `successes` out of `n` at confidence `level`, clipped
/// to [0, 1]. `successes` may be fractional (ties counted as one half).
///
/// ```
/// let (lo, hi) = medfen_metrics::wilson_interval(8.0, 10.0, 0.95)?;
/// assert!((lo - 0.4902).abs() < 1e-4 && (hi - 0.9433).abs() < 1e-4);
/// # Ok::<(), medfen_metrics::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for `n` not positive, `successes` outside `[0, n]` or a
/// level outside (0, 1).
pub fn wilson_interval(successes: f64, n: f64, level: f64) -> Result<(f64, f64)> {
    if n.is_nan() || n <= 0.0 || !(0.0..=n).contains(&successes) {
        return Err(Error::InvalidParameter {
            name: "successes / n",
            value: format!("{successes} / {n}"),
            reason: "needs n > 0 and 0 <= successes <= n",
        });
    }
    if !(level > 0.0 && level < 1.0) {
        return Err(Error::InvalidParameter {
            name: "level",
            value: level.to_string(),
            reason: "must be in (0, 1)",
        });
    }
    Ok(wilson(successes, n, normal::two_sided_z(level)))
}

/// Wilson score interval for `successes` out of `n` with the normal quantile `z`.
pub(crate) fn wilson(successes: f64, n: f64, z: f64) -> (f64, f64) {
    let p = successes / n;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}
