//! `medfen train`: train a model on a cache and a split (resumable).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use medfen_app::Progress;
use medfen_cache::AugmentPreset;
use medfen_models::DeviceChoice;
use medfen_models::train::{
    BatchSize, Monitor, RunOptions, TrainEvent, TrainOptions, TrainReport, parse_window, train,
};

const EXAMPLES: &str = "\
Examples:
  medfen train --cache cache/3f2a... --splits work/splits/main --task normal_vs_abnormal \\
               --model ear2d-r18 --out runs/r18
  medfen train ... --subset 20pct --epochs 40 --batch-size 8 --accumulate 4 --lr 3e-4
  medfen train ... --task six_class --loss ce --label-smoothing 0.1 --monitor macro_f1
  medfen train ... --model resnet3d-18 --width 32 --small-input
  medfen train --resume --out runs/r18 ...same options...   continue an interrupted run

Writes to --out: run.json (every option), metrics.jsonl (one line per epoch: loss, lr,
val metrics, ears/s, fraction of time waiting for data), reports/epoch-NNN.json,
best.safetensors (best val metric) and last.safetensors, state.json + resume/ (weights,
AdamW moments, schedule and sampler position) and report.json. The same options and
seed give the same weights on CPU, also across --resume. Then run `medfen eval --run
DIR --split test`.";

/// The library's defaults, shown by `--help`.
fn defaults() -> TrainOptions {
    TrainOptions::default()
}

