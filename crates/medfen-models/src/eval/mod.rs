//! `medfen eval`: predictions of a run's checkpoint on val or test, written as a
//! [`medfen_tasks::PredictionTable`] (CSV and Parquet) with the attention top-k slices
//! and each ear's `patient_key`, and metrics with bootstrap intervals that resample
//! patients by default ([`ClusterUnit`]; [`EvalReport`], `metrics.json`). Operating
//! thresholds are chosen on val, frozen into the run with the hash of the checkpoint
//! they were chosen for ([`Thresholds`]) and applied unchanged to test, where they are
//! the headline ("pre-specified"); operating points re-chosen on test are exploratory.

mod rows;
mod thresholds;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use medfen_cache::CacheReader;
use medfen_metrics::{
    BootstrapConfig, Clusters, ReportOptions, ThresholdRule, ThresholdSource, binary_report,
    choose_threshold,
};
use medfen_tasks::{ClusterUnit, EvalReport, SplitFolder, SplitName, Task, TaskKind, Thresholds};
use serde::Serialize;
use tch::Device;

use crate::checkpoint;
use crate::error::{Error, Result};
use crate::train::{
    CachedEar, Model, TrainConfig, cached_ears, class_counts, eval_window, read_run_config,
    resolve_task, score_ears, task_rows,
};

pub(crate) use rows::top_slices_of;

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// The run folder.
    pub run: PathBuf,
    /// `val`, `test` or `external_test`.
    pub split: SplitName,
    /// Another cache folder with the same preprocessing (default: the run's).
    pub cache: Option<PathBuf>,
    /// `best` or `last`.
    pub checkpoint: String,
    /// Device.
    pub device: Device,
    /// Bootstrap replicates (0: no bootstrap).
    pub replicates: usize,
    /// Rule that chooses the operating threshold on val.
    pub threshold_rule: ThresholdRule,
    /// What the intervals resample (default: patients).
    pub cluster: ClusterUnit,
    /// Batch size (default: the run's).
    pub batch_size: Option<usize>,
}

/// The file of checkpoint `which` (`best` or `last`) of a run.
///
/// # Errors
/// Another name; a checkpoint the run has not written yet.
pub fn checkpoint_file(run: &Path, which: &str) -> Result<PathBuf> {
    if which != "best" && which != "last" {
        return Err(Error::Config(format!(
            "--checkpoint {which}: expected best or last"
        )));
    }
    let path = run.join(format!("{which}.safetensors"));
    if !path.exists() {
        return Err(Error::data(
            &path,
            "no such checkpoint: the run has not finished an epoch (resume it with `medfen train --resume`)",
        ));
    }
    Ok(path)
}

/// Loads a run's configuration and the weights of `checkpoint` (`best` or `last`).
///
/// # Errors
/// Not a run folder; a missing checkpoint; weights that do not fit the run's model.
pub fn load_run_model(run: &Path, which: &str, device: Device) -> Result<(TrainConfig, Model)> {
    let config = read_run_config(run)?;
    let path = checkpoint_file(run, which)?;
    let mut model = Model::new(&config.model, device);
    checkpoint::load(&mut model.vs, &path)?;
    Ok((config, model))
}

/// Opens `cache` (or the run's cache) and refuses one made with another preprocessing.
///
/// # Errors
/// [`Error::SpecMismatch`] naming the differing fields.
pub fn open_matching_cache(
    run: &Path,
    config: &TrainConfig,
    cache: Option<&Path>,
) -> Result<CacheReader> {
    let dir = cache.unwrap_or(&config.cache_dir);
    let reader = CacheReader::open(dir)?;
    let differences = spec_differences(&config.cache_spec, reader.spec());
    if differences.is_empty() {
        Ok(reader)
    } else {
        Err(Error::SpecMismatch {
            run: run.to_path_buf(),
            cache: dir.to_path_buf(),
            differences: differences.join(", "),
        })
    }
}

/// Differing fields of two serialisable values, as `field: a != b`.
pub(crate) fn spec_differences<T: Serialize>(run: &T, cache: &T) -> Vec<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(run), serde_json::to_value(cache))
    else {
        return vec!["unserialisable spec".into()];
    };
    a.iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, v)| {
            format!(
                "{k}: run {v} != cache {}",
                b.get(k).unwrap_or(&serde_json::Value::Null)
            )
        })
        .collect()
}

