//! The training loop: epochs over the cache with the task's masked loss, AdamW with a
//! warmup + cosine schedule per optimizer step, gradient accumulation and clipping,
//! fp16 loss scaling on CUDA, validation every epoch, best/last checkpoints, early
//! stopping, and a resumable state written atomically.
//!
//! Run folder:
//! - `run.json`: the [`TrainConfig`]; `--resume` refuses another configuration.
//! - `state.json`: where the run is ([`TrainState`]), pointing at `resume/<slot>/` (model
//!   and optimizer); written last, so a crash leaves the previous consistent state.
//! - `best.safetensors`, `last.safetensors`: weights (with BatchNorm statistics).
//! - `metrics.jsonl`: one line per epoch; `reports/epoch-NNN.json`; `report.json` at the end.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use medfen_cache::{CacheReader, Loader, double_correction_warning, epoch_order};
use medfen_tasks::{Task, TaskKind, TaskRegistry};
use serde::{Deserialize, Serialize};
use tch::Device;

use super::config::{Precision, TrainConfig};
use super::ears::{SplitEar, class_counts, split_ears};
use super::loss::{Loss, LossWeights};
use super::model::Model;
use super::scaler::LossScaler;
use super::scores::{QuickMetrics, eval_window, quick_metrics, score_ears};
use crate::checkpoint;
use crate::data::{batch_inputs, task_targets};
use crate::error::{Error, Result};
use crate::optim::{AdamW, Schedule};

/// One epoch's summary (a line of `metrics.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochSummary {
    /// Epoch (1-based).
    pub epoch: u64,
    /// Mean training loss over the epoch's ears in the task.
    pub train_loss: f64,
    /// Learning rate at the epoch's last optimizer step.
    pub lr: f64,
    /// Optimizer steps taken so far.
    pub optimizer_steps: u64,
    /// Validation metrics.
    pub val: QuickMetrics,
    /// The monitored value.
    pub monitored: Option<f64>,
    /// True when this epoch is the best so far (its weights are `best.safetensors`).
    pub best: bool,
    /// Training ears per second (forward + backward + step).
    pub ears_per_s: f64,
    /// Fraction of the epoch's training time spent waiting for batches.
    pub data_wait_fraction: f64,
    /// Steps skipped by the fp16 loss scaler (overflow).
    pub skipped_steps: u64,
    /// Wall seconds of the epoch (training and validation).
    pub seconds: f64,
}

/// Where a run is; `state.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs completed.
    pub epoch: u64,
    /// Batches done in the current epoch (mid-epoch checkpoints; 0 at epoch ends).
    pub batch: u64,
    /// Optimizer steps taken.
    pub optimizer_steps: u64,
    /// Training-loss sum and ear count of the current, partial epoch.
    pub partial_loss: (f64, u64),
    /// Best monitored value and its epoch.
    pub best: Option<(f64, u64)>,
    /// Validation loss of the best epoch (breaks ties of the monitored metric, which
    /// are common for AUROC once it reaches 1 on a small validation set).
    #[serde(default)]
    pub best_loss: Option<f64>,
    /// Epochs since the best one.
    pub epochs_without_improvement: u64,
    /// True once the run has finished (all epochs or early stop).
    pub finished: bool,
    /// Why the run stopped, when it has.
    pub stop_reason: Option<String>,
    /// fp16 loss scaler state.
    pub scaler: LossScaler,
    /// Folder (relative to the run) with `model.safetensors` and `optimizer.safetensors`.
    pub resume_dir: String,
    /// Every finished epoch.
    pub history: Vec<EpochSummary>,
}

/// What `medfen train` reports at the end (`report.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainReport {
    /// The run folder.
    pub run_dir: PathBuf,
    /// Epochs run (may be fewer than configured after early stopping).
    pub epochs_run: u64,
    /// Why it stopped.
    pub stop_reason: String,
    /// Best epoch and its monitored value.
    pub best_epoch: Option<u64>,
    /// Best monitored value.
    pub best_value: Option<f64>,
    /// The monitored metric.
    pub monitor: String,
    /// Training ears in the task, per class.
    pub train_counts: Vec<usize>,
    /// Validation ears in the task, per class.
    pub val_counts: Vec<usize>,
    /// Weights the loss used.
    pub loss_weights: LossWeights,
    /// Trainable values.
    pub parameters: i64,
    /// Device used.
    pub device: String,
    /// Warnings raised (double imbalance correction, missing classes, ...).
    pub warnings: Vec<String>,
    /// True when this invocation resumed an interrupted run.
    pub resumed: bool,
}

