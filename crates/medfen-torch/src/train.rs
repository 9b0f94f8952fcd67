//! `medfen train`: train a model on a cache and a split (resumable).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use medfen_cache::{Augment, CacheReader, SamplerKind};
use medfen_cli::progress::Progress;
use medfen_models::DeviceChoice;
use medfen_models::train::{
    EarlyStopping, LossSpec, ModelSpec, Monitor, PosWeight, Precision, RunOptions, TrainConfig,
    TrainEvent, probe_batch_size, resolve_task, train,
};
use medfen_tasks::TaskKind;

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

/// Options of `medfen train`.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
#[allow(clippy::struct_excessive_bools)]
pub struct Args {
    /// The cache folder printed by `medfen cache` (`<root>/<key>`).
    #[arg(long, value_name = "DIR")]
    cache: PathBuf,
    /// The split folder made by `medfen split` (the cache must hold its exams).
    #[arg(long, value_name = "DIR")]
    splits: PathBuf,
    /// Training subset folder of the split: 1pct, 20pct, 100pct, ...
    #[arg(long, default_value = "100pct")]
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
    #[arg(long, default_value = "ear2d-r18")]
    model: String,
    /// Channels of the first stage (64 = torchvision/MONAI; 16-32 for small CPU runs).
    #[arg(long, default_value_t = 64)]
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
    #[arg(long, default_value_t = 30)]
    epochs: u64,
    /// Ears per batch, or `auto` (CUDA: the largest power of two that fits, probed
    /// without touching the model; CPU: 8).
    #[arg(long, default_value = "8")]
    batch_size: String,
    /// Batches per optimizer step (gradient accumulation).
    #[arg(long, default_value_t = 1)]
    accumulate: u64,
    /// Peak learning rate.
    #[arg(long, default_value_t = 3e-4)]
    lr: f64,
    /// Learning rate at the end of the cosine.
    #[arg(long, default_value_t = 1e-6)]
    min_lr: f64,
    /// Linear warmup, epochs (counted in optimizer steps).
    #[arg(long, default_value_t = 1.0)]
    warmup_epochs: f64,
    /// AdamW weight decay (convolution and linear weights only).
    #[arg(long, default_value_t = 1e-2)]
    weight_decay: f64,
    /// Clip the global gradient norm (0: no clipping).
    #[arg(long, default_value_t = 1.0)]
    grad_clip: f64,
    /// Loss: bce or focal (binary tasks), ce (multi-class). Default: bce / ce.
    #[arg(long)]
    loss: Option<String>,
    /// BCE positive weight: none, auto (negatives/positives of train) or a number.
    #[arg(long, default_value = "none")]
    pos_weight: String,
    /// Focal loss gamma.
    #[arg(long, default_value_t = 2.0)]
    focal_gamma: f64,
    /// Focal loss alpha (weight of positives); unset: no class weight.
    #[arg(long)]
    focal_alpha: Option<f64>,
    /// CE label smoothing.
    #[arg(long, default_value_t = 0.0)]
    label_smoothing: f64,
    /// CE class weights N / (C * n_c) from the training ears.
    #[arg(long)]
    class_weights: bool,
    /// Training order: shuffle, class-balanced (with replacement) or sequential. Do not
    /// combine class-balanced with --pos-weight/--class-weights/--focal-alpha.
    #[arg(long, default_value = "shuffle")]
    sampler: String,
    /// Validation metric for the best checkpoint and early stopping: auroc (binary
    /// default), ap, macro_f1 (multi-class default), accuracy or loss.
    #[arg(long)]
    monitor: Option<String>,
    /// Stop after this many epochs without improvement (0: never).
    #[arg(long, default_value_t = 10)]
    patience: u64,
    /// Smallest improvement of the monitored metric.
    #[arg(long, default_value_t = 0.0)]
    min_delta: f64,
    /// Seed of initialisation, order, augmentation and dropout.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Device: auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
    /// fp32, or on CUDA bf16 / fp16 (autocast; fp16 with dynamic loss scaling).
    #[arg(long, default_value = "fp32")]
    precision: String,
    /// libtorch intra-op threads (default: libtorch's choice).
    #[arg(long)]
    threads: Option<i32>,
    /// Also save a resumable checkpoint every N optimizer steps inside an epoch.
    #[arg(long, default_value_t = 0)]
    checkpoint_steps: u64,
    /// Training augmentation (docs/cache.md has the details). The window options below
    /// set the window of each.
    #[arg(long, value_enum, default_value = "medfen")]
    augment: AugmentPreset,
    /// Train without augmentation: the same as --augment none.
    #[arg(long)]
    no_augment: bool,
    /// Window level, HU.
    #[arg(long, default_value_t = 500.0)]
    window_level: f32,
    /// Window width, HU.
    #[arg(long, default_value_t = 3000.0)]
    window_width: f32,
    /// Extra input channel with another window, LEVEL,WIDTH (repeatable).
    #[arg(long, value_name = "L,W")]
    extra_window: Vec<String>,
    /// Attention slices reported per ear by `medfen eval`.
    #[arg(long, default_value_t = 3)]
    top_k: usize,
    /// Batches prepared ahead by the loader.
    #[arg(long, default_value_t = 4)]
    prefetch: usize,
    /// Print the final report as JSON (also written to OUT/report.json).
    #[arg(long)]
    json: bool,
    /// Stop after N optimizer steps in this invocation, as if interrupted (then
    /// --resume); for testing resume and time-boxed runs.
    #[arg(long, hide = true)]
    stop_after_steps: Option<u64>,
}