/// The run, its model and data, loaded for one evaluation.
struct Evaluation {
    config: TrainConfig,
    task: Task,
    reader: Arc<CacheReader>,
    ears: Vec<CachedEar>,
    /// Each ear's probabilities (binary: one; else one per class) and attention.
    scores: Vec<crate::train::EarScore>,
    /// SHA-256 of the checkpoint's file.
    checkpoint_sha256: String,
}

impl Evaluation {
    fn load(options: &EvalOptions) -> Result<Self> {
        let (config, model) = load_run_model(&options.run, &options.checkpoint, options.device)?;
        let checkpoint_sha256 =
            medfen_io::file_sha256(&checkpoint_file(&options.run, &options.checkpoint)?)?;
        let task = resolve_task(&config)?;
        let reader = Arc::new(open_matching_cache(
            &options.run,
            &config,
            options.cache.as_deref(),
        )?);
        let splits = SplitFolder::open(&config.splits_dir)?;
        let ears = cached_ears(&reader, &splits, &config.subset, options.split)?;
        let (scores, _) = score_ears(
            &model,
            &reader,
            &ears,
            &eval_window(&config.augment),
            &task,
            None,
            options.batch_size.unwrap_or(config.batch_size),
            config.precision,
            options.device,
        )?;
        Ok(Self {
            config,
            task,
            reader,
            ears,
            scores,
            checkpoint_sha256,
        })
    }

    fn binary(&self) -> bool {
        matches!(self.task.kind, TaskKind::Binary { .. })
    }
}

/// Evaluates a run on a split; see the module documentation.
///
/// # Errors
/// Run, cache, split or metric errors; a test evaluation whose val thresholds cannot be
/// chosen (val has one class only) or were chosen on other weights of the checkpoint.
pub fn evaluate(options: &EvalOptions) -> Result<EvalReport> {
    let ev = Evaluation::load(options)?;
    // Thresholds come from val: choose them first when evaluating another split.
    let frozen = match options.split {
        SplitName::Val => None,
        _ if ev.binary() => Some(thresholds::frozen(options, &ev.checkpoint_sha256)?),
        _ => None,
    };
    let (targets, rows) = task_rows(&ev.ears, &ev.task);
    let in_task: Vec<&CachedEar> = rows.iter().map(|&i| &ev.ears[i]).collect();
    let clusters = clusters_of(&in_task, options.cluster);
    let out_dir = EvalReport::dir(&options.run, options.split.name(), &options.checkpoint);
    std::fs::create_dir_all(&out_dir).map_err(|e| Error::io(&out_dir, e))?;
    let mut report = EvalReport {
        format: EvalReport::FORMAT.tag(),
        split: options.split.name().to_string(),
        checkpoint: options.checkpoint.clone(),
        task: ev.task.name.clone(),
        ears: ev.ears.len(),
        ears_in_task: rows.len(),
        exams: count_distinct(in_task.iter().map(|e| e.exam_id)),
        patients: count_distinct(in_task.iter().map(|e| e.patient_key.as_str())),
        cluster: options.cluster,
        clusters: clusters.n_clusters(),
        class_counts: class_counts(&ev.ears, &ev.task),
        thresholds: None,
        binary: None,
        youden_here: None,
        multiclass: None,
        one_vs_rest: Vec::new(),
        predictions: [
            out_dir.join("predictions.csv"),
            out_dir.join("predictions.parquet"),
        ],
        report_path: out_dir.join("metrics.json"),
    };
    let bootstrap = (options.replicates > 0).then(|| {
        BootstrapConfig::new()
            .with_replicates(options.replicates)
            .with_seed(ev.config.seed)
    });
    let y_pred = if ev.binary() {
        binary_metrics(
            &ev,
            options,
            frozen,
            (&targets, &rows),
            &clusters,
            bootstrap,
            &mut report,
        )?
    } else {
        multiclass_metrics(&ev, (&targets, &rows), &clusters, bootstrap, &mut report)?
    };
    let table = rows::prediction_table(&ev, &y_pred, report.thresholds.as_ref());
    table.write(&report.predictions[0])?;
    table.write(&report.predictions[1])?;
    report.write()?;
    Ok(report)
}