/// Progress of a run, for a progress bar.
#[derive(Debug, Clone)]
pub enum TrainEvent {
    /// An epoch starts: `batches` batches, the first `skip` already done (resume).
    EpochStart {
        /// Epoch (1-based).
        epoch: u64,
        /// Batches of the epoch.
        batches: u64,
        /// Batches already done.
        skip: u64,
    },
    /// A batch finished.
    Batch {
        /// Its loss.
        loss: f64,
    },
    /// Validation finished.
    EpochEnd(EpochSummary),
}

/// Where to write and whether to resume.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The run folder.
    pub out: PathBuf,
    /// Continue an interrupted run in `out`.
    pub resume: bool,
    /// The device.
    pub device: Device,
    /// Stop (as if interrupted) after this many optimizer steps in this invocation:
    /// for tests of resume and for time-boxed runs.
    pub stop_after_steps: Option<u64>,
}

/// Resolves the task of `config` from the built-in registry and its tasks file.
///
/// # Errors
/// An unknown task (listing the known ones) or an invalid tasks file.
pub fn resolve_task(config: &TrainConfig) -> Result<Task> {
    let registry = match &config.tasks_file {
        Some(f) => TaskRegistry::with_file(f)?,
        None => TaskRegistry::builtin(),
    };
    Ok(registry.resolve(&config.task)?.clone())
}

