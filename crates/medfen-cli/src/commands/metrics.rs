//! `medfen metrics`: the metrics of any prediction table, with clustered CIs and plots.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use medfen_metrics::{
    BinaryMetric, BinaryReport, BootstrapConfig, ChosenThreshold, Clusters, IntervalMethod,
    MetricInterval, MulticlassReport, ReportOptions, ThresholdReport, ThresholdRule,
    ThresholdSource, argmax_rows, binary_report, curve_bands, multiclass_report, plot, pr_curve,
    roc_curve,
};
use serde::{Deserialize, Serialize};

use medfen_io::Table;

const EXAMPLES: &str = "\
Examples:
  # validation predictions, two ears per exam: CIs resample exams; choose a threshold
  medfen metrics --pred val.csv --score y_prob --label y_true --group exam_id \\
      --choose-threshold youden --out val_metrics.json --plots plots/val
  # test predictions, with the threshold frozen from validation
  medfen metrics --pred test.parquet --score y_prob --label y_true --group exam_id \\
      --threshold-from val_metrics.json --out test_metrics.json
  # an evaluation's predictions, intervals resampling patients as `medfen eval` does
  medfen metrics --pred runs/r18/eval/test-best/predictions.parquet --score y_prob \\
      --label y_true --group patient_key --drop-missing --seed <run seed> \\
      --threshold-from runs/r18/thresholds.json
  # six-class probabilities
  medfen metrics --pred preds.csv --score p_0,p_1,p_2,p_3,p_4,p_5 --label class_id --json

Binary labels are 0/1 (or true/false); a sample is positive when score >= threshold.
Rows whose `in_task` column (medfen's prediction tables have one) is false are left
out and counted: ears outside the task carry no label.
Statistics that are undefined on the data (one class missing, too few samples) are
reported as null with the reason, never as 0. An interval whose bounds coincide, that
rests on fewer than 100 valid replicates or that dropped replicates is printed with
`degenerate:` and the reason (and `degenerate: true` in the JSON). A threshold from
--threshold-from is pre-specified and printed first; operating points chosen on the
data themselves are marked exploratory then.";

/// Options of `medfen metrics`.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct MetricsArgs {
    /// Prediction table (.csv or .parquet), one row per sample (e.g. per ear).
    #[arg(long, value_name = "FILE")]
    pub pred: PathBuf,
    /// Score column (higher = more likely positive). Several comma-separated columns,
    /// one probability per class, give a multi-class report.
    #[arg(long, value_name = "COL", value_delimiter = ',', required = true)]
    pub score: Vec<String>,
    /// Label column: 0/1 or true/false (binary); class index 0..K-1 (multi-class).
    #[arg(long, value_name = "COL")]
    pub label: String,
    /// Cluster column (exam id or patient key): the bootstrap resamples whole clusters
    /// and the analytic AUROC interval uses Obuchowski's clustered variance. Without it
    /// every row is its own cluster.
    #[arg(long, value_name = "COL")]
    pub group: Option<String>,
    /// Apply, unchanged, the threshold stored in this JSON: an earlier
    /// `medfen metrics --out` (typically on validation data) or a run's thresholds.json.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["choose_threshold", "threshold"])]
    pub threshold_from: Option<PathBuf>,
    /// Choose the operating threshold on this data: youden, f1, sens@spec:X
    /// (highest sensitivity with specificity >= X), spec@sens:X.
    #[arg(long, value_name = "RULE", conflicts_with = "threshold")]
    pub choose_threshold: Option<ThresholdRule>,
    /// Fixed operating threshold.
    #[arg(long, value_name = "X", default_value_t = 0.5)]
    pub threshold: f64,
    /// Bootstrap replicates; 0 turns the bootstrap off.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub bootstrap: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Confidence level of every interval.
    #[arg(long, default_value_t = 0.95)]
    pub level: f64,
    /// Bootstrap interval: percentile, or bca (bias-corrected and accelerated, with a
    /// leave-one-cluster-out jackknife).
    #[arg(long, value_enum, default_value_t = CiMethod::Percentile)]
    pub ci: CiMethod,
    /// Resample clusters freely instead of within their class profile.
    #[arg(long)]
    pub no_stratify: bool,
    /// Specificity floor of "sensitivity at specificity".
    #[arg(long, value_name = "X", default_value_t = 0.95)]
    pub spec_target: f64,
    /// Sensitivity floor of "specificity at sensitivity".
    #[arg(long, value_name = "X", default_value_t = 0.95)]
    pub sens_target: f64,
    /// Equal-mass bins of the calibration curve.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub bins: usize,
    /// Write roc.png, pr.png and reliability.png (with bootstrap bands) into DIR.
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,
    /// Write the metrics JSON to FILE (atomically).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the metrics JSON on stdout instead of the summary table.
    #[arg(long)]
    pub json: bool,
    /// Skip rows whose score or label is empty; they are listed in the JSON. Without
    /// this flag an empty cell is an error naming its row.
    #[arg(long)]
    pub drop_missing: bool,
}

