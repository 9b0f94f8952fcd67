//! Statistical behaviour of the bootstrap and the analytic variances on simulated
//! two-ear exams with a known AUROC.

mod common;

use common::{RepeatPatientSim, TwoEarSim, std_dev};
use medfen_metrics::{
    BinaryMetric, BootstrapConfig, Clusters, IntervalMethod, auroc, cluster_bootstrap, delong,
    obuchowski, paired_bootstrap,
};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

const SIM: TwoEarSim = TwoEarSim {
    mu: 1.0,
    sigma_u: 0.7,
    sigma_e: 0.7,
};

fn bootstrap_auroc(
    d: &common::Dataset,
    clusters: &Clusters,
    config: BootstrapConfig,
) -> medfen_metrics::MetricInterval {
    let report = cluster_bootstrap(
        &d.labels,
        &d.scores,
        clusters,
        &[BinaryMetric::Auroc],
        config,
    )
    .unwrap();
    report.metrics.into_iter().next().unwrap()
}

/// The Python pipeline's defect: resampled exams selected with `isin`, so an exam drawn
/// twice counts once. Emulated here to show the check below can tell the difference.
fn collapsed_bootstrap_sd(d: &common::Dataset, n_exams: usize, replicates: usize) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let mut values = Vec::with_capacity(replicates);
    for _ in 0..replicates {
        let mut drawn = vec![false; n_exams];
        for _ in 0..n_exams {
            drawn[(rng.next_u64() % n_exams as u64) as usize] = true;
        }
        let (mut y, mut s) = (Vec::new(), Vec::new());
        for i in 0..d.labels.len() {
            if drawn[d.exams[i] as usize] {
                y.push(d.labels[i]);
                s.push(d.scores[i]);
            }
        }
        values.push(auroc(&y, &s).unwrap());
    }
    std_dev(&values)
}

#[test]
fn bootstrap_spread_matches_the_clustered_variance_because_multiplicity_is_kept() {
    let n_exams = 400;
    let d = SIM.draw(n_exams, 1);
    let clusters = Clusters::from_ids(&d.exams);
    let boot = bootstrap_auroc(&d, &clusters, BootstrapConfig::new());
    let analytic = obuchowski(&d.labels, &d.scores, &clusters, 0.95).unwrap();
    let ratio = boot.std_error.unwrap() / analytic.std_error;
    assert!(
        (0.9..1.1).contains(&ratio),
        "cluster bootstrap SD {} vs Obuchowski SE {}: ratio {ratio}",
        boot.std_error.unwrap(),
        analytic.std_error
    );
    // Collapsing repeated draws shrinks the spread to about 0.77: the check above fails it.
    let collapsed = collapsed_bootstrap_sd(&d, n_exams, 2000) / analytic.std_error;
    assert!(
        collapsed < 0.85,
        "collapsed bootstrap ratio {collapsed} should be clearly too small"
    );
    // Ignoring the clusters (every ear on its own) understates the spread as well.
    let naive = bootstrap_auroc(
        &d,
        &Clusters::singletons(d.labels.len()),
        BootstrapConfig::new(),
    );
    assert!(naive.std_error.unwrap() < boot.std_error.unwrap());
}

/// 200 datasets of 300 two-ear exams. Over 1000 datasets (measured while writing this
/// test) the percentile interval covered 94.0% at 100 exams, 94.4% at 300 and 96.2% at
/// 500; BCa 95.3%, 94.2% and 96.4%. With 200 datasets one binomial SD is 1.5 points.
#[test]
fn clustered_bootstrap_ci_covers_the_true_auroc_about_95_percent_of_the_time() {
    let truth = SIM.true_auroc();
    let datasets = 200;
    let mut covered = 0;
    for seed in 0..datasets {
        let d = SIM.draw(300, 1000 + seed);
        let ci = bootstrap_auroc(
            &d,
            &Clusters::from_ids(&d.exams),
            BootstrapConfig::new().with_seed(seed),
        );
        if ci.lower.unwrap() <= truth && truth <= ci.upper.unwrap() {
            covered += 1;
        }
    }
    assert!(
        (184..=196).contains(&covered),
        "95% CI covered the true AUROC {truth:.4} in {covered}/{datasets} datasets (92-98% expected)"
    );
}

