//! `medfen eval`: predictions and metrics of a run on val or test.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use medfen_metrics::ThresholdRule;
use medfen_models::DeviceChoice;
use medfen_models::eval::{EvalOptions, evaluate};
use medfen_tasks::{EvalReport, SplitName};

const EXAMPLES: &str = "\
Examples:
  medfen eval --run runs/r18 --split val      choose and freeze the operating thresholds
  medfen eval --run runs/r18 --split test     apply them unchanged; CIs by exam
  medfen eval --run runs/r18 --split test --checkpoint last --replicates 5000
  medfen eval --run runs/r18 --split test --cache other-root/<key>   (same spec only)

Writes runs/R/eval/<split>-<checkpoint>/predictions.csv and .parquet (exam_id, side,
code, y_true, y_prob, y_pred, top-k attention slices with weights, source slice indices
and z in mm) and metrics.json (AUROC, AP, sensitivity at 95% specificity, the frozen
operating point, calibration, all with exam-clustered bootstrap CIs). Thresholds are
chosen on val and stored in runs/R/thresholds.json; evaluating test first evaluates val
when they are missing. A cache made with another preprocessing is refused.";

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
    /// Bootstrap replicates (resampling exams); 0 skips the bootstrap.
    #[arg(long, default_value_t = 2000)]
    replicates: usize,
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
        batch_size: args.batch_size,
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", summary(&report));
    }
    Ok(ExitCode::SUCCESS)
}

/// A short text summary of an evaluation.
pub fn summary(r: &EvalReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} ({} checkpoint), task {}: {} ears in the task of {} ears, {} exams; per class {:?}",
        r.split, r.checkpoint, r.task, r.ears_in_task, r.ears, r.exams, r.class_counts
    );
    let ci = |b: &medfen_metrics::BinaryReport, name: &str| {
        b.bootstrap
            .as_ref()
            .and_then(|bs| bs.metrics.iter().find(|m| m.name == name))
            .and_then(|m| Some(format!(" (95% CI {:.3}-{:.3})", m.lower?, m.upper?)))
            .unwrap_or_default()
    };
    let f = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.3}"));
    if let Some(b) = &r.binary {
        let _ = writeln!(s, "  AUROC              {}{}", f(b.auroc), ci(b, "auroc"));
        let _ = writeln!(
            s,
            "  average precision  {}{}",
            f(b.average_precision),
            ci(b, "average_precision")
        );
        if let Some(op) = &b.sensitivity_at_specificity {
            let _ = writeln!(
                s,
                "  sensitivity at 95% specificity (chosen here)  {:.3} at threshold {:.4}",
                op.sensitivity, op.threshold
            );
        }
        if let Some(t) = &r.at_val_95_specificity {
            let _ = writeln!(
                s,
                "  at val's 95%-specificity threshold {:.4}: sensitivity {}, specificity {}",
                t.threshold,
                f(t.metrics.sensitivity),
                f(t.metrics.specificity)
            );
        }
        if let Some(t) = &b.threshold {
            let _ = writeln!(
                s,
                "  operating threshold {:.4} ({}, {}): sensitivity {}, specificity {}",
                t.here.threshold,
                t.chosen.rule,
                if t.frozen {
                    "frozen from val"
                } else {
                    "chosen on this split"
                },
                f(t.here.metrics.sensitivity),
                f(t.here.metrics.specificity)
            );
        }
    }
    if let Some(m) = &r.multiclass {
        let _ = writeln!(
            s,
            "  accuracy {:.3}, macro-F1 {}, macro AUROC (one-vs-rest) {}",
            m.accuracy,
            f(m.macro_avg.f1),
            f(m.macro_avg.auroc_ovr)
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
