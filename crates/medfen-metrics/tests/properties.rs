//! Properties every correct implementation has, checked on generated data.

use medfen_metrics::{
    BinaryMetric, BootstrapConfig, Clusters, auroc, average_precision, cluster_bootstrap, delong,
    sensitivity_at_specificity,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

/// Labelled integer scores (so transforms cannot create or break ties by rounding),
/// with both classes present.
fn dataset(max_len: usize) -> impl Strategy<Value = (Vec<bool>, Vec<f64>)> {
    prop::collection::vec((any::<bool>(), -60i32..60), 4..max_len)
        .prop_filter("both classes", |v| {
            v.iter().any(|(l, _)| *l) && v.iter().any(|(l, _)| !*l)
        })
        .prop_map(|v| v.into_iter().map(|(l, s)| (l, f64::from(s))).unzip())
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(20_261_122),
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn auroc_is_invariant_under_strictly_increasing_transforms((y, s) in dataset(80)) {
        let base = auroc(&y, &s).unwrap();
        for f in [|x: f64| 3.0 * x - 7.0, |x: f64| x * x * x, |x: f64| (x / 40.0).exp(), |x: f64| x.atan()] {
            let t: Vec<f64> = s.iter().map(|&x| f(x)).collect();
            prop_assert!((auroc(&y, &t).unwrap() - base).abs() < 1e-12);
        }
        let ap = average_precision(&y, &s).unwrap();
        let t: Vec<f64> = s.iter().map(|&x| x * x * x).collect();
        prop_assert!((average_precision(&y, &t).unwrap() - ap).abs() < 1e-12);
    }

    #[test]
    fn flipping_labels_maps_auroc_to_its_complement((y, s) in dataset(80)) {
        let flipped: Vec<bool> = y.iter().map(|l| !l).collect();
        let sum = auroc(&y, &s).unwrap() + auroc(&flipped, &s).unwrap();
        prop_assert!((sum - 1.0).abs() < 1e-12);
        // Negating the scores does the same.
        let neg: Vec<f64> = s.iter().map(|x| -x).collect();
        prop_assert!((auroc(&y, &s).unwrap() + auroc(&y, &neg).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn auroc_and_ap_do_not_depend_on_input_order((y, s) in dataset(80), rot in 0usize..80) {
        let k = rot % y.len();
        let (mut y2, mut s2) = (y.clone(), s.clone());
        y2.rotate_left(k);
        s2.rotate_left(k);
        prop_assert_eq!(auroc(&y, &s).unwrap(), auroc(&y2, &s2).unwrap());
        prop_assert_eq!(average_precision(&y, &s).unwrap(), average_precision(&y2, &s2).unwrap());
    }

    #[test]
    fn sensitivity_at_specificity_never_exceeds_its_false_positive_budget(
        (y, s) in dataset(120), target in 0.0f64..=1.0
    ) {
        let op = sensitivity_at_specificity(&y, &s, target).unwrap();
        let n_neg = y.iter().filter(|l| !**l).count() as f64;
        prop_assert!(op.counts.fp as f64 <= ((1.0 - target) * n_neg + 1e-9 * n_neg.max(1.0)).floor());
        prop_assert!(op.specificity >= target - 1e-9);
        // Lowering the threshold to the next distinct score would break the budget (or
        // there is no lower score).
        let lower = s.iter().copied().filter(|&x| x < op.threshold).fold(f64::NEG_INFINITY, f64::max);
        if lower.is_finite() {
            let fp = y.iter().zip(&s).filter(|(l, x)| !**l && **x >= lower).count() as f64;
            prop_assert!(fp > ((1.0 - target) * n_neg + 1e-9 * n_neg.max(1.0)).floor());
        }
    }
}

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn confidence_intervals_contain_the_point_estimate(
        (y, s) in dataset(160).prop_filter("enough of each class", |(y, _)| {
            let pos = y.iter().filter(|l| **l).count();
            pos >= 8 && y.len() - pos >= 8
        })
    ) {
        // Pairs of consecutive samples form clusters (two ears per exam).
        let ids: Vec<usize> = (0..y.len()).map(|i| i / 2).collect();
        let clusters = Clusters::from_ids(&ids);
        let report = cluster_bootstrap(&y, &s, &clusters, &[BinaryMetric::Auroc, BinaryMetric::AveragePrecision],
            BootstrapConfig::new().with_replicates(400)).unwrap();
        for m in &report.metrics {
            let (lo, est, hi) = (m.lower.unwrap(), m.estimate.unwrap(), m.upper.unwrap());
            prop_assert!(lo <= est && est <= hi, "{}: {} {} {}", m.name, lo, est, hi);
        }
        if let Ok(d) = delong(&y, &s, 0.95) {
            prop_assert!(d.lower <= d.auroc && d.auroc <= d.upper);
        }
    }
}