/// Options of `medfen train`.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The cache folder printed by `medfen cache` (`<root>/<key>`).
    #[arg(long, value_name = "DIR")]
    cache: PathBuf,
    /// The split folder made by `medfen split` (the cache must hold its exams).
    #[arg(long, value_name = "DIR")]
    splits: PathBuf,
    /// Training subset folder of the split: 1pct, 20pct, 100pct, ...
    #[arg(long, default_value_t = defaults().subset)]
    subset: String,
    /// Task from the registry (an unknown name lists the known ones), e.g.
    /// normal_vs_abnormal, normal_vs_cholesteatoma, six_class.
    #[arg(long)]
    task: String,
    /// TOML file with user-defined tasks.
    #[arg(long, value_name = "FILE")]
    tasks_file: Option<PathBuf>,
    /// Network: ear2d-r18|r34|r50 (attention over slices; add -mean for mean pooling or
    /// -transformer for a transformer over slices)
    /// or resnet3d-10|18|34|50|101|152|200.
    #[arg(long, default_value_t = defaults().model)]
    model: String,
    /// Channels of the first stage (64 = torchvision/MONAI; 16-32 for small CPU runs).
    #[arg(long, default_value_t = defaults().width)]
    width: i64,
    /// Stem for small crops (< 128 px): 3x3 stride 1 without max-pool (2D), stride 1
    /// without max-pool (3D).
    #[arg(long)]
    small_input: bool,
    /// The run folder.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Continue the interrupted run in --out (options must be the same).
    #[arg(long)]
    resume: bool,
    /// Epochs.
    #[arg(long, default_value_t = defaults().epochs)]
    epochs: u64,
    /// Ears per batch, or `auto` (CUDA: the largest power of two that fits, probed
    /// without touching the model; CPU: 8).
    #[arg(long, default_value_t = defaults().batch_size)]
    batch_size: BatchSize,
    /// Batches per optimizer step (gradient accumulation).
    #[arg(long, default_value_t = defaults().accumulate)]
    accumulate: u64,
    /// Peak learning rate.
    #[arg(long, default_value_t = defaults().lr)]
    lr: f64,
    /// Learning rate at the end of the cosine.
    #[arg(long, default_value_t = defaults().min_lr)]
    min_lr: f64,
    /// Linear warmup, epochs (counted in optimizer steps).
    #[arg(long, default_value_t = defaults().warmup_epochs)]
    warmup_epochs: f64,
    /// AdamW weight decay (convolution and linear weights only).
    #[arg(long, default_value_t = defaults().weight_decay)]
    weight_decay: f64,
    /// Clip the global gradient norm (0: no clipping).
    #[arg(long, default_value_t = defaults().grad_clip)]
    grad_clip: f64,
    /// Loss: bce or focal (binary tasks), ce (multi-class). Default: bce / ce.
    #[arg(long)]
    loss: Option<String>,
    /// BCE positive weight: none, auto (negatives/positives of train) or a number.
    #[arg(long, default_value_t = defaults().pos_weight)]
    pos_weight: String,
    /// Focal loss gamma.
    #[arg(long, default_value_t = defaults().focal_gamma)]
    focal_gamma: f64,
    /// Focal loss alpha (weight of positives); unset: no class weight.
    #[arg(long)]
    focal_alpha: Option<f64>,
    /// CE label smoothing.
    #[arg(long, default_value_t = defaults().label_smoothing)]
    label_smoothing: f64,
    /// CE class weights N / (C * n_c) from the training ears.
    #[arg(long)]
    class_weights: bool,
    /// Training order: shuffle, class-balanced (with replacement) or sequential. Do not
    /// combine class-balanced with --pos-weight/--class-weights/--focal-alpha.
    #[arg(long, default_value_t = defaults().sampler)]
    sampler: String,
    /// Validation metric for the best checkpoint and early stopping: auroc (binary
    /// default), ap, macro_f1 (multi-class default), accuracy or loss.
    #[arg(long)]
    monitor: Option<String>,
    /// Stop after this many epochs without improvement (0: never).
    #[arg(long, default_value_t = defaults().patience)]
    patience: u64,
    /// Smallest improvement of the monitored metric.
    #[arg(long, default_value_t = defaults().min_delta)]
    min_delta: f64,
    /// Seed of initialisation, order, augmentation and dropout.
    #[arg(long, default_value_t = defaults().seed)]
    seed: u64,
    /// Device: auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
    /// fp32, or on CUDA bf16 / fp16 (autocast; fp16 with dynamic loss scaling).
    #[arg(long, default_value_t = defaults().precision)]
    precision: String,
    /// libtorch intra-op threads (default: libtorch's choice).
    #[arg(long)]
    threads: Option<i32>,
    /// Also save a resumable checkpoint every N optimizer steps inside an epoch.
    #[arg(long, default_value_t = defaults().checkpoint_steps)]
    checkpoint_steps: u64,
    /// Training augmentation: medfen (window jitter, an affine for half the ears,
    /// intensity, gamma and noise on every ear), original (the Python pipeline's recipe:
    /// flips, intensity, gamma and noise, no affine) or none (the window only);
    /// docs/cache.md has the details. The window options below set the window of each.
    #[arg(long, default_value_t = defaults().augment)]
    augment: AugmentPreset,
    /// Train without augmentation: the same as --augment none.
    #[arg(long)]
    no_augment: bool,
    /// Window level, HU.
    #[arg(long, default_value_t = defaults().window_level)]
    window_level: f32,
    /// Window width, HU.
    #[arg(long, default_value_t = defaults().window_width)]
    window_width: f32,
    /// Extra input channel with another window, LEVEL,WIDTH (repeatable).
    #[arg(long, value_name = "L,W")]
    extra_window: Vec<String>,
    /// Attention slices reported per ear by `medfen eval`.
    #[arg(long, default_value_t = defaults().top_k)]
    top_k: usize,
    /// Batches prepared ahead by the loader.
    #[arg(long, default_value_t = defaults().prefetch)]
    prefetch: usize,
    /// Print the final report as JSON (also written to OUT/report.json).
    #[arg(long)]
    json: bool,
    /// Stop after N optimizer steps in this invocation, as if interrupted (then
    /// --resume); for testing resume and time-boxed runs.
    #[arg(long, hide = true)]
    stop_after_steps: Option<u64>,
}