/// Half the patients came back for a second exam. 200 datasets of 200 patients
/// (about 300 exams, 600 ears): intervals that resample patients cover the truth at
/// 92-98%; intervals that resample exams treat a patient's two exams as independent
/// and are narrower.
#[test]
fn with_repeat_patients_only_patient_clusters_give_honest_intervals() {
    let sim = RepeatPatientSim {
        mu: 1.0,
        sigma_patient: 1.0,
        sigma_exam: 0.1,
        sigma_ear: 0.4,
        repeat_share: 0.5,
    };
    let truth = sim.true_auroc();
    let datasets = 200;
    let (mut covered, mut covered_by_exam) = (0, 0);
    let (mut width_patient, mut width_exam) = (0.0, 0.0);
    for seed in 0..datasets {
        let d = sim.draw(200, 20_000 + seed);
        let as_dataset = common::Dataset {
            labels: d.labels.clone(),
            scores: d.scores.clone(),
            exams: d.exams.clone(),
        };
        let config = BootstrapConfig::new().with_seed(seed);
        let by_patient = bootstrap_auroc(&as_dataset, &Clusters::from_ids(&d.patients), config);
        let by_exam = bootstrap_auroc(&as_dataset, &Clusters::from_ids(&d.exams), config);
        let inside = |ci: &medfen_metrics::MetricInterval| {
            ci.lower.unwrap() <= truth && truth <= ci.upper.unwrap()
        };
        covered += usize::from(inside(&by_patient));
        covered_by_exam += usize::from(inside(&by_exam));
        width_patient += by_patient.upper.unwrap() - by_patient.lower.unwrap();
        width_exam += by_exam.upper.unwrap() - by_exam.lower.unwrap();
    }
    assert!(
        (184..=196).contains(&covered),
        "patient-clustered 95% CI covered the true AUROC {truth:.4} in {covered}/{datasets} \
         datasets (92-98% expected)"
    );
    assert!(
        width_exam < 0.9 * width_patient,
        "exam-clustered intervals should be clearly narrower: {width_exam} vs {width_patient}"
    );
    // Measured while writing this test: 186/200 by patient, 181/200 by exam, mean width
    // ratio exam/patient 0.876.
    assert!(covered_by_exam < covered, "{covered_by_exam} vs {covered}");
}

#[test]
fn obuchowski_variance_matches_the_sampling_variance_and_delong_understates_it() {
    let n_sets = 300;
    let (mut estimates, mut obu_var, mut delong_var) = (Vec::new(), Vec::new(), Vec::new());
    for seed in 0..n_sets {
        let d = SIM.draw(100, 5000 + seed);
        let clusters = Clusters::from_ids(&d.exams);
        let o = obuchowski(&d.labels, &d.scores, &clusters, 0.95).unwrap();
        estimates.push(o.auroc);
        obu_var.push(o.variance);
        delong_var.push(delong(&d.labels, &d.scores, 0.95).unwrap().variance);
    }
    let empirical_sd = std_dev(&estimates);
    let mean_sd = |v: &[f64]| (v.iter().sum::<f64>() / v.len() as f64).sqrt();
    let obu_ratio = mean_sd(&obu_var) / empirical_sd;
    let delong_ratio = mean_sd(&delong_var) / empirical_sd;
    assert!(
        (0.88..1.12).contains(&obu_ratio),
        "Obuchowski SE / empirical SD = {obu_ratio}"
    );
    assert!(
        delong_ratio < obu_ratio * 0.95,
        "DeLong {delong_ratio} vs Obuchowski {obu_ratio}"
    );
}

#[test]
fn interval_width_shrinks_as_one_over_sqrt_n() {
    let width = |n_exams: usize, seed: u64| {
        let d = SIM.draw(n_exams, seed);
        let ci = bootstrap_auroc(
            &d,
            &Clusters::from_ids(&d.exams),
            BootstrapConfig::new().with_replicates(1000),
        );
        ci.upper.unwrap() - ci.lower.unwrap()
    };
    let small: f64 = (0..6).map(|s| width(100, 70 + s)).sum::<f64>() / 6.0;
    let large: f64 = (0..6).map(|s| width(400, 80 + s)).sum::<f64>() / 6.0;
    let ratio = small / large;
    assert!(
        (1.7..2.3).contains(&ratio),
        "4x the exams should halve the width: ratio {ratio}"
    );
}

#[test]
fn paired_bootstrap_separates_a_better_model_and_not_an_identical_one() {
    let d = SIM.draw(300, 3);
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    // Model B: the same scores plus much more noise.
    let worse: Vec<f64> = d
        .scores
        .iter()
        .map(|s| s + 1.5 * common::normal(&mut rng))
        .collect();
    let clusters = Clusters::from_ids(&d.exams);
    let metrics = [BinaryMetric::Auroc, BinaryMetric::AveragePrecision];
    let r = paired_bootstrap(
        &d.labels,
        &d.scores,
        &worse,
        &clusters,
        &metrics,
        BootstrapConfig::new(),
    )
    .unwrap();
    let auc = &r.metrics[0];
    assert!(auc.estimate_a.unwrap() > auc.estimate_b.unwrap());
    assert!(auc.difference.lower.unwrap() > 0.0, "{:?}", auc.difference);
    assert!(auc.p_value.unwrap() < 0.01);
    let same = paired_bootstrap(
        &d.labels,
        &d.scores,
        &d.scores,
        &clusters,
        &metrics,
        BootstrapConfig::new(),
    )
    .unwrap();
    let auc = &same.metrics[0];
    assert_eq!(
        (auc.difference.lower, auc.difference.upper, auc.p_value),
        (Some(0.0), Some(0.0), Some(1.0))
    );
}

