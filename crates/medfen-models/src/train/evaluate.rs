//! `medfen eval`: predictions of a run's checkpoint on val or test, written as CSV and
//! Parquet with the attention top-k slices, and metrics with exam-clustered bootstrap
//! intervals. Operating thresholds are chosen on val, frozen into the run
//! (`thresholds.json`) and applied unchanged to test.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use medfen_cache::CacheReader;
use medfen_metrics::{
    BootstrapConfig, ChosenThreshold, Clusters, ReportOptions, ThresholdRule, ThresholdSource,
    binary_report, choose_threshold,
};
use medfen_tasks::table::Table;
use medfen_tasks::{Task, TaskKind};
use serde::{Deserialize, Serialize};
use tch::Device;

use super::config::TrainConfig;
use super::ears::{SplitEar, class_counts, split_ears};
use super::model::Model;
use super::run::{read_run_config, resolve_task};
use super::scores::{EarScore, eval_window, score_ears, task_rows, top_slices};
use crate::checkpoint;
use crate::error::{Error, Result};

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// The run folder.
    pub run: PathBuf,
    /// `val`, `test` or `external_test`.
    pub split: String,
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
    /// Batch size (default: the run's).
    pub batch_size: Option<usize>,
}

/// Thresholds chosen on val and frozen into the run (`thresholds.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// The checkpoint they were chosen for.
    pub checkpoint: String,
    /// The split they were chosen on (always `val`).
    pub chosen_on: String,
    /// The operating threshold (by the run's rule, Youden by default).
    pub operating: ChosenThreshold,
    /// The threshold giving the highest sensitivity at specificity >= 0.95 on val.
    pub at_95_specificity: Option<ChosenThreshold>,
}

/// What `medfen eval` wrote and found.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// The split evaluated.
    pub split: String,
    /// The checkpoint.
    pub checkpoint: String,
    /// The task.
    pub task: String,
    /// Ears predicted (all ears of the split).
    pub ears: usize,
    /// Ears in the task (with a target).
    pub ears_in_task: usize,
    /// Exams.
    pub exams: usize,
    /// Ears per class in the task.
    pub class_counts: Vec<usize>,
    /// The thresholds applied (binary tasks), frozen from val.
    pub thresholds: Option<Thresholds>,
    /// Binary report (AUROC, AP, operating points, bootstrap CIs by exam, calibration).
    pub binary: Option<medfen_metrics::BinaryReport>,
    /// Sensitivity and specificity at the frozen 95%-specificity threshold of val.
    pub at_val_95_specificity: Option<medfen_metrics::ThresholdResult>,
    /// Multi-class report.
    pub multiclass: Option<medfen_metrics::MulticlassReport>,
    /// One-vs-rest binary reports per class (multi-class tasks), with bootstrap CIs.
    pub one_vs_rest: Vec<(String, medfen_metrics::BinaryReport)>,
    /// The predictions (CSV and Parquet).
    pub predictions: [PathBuf; 2],
    /// This report.
    pub report_path: PathBuf,
}

