//! `medfen eval`: predictions and metrics of a run on val or test.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use medfen_metrics::{BinaryMetric, BinaryReport, MetricInterval, ThresholdRule};
use medfen_models::DeviceChoice;
use medfen_models::eval::{EvalOptions, evaluate};
use medfen_tasks::{ClusterUnit, EvalReport, SplitName};

const EXAMPLES: &str = "\
Examples:
  medfen eval --run runs/r18 --split val      choose and freeze the operating thresholds
  medfen eval --run runs/r18 --split test     apply them unchanged; CIs resample patients
  medfen eval --run runs/r18 --split test --checkpoint last --replicates 5000
  medfen eval --run runs/r18 --split test --cluster exam     (CIs by exam instead)
  medfen eval --run runs/r18 --split test --cache other-root/<key>   (same spec only)

Writes runs/R/eval/<split>-<checkpoint>/predictions.csv and .parquet (exam_id, side,
patient_key, code, y_true, y_prob, y_pred, top-k attention slices with weights, source
slice indices and z in mm) and metrics.json.

Thresholds are chosen on val (the run's rule, Youden by default, and the highest
sensitivity at 95% specificity) and stored in runs/R/thresholds.json with the hash of
the checkpoint's weights. On test they are applied unchanged and printed first, with
bootstrap CIs, as \"pre-specified (val)\"; operating points re-chosen on test follow as
\"exploratory (chosen on test)\". Evaluating test evaluates val first when there are no
thresholds; thresholds chosen on other weights (a run trained further since) are
refused: rerun `medfen eval --split val`. Intervals resample patients (a patient's
repeat exams and an exam's two ears are correlated); `medfen metrics --pred
predictions.parquet --score y_prob --label y_true --group patient_key --drop-missing
--seed <run seed>` reproduces them from the predictions. A cache made with another
preprocessing is refused.";

/// Options of `medfen eval`.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The run folder (`medfen train --out`).
    #[arg(long, value_name = "DIR")]
    run: PathBuf,
    /// val, test or external_test.
    #[arg(long, default_value = "test")]
    split: SplitName,
    /// best or last.
    #[arg(long, default_value = "best")]
    checkpoint: String,
    /// Another cache folder with the run's preprocessing (default: the run's cache).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// Bootstrap replicates; 0 skips the bootstrap.
    #[arg(long, default_value_t = 2000)]
    replicates: usize,
    /// What the intervals resample: patient (default), exam or ear.
    #[arg(long, default_value = "patient")]
    cluster: ClusterUnit,
    /// Rule choosing the operating threshold on val: youden, f1, sens@spec:0.95,
    /// spec@sens:0.9 or fixed:0.5.
    #[arg(long, default_value = "youden")]
    threshold_rule: ThresholdRule,
    /// Device: auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
    /// Batch size (default: the run's).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Print the whole report as JSON instead of a summary.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let report = evaluate(&EvalOptions {
        run: args.run.clone(),
        split: args.split,
        cache: args.cache.clone(),
        checkpoint: args.checkpoint.clone(),
        device: args.device.resolve()?,
        replicates: args.replicates,
        threshold_rule: args.threshold_rule,
        cluster: args.cluster,
        batch_size: args.batch_size,
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", summary(&report));
    }
    Ok(ExitCode::SUCCESS)
}

/// A statistic with its bootstrap interval (and why it is degenerate), or the bare
/// estimate when there was no bootstrap.
fn with_ci(estimate: Option<f64>, interval: Option<&MetricInterval>) -> String {
    match interval {
        Some(i) => i.to_string(),
        None => estimate.map_or_else(|| "undefined".to_owned(), |v| format!("{v:.3}")),
    }
}

fn interval<'a>(b: &'a BinaryReport, metric: &BinaryMetric) -> Option<&'a MetricInterval> {
    b.bootstrap
        .as_ref()
        .and_then(|bs| bs.metrics.iter().find(|m| m.metric == *metric))
}

/// A short text summary of an evaluation: on test, the pre-specified operating points
/// first, then the threshold-free statistics, then what was re-chosen on test.
pub fn summary(r: &EvalReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} ({} checkpoint), task {}: {} ears in the task (of {}), {} exams, {} patients; per class {:?}",
        r.split, r.checkpoint, r.task, r.ears_in_task, r.ears, r.exams, r.patients, r.class_counts
    );
    let bootstrap = r
        .binary
        .as_ref()
        .and_then(|b| b.bootstrap.as_ref())
        .or_else(|| {
            r.one_vs_rest
                .first()
                .and_then(|(_, b)| b.bootstrap.as_ref())
        });
    match bootstrap {
        Some(b) => {
            let _ = writeln!(
                s,
                "  intervals: {:.0}% percentile bootstrap resampling {}s ({} clusters), {} replicates, seed {}",
                100.0 * b.config.level,
                r.cluster,
                r.clusters,
                b.config.replicates,
                b.config.seed
            );
        }
        None => {
            let _ = writeln!(s, "  no bootstrap intervals (--replicates 0)");
        }
    }
    if let Some(b) = &r.binary {
        binary_summary(&mut s, r, b);
    }
    if let Some(m) = &r.multiclass {
        let _ = writeln!(
            s,
            "  accuracy {:.3}, macro-F1 {}, macro AUROC (one-vs-rest) {}",
            m.accuracy,
            num(m.macro_avg.f1),
            num(m.macro_avg.auroc_ovr)
        );
    }
    let _ = writeln!(
        s,
        "  predictions: {}\n  metrics:     {}",
        r.predictions[0].display(),
        r.report_path.display()
    );
    s
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "undefined".to_owned(), |v| format!("{v:.3}"))
}

fn binary_summary(s: &mut String, r: &EvalReport, b: &BinaryReport) {
    let on_val = r.split == "val";
    if on_val {
        chosen_here_summary(s, r);
    } else {
        let sha = r
            .thresholds
            .as_ref()
            .map_or("", |t| t.checkpoint_sha256.get(..12).unwrap_or(""));
        let _ = writeln!(
            s,
            "  pre-specified (val): thresholds frozen on val for these weights (sha256 {sha})"
        );
        for p in &b.pre_specified {
            let _ = writeln!(
                s,
                "    {} (threshold {:.4}): sensitivity {}, specificity {}",
                p.label,
                p.chosen.threshold,
                with_ci(p.here.metrics.sensitivity, p.sensitivity.as_ref()),
                with_ci(p.here.metrics.specificity, p.specificity.as_ref())
            );
        }
    }
    let _ = writeln!(s, "  threshold-free:");
    let analytic = b.auroc_analytic.as_ref().map_or_else(String::new, |a| {
        format!(" ({:?} {:.3}-{:.3})", a.method, a.lower, a.upper).to_lowercase()
    });
    let auroc = interval(b, &BinaryMetric::Auroc);
    let _ = writeln!(
        s,
        "    AUROC              {}{analytic}{}",
        auroc.map_or_else(|| num(b.auroc), MetricInterval::bounds_text),
        auroc.map_or_else(String::new, MetricInterval::degenerate_text)
    );
    let _ = writeln!(
        s,
        "    average precision  {}",
        with_ci(
            b.average_precision,
            interval(b, &BinaryMetric::AveragePrecision)
        )
    );
    if let Some(c) = &b.calibration {
        let ece = BinaryMetric::Ece { n_bins: c.n_bins };
        let _ = writeln!(
            s,
            "    Brier {}, ECE {} ({} equal-mass bins)",
            with_ci(Some(c.brier), interval(b, &BinaryMetric::Brier)),
            with_ci(Some(c.ece), interval(b, &ece)),
            c.n_bins
        );
    }
    exploratory_summary(s, r, b, on_val);
    for u in &b.undefined {
        let _ = writeln!(s, "  undefined: {u}");
    }
}

/// On val: the thresholds chosen here and frozen for every other split.
fn chosen_here_summary(s: &mut String, r: &EvalReport) {
    let Some(t) = &r.thresholds else { return };
    let _ = writeln!(s, "  thresholds chosen on val (frozen for test):");
    for c in std::iter::once(&t.operating).chain(&t.at_95_specificity) {
        let _ = writeln!(
            s,
            "    {} (threshold {:.4}): sensitivity {}, specificity {}",
            c.rule,
            c.threshold,
            num(c.metrics.sensitivity),
            num(c.metrics.specificity)
        );
    }
}

/// Operating points re-chosen on the reported split (exploratory on test).
fn exploratory_summary(s: &mut String, r: &EvalReport, b: &BinaryReport, on_val: bool) {
    let _ = writeln!(
        s,
        "  {}:",
        if on_val {
            "operating points chosen on val".to_owned()
        } else {
            format!("exploratory (chosen on {})", r.split)
        }
    );
    if let Some(op) = &b.sensitivity_at_specificity {
        let m = BinaryMetric::SensitivityAtSpecificity { target: op.target };
        let _ = writeln!(
            s,
            "    sensitivity at {:.0}% specificity (threshold {:.4}): {}",
            100.0 * op.target,
            op.threshold,
            with_ci(Some(op.sensitivity), interval(b, &m))
        );
    }
    if let Some(y) = &r.youden_here {
        let _ = writeln!(
            s,
            "    youden (threshold {:.4}): sensitivity {}, specificity {}",
            y.threshold,
            num(y.metrics.sensitivity),
            num(y.metrics.specificity)
        );
    }
}
