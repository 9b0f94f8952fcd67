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

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use medfen_cache::{
    Augment, CacheReader, EpochPosition, Loader, double_correction_warning, epoch_order,
};
use medfen_tasks::{SplitFolder, SplitName, Task, TaskKind, TaskRegistry};
use serde::Serialize;
use tch::{Device, Tensor};

use super::config::{Precision, TrainConfig, read_run_config, write_run_config};
use super::ears::{CachedEar, cached_ears, class_counts};
use super::loss::{Loss, LossWeights};
use super::model::Model;
use super::scores::{eval_window, quick_metrics, score_ears};
use super::state::{EpochSummary, TrainState};
use crate::checkpoint;
use crate::data::{batch_inputs, task_targets};
use crate::error::{Error, Result};
use crate::optim::{AdamW, Schedule};

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
    (z >> 1) as i64
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

/// The task, the cache and the ears of a run, with the warnings a reader should see.
struct Setup {
    task: Task,
    reader: Arc<CacheReader>,
    train: Vec<CachedEar>,
    val: Vec<CachedEar>,
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
    let splits = SplitFolder::open(&config.splits_dir)?;
    let train = cached_ears(&reader, &splits, &config.subset, SplitName::Train)?;
    let val = cached_ears(&reader, &splits, &config.subset, SplitName::Val)?;
    let mut warnings = Vec::new();
    if let Some(w) = double_correction_warning(config.sampler, config.loss.reweights()) {
        tracing::warn!("{w}");
        warnings.push(w.to_string());
    }
    for (name, ears) in [("train", &train), ("val", &val)] {
        for (c, n) in class_counts(ears, &task).iter().enumerate() {
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

/// Checks the run folder against the options: a new run needs an empty folder (its
/// `run.json` is written now), a resumed one the same configuration. Returns whether
/// the run resumes from a saved state.
fn open_run_folder(config: &TrainConfig, options: &RunOptions) -> Result<bool> {
    let run = &options.out;
    let run_json = run.join("run.json");
    let resumed = run.join("state.json").exists() && options.resume;
    if run_json.exists() {
        if !options.resume {
            return Err(Error::data(
                run,
                "already holds a run: pass --resume to continue it, or choose another --out",
            ));
        }
        let diff = config_differences(&read_run_config(run)?, config);
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
        write_run_config(run, config)?;
    }
    std::fs::create_dir_all(run.join("reports")).map_err(|e| Error::io(run, e))?;
    Ok(resumed)
}

/// Runs `f` under CUDA autocast in the precision's dtype on a CUDA device; plain
/// otherwise (training refuses bf16/fp16 on the CPU).
pub(crate) fn autocast<T>(
    precision: Precision,
    device: Device,
    f: impl FnOnce() -> T,
) -> Result<T> {
    if device.is_cuda() {
        crate::autocast::autocast(precision, device, f)
    } else {
        Ok(f())
    }
}

/// Trains (or resumes) a run; see the module documentation for the folder it writes.
///
/// # Errors
/// Invalid configuration, data or run folder (an existing run without `--resume`, a
/// resume with another configuration), I/O and libtorch errors.
pub fn train(
    config: &TrainConfig,
    options: &RunOptions,
    on_event: &mut dyn FnMut(TrainEvent),
) -> Result<TrainReport> {
    if config.precision != Precision::Fp32 && !options.device.is_cuda() {
        return Err(Error::Config(format!(
            "--precision {:?} needs a CUDA device; on CPU use fp32",
            config.precision
        )));
    }
    let setup = setup(config)?;
    let resumed = open_run_folder(config, options)?;
    let mut run = Run::start(config, options, setup, resumed)?;
    let interrupted = run.epochs(on_event)?;
    run.finish(interrupted)
}

/// The running totals of one epoch's training pass.
struct EpochPass {
    epoch: u64,
    started: Instant,
    skip: u64,
    loss_sum: f64,
    loss_n: u64,
    wait: f64,
    skipped: u64,
    lr: f64,
}

/// A run in progress: the model, the optimizer and where it is.
struct Run<'a> {
    config: &'a TrainConfig,
    options: &'a RunOptions,
    setup: Setup,
    resumed: bool,
    model: Model,
    opt: AdamW,
    loss: Loss,
    loss_weights: LossWeights,
    /// Training ears in the task (indices into `setup.train`).
    candidates: Vec<usize>,
    /// Each training ear's target.
    targets: Vec<Option<u8>>,
    /// Cache record to training ear.
    ear_of: HashMap<usize, usize>,
    batches: u64,
    schedule: Schedule,
    window: Augment,
    state: TrainState,
    steps_this_call: u64,
}

impl<'a> Run<'a> {
    /// Builds the model (seeded), the optimizer, the loss and the schedule, and
    /// restores the saved state of a resumed run.
    fn start(
        config: &'a TrainConfig,
        options: &'a RunOptions,
        setup: Setup,
        resumed: bool,
    ) -> Result<Self> {
        tch::manual_seed(config.seed as i64);
        let mut model = Model::new(&config.model, options.device);
        let mut opt = AdamW::new(&model.vs, config.weight_decay);
        let train_counts = class_counts(&setup.train, &setup.task);
        let (loss, loss_weights) = Loss::new(config.loss, &train_counts, options.device);
        // Ears in the task; the sampler balances task targets, not raw codes.
        let targets: Vec<Option<u8>> = setup.train.iter().map(|e| e.target(&setup.task)).collect();
        let candidates: Vec<usize> = (0..targets.len())
            .filter(|&i| targets[i].is_some())
            .collect();
        if candidates.is_empty() {
            return Err(Error::data(
                config.splits_dir.join(&config.subset).join("train.parquet"),
                format!("no training ear belongs to task {}", setup.task.name),
            ));
        }
        let batches = (candidates.len() as u64).div_ceil(config.batch_size as u64);
        let schedule = Schedule::for_run(
            config.lr,
            config.min_lr,
            config.epochs,
            batches,
            config.accumulate,
            config.warmup_epochs,
        );
        let state = if resumed {
            TrainState::resume(&options.out, &mut model, &mut opt)?
        } else {
            TrainState::new(config.precision)
        };
        let ear_of = setup
            .train
            .iter()
            .enumerate()
            .map(|(i, e)| (e.record, i))
            .collect();
        Ok(Self {
            config,
            options,
            resumed,
            model,
            opt,
            loss,
            loss_weights,
            candidates,
            targets,
            ear_of,
            batches,
            schedule,
            window: eval_window(&config.augment),
            state,
            steps_this_call: 0,
            setup,
        })
    }

    fn run_dir(&self) -> &Path {
        &self.options.out
    }

    /// Trains and validates epoch after epoch until the run finishes; true when it
    /// stopped early on request (`stop_after_steps`).
    fn epochs(&mut self, on_event: &mut dyn FnMut(TrainEvent)) -> Result<bool> {
        while !self.state.finished && self.state.epoch < self.config.epochs {
            let Some(pass) = self.train_epoch(on_event)? else {
                return Ok(true);
            };
            let summary = self.end_epoch(&pass)?;
            on_event(TrainEvent::EpochEnd(summary));
            let asked_to_stop = self
                .options
                .stop_after_steps
                .is_some_and(|s| self.steps_this_call >= s);
            if asked_to_stop && !self.state.finished {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// One training pass over the epoch's batches (from where a resumed run stopped);
    /// `None` when it stopped on request inside the epoch.
    fn train_epoch(&mut self, on_event: &mut dyn FnMut(TrainEvent)) -> Result<Option<EpochPass>> {
        let config = self.config;
        let epoch = self.state.epoch;
        let order: Vec<usize> = epoch_order(
            config.sampler,
            &self.candidates,
            &self.targets,
            config.seed,
            epoch,
        )
        .into_iter()
        .map(|i| self.setup.train[i].record)
        .collect();
        let skip = self.state.batch;
        on_event(TrainEvent::EpochStart {
            epoch: epoch + 1,
            batches: self.batches,
            skip,
        });
        let first = (skip as usize * config.batch_size).min(order.len());
        let mut loader = Loader::start(
            Arc::clone(&self.setup.reader),
            order[first..].to_vec(),
            config.batch_size,
            config.augment.clone(),
            EpochPosition::start(config.seed, epoch).advanced(first),
            config.prefetch,
        );
        let mut pass = EpochPass {
            epoch,
            started: Instant::now(),
            skip,
            loss_sum: self.state.partial_loss.0,
            loss_n: self.state.partial_loss.1,
            wait: 0.0,
            skipped: 0,
            lr: self
                .schedule
                .lr(self.state.optimizer_steps.saturating_sub(1)),
        };
        self.opt.zero_grad();
        let mut b = skip;
        loop {
            let t0 = Instant::now();
            let Some(batch) = loader.next() else { break };
            pass.wait += t0.elapsed().as_secs_f64();
            let codes: Vec<Option<u8>> = batch
                .records
                .iter()
                .map(|r| self.setup.train[self.ear_of[r]].code)
                .collect();
            let xs = batch_inputs(&batch, self.options.device);
            loader.recycle(batch);
            let value = self.backward(&xs, &codes, b, &mut pass)?;
            on_event(TrainEvent::Batch { loss: value });
            b += 1;
            if (b.is_multiple_of(config.accumulate) || b == self.batches)
                && self.optimizer_step(b, &mut pass)?
            {
                return Ok(None);
            }
        }
        Ok(Some(pass))
    }

    /// Forward and backward pass of batch `b` (inputs `xs`, the ears' `codes`);
    /// gradients accumulate. Returns its loss.
    fn backward(
        &mut self,
        xs: &Tensor,
        codes: &[Option<u8>],
        b: u64,
        pass: &mut EpochPass,
    ) -> Result<f64> {
        let (config, device, task) = (self.config, self.options.device, &self.setup.task);
        tch::manual_seed(seed_for(config.seed, pass.epoch, b));
        let group_start = b - b % config.accumulate;
        let group_len = config.accumulate.min(self.batches - group_start);
        let (y, mask) = task_targets(codes, task, device);
        let fwd = autocast(config.precision, device, || self.model.forward(xs, true))?;
        let l = self.loss.compute(&fwd.logits, &y, &mask);
        let value = l.double_value(&[]);
        let scaled = l / group_len as f64 * self.state.scaler.scale();
        scaled.backward();
        let used = codes.iter().filter(|c| task.target(**c).is_some()).count() as u64;
        pass.loss_sum += value * used as f64;
        pass.loss_n += used;
        Ok(value)
    }

    /// The optimizer step ending an accumulation group at batch `b`, and a mid-epoch
    /// checkpoint when one is due; true when the run is to stop here on request.
    fn optimizer_step(&mut self, b: u64, pass: &mut EpochPass) -> Result<bool> {
        let config = self.config;
        if self.state.scaler.unscale_and_check(&mut self.opt) {
            if let Some(max) = config.grad_clip {
                self.opt.clip_grad_norm(max);
            }
            pass.lr = self.schedule.lr(self.opt.steps());
            self.opt.step(pass.lr);
        } else {
            pass.skipped += 1;
            tracing::warn!(
                scale = self.state.scaler.scale(),
                "fp16 overflow: step skipped"
            );
        }
        self.opt.zero_grad();
        self.state.optimizer_steps = self.opt.steps();
        self.steps_this_call += 1;
        let inside_epoch = b < self.batches;
        let stop_now = self.options.stop_after_steps == Some(self.steps_this_call);
        let periodic =
            config.checkpoint_steps > 0 && self.opt.steps().is_multiple_of(config.checkpoint_steps);
        if (stop_now || periodic) && inside_epoch {
            self.state.batch = b;
            self.state.partial_loss = (pass.loss_sum, pass.loss_n);
            let run = self.options.out.clone();
            self.state.save(&run, &self.model, &self.opt, false)?;
        }
        Ok(stop_now && inside_epoch)
    }

    /// Whether validation value `monitored` (with validation loss `val_loss`) beats the
    /// best epoch so far; a tie goes to the epoch with the lower validation loss.
    fn improves(&self, monitored: Option<f64>, val_loss: Option<f64>) -> bool {
        let es = &self.config.early_stopping;
        match (monitored, self.state.best) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(v), Some((best, _))) => {
                let better = if es.monitor.higher_is_better() {
                    v > best + es.min_delta
                } else {
                    v < best - es.min_delta
                };
                let tie_won = v == best
                    && matches!((val_loss, self.state.best_loss), (Some(l), Some(b)) if l < b);
                better || tie_won
            }
        }
    }

    /// Validation, best and last checkpoints, the epoch's summary and report, early
    /// stopping, and the resumable state at the epoch's end.
    fn end_epoch(&mut self, pass: &EpochPass) -> Result<EpochSummary> {
        let config = self.config;
        let train_seconds = pass.started.elapsed().as_secs_f64();
        let s = &self.setup;
        let (scores, val_loss) = score_ears(
            &self.model,
            &s.reader,
            &s.val,
            &self.window,
            &s.task,
            Some(&self.loss),
            config.batch_size,
            config.precision,
            self.options.device,
        )?;
        let val = quick_metrics(&s.val, &scores, &s.task, val_loss)?;
        let monitor = config.early_stopping.monitor;
        let monitored = val.get(monitor);
        let improved = self.improves(monitored, val_loss);
        if monitored.is_none() {
            tracing::warn!(
                metric = monitor.name(),
                "the monitored metric is undefined on val this epoch (one class only?)"
            );
        }
        let run = self.options.out.clone();
        if improved {
            self.state.best = monitored.map(|v| (v, pass.epoch + 1));
            self.state.best_loss = val_loss;
            self.state.epochs_without_improvement = 0;
            checkpoint::save(&self.model.vs, &run.join("best.safetensors"))?;
        } else {
            self.state.epochs_without_improvement += 1;
        }
        checkpoint::save(&self.model.vs, &run.join("last.safetensors"))?;
        let summary = EpochSummary {
            epoch: pass.epoch + 1,
            train_loss: if pass.loss_n > 0 {
                pass.loss_sum / pass.loss_n as f64
            } else {
                0.0
            },
            lr: pass.lr,
            optimizer_steps: self.opt.steps(),
            val,
            monitored,
            best: improved,
            ears_per_s: (self.batches - pass.skip) as f64 * config.batch_size as f64
                / train_seconds.max(1e-9),
            data_wait_fraction: (pass.wait / train_seconds.max(1e-9)).min(1.0),
            skipped_steps: pass.skipped,
            seconds: pass.started.elapsed().as_secs_f64(),
        };
        medfen_io::write_json(
            &run.join("reports")
                .join(format!("epoch-{:03}.json", pass.epoch + 1)),
            &summary,
        )?;
        self.state.history.push(summary.clone());
        self.state.epoch = pass.epoch + 1;
        self.state.batch = 0;
        self.state.partial_loss = (0.0, 0);
        self.check_finished();
        self.state.save(&run, &self.model, &self.opt, true)?;
        Ok(summary)
    }

    /// Marks the run finished after its last epoch or when patience runs out.
    fn check_finished(&mut self) {
        let es = &self.config.early_stopping;
        if self.state.epoch == self.config.epochs {
            self.state.finished = true;
            self.state.stop_reason = Some(format!("completed {} epochs", self.config.epochs));
        } else if es.patience > 0 && self.state.epochs_without_improvement >= es.patience {
            self.state.finished = true;
            self.state.stop_reason = Some(format!(
                "early stop: val {} did not improve by more than {} for {} epochs",
                es.monitor.name(),
                es.min_delta,
                es.patience
            ));
        }
    }

    /// The run's report (written as `report.json` once the run has finished).
    fn finish(self, interrupted: bool) -> Result<TrainReport> {
        let run = self.run_dir().to_path_buf();
        if self.state.best.is_none() && self.state.finished {
            // No epoch had a defined metric: the last weights are the best we know.
            checkpoint::save(&self.model.vs, &run.join("best.safetensors"))?;
        }
        let s = &self.setup;
        let report = TrainReport {
            run_dir: run.clone(),
            epochs_run: self.state.epoch,
            stop_reason: self.state.stop_reason.clone().unwrap_or_else(|| {
                if interrupted {
                    "stopped on request; continue with --resume".into()
                } else {
                    "unfinished".into()
                }
            }),
            best_epoch: self.state.best.map(|b| b.1),
            best_value: self.state.best.map(|b| b.0),
            monitor: self.config.early_stopping.monitor.name().into(),
            train_counts: class_counts(&s.train, &s.task),
            val_counts: class_counts(&s.val, &s.task),
            loss_weights: self.loss_weights,
            parameters: self.model.parameters(),
            device: format!("{:?}", self.options.device),
            warnings: s.warnings.clone(),
            resumed: self.resumed,
        };
        if self.state.finished {
            medfen_io::write_json(&run.join("report.json"), &report)?;
        }
        Ok(report)
    }
}