/// Bootstrap interval method.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiMethod {
    /// Quantiles of the replicates.
    Percentile,
    /// Bias-corrected and accelerated.
    Bca,
}

/// What was read.
#[derive(Debug, Serialize, Deserialize)]
pub struct InputSummary {
    /// The prediction table.
    pub path: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Rows in the table.
    pub rows: usize,
    /// Rows used.
    pub used_rows: usize,
    /// Rows skipped with --drop-missing (as "line N" / "row N").
    pub dropped_rows: Vec<String>,
    /// Rows left out because the table's `in_task` column says they are not in the
    /// task (ears masked out of it: medfen's prediction tables carry the column).
    #[serde(default)]
    pub outside_task_rows: usize,
    /// Score column(s).
    pub score: Vec<String>,
    /// Label column.
    pub label: String,
    /// Cluster column.
    pub group: Option<String>,
}

/// The metrics JSON.
#[derive(Debug, Serialize, Deserialize)]
pub struct MetricsOutput {
    /// medfen version that wrote it.
    pub medfen_version: String,
    /// The input.
    pub input: InputSummary,
    /// Binary report (one score column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<BinaryReport>,
    /// Multi-class report (several score columns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiclass: Option<MulticlassReport>,
    /// Plots written.
    #[serde(default)]
    pub plots: Vec<String>,
}

/// The column of medfen's prediction tables that says whether a row is in the task.
const IN_TASK: &str = "in_task";

/// The cluster ids of column `name`, trimmed; blank cells are missing.
fn group_ids(table: &Table, name: &str) -> medfen_io::Result<Vec<Option<String>>> {
    Ok(table
        .texts(name)?
        .into_iter()
        .map(|c| c.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()))
        .collect())
}

