//! Timing of 2000 exam-clustered bootstrap replicates of AUROC + AP +
//! sensitivity@95%specificity, at 400 and 5000 exams (two ears each), on one thread
//! and on every core. Run through `cargo xtask bench metrics`, which also times the
//! same computation with scikit-learn and prints the ratios.
//!
//! Usage: `bootstrap [DATA_DIR]`. Writes `exams_<n>.csv` (exam, label, score) into
//! DATA_DIR (for the Python side) and prints one JSON object per line on stdout.
#![allow(clippy::print_stdout)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use medfen_metrics::{BinaryMetric, BootstrapConfig, Clusters, cluster_bootstrap};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

const REPLICATES: usize = 2000;

fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = uniform(rng).max(f64::MIN_POSITIVE);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * uniform(rng)).cos()
}

/// Two ears per exam, an exam effect shared by both ears, 35% positive ears.
fn data(n_exams: usize) -> (Vec<bool>, Vec<f64>, Vec<u32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(n_exams as u64);
    let (mut y, mut s, mut e) = (Vec::new(), Vec::new(), Vec::new());
    for exam in 0..n_exams as u32 {
        let u = 0.7 * normal(&mut rng);
        for _ in 0..2 {
            let label = uniform(&mut rng) < 0.35;
            let logit = 1.2 * f64::from(u8::from(label)) + u + 0.8 * normal(&mut rng) - 0.5;
            y.push(label);
            s.push(1.0 / (1.0 + (-logit).exp()));
            e.push(exam);
        }
    }
    (y, s, e)
}

fn time_bootstrap(
    y: &[bool],
    s: &[f64],
    clusters: &Clusters,
    threads: usize,
) -> (f64, Vec<Option<f64>>) {
    let metrics = [
        BinaryMetric::Auroc,
        BinaryMetric::AveragePrecision,
        BinaryMetric::SensitivityAtSpecificity { target: 0.95 },
    ];
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    let config = BootstrapConfig::new().with_replicates(REPLICATES);
    let mut best = f64::INFINITY;
    let mut estimates = Vec::new();
    // Best of three: the machine's noise only ever adds time.
    for _ in 0..3 {
        let started = Instant::now();
        let report = pool
            .install(|| cluster_bootstrap(y, s, clusters, &metrics, config))
            .expect("bootstrap");
        best = best.min(started.elapsed().as_secs_f64());
        estimates = report.metrics.iter().map(|m| m.estimate).collect();
    }
    (best, estimates)
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .filter(|a| !a.starts_with('-'))
        .map(PathBuf::from);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    for n_exams in [400usize, 5000] {
        let (y, s, e) = data(n_exams);
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir).expect("data dir");
            let mut csv = String::from("exam,label,score\n");
            for i in 0..y.len() {
                let _ = writeln!(csv, "{},{},{:?}", e[i], u8::from(y[i]), s[i]);
            }
            std::fs::write(dir.join(format!("exams_{n_exams}.csv")), csv).expect("write data");
        }
        let clusters = Clusters::from_ids(&e);
        let (one, est) = time_bootstrap(&y, &s, &clusters, 1);
        let (all, _) = time_bootstrap(&y, &s, &clusters, cores);
        println!(
            "{{\"exams\":{n_exams},\"ears\":{},\"replicates\":{REPLICATES},\"seconds_1_thread\":{one},\
             \"seconds_all_cores\":{all},\"cores\":{cores},\"auroc\":{},\"average_precision\":{},\
             \"sens_at_95_spec\":{}}}",
            y.len(),
            est[0].unwrap_or(f64::NAN),
            est[1].unwrap_or(f64::NAN),
            est[2].unwrap_or(f64::NAN)
        );
    }
}