#[test]
fn bca_intervals_and_identical_results_on_any_thread_count() {
    let d = SIM.draw(120, 11);
    let clusters = Clusters::from_ids(&d.exams);
    let metrics = [
        BinaryMetric::Auroc,
        BinaryMetric::AveragePrecision,
        BinaryMetric::SensitivityAtSpecificity { target: 0.9 },
    ];
    let config = BootstrapConfig::new()
        .with_interval(IntervalMethod::Bca)
        .with_replicates(1000);
    let many = cluster_bootstrap(&d.labels, &d.scores, &clusters, &metrics, config).unwrap();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| cluster_bootstrap(&d.labels, &d.scores, &clusters, &metrics, config).unwrap());
    assert_eq!(many, one, "results must not depend on the thread count");
    for m in &many.metrics {
        assert_eq!(m.method, IntervalMethod::Bca, "{}: {:?}", m.name, m.note);
        let (lo, est, hi) = (m.lower.unwrap(), m.estimate.unwrap(), m.upper.unwrap());
        assert!(lo <= est && est <= hi, "{}: {lo} {est} {hi}", m.name);
        assert_eq!(m.n_dropped_replicates, 0);
    }
    let other_seed = cluster_bootstrap(
        &d.labels,
        &d.scores,
        &clusters,
        &metrics,
        config.with_seed(7),
    )
    .unwrap();
    assert_ne!(many.metrics[0].lower, other_seed.metrics[0].lower);
}

#[test]
fn unstratified_replicates_without_a_class_are_counted_as_degenerate() {
    // 3 positive ears among 40 single-ear clusters: some replicates draw no positive.
    let labels: Vec<bool> = (0..40).map(|i| i < 3).collect();
    let scores: Vec<f64> = (0..40).map(|i| f64::from(i % 7)).collect();
    let clusters = Clusters::singletons(40);
    let config = BootstrapConfig::new().with_stratified(false);
    let r = cluster_bootstrap(&labels, &scores, &clusters, &[BinaryMetric::Auroc], config).unwrap();
    let m = &r.metrics[0];
    // P(no positive in 40 draws) = (37/40)^40 ≈ 4.4%: about 88 of 2000.
    assert!(
        (50..140).contains(&m.n_dropped_replicates),
        "{}",
        m.n_dropped_replicates
    );
    assert_eq!(m.n_valid_replicates + m.n_dropped_replicates, 2000);
    assert!(m.degenerate);
    let why = m.degenerate_reason.as_deref().unwrap();
    assert!(
        why.contains(&format!(
            "{} of 2000 replicates dropped",
            m.n_dropped_replicates
        )),
        "{why}"
    );
    assert!(m.to_string().contains(" degenerate: "), "{m}");
    let stratified = cluster_bootstrap(
        &labels,
        &scores,
        &clusters,
        &[BinaryMetric::Auroc],
        BootstrapConfig::new(),
    )
    .unwrap();
    assert_eq!(stratified.metrics[0].n_dropped_replicates, 0);
}

#[test]
fn degenerate_intervals_say_so_and_why() {
    let auroc_of = |labels: &[bool], scores: &[f64], replicates: usize| {
        let clusters = Clusters::singletons(labels.len());
        let config = BootstrapConfig::new().with_replicates(replicates);
        cluster_bootstrap(labels, scores, &clusters, &[BinaryMetric::Auroc], config)
            .unwrap()
            .metrics
            .remove(0)
    };
    // Perfect separation: every stratified replicate separates perfectly too.
    let labels: Vec<bool> = (0..20).map(|i| i >= 10).collect();
    let scores: Vec<f64> = (0..20).map(f64::from).collect();
    let perfect = auroc_of(&labels, &scores, 2000);
    assert_eq!((perfect.lower, perfect.upper), (Some(1.0), Some(1.0)));
    assert!(perfect.degenerate);
    assert_eq!(
        perfect.to_string(),
        "1.000 [1.000, 1.000] degenerate: every replicate separates perfectly"
    );
    // Too few replicates to trust a 95% interval.
    let noisy: Vec<f64> = (0..20).map(|i| f64::from((i * 7) % 13)).collect();
    let few = auroc_of(&labels, &noisy, 50);
    assert!(few.lower.unwrap() < few.upper.unwrap());
    assert!(few.degenerate);
    assert!(
        few.degenerate_reason
            .as_deref()
            .unwrap()
            .contains("rests on 50 valid replicates"),
        "{few}"
    );
    // An informative interval is not flagged.
    let fine = auroc_of(&labels, &noisy, 2000);
    assert!(
        !fine.degenerate && fine.degenerate_reason.is_none(),
        "{fine}"
    );
    assert!(!fine.to_string().contains("degenerate") && !fine.to_string().contains("NaN"));
    // A statistic undefined on the data is `undefined`, never NaN.
    let one_class = auroc_of(&[true; 6], &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 200);
    assert_eq!(
        one_class.to_string(),
        "undefined degenerate: undefined on the original data"
    );
}