/// Runs `medfen metrics`.
///
/// # Errors
/// Unreadable or malformed input (naming file, column and row), bad options, or
/// failure to write outputs.
pub fn run(args: &MetricsArgs) -> Result<()> {
    // Options first: a bad --threshold-from fails before any data is read.
    let options = report_options(args)?;
    let mut wanted: Vec<&str> = args.score.iter().map(String::as_str).collect();
    wanted.push(&args.label);
    if let Some(g) = &args.group {
        wanted.push(g);
    }
    let marks_task = Table::column_names(&args.pred)?
        .iter()
        .any(|n| n == IN_TASK);
    if marks_task && !wanted.contains(&IN_TASK) {
        wanted.push(IN_TASK);
    }
    let table = Table::read_columns(&args.pred, &wanted)?;
    if table.rows() == 0 {
        bail!("{}: the table has no rows", args.pred.display());
    }
    let scores: Vec<Vec<Option<f64>>> = args
        .score
        .iter()
        .map(|c| table.floats(c))
        .collect::<medfen_io::Result<_>>()?;
    let groups = args
        .group
        .as_ref()
        .map(|g| group_ids(&table, g))
        .transpose()?;
    let mut output = MetricsOutput {
        medfen_version: env!("CARGO_PKG_VERSION").to_owned(),
        input: InputSummary {
            path: args.pred.display().to_string(),
            sha256: medfen_io::file_sha256(&args.pred)?,
            rows: table.rows(),
            used_rows: 0,
            dropped_rows: Vec::new(),
            outside_task_rows: 0,
            score: args.score.clone(),
            label: args.label.clone(),
            group: args.group.clone(),
        },
        binary: None,
        multiclass: None,
        plots: Vec::new(),
    };
    if args.score.len() == 1 {
        let labels = table.binary_labels(&args.label)?;
        let keep = usable_rows(
            &table,
            args,
            (&[&scores[0]], &labels),
            groups.as_deref(),
            &mut output.input,
        )?;
        let y: Vec<bool> = present(&labels, &keep);
        let s: Vec<f64> = present(&scores[0], &keep);
        let clusters = groups
            .as_ref()
            .map(|g| Clusters::from_ids(&present(g, &keep)));
        let report = binary_report(&y, &s, clusters.as_ref(), &options)
            .with_context(|| format!("{}: cannot compute the metrics", args.pred.display()))?;
        if let Some(dir) = &args.plots {
            output.plots = draw_plots(dir, &y, &s, clusters.as_ref(), &report, args)?;
        }
        output.binary = Some(report);
    } else {
        let classes = class_labels(&table, &args.label, args.score.len())?;
        let class_opts: Vec<Option<bool>> = classes.iter().map(|c| c.map(|_| true)).collect();
        let cols: Vec<&Vec<Option<f64>>> = scores.iter().collect();
        let keep = usable_rows(
            &table,
            args,
            (&cols, &class_opts),
            groups.as_deref(),
            &mut output.input,
        )?;
        let k = args.score.len();
        let prob: Vec<f64> = keep
            .iter()
            .flat_map(|&i| scores.iter().filter_map(move |c| c[i]))
            .collect();
        let y: Vec<usize> = present(&classes, &keep);
        let pred = argmax_rows(&prob, k)?;
        output.multiclass = Some(multiclass_report(&y, &pred, k, Some(&prob))?);
    }
    if let Some(out) = &args.out {
        medfen_io::write_json(out, &output)?;
    }
    if args.json {
        Ok(medfen_app::print_json(&output)?)
    } else {
        Ok(medfen_app::print(&summary(&output, args))?)
    }
}

/// The values of `column` at the rows `keep` (rows [`usable_rows`] found complete).
fn present<T: Clone>(column: &[Option<T>], keep: &[usize]) -> Vec<T> {
    let out: Vec<T> = keep.iter().filter_map(|&i| column[i].clone()).collect();
    debug_assert_eq!(out.len(), keep.len());
    out
}

fn report_options(args: &MetricsArgs) -> Result<ReportOptions> {
    let mut pre_specified = None;
    let threshold = if let Some(path) = &args.threshold_from {
        let chosen = load_threshold(path)?;
        pre_specified = Some((
            format!("{} from {}", chosen.rule, path.display()),
            chosen.clone(),
        ));
        ThresholdSource::Frozen { chosen }
    } else if let Some(rule) = args.choose_threshold {
        ThresholdSource::Rule { rule }
    } else {
        ThresholdSource::Rule {
            rule: ThresholdRule::Fixed {
                threshold: args.threshold,
            },
        }
    };
    let bootstrap = (args.bootstrap > 0).then(|| bootstrap_config(args));
    let mut opts = ReportOptions::new()
        .with_specificity_target(args.spec_target)
        .with_sensitivity_target(args.sens_target)
        .with_threshold(threshold)
        .with_bootstrap(bootstrap)
        .with_calibration_bins(args.bins);
    if let Some((label, chosen)) = pre_specified {
        opts = opts.with_pre_specified(label, chosen);
    }
    opts.level = args.level;
    Ok(opts)
}

fn bootstrap_config(args: &MetricsArgs) -> BootstrapConfig {
    BootstrapConfig::new()
        .with_replicates(args.bootstrap)
        .with_seed(args.seed)
        .with_level(args.level)
        .with_stratified(!args.no_stratify)
        .with_interval(match args.ci {
            CiMethod::Percentile => IntervalMethod::Percentile,
            CiMethod::Bca => IntervalMethod::Bca,
        })
}