fn seed_for(seed: u64, epoch: u64, batch: u64) -> i64 {
    // SplitMix64 of the triple: one libtorch generator position per batch, so dropout
    // after a resume is the same as without one.
    let mut z = seed
        .wrapping_add(epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(batch.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    #[allow(clippy::cast_possible_wrap)]
    {
        (z >> 1) as i64
    }
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    Ok(medfen_tasks::table::write_json(path, value)?)
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::data(path, e))
}

/// Reads the configuration of a run folder.
///
/// # Errors
/// A folder without `run.json` or with an unreadable one.
pub fn read_run_config(run: &Path) -> Result<TrainConfig> {
    let path = run.join("run.json");
    if !path.exists() {
        return Err(Error::data(
            run,
            "not a run folder (no run.json): give the --out folder of `medfen train`",
        ));
    }
    read_json(&path)
}

/// Differences between two configurations, as `field: a != b` (empty when equal).
fn config_differences(a: &TrainConfig, b: &TrainConfig) -> Vec<String> {
    let (Ok(serde_json::Value::Object(x)), Ok(serde_json::Value::Object(y))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return vec!["unserialisable configuration".into()];
    };
    x.iter()
        .filter(|(k, v)| y.get(*k) != Some(*v))
        .map(|(k, v)| {
            format!(
                "{k}: {v} != {}",
                y.get(k).unwrap_or(&serde_json::Value::Null)
            )
        })
        .collect()
}

struct Setup {
    task: Task,
    reader: Arc<CacheReader>,
    train: Vec<SplitEar>,
    val: Vec<SplitEar>,
    warnings: Vec<String>,
}

fn setup(config: &TrainConfig) -> Result<Setup> {
    let task = resolve_task(config)?;
    config.validate(matches!(task.kind, TaskKind::Binary { .. }))?;
    let reader = Arc::new(CacheReader::open(&config.cache_dir)?);
    if *reader.spec() != config.cache_spec {
        return Err(Error::data(
            &config.cache_dir,
            "the cache's spec.json differs from the run's cache_spec",
        ));
    }
    let train = split_ears(&reader, &config.splits_dir, &config.subset, "train")?;
    let val = split_ears(&reader, &config.splits_dir, &config.subset, "val")?;
    let mut warnings = Vec::new();
    if let Some(w) = double_correction_warning(config.sampler, config.loss.reweights()) {
        tracing::warn!("{w}");
        warnings.push(w.to_string());
    }
    for (name, ears) in [("train", &train), ("val", &val)] {
        let counts = class_counts(ears, &task);
        for (c, n) in counts.iter().enumerate() {
            if *n == 0 {
                let w = format!(
                    "{name} has no ear of class `{}` for task {}",
                    task.class_names[c], task.name
                );
                tracing::warn!("{w}");
                warnings.push(w);
            }
        }
    }
    Ok(Setup {
        task,
        reader,
        train,
        val,
        warnings,
    })
}

fn save_resume(
    run: &Path,
    model: &Model,
    opt: &AdamW,
    state: &mut TrainState,
    history_changed: bool,
) -> Result<()> {
    let slot = format!(
        "resume/e{:04}-b{:06}-s{:08}",
        state.epoch, state.batch, state.optimizer_steps
    );
    let dir = run.join(&slot);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    checkpoint::save(&model.vs, &dir.join("model.safetensors"))?;
    opt.save(&dir.join("optimizer.safetensors"))?;
    let previous = std::mem::replace(&mut state.resume_dir, slot);
    write_json(&run.join("state.json"), state)?;
    if history_changed {
        let mut lines = String::new();
        for e in &state.history {
            lines.push_str(&serde_json::to_string(e).map_err(|e| Error::data(run, e))?);
            lines.push('\n');
        }
        medfen_dicom::write_atomically(&run.join("metrics.jsonl"), lines.as_bytes(), true)?;
    }
    if !previous.is_empty() && previous != state.resume_dir {
        let _ = std::fs::remove_dir_all(run.join(previous));
    }
    Ok(())
}

/// Runs `f` under CUDA autocast for bf16/fp16 on a CUDA device; plain otherwise.
pub(crate) fn autocast<T>(precision: Precision, device: Device, f: impl FnOnce() -> T) -> T {
    if precision == Precision::Fp32 || !device.is_cuda() {
        f()
    } else {
        tch::autocast(true, f)
    }
}

/// Trains (or resumes) a run; see the module documentation for the folder it writes.
///
/// # Errors
/// Invalid configuration, data or run folder (an existing run without `--resume`, a
/// resume with another configuration), I/O and libtorch errors.
#[allow(clippy::too_many_lines)]
pub fn train(
    config: &TrainConfig,
    options: &RunOptions,
    on_event: &mut dyn FnMut(TrainEvent),
) -> Result<TrainReport> {
    let run = &options.out;
    let device = options.device;
    if config.precision != Precision::Fp32 && !device.is_cuda() {
        return Err(Error::Config(format!(
            "--precision {:?} needs a CUDA device; on CPU use fp32",
            config.precision
        )));
    }
    let Setup {
        task,
        reader,
        train: train_ears,
        val: val_ears,
        warnings,
    } = setup(config)?;
    let run_json = run.join("run.json");
    let resumed = run.join("state.json").exists() && options.resume;
    if run_json.exists() {
        if !options.resume {
            return Err(Error::data(
                run,
                "already holds a run: pass --resume to continue it, or choose another --out",
            ));
        }
        let stored: TrainConfig = read_json(&run_json)?;
        let diff = config_differences(&stored, config);
        if !diff.is_empty() {
            return Err(Error::data(
                &run_json,
                format!("--resume with another configuration: {}", diff.join("; ")),
            ));
        }
    } else if options.resume {
        return Err(Error::data(
            run,
            "--resume: no run to resume here (no run.json)",
        ));
    } else {
        std::fs::create_dir_all(run.join("reports")).map_err(|e| Error::io(run, e))?;
        write_json(&run_json, config)?;
    }
    std::fs::create_dir_all(run.join("reports")).map_err(|e| Error::io(run, e))?;

    #[allow(clippy::cast_possible_wrap)]
    tch::manual_seed(config.seed as i64);
    let mut model = Model::new(&config.model, device);
    let mut opt = AdamW::new(&model.vs, config.weight_decay);
    let train_counts = class_counts(&train_ears, &task);
    let val_counts = class_counts(&val_ears, &task);
    let (loss, loss_weights) = Loss::new(config.loss, &train_counts, device);

    // Ears in the task; the sampler balances task targets, not raw codes.
    let candidates: Vec<usize> = (0..train_ears.len())
        .filter(|&i| train_ears[i].target(&task).is_some())
        .collect();
    if candidates.is_empty() {
        return Err(Error::data(
            config.splits_dir.join(&config.subset).join("train.parquet"),
            format!("no training ear belongs to task {}", task.name),
        ));
    }
    let targets: Vec<Option<u8>> = train_ears.iter().map(|e| e.target(&task)).collect();
    let batches = (candidates.len() as u64).div_ceil(config.batch_size as u64);
    let schedule = Schedule::for_run(
        config.lr,
        config.min_lr,
        config.epochs,
        batches,
        config.accumulate,
        config.warmup_epochs,
    );

    let mut state = if resumed {
        let state: TrainState = read_json(&run.join("state.json"))?;
        let dir = run.join(&state.resume_dir);
        checkpoint::load(&mut model.vs, &dir.join("model.safetensors"))?;
        opt.load(&dir.join("optimizer.safetensors"))?;
        if opt.steps() != state.optimizer_steps {
            return Err(Error::data(
                &dir,
                format!(
                    "optimizer state at step {} but state.json says {}",
                    opt.steps(),
                    state.optimizer_steps
                ),
            ));
        }
        tracing::info!(
            epoch = state.epoch,
            batch = state.batch,
            steps = state.optimizer_steps,
            "resuming"
        );
        state
    } else {
        TrainState {
            epoch: 0,
            batch: 0,
            optimizer_steps: 0,
            partial_loss: (0.0, 0),
            best: None,
            best_loss: None,
            epochs_without_improvement: 0,
            finished: false,
            stop_reason: None,
            scaler: LossScaler::new(config.precision == Precision::Fp16),
            resume_dir: String::new(),
            history: Vec::new(),
        }
    };
    let monitor = config.early_stopping.monitor;
    let window = eval_window(&config.augment);
    let mut steps_this_call = 0u64;
    let mut interrupted = false;

    while !state.finished && state.epoch < config.epochs {
        let epoch = state.epoch;
        let started = Instant::now();
        let order: Vec<usize> =
            epoch_order(config.sampler, &candidates, &targets, config.seed, epoch)
                .into_iter()
                .map(|i| train_ears[i].record)
                .collect();
        // Back from record to ear (records are unique per ear).
        let ear_of: std::collections::HashMap<usize, usize> = train_ears
            .iter()
            .enumerate()
            .map(|(i, e)| (e.record, i))
            .collect();
        let skip = state.batch;
        on_event(TrainEvent::EpochStart {
            epoch: epoch + 1,
            batches,
            skip,
        });
        #[allow(clippy::cast_possible_truncation)]
        let first = (skip as usize * config.batch_size).min(order.len());
        let mut loader = Loader::start(
            Arc::clone(&reader),
            order[first..].to_vec(),
            config.batch_size,
            config.augment.clone(),
            config.seed,
            epoch,
            config.prefetch,
        );
        let (mut loss_sum, mut loss_n) = state.partial_loss;
        let mut wait = 0.0f64;
        let mut skipped = 0u64;
        let mut b = skip;
        let mut lr = schedule.lr(state.optimizer_steps.saturating_sub(1));
        opt.zero_grad();
        loop {
            let t0 = Instant::now();
            let Some(batch) = loader.next() else { break };
            wait += t0.elapsed().as_secs_f64();
            tch::manual_seed(seed_for(config.seed, epoch, b));
            let group_start = b - b % config.accumulate;
            let group_len = config.accumulate.min(batches - group_start);
            let codes: Vec<Option<u8>> = batch
                .records
                .iter()
                .map(|r| train_ears[ear_of[r]].code)
                .collect();
            let (y, mask) = task_targets(&codes, &task, device);
            let xs = batch_inputs(&batch, device);
            loader.recycle(batch);
            let fwd = autocast(config.precision, device, || model.forward(&xs, true));
            let l = loss.compute(&fwd.logits, &y, &mask);
            let value = l.double_value(&[]);
            #[allow(clippy::cast_precision_loss)]
            let scaled = l / group_len as f64 * state.scaler.scale();
            scaled.backward();
            let used = codes.iter().filter(|c| task.target(**c).is_some()).count() as u64;
            #[allow(clippy::cast_precision_loss)]
            {
                loss_sum += value * used as f64;
            }
            loss_n += used;
            on_event(TrainEvent::Batch { loss: value });
            b += 1;
            if b % config.accumulate == 0 || b == batches {
                let stepped = state.scaler.unscale_and_check(&mut opt);
                if stepped {
                    if let Some(max) = config.grad_clip {
                        opt.clip_grad_norm(max);
                    }
                    lr = schedule.lr(opt.steps());
                    opt.step(lr);
                } else {
                    skipped += 1;
                    tracing::warn!(scale = state.scaler.scale(), "fp16 overflow: step skipped");
                }
                opt.zero_grad();
                state.optimizer_steps = opt.steps();
                steps_this_call += 1;
                let stop_now = options.stop_after_steps == Some(steps_this_call);
                let periodic = config.checkpoint_steps > 0
                    && opt.steps().is_multiple_of(config.checkpoint_steps)
                    && b < batches;
                if (stop_now || periodic) && b < batches {
                    state.batch = b;
                    state.partial_loss = (loss_sum, loss_n);
                    save_resume(run, &model, &opt, &mut state, false)?;
                }
                if stop_now && b < batches {
                    interrupted = true;
                    break;
                }
            }
        }
        drop(loader);
        if interrupted {
            break;
        }
        let train_seconds = started.elapsed().as_secs_f64();

        // Validation.
        let (scores, val_loss) = score_ears(
            &model,
            &reader,
            &val_ears,
            &window,
            &task,
            Some(&loss),
            config.batch_size,
            config.precision,
            device,
        )?;
        let val = quick_metrics(&val_ears, &scores, &task, val_loss)?;
        let monitored = val.get(monitor);
        let improved = match (monitored, state.best) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(v), Some((best, _))) => {
                let better = if monitor.higher_is_better() {
                    v > best + config.early_stopping.min_delta
                } else {
                    v < best - config.early_stopping.min_delta
                };
                // A tie goes to the epoch with the lower validation loss.
                #[allow(clippy::float_cmp)]
                let tie_won =
                    v == best && matches!((val_loss, state.best_loss), (Some(l), Some(b)) if l < b);
                better || tie_won
            }
        };
        if monitored.is_none() {
            tracing::warn!(
                metric = monitor.name(),
                "the monitored metric is undefined on val this epoch (one class only?)"
            );
        }
        if improved {
            state.best = monitored.map(|v| (v, epoch + 1));
            state.best_loss = val_loss;
            state.epochs_without_improvement = 0;
            checkpoint::save(&model.vs, &run.join("best.safetensors"))?;
        } else {
            state.epochs_without_improvement += 1;
        }
        checkpoint::save(&model.vs, &run.join("last.safetensors"))?;
        #[allow(clippy::cast_precision_loss)]
        let summary = EpochSummary {
            epoch: epoch + 1,
            train_loss: if loss_n > 0 {
                loss_sum / loss_n as f64
            } else {
                0.0
            },
            lr,
            optimizer_steps: opt.steps(),
            val,
            monitored,
            best: improved,
            ears_per_s: (batches - skip) as f64 * config.batch_size as f64
                / train_seconds.max(1e-9),
            data_wait_fraction: (wait / train_seconds.max(1e-9)).min(1.0),
            skipped_steps: skipped,
            seconds: started.elapsed().as_secs_f64(),
        };
        write_json(
            &run.join("reports")
                .join(format!("epoch-{:03}.json", epoch + 1)),
            &summary,
        )?;
        state.history.push(summary.clone());
        state.epoch = epoch + 1;
        state.batch = 0;
        state.partial_loss = (0.0, 0);
        let patience = config.early_stopping.patience;
        if state.epoch == config.epochs {
            state.finished = true;
            state.stop_reason = Some(format!("completed {} epochs", config.epochs));
        } else if patience > 0 && state.epochs_without_improvement >= patience {
            state.finished = true;
            state.stop_reason = Some(format!(
                "early stop: val {} did not improve by more than {} for {patience} epochs",
                monitor.name(),
                config.early_stopping.min_delta
            ));
        }
        save_resume(run, &model, &opt, &mut state, true)?;
        on_event(TrainEvent::EpochEnd(summary));
        if options
            .stop_after_steps
            .is_some_and(|s| steps_this_call >= s)
            && !state.finished
        {
            interrupted = true;
            break;
        }
    }
    if state.best.is_none() && state.finished {
        // No epoch had a defined metric: the last weights are the best we know.
        checkpoint::save(&model.vs, &run.join("best.safetensors"))?;
    }
    let report = TrainReport {
        run_dir: run.clone(),
        epochs_run: state.epoch,
        stop_reason: state.stop_reason.clone().unwrap_or_else(|| {
            if interrupted {
                "stopped on request; continue with --resume".into()
            } else {
                "unfinished".into()
            }
        }),
        best_epoch: state.best.map(|b| b.1),
        best_value: state.best.map(|b| b.0),
        monitor: monitor.name().into(),
        train_counts,
        val_counts,
        loss_weights,
        parameters: model.parameters(),
        device: format!("{device:?}"),
        warnings,
        resumed,
    };
    if state.finished {
        write_json(&run.join("report.json"), &report)?;
    }
    Ok(report)
}