/// The augmentation presets `--augment` names.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum AugmentPreset {
    /// Window jitter, an affine for half the ears, intensity, gamma and noise on every
    /// ear.
    Medfen,
    /// The Python pipeline's recipe: window jitter, flips (p 0.2), intensity (p 0.6),
    /// gamma and noise (p 0.2), no affine, applied in its order.
    Original,
    /// The window only.
    None,
}

/// The augmentation of `preset` with the window `(level, width)`.
fn augmentation(preset: AugmentPreset, (window_level, window_width): (f32, f32)) -> Augment {
    let base = match preset {
        AugmentPreset::Medfen => Augment::default(),
        AugmentPreset::Original => Augment::original(),
        AugmentPreset::None => return Augment::eval(window_level, window_width),
    };
    Augment {
        window_level,
        window_width,
        ..base
    }
}

fn parse_window(s: &str) -> Result<(f32, f32)> {
    let (l, w) = s
        .split_once(',')
        .with_context(|| format!("--extra-window {s}: expected LEVEL,WIDTH"))?;
    Ok((l.trim().parse()?, w.trim().parse()?))
}

#[allow(clippy::too_many_lines)]
pub fn run(args: &Args) -> Result<ExitCode> {
    if let Some(t) = args.threads {
        tch::set_num_threads(t);
    }
    let device = args.device.resolve()?;
    // Absolute paths in run.json: eval and --resume work from any folder.
    let absolute = |p: &PathBuf, what: &str| {
        std::fs::canonicalize(p)
            .with_context(|| format!("{what} {}: cannot open this folder", p.display()))
    };
    let cache_dir = absolute(&args.cache, "--cache")?;
    let splits_dir = absolute(&args.splits, "--splits")?;
    let reader = CacheReader::open(&cache_dir)?;
    let cache_spec = reader.spec().clone();
    let cache_key = cache_dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    drop(reader);

    let registry = match &args.tasks_file {
        Some(f) => medfen_tasks::TaskRegistry::with_file(f)?,
        None => medfen_tasks::TaskRegistry::builtin(),
    };
    let task = registry.resolve(&args.task)?.clone();
    let binary = matches!(task.kind, TaskKind::Binary { .. });

    let preset = if args.no_augment {
        AugmentPreset::None
    } else {
        args.augment
    };
    let mut augment = augmentation(preset, (args.window_level, args.window_width));
    augment.extra_windows = args
        .extra_window
        .iter()
        .map(|s| parse_window(s))
        .collect::<Result<_>>()?;
    #[allow(clippy::cast_possible_wrap)]
    let channels = augment.channels() as i64;
    let outputs = if binary {
        1
    } else {
        i64::try_from(task.num_classes())?
    };
    let model = ModelSpec::from_name(&args.model, args.width, channels, outputs, args.small_input)?;
    let loss = match args
        .loss
        .as_deref()
        .unwrap_or(if binary { "bce" } else { "ce" })
    {
        "bce" => LossSpec::Bce {
            pos_weight: args.pos_weight.parse::<PosWeight>()?,
        },
        "focal" => LossSpec::Focal {
            gamma: args.focal_gamma,
            alpha: args.focal_alpha,
        },
        "ce" => LossSpec::Ce {
            label_smoothing: args.label_smoothing,
            class_weights: args.class_weights,
        },
        other => bail!("--loss {other}: expected bce, focal or ce"),
    };
    let sampler = match args.sampler.as_str() {
        "shuffle" => SamplerKind::Shuffle,
        "class-balanced" | "class_balanced" | "balanced" => SamplerKind::ClassBalanced,
        "sequential" => SamplerKind::Sequential,
        other => bail!("--sampler {other}: expected shuffle, class-balanced or sequential"),
    };
    let monitor: Monitor = match &args.monitor {
        Some(m) => m.parse()?,
        None if binary => Monitor::Auroc,
        None => Monitor::MacroF1,
    };
    let precision: Precision = args.precision.parse()?;
    let batch_size = if args.batch_size == "auto" {
        if device.is_cuda() {
            let probe = medfen_models::train::Model::new(&model, device);
            #[allow(clippy::cast_possible_wrap)]
            let sample = [
                channels,
                cache_spec.num_slices as i64,
                cache_spec.image_size as i64,
                cache_spec.image_size as i64,
            ];
            let b = probe_batch_size(&probe, sample, &[1, 2, 4, 8, 16, 32, 64, 128])?;
            tracing::info!(batch_size = b, "auto batch size");
            b
        } else {
            tracing::info!("--batch-size auto on CPU: 8");
            8
        }
    } else {
        args.batch_size.parse().with_context(|| {
            format!(
                "--batch-size {}: expected a number or auto",
                args.batch_size
            )
        })?
    };
    let config = TrainConfig {
        cache_dir,
        splits_dir,
        subset: args.subset.clone(),
        task: task.name.clone(),
        tasks_file: args.tasks_file.clone(),
        cache_spec,
        cache_key,
        model_name: args.model.clone(),
        model,
        loss,
        sampler,
        augment,
        epochs: args.epochs,
        batch_size,
        accumulate: args.accumulate,
        lr: args.lr,
        min_lr: args.min_lr,
        warmup_epochs: args.warmup_epochs,
        weight_decay: args.weight_decay,
        grad_clip: (args.grad_clip > 0.0).then_some(args.grad_clip),
        early_stopping: EarlyStopping {
            monitor,
            patience: args.patience,
            min_delta: args.min_delta,
        },
        seed: args.seed,
        precision,
        checkpoint_steps: args.checkpoint_steps,
        prefetch: args.prefetch,
        top_k: args.top_k,
    };
    // The task must resolve the same way inside the library.
    let _ = resolve_task(&config)?;
    let options = RunOptions {
        out: args.out.clone(),
        resume: args.resume,
        device,
        stop_after_steps: args.stop_after_steps,
    };
    let mut bar: Option<Progress> = None;
    let mut on_event = |e: TrainEvent| match e {
        TrainEvent::EpochStart {
            epoch,
            batches,
            skip,
        } => {
            let b = Progress::bar(&format!("epoch {epoch}/{}", args.epochs), batches);
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
    };
    let report = train(&config, &options, &mut on_event)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
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
    Ok(ExitCode::SUCCESS)
}
