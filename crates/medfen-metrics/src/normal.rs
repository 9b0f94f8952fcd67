//! Standard normal distribution helpers (statrs).

use statrs::distribution::{ContinuousCDF, Normal};

fn standard() -> Normal {
    Normal::standard()
}

/// Φ(x).
pub(crate) fn cdf(x: f64) -> f64 {
    standard().cdf(x)
}

/// Φ⁻¹(p).
pub(crate) fn quantile(p: f64) -> f64 {
    standard().inverse_cdf(p)
}

/// The two-sided critical value for a confidence `level` (1.959964 for 0.95).
pub(crate) fn two_sided_z(level: f64) -> f64 {
    quantile(0.5 + level / 2.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_values() {
        assert!((super::two_sided_z(0.95) - 1.959_963_984_540_054).abs() < 1e-9);
        assert!((super::cdf(0.0) - 0.5).abs() < 1e-15);
        assert!((super::quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-9);
    }
}