/// The resampling units of the ears in the task.
fn clusters_of(ears: &[&CachedEar], unit: ClusterUnit) -> Clusters {
    match unit {
        ClusterUnit::Patient => {
            let keys: Vec<&str> = ears.iter().map(|e| e.patient_key.as_str()).collect();
            Clusters::from_ids(&keys)
        }
        ClusterUnit::Exam => {
            let ids: Vec<u64> = ears.iter().map(|e| e.exam_id).collect();
            Clusters::from_ids(&ids)
        }
        ClusterUnit::Ear => Clusters::singletons(ears.len()),
    }
}

fn count_distinct<T: Ord>(values: impl Iterator<Item = T>) -> usize {
    values.collect::<std::collections::BTreeSet<T>>().len()
}

/// The binary report at the frozen (or, on val, newly chosen) thresholds; returns each
/// ear's predicted class. On any split but val the frozen thresholds are pre-specified:
/// reported first, with their own intervals.
fn binary_metrics(
    ev: &Evaluation,
    options: &EvalOptions,
    frozen: Option<Thresholds>,
    (targets, rows): (&[u8], &[usize]),
    clusters: &Clusters,
    bootstrap: Option<BootstrapConfig>,
    report: &mut EvalReport,
) -> Result<Vec<usize>> {
    let labels: Vec<bool> = targets.iter().map(|&t| t == 1).collect();
    let probs: Vec<f64> = rows.iter().map(|&i| ev.scores[i].probs[0]).collect();
    let mut opts = ReportOptions::new().with_bootstrap(bootstrap);
    let thresholds = if let Some(t) = frozen {
        opts = opts
            .with_threshold(ThresholdSource::Frozen {
                chosen: t.operating.clone(),
            })
            .with_pre_specified(format!("{} on val", t.operating.rule), t.operating.clone());
        if let Some(at_95) = &t.at_95_specificity {
            opts = opts.with_pre_specified("95% specificity on val", at_95.clone());
        }
        t
    } else {
        let t = thresholds::choose_on_val(&labels, &probs, options, &ev.checkpoint_sha256)?;
        t.write(&options.run)?;
        opts = opts.with_threshold(ThresholdSource::Rule {
            rule: options.threshold_rule,
        });
        t
    };
    if !rows.is_empty() {
        report.binary = Some(binary_report(&labels, &probs, Some(clusters), &opts)?);
        report.youden_here = choose_threshold(&labels, &probs, ThresholdRule::Youden).ok();
    }
    let t = thresholds.operating.threshold;
    report.thresholds = Some(thresholds);
    Ok(ev
        .scores
        .iter()
        .map(|s| usize::from(s.probs[0] >= t))
        .collect())
}

/// The multi-class report and one-vs-rest binary reports; returns each ear's
/// predicted class (argmax).
fn multiclass_metrics(
    ev: &Evaluation,
    (targets, rows): (&[u8], &[usize]),
    clusters: &Clusters,
    bootstrap: Option<BootstrapConfig>,
    report: &mut EvalReport,
) -> Result<Vec<usize>> {
    let c = ev.task.num_classes();
    let all: Vec<f64> = ev
        .scores
        .iter()
        .flat_map(|s| s.probs.iter().copied())
        .collect();
    let pred = medfen_metrics::argmax_rows(&all, c)?;
    if rows.is_empty() {
        return Ok(pred);
    }
    let truth: Vec<usize> = targets.iter().map(|&t| usize::from(t)).collect();
    let p: Vec<usize> = rows.iter().map(|&i| pred[i]).collect();
    let probs: Vec<f64> = rows
        .iter()
        .flat_map(|&i| ev.scores[i].probs.iter().copied())
        .collect();
    report.multiclass = Some(medfen_metrics::multiclass_report(
        &truth,
        &p,
        c,
        Some(&probs),
    )?);
    let opts = ReportOptions::new().with_bootstrap(bootstrap);
    for (k, name) in ev.task.class_names.iter().enumerate() {
        let labels: Vec<bool> = truth.iter().map(|&t| t == k).collect();
        let pk: Vec<f64> = rows.iter().map(|&i| ev.scores[i].probs[k]).collect();
        report.one_vs_rest.push((
            name.clone(),
            binary_report(&labels, &pk, Some(clusters), &opts)?,
        ));
    }
    Ok(pred)
}