/// Loads a run's configuration and the weights of `checkpoint` (`best` or `last`).
///
/// # Errors
/// Not a run folder; a missing checkpoint; weights that do not fit the run's model.
pub fn load_run_model(run: &Path, which: &str, device: Device) -> Result<(TrainConfig, Model)> {
    let config = read_run_config(run)?;
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

/// Evaluates a run on a split; see the module documentation.
///
/// # Errors
/// Run, cache, split or metric errors; a test evaluation whose val thresholds cannot be
/// chosen (val has one class only).
#[allow(clippy::too_many_lines)]
pub fn evaluate(options: &EvalOptions) -> Result<EvalReport> {
    let (config, model) = load_run_model(&options.run, &options.checkpoint, options.device)?;
    let task = resolve_task(&config)?;
    let reader = Arc::new(open_matching_cache(
        &options.run,
        &config,
        options.cache.as_deref(),
    )?);
    let binary = matches!(task.kind, TaskKind::Binary { .. });
    // Thresholds come from val: choose them first when evaluating another split.
    let thresholds = if binary {
        Some(match options.split.as_str() {
            "val" => None,
            _ => Some(frozen_thresholds(options)?),
        })
    } else {
        None
    };
    let ears = split_ears(&reader, &config.splits_dir, &config.subset, &options.split)?;
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
    let (targets, rows) = task_rows(&ears, &task);
    let ids: Vec<u64> = rows.iter().map(|&i| ears[i].exam_id).collect();
    let clusters = Clusters::from_ids(&ids);
    let bootstrap = (options.replicates > 0).then(|| {
        BootstrapConfig::new()
            .with_replicates(options.replicates)
            .with_seed(config.seed)
    });
    let out_dir = options
        .run
        .join("eval")
        .join(format!("{}-{}", options.split, options.checkpoint));
    std::fs::create_dir_all(&out_dir).map_err(|e| Error::io(&out_dir, e))?;

    let mut report = EvalReport {
        split: options.split.clone(),
        checkpoint: options.checkpoint.clone(),
        task: task.name.clone(),
        ears: ears.len(),
        ears_in_task: rows.len(),
        exams: clusters.n_clusters(),
        class_counts: class_counts(&ears, &task),
        thresholds: None,
        binary: None,
        at_val_95_specificity: None,
        multiclass: None,
        one_vs_rest: Vec::new(),
        predictions: [
            out_dir.join("predictions.csv"),
            out_dir.join("predictions.parquet"),
        ],
        report_path: out_dir.join("metrics.json"),
    };
    let y_pred: Vec<Option<usize>>;
    if binary {
        let labels: Vec<bool> = targets.iter().map(|&t| t == 1).collect();
        let probs: Vec<f64> = rows.iter().map(|&i| scores[i].probs[0]).collect();
        let frozen = if let Some(t) = thresholds.flatten() {
            t
        } else {
            let t = choose_val_thresholds(&labels, &probs, options)?;
            medfen_tasks::table::write_json(&options.run.join("thresholds.json"), &t)?;
            t
        };
        let source = if options.split == "val" {
            ThresholdSource::Rule {
                rule: options.threshold_rule,
            }
        } else {
            ThresholdSource::Frozen {
                chosen: frozen.operating.clone(),
            }
        };
        let opts = ReportOptions::new()
            .with_threshold(source)
            .with_bootstrap(bootstrap);
        if !rows.is_empty() {
            report.binary = Some(binary_report(&labels, &probs, Some(&clusters), &opts)?);
            report.at_val_95_specificity = frozen
                .at_95_specificity
                .as_ref()
                .map(|c| c.apply(&labels, &probs))
                .transpose()?;
        }
        let t = frozen.operating.threshold;
        y_pred = scores
            .iter()
            .map(|s| Some(usize::from(s.probs[0] >= t)))
            .collect();
        report.thresholds = Some(frozen);
    } else {
        let c = task.num_classes();
        let all: Vec<f64> = scores
            .iter()
            .flat_map(|s| s.probs.iter().copied())
            .collect();
        let pred = medfen_metrics::argmax_rows(&all, c)?;
        if !rows.is_empty() {
            let truth: Vec<usize> = targets.iter().map(|&t| usize::from(t)).collect();
            let p: Vec<usize> = rows.iter().map(|&i| pred[i]).collect();
            let probs: Vec<f64> = rows
                .iter()
                .flat_map(|&i| scores[i].probs.iter().copied())
                .collect();
            report.multiclass = Some(medfen_metrics::multiclass_report(
                &truth,
                &p,
                c,
                Some(&probs),
            )?);
            let opts = ReportOptions::new().with_bootstrap(bootstrap);
            for (k, name) in task.class_names.iter().enumerate() {
                let labels: Vec<bool> = truth.iter().map(|&t| t == k).collect();
                let pk: Vec<f64> = rows.iter().map(|&i| scores[i].probs[k]).collect();
                report.one_vs_rest.push((
                    name.clone(),
                    binary_report(&labels, &pk, Some(&clusters), &opts)?,
                ));
            }
        }
        y_pred = pred.into_iter().map(Some).collect();
    }
    let table = predictions_table(&reader, &ears, &scores, &task, &y_pred, config.top_k);
    table.write_csv(&report.predictions[0])?;
    table.write_parquet(&report.predictions[1])?;
    medfen_tasks::table::write_json(&report.report_path, &report)?;
    Ok(report)
}

fn choose_val_thresholds(
    labels: &[bool],
    probs: &[f64],
    options: &EvalOptions,
) -> Result<Thresholds> {
    let operating = choose_threshold(labels, probs, options.threshold_rule)?;
    let at_95 = choose_threshold(
        labels,
        probs,
        ThresholdRule::MaxSensitivity {
            min_specificity: 0.95,
        },
    )
    .ok();
    Ok(Thresholds {
        checkpoint: options.checkpoint.clone(),
        chosen_on: "val".into(),
        operating,
        at_95_specificity: at_95,
    })
}

/// The run's frozen val thresholds for this checkpoint; evaluates val first when there
/// are none yet (or they belong to another checkpoint or rule).
fn frozen_thresholds(options: &EvalOptions) -> Result<Thresholds> {
    let path = options.run.join("thresholds.json");
    if path.exists() {
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let t: Thresholds = serde_json::from_slice(&bytes).map_err(|e| Error::data(&path, e))?;
        if t.checkpoint == options.checkpoint && t.operating.rule == options.threshold_rule {
            return Ok(t);
        }
    }
    tracing::info!(
        "choosing thresholds on val first (frozen for {})",
        options.split
    );
    let val = EvalOptions {
        split: "val".into(),
        replicates: 0,
        ..options.clone()
    };
    evaluate(&val)?
        .thresholds
        .ok_or_else(|| Error::data(&path, "val gave no thresholds"))
}

fn predictions_table(
    reader: &CacheReader,
    ears: &[SplitEar],
    scores: &[EarScore],
    task: &Task,
    y_pred: &[Option<usize>],
    top_k: usize,
) -> Table {
    let binary = matches!(task.kind, TaskKind::Binary { .. });
    let mut t = Table::new();
    #[allow(clippy::cast_possible_wrap)]
    t.int("exam_id", ears.iter().map(|e| Some(e.exam_id as i64)));
    t.text("side", ears.iter().map(|e| Some(e.side.name().to_string())));
    t.int("code", ears.iter().map(|e| e.code.map(i64::from)));
    t.int("y_true", ears.iter().map(|e| e.target(task).map(i64::from)));
    #[allow(clippy::cast_possible_wrap)]
    t.int("y_pred", y_pred.iter().map(|p| p.map(|p| p as i64)));
    if binary {
        t.float("y_prob", scores.iter().map(|s| Some(s.probs[0])));
    } else {
        t.float(
            "y_prob",
            scores
                .iter()
                .zip(y_pred)
                .map(|(s, p)| p.map(|p| s.probs[p])),
        );
        for (k, name) in task.class_names.iter().enumerate() {
            t.float(
                &format!("prob_{name}"),
                scores.iter().map(|s| Some(s.probs[k])),
            );
        }
    }
    let index = reader.index();
    let tops: Vec<Vec<(usize, f32)>> = scores
        .iter()
        .map(|s| top_slices(&s.slice_weights, top_k))
        .collect();
    for j in 0..top_k {
        let at = |s: usize| tops[s].get(j).copied();
        #[allow(clippy::cast_possible_wrap)]
        t.int(
            &format!("top{}_slice", j + 1),
            (0..scores.len()).map(|s| at(s).map(|(k, _)| k as i64)),
        );
        t.float(
            &format!("top{}_weight", j + 1),
            (0..scores.len()).map(|s| at(s).map(|(_, w)| f64::from(w))),
        );
        #[allow(clippy::cast_possible_wrap)]
        t.int(
            &format!("top{}_source_slice", j + 1),
            (0..scores.len()).map(|s| {
                at(s).and_then(|(k, _)| {
                    index[scores[s].record]
                        .placement
                        .slice_indices
                        .get(k)
                        .map(|&v| v as i64)
                })
            }),
        );
        t.float(
            &format!("top{}_z_mm", j + 1),
            (0..scores.len()).map(|s| {
                at(s).and_then(|(k, _)| index[scores[s].record].placement.z_mm.get(k).copied())
            }),
        );
    }
    t
}