/// The stored threshold of an earlier metrics JSON (`binary.threshold.chosen`), or the
/// operating threshold of a run's `thresholds.json` / an evaluation's `metrics.json`.
fn load_threshold(path: &Path) -> Result<ChosenThreshold> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not valid JSON", path.display()))?;
    let chosen = [
        "/binary/threshold/chosen",
        "/operating",
        "/thresholds/operating",
    ]
    .iter()
    .find_map(|p| json.pointer(p))
    .with_context(|| {
        format!(
            "{}: no stored threshold (binary.threshold.chosen of `medfen metrics --out`, \
                 or operating of a run's thresholds.json)",
            path.display()
        )
    })?;
    serde_json::from_value(chosen.clone())
        .with_context(|| format!("{}: the stored threshold is malformed", path.display()))
}

/// Rows in the task (`in_task` not false) whose scores, label and group are all
/// present; empty cells are errors unless `--drop-missing`, which records them.
fn usable_rows(
    table: &Table,
    args: &MetricsArgs,
    (scores, labels): (&[&Vec<Option<f64>>], &[Option<bool>]),
    groups: Option<&[Option<String>]>,
    summary: &mut InputSummary,
) -> Result<Vec<usize>> {
    let in_task = table
        .has(IN_TASK)
        .then(|| table.bools(IN_TASK))
        .transpose()?;
    if labels.iter().all(Option::is_none) {
        bail!(
            "{}: no row has a label in `{}`: predictions of unlabelled exams (as `medfen \
             predict` writes them) have nothing to be scored against; add the labels first",
            table.path().display(),
            args.label
        );
    }
    let mut keep = Vec::with_capacity(table.rows());
    for i in 0..table.rows() {
        if in_task.as_ref().is_some_and(|t| t[i] == Some(false)) {
            summary.outside_task_rows += 1;
            continue;
        }
        let missing = if labels[i].is_none() {
            Some(args.label.clone())
        } else if let Some(k) = scores.iter().position(|c| c[i].is_none()) {
            Some(args.score[k].clone())
        } else if groups.is_some_and(|g| g[i].is_none()) {
            args.group.clone()
        } else {
            None
        };
        match missing {
            None => keep.push(i),
            Some(col) if args.drop_missing => {
                summary.dropped_rows.push(table.row_name(i));
                tracing::debug!("skipping {}: empty `{col}`", table.row_name(i));
            }
            Some(col) => bail!(
                "{}: column `{col}` is empty at {} (use --drop-missing to skip such rows)",
                table.path().display(),
                table.row_name(i)
            ),
        }
    }
    if !summary.dropped_rows.is_empty() {
        tracing::warn!(
            "skipped {} row(s) with empty cells",
            summary.dropped_rows.len()
        );
    }
    if summary.outside_task_rows > 0 {
        tracing::info!(
            "left out {} row(s) outside the task (`{IN_TASK}` is false)",
            summary.outside_task_rows
        );
    }
    summary.used_rows = keep.len();
    if keep.is_empty() {
        bail!("{}: no usable rows", table.path().display());
    }
    Ok(keep)
}

fn class_labels(table: &Table, column: &str, n_classes: usize) -> Result<Vec<Option<usize>>> {
    table
        .floats(column)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            None => Ok(None),
            Some(x) if x >= 0.0 && x.fract() == 0.0 && (x as usize) < n_classes => {
                Ok(Some(x as usize))
            }
            Some(x) => bail!(
                "{}: column `{column}`, {}: class {x} is not one of 0..{} (one per score column)",
                table.path().display(),
                table.row_name(i),
                n_classes - 1
            ),
        })
        .collect()
}