impl Args {
    /// The library's options for these arguments.
    fn options(&self) -> Result<TrainOptions> {
        let mut o = TrainOptions::new(&self.cache, &self.splits, &self.task);
        o.subset.clone_from(&self.subset);
        o.tasks_file.clone_from(&self.tasks_file);
        o.model.clone_from(&self.model);
        o.width = self.width;
        o.small_input = self.small_input;
        o.epochs = self.epochs;
        o.batch_size = self.batch_size;
        o.accumulate = self.accumulate;
        o.lr = self.lr;
        o.min_lr = self.min_lr;
        o.warmup_epochs = self.warmup_epochs;
        o.weight_decay = self.weight_decay;
        o.grad_clip = self.grad_clip;
        o.loss.clone_from(&self.loss);
        o.pos_weight.clone_from(&self.pos_weight);
        o.focal_gamma = self.focal_gamma;
        o.focal_alpha = self.focal_alpha;
        o.label_smoothing = self.label_smoothing;
        o.class_weights = self.class_weights;
        o.sampler.clone_from(&self.sampler);
        o.monitor.clone_from(&self.monitor);
        o.patience = self.patience;
        o.min_delta = self.min_delta;
        o.seed = self.seed;
        o.precision.clone_from(&self.precision);
        o.checkpoint_steps = self.checkpoint_steps;
        o.window_level = self.window_level;
        o.window_width = self.window_width;
        o.top_k = self.top_k;
        o.prefetch = self.prefetch;
        o.augment = if self.no_augment {
            AugmentPreset::None
        } else {
            self.augment
        };
        o.extra_windows = self
            .extra_window
            .iter()
            .map(|s| parse_window(s))
            .collect::<Result<_, _>>()?;
        Ok(o)
    }
}

/// A progress bar per epoch and a log line at each epoch's end.
fn progress(epochs: u64, monitor: Monitor) -> impl FnMut(TrainEvent) {
    let mut bar: Option<Progress> = None;
    move |e: TrainEvent| match e {
        TrainEvent::EpochStart {
            epoch,
            batches,
            skip,
        } => {
            let b = Progress::bar(&format!("epoch {epoch}/{epochs}"), batches);
            b.inc(skip);
            bar = Some(b);
        }
        TrainEvent::Batch { loss } => {
            if let Some(b) = &bar {
                b.inc(1);
                b.set_message(&format!("epoch loss {loss:.4}"));
            }
        }
        TrainEvent::EpochEnd(s) => {
            bar = None;
            let fmt = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.4}"));
            tracing::info!(
                "epoch {}: train loss {:.4}, val loss {}, val {} {}{}, lr {:.2e}, {:.1} ears/s, data wait {:.0}%",
                s.epoch,
                s.train_loss,
                fmt(s.val.loss),
                monitor.name(),
                fmt(s.monitored),
                if s.best { " (best)" } else { "" },
                s.lr,
                s.ears_per_s,
                100.0 * s.data_wait_fraction
            );
        }
    }
}

fn print_summary(report: &TrainReport) {
    println!("medfen train: {}", report.run_dir.display());
    println!(
        "  {} epoch(s): {}; best epoch {} with val {} {}",
        report.epochs_run,
        report.stop_reason,
        report
            .best_epoch
            .map_or_else(|| "-".to_owned(), |e| e.to_string()),
        report.monitor,
        report
            .best_value
            .map_or_else(|| "n/a".to_owned(), |v| format!("{v:.4}"))
    );
    println!(
        "  train ears per class {:?}, val {:?}; {} parameters on {}",
        report.train_counts, report.val_counts, report.parameters, report.device
    );
    for w in &report.warnings {
        println!("  warning: {w}");
    }
}

pub fn run(args: &Args) -> Result<ExitCode> {
    if let Some(t) = args.threads {
        tch::set_num_threads(t);
    }
    let device = args.device.resolve()?;
    let config = args.options()?.resolve(device)?;
    let options = RunOptions {
        out: args.out.clone(),
        resume: args.resume,
        device,
        stop_after_steps: args.stop_after_steps,
    };
    let mut on_event = progress(args.epochs, config.early_stopping.monitor);
    let report = train(&config, &options, &mut on_event)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_summary(&report);
    }
    Ok(ExitCode::SUCCESS)
}