fn draw_plots(
    dir: &Path,
    y: &[bool],
    s: &[f64],
    clusters: Option<&Clusters>,
    report: &BinaryReport,
    args: &MetricsArgs,
) -> Result<Vec<String>> {
    let singletons;
    let clusters = if let Some(c) = clusters {
        c
    } else {
        singletons = Clusters::singletons(y.len());
        &singletons
    };
    let bands = if args.bootstrap > 0 && report.auroc.is_some() {
        Some(curve_bands(y, s, clusters, bootstrap_config(args), 101)?)
    } else {
        None
    };
    let mut written = Vec::new();
    let name = args
        .pred
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    if let Ok(roc) = roc_curve(y, s) {
        let path = dir.join("roc.png");
        let label = format!(
            "AUROC {}",
            with_ci(report.auroc, find(report, &BinaryMetric::Auroc))
        );
        plot::roc_png(
            &path,
            &roc,
            bands.as_ref().map(|b| &b.roc),
            &format!("ROC: {name}"),
            &label,
        )?;
        written.push(path.display().to_string());
    }
    if let Ok(pr) = pr_curve(y, s) {
        let path = dir.join("pr.png");
        let label = format!(
            "AP {}",
            with_ci(
                report.average_precision,
                find(report, &BinaryMetric::AveragePrecision)
            )
        );
        let prevalence = report.n_pos as f64 / report.n as f64;
        plot::pr_png(
            &path,
            &pr,
            bands.as_ref().map(|b| &b.pr),
            prevalence,
            &format!("Precision-recall: {name}"),
            &label,
        )?;
        written.push(path.display().to_string());
    }
    if let Some(cal) = &report.calibration {
        let path = dir.join("reliability.png");
        plot::reliability_png(&path, cal, &format!("Reliability: {name}"))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

fn find<'a>(report: &'a BinaryReport, metric: &BinaryMetric) -> Option<&'a MetricInterval> {
    report
        .bootstrap
        .as_ref()?
        .metrics
        .iter()
        .find(|m| m.metric == *metric)
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "undefined".to_owned(), |x| format!("{x:.3}"))
}

/// The estimate with its interval; a degenerate interval says so and why.
fn with_ci(estimate: Option<f64>, ci: Option<&MetricInterval>) -> String {
    ci.map_or_else(|| num(estimate), ToString::to_string)
}

/// The human-readable summary printed without `--json`.
fn summary(out: &MetricsOutput, args: &MetricsArgs) -> String {
    let mut s = String::new();
    let i = &out.input;
    let outside = if i.outside_task_rows > 0 {
        format!(
            "; {} outside the task (`in_task` false) left out",
            i.outside_task_rows
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        s,
        "medfen metrics: {} ({} of {} rows used{outside})",
        i.path, i.used_rows, i.rows
    );
    if let Some(r) = &out.binary {
        binary_summary(&mut s, r, i, args);
    }
    if let Some(m) = &out.multiclass {
        multiclass_summary(&mut s, m);
    }
    if let Some(p) = &args.out {
        let _ = writeln!(s, "wrote {}", p.display());
    }
    for p in &out.plots {
        let _ = writeln!(s, "wrote {p}");
    }
    s
}

/// One line of the binary summary: a statistic with its interval and a remark.
fn summary_row(
    s: &mut String,
    r: &BinaryReport,
    name: &str,
    est: Option<f64>,
    metric: &BinaryMetric,
    extra: &str,
) {
    let ci = find(r, metric);
    let _ = writeln!(
        s,
        "  {name:<28} {:<24} {extra}{}",
        ci.map_or_else(|| num(est), MetricInterval::bounds_text),
        ci.map_or_else(String::new, MetricInterval::degenerate_text)
    );
}

fn binary_summary(s: &mut String, r: &BinaryReport, i: &InputSummary, args: &MetricsArgs) {
    let clusters = i.group.as_ref().map_or_else(String::new, |g| {
        format!(", {} clusters by `{g}`", r.n_clusters)
    });
    let _ = writeln!(
        s,
        "  {} samples: {} positive, {} negative{clusters}",
        r.n, r.n_pos, r.n_neg
    );
    if let Some(b) = &r.bootstrap {
        let _ = writeln!(
            s,
            "  intervals: {:.0}% {} cluster bootstrap, {} replicates, seed {}",
            100.0 * b.config.level,
            match b.config.interval {
                IntervalMethod::Percentile => "percentile",
                IntervalMethod::Bca => "BCa",
            },
            b.config.replicates,
            b.config.seed
        );
    }
    for p in &r.pre_specified {
        let _ = writeln!(
            s,
            "  pre-specified: threshold {:.4} ({}): sensitivity {}, specificity {}",
            p.chosen.threshold,
            p.label,
            with_ci(p.here.metrics.sensitivity, p.sensitivity.as_ref()),
            with_ci(p.here.metrics.specificity, p.specificity.as_ref())
        );
    }
    let analytic = r.auroc_analytic.as_ref().map_or_else(String::new, |a| {
        format!("{:?} [{:.3}, {:.3}]", a.method, a.lower, a.upper).to_lowercase()
    });
    summary_row(s, r, "AUROC", r.auroc, &BinaryMetric::Auroc, &analytic);
    summary_row(
        s,
        r,
        "average precision",
        r.average_precision,
        &BinaryMetric::AveragePrecision,
        "",
    );
    let here = if r.pre_specified.is_empty() {
        "chosen on these data"
    } else {
        "exploratory: chosen on these data"
    };
    if let Some(op) = &r.sensitivity_at_specificity {
        let m = BinaryMetric::SensitivityAtSpecificity { target: op.target };
        let name = format!("sensitivity @ spec {}", op.target);
        let extra = format!("threshold {:.4} ({here})", op.threshold);
        summary_row(s, r, &name, Some(op.sensitivity), &m, &extra);
    }
    if let Some(op) = &r.specificity_at_sensitivity {
        let m = BinaryMetric::SpecificityAtSensitivity { target: op.target };
        let name = format!("specificity @ sens {}", op.target);
        let extra = format!("threshold {:.4} ({here})", op.threshold);
        summary_row(s, r, &name, Some(op.specificity), &m, &extra);
    }
    if let Some(t) = &r.threshold {
        threshold_summary(s, r, t, args);
    }
    if let Some(c) = &r.calibration {
        summary_row(s, r, "Brier score", Some(c.brier), &BinaryMetric::Brier, "");
        let ece = BinaryMetric::Ece { n_bins: c.n_bins };
        let bins = format!("{} equal-mass bins", c.n_bins);
        summary_row(s, r, "ECE", Some(c.ece), &ece, &bins);
    }
    for u in &r.undefined {
        let _ = writeln!(s, "  undefined: {u}");
    }
}

fn threshold_summary(s: &mut String, r: &BinaryReport, t: &ThresholdReport, args: &MetricsArgs) {
    let origin = if t.frozen {
        format!(
            "frozen from {}",
            args.threshold_from
                .as_ref()
                .map_or_else(String::new, |p| p.display().to_string())
        )
    } else {
        format!("rule {}", t.chosen.rule)
    };
    let c = t.here.counts;
    let _ = writeln!(
        s,
        "  at threshold {:.4} ({origin}): TP {} FP {} TN {} FN {}",
        t.here.threshold, c.tp, c.fp, c.tn, c.fn_
    );
    let m = &t.here.metrics;
    for (name, value) in [
        ("sensitivity", m.sensitivity),
        ("specificity", m.specificity),
        ("precision", m.precision),
        ("npv", m.npv),
        ("f1", m.f1),
        ("balanced_accuracy", m.balanced_accuracy),
        ("mcc", m.mcc),
        ("accuracy", m.accuracy),
    ] {
        let ci = r.bootstrap.as_ref().and_then(|b| {
            b.metrics
                .iter()
                .find(|m| m.name.starts_with(&format!("{name}@threshold")))
        });
        let _ = writeln!(s, "    {name:<26} {}", with_ci(value, ci));
    }
}

fn multiclass_summary(s: &mut String, m: &MulticlassReport) {
    let _ = writeln!(
        s,
        "  {} samples, {} classes; accuracy {:.3}",
        m.n, m.n_classes, m.accuracy
    );
    let _ = writeln!(
        s,
        "  {:<7} {:>8} {:>10} {:>8} {:>12} {:>8} {:>10}",
        "class", "support", "precision", "recall", "specificity", "f1", "AUROC-ovr"
    );
    for c in &m.per_class {
        let _ = writeln!(
            s,
            "  {:<7} {:>8} {:>10} {:>8} {:>12} {:>8} {:>10}",
            c.class,
            c.support,
            num(c.precision),
            num(c.recall),
            num(c.specificity),
            num(c.f1),
            num(c.auroc_ovr)
        );
    }
    let _ = writeln!(
        s,
        "  macro: precision {} recall {} f1 {} AUROC-ovr {}; weighted f1 {}",
        num(m.macro_avg.precision),
        num(m.macro_avg.recall),
        num(m.macro_avg.f1),
        num(m.macro_avg.auroc_ovr),
        num(m.weighted_avg.f1)
    );
    for u in &m.undefined {
        let _ = writeln!(s, "  undefined: {u}");
    }
}
