//! What `medfen train` asks for, before it is resolved against the cache and the task:
//! every option with its documented default ([`TrainOptions::default`]), turned into a
//! [`TrainConfig`] by [`TrainOptions::resolve`]. The command line only parses
//! arguments into these fields.

use std::path::{Path, PathBuf};

use medfen_cache::{AugmentPreset, CacheReader, SamplerKind};
use medfen_tasks::{TaskKind, TaskRegistry};
use tch::Device;

use super::autobatch::probe_batch_size;
use super::config::{
    EarlyStopping, LossSpec, ModelSpec, Monitor, PosWeight, Precision, TrainConfig,
};
use super::model::Model;
use crate::error::{Error, Result};

/// Ears per batch: a number, or the largest power of two that fits on the GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchSize {
    /// This many ears.
    Fixed(usize),
    /// CUDA: the largest power of two up to 128 that fits, probed without touching
    /// the model; CPU: 8.
    Auto,
}

impl std::fmt::Display for BatchSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fixed(n) => write!(f, "{n}"),
            Self::Auto => f.write_str("auto"),
        }
    }
}

impl std::str::FromStr for BatchSize {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        if s == "auto" {
            return Ok(Self::Auto);
        }
        s.parse()
            .map(Self::Fixed)
            .map_err(|_| Error::Config(format!("--batch-size {s}: expected a number or auto")))
    }
}

/// The options of a training run, as given. [`TrainOptions::default`] documents every
/// default; `cache`, `splits` and `task` have none and must be set.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TrainOptions {
    /// The cache folder (`<root>/<key>`).
    pub cache: PathBuf,
    /// The split folder made by `medfen split`.
    pub splits: PathBuf,
    /// Training subset folder: `100pct`.
    pub subset: String,
    /// Task from the registry.
    pub task: String,
    /// TOML file with user-defined tasks: none.
    pub tasks_file: Option<PathBuf>,
    /// Network name ([`ModelSpec::NAMES`]): `ear2d-r18`.
    pub model: String,
    /// Channels of the first stage: 64 (torchvision/MONAI).
    pub width: i64,
    /// Stem for crops under 128 px: off.
    pub small_input: bool,
    /// Epochs: 30.
    pub epochs: u64,
    /// Ears per batch: 8.
    pub batch_size: BatchSize,
    /// Batches per optimizer step: 1.
    pub accumulate: u64,
    /// Peak learning rate: 3e-4.
    pub lr: f64,
    /// Learning rate at the end of the cosine: 1e-6.
    pub min_lr: f64,
    /// Linear warmup, epochs counted in optimizer steps: 1.
    pub warmup_epochs: f64,
    /// AdamW weight decay (weights only): 1e-2.
    pub weight_decay: f64,
    /// Global gradient-norm clip, 0 for none: 1.
    pub grad_clip: f64,
    /// Loss `bce`, `focal` or `ce`: none given, which means bce for binary tasks and ce
    /// for multi-class ones.
    pub loss: Option<String>,
    /// BCE positive weight `none`, `auto` or a number: none.
    pub pos_weight: String,
    /// Focal loss gamma: 2.
    pub focal_gamma: f64,
    /// Focal loss alpha: none (no class weight).
    pub focal_alpha: Option<f64>,
    /// CE label smoothing: 0.
    pub label_smoothing: f64,
    /// CE class weights N / (C n_c): off.
    pub class_weights: bool,
    /// Sampler `shuffle`, `class-balanced` or `sequential`: shuffle.
    pub sampler: String,
    /// Monitored validation metric: none given, which means auroc for binary tasks and
    /// macro_f1 for multi-class ones.
    pub monitor: Option<String>,
    /// Epochs without improvement before stopping, 0 for never: 10.
    pub patience: u64,
    /// Smallest improvement of the monitored metric: 0.
    pub min_delta: f64,
    /// Seed of initialisation, order, augmentation and dropout: 0.
    pub seed: u64,
    /// Precision `fp32`, `bf16` or `fp16`: fp32.
    pub precision: String,
    /// Resumable checkpoint every N optimizer steps inside an epoch, 0 for epoch ends
    /// only: 0.
    pub checkpoint_steps: u64,
    /// Training augmentation: [`AugmentPreset::Medfen`].
    pub augment: AugmentPreset,
    /// Window level, HU: 500.
    pub window_level: f32,
    /// Window width, HU: 3000.
    pub window_width: f32,
    /// Extra input channels, each another window (level, width): none.
    pub extra_windows: Vec<(f32, f32)>,
    /// Attention slices reported per ear by evaluation: 3.
    pub top_k: usize,
    /// Batches prepared ahead by the loader: 4.
    pub prefetch: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            cache: PathBuf::new(),
            splits: PathBuf::new(),
            subset: "100pct".into(),
            task: String::new(),
            tasks_file: None,
            model: "ear2d-r18".into(),
            width: 64,
            small_input: false,
            epochs: 30,
            batch_size: BatchSize::Fixed(8),
            accumulate: 1,
            lr: 3e-4,
            min_lr: 1e-6,
            warmup_epochs: 1.0,
            weight_decay: 1e-2,
            grad_clip: 1.0,
            loss: None,
            pos_weight: "none".into(),
            focal_gamma: 2.0,
            focal_alpha: None,
            label_smoothing: 0.0,
            class_weights: false,
            sampler: "shuffle".into(),
            monitor: None,
            patience: 10,
            min_delta: 0.0,
            seed: 0,
            precision: "fp32".into(),
            checkpoint_steps: 0,
            augment: AugmentPreset::Medfen,
            window_level: 500.0,
            window_width: 3000.0,
            extra_windows: Vec::new(),
            top_k: 3,
            prefetch: 4,
        }
    }
}

/// Parses an extra window `LEVEL,WIDTH`.
///
/// # Errors
/// [`Error::Config`] naming the option.
pub fn parse_window(s: &str) -> Result<(f32, f32)> {
    let bad = || Error::Config(format!("--extra-window {s}: expected LEVEL,WIDTH in HU"));
    let (l, w) = s.split_once(',').ok_or_else(bad)?;
    Ok((
        l.trim().parse().map_err(|_| bad())?,
        w.trim().parse().map_err(|_| bad())?,
    ))
}

fn absolute(p: &Path, what: &str) -> Result<PathBuf> {
    std::fs::canonicalize(p).map_err(|e| {
        Error::Config(format!(
            "{what} {}: cannot open this folder ({e})",
            p.display()
        ))
    })
}

impl TrainOptions {
    /// The options of a run on `cache` and `splits` for `task`, every other option at
    /// its default.
    pub fn new(cache: impl Into<PathBuf>, splits: impl Into<PathBuf>, task: &str) -> Self {
        Self {
            cache: cache.into(),
            splits: splits.into(),
            task: task.to_string(),
            ..Self::default()
        }
    }

    /// The loss these options select for a binary or multi-class task.
    ///
    /// # Errors
    /// An unknown loss or positive weight.
    pub fn loss_spec(&self, binary: bool) -> Result<LossSpec> {
        let name = self
            .loss
            .as_deref()
            .unwrap_or(if binary { "bce" } else { "ce" });
        Ok(match name {
            "bce" => LossSpec::Bce {
                pos_weight: self.pos_weight.parse::<PosWeight>()?,
            },
            "focal" => LossSpec::Focal {
                gamma: self.focal_gamma,
                alpha: self.focal_alpha,
            },
            "ce" => LossSpec::Ce {
                label_smoothing: self.label_smoothing,
                class_weights: self.class_weights,
            },
            other => {
                return Err(Error::Config(format!(
                    "--loss {other}: expected bce, focal or ce"
                )));
            }
        })
    }

    /// The early stopping these options select for a binary or multi-class task.
    ///
    /// # Errors
    /// An unknown metric.
    pub fn early_stopping(&self, binary: bool) -> Result<EarlyStopping> {
        let monitor = match &self.monitor {
            Some(m) => m.parse()?,
            None if binary => Monitor::Auroc,
            None => Monitor::MacroF1,
        };
        Ok(EarlyStopping {
            monitor,
            patience: self.patience,
            min_delta: self.min_delta,
        })
    }

    /// Resolves the options against the cache (its spec and key) and the task registry
    /// into the run's [`TrainConfig`], probing the batch size on `device` when it is
    /// `auto`. Paths become absolute, so the run works from any folder.
    ///
    /// # Errors
    /// A folder that cannot be opened, an unknown task, model, loss, sampler, metric or
    /// precision, or a configuration [`TrainConfig::validate`] refuses.
    pub fn resolve(&self, device: Device) -> Result<TrainConfig> {
        let cache_dir = absolute(&self.cache, "--cache")?;
        let splits_dir = absolute(&self.splits, "--splits")?;
        let cache_spec = CacheReader::open(&cache_dir)?.spec().clone();
        let cache_key = cache_dir
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let registry = match &self.tasks_file {
            Some(f) => TaskRegistry::with_file(f)?,
            None => TaskRegistry::builtin(),
        };
        let task = registry.resolve(&self.task)?.clone();
        let binary = matches!(task.kind, TaskKind::Binary { .. });
        let mut augment = self
            .augment
            .with_window(self.window_level, self.window_width);
        augment.extra_windows.clone_from(&self.extra_windows);
        let channels = i64::try_from(augment.channels()).unwrap_or(1);
        let outputs = if binary {
            1
        } else {
            i64::try_from(task.num_classes()).unwrap_or(1)
        };
        let model =
            ModelSpec::from_name(&self.model, self.width, channels, outputs, self.small_input)?;
        let sample = [
            channels,
            i64::try_from(cache_spec.num_slices).unwrap_or(1),
            i64::try_from(cache_spec.image_size).unwrap_or(1),
            i64::try_from(cache_spec.image_size).unwrap_or(1),
        ];
        let config = TrainConfig {
            cache_dir,
            splits_dir,
            subset: self.subset.clone(),
            task: task.name.clone(),
            tasks_file: self.tasks_file.clone(),
            cache_spec,
            cache_key,
            model_name: self.model.clone(),
            model,
            loss: self.loss_spec(binary)?,
            sampler: self.sampler.parse::<SamplerKind>().map_err(Error::Config)?,
            augment,
            epochs: self.epochs,
            batch_size: self.batch_size(&model, sample, device)?,
            accumulate: self.accumulate,
            lr: self.lr,
            min_lr: self.min_lr,
            warmup_epochs: self.warmup_epochs,
            weight_decay: self.weight_decay,
            grad_clip: (self.grad_clip > 0.0).then_some(self.grad_clip),
            early_stopping: self.early_stopping(binary)?,
            seed: self.seed,
            precision: self.precision.parse::<Precision>()?,
            checkpoint_steps: self.checkpoint_steps,
            prefetch: self.prefetch,
            top_k: self.top_k,
        };
        config.validate(binary)?;
        Ok(config)
    }

    fn batch_size(&self, model: &ModelSpec, sample: [i64; 4], device: Device) -> Result<usize> {
        match self.batch_size {
            BatchSize::Fixed(n) => Ok(n),
            BatchSize::Auto if device.is_cuda() => {
                let probe = Model::new(model, device);
                let b = probe_batch_size(&probe, sample, &[1, 2, 4, 8, 16, 32, 64, 128])?;
                tracing::info!(batch_size = b, "auto batch size");
                Ok(b)
            }
            BatchSize::Auto => {
                tracing::info!("--batch-size auto on CPU: 8");
                Ok(8)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_never_correct_the_class_imbalance_twice() {
        // The loss (pos_weight, class weights, focal alpha) and the sampler can each
        // correct the imbalance; stacking two pushes probabilities toward the rare class
        // (the original pipeline's defect). The defaults use at most one, and any
        // combination of two is warned about.
        let o = TrainOptions::new("c", "s", "t");
        let sampler: SamplerKind = o.sampler.parse().unwrap();
        for binary in [true, false] {
            let loss = o.loss_spec(binary).unwrap();
            let corrections =
                usize::from(loss.reweights()) + usize::from(sampler == SamplerKind::ClassBalanced);
            assert!(corrections <= 1, "{loss:?} with {sampler:?}");
            assert_eq!(
                medfen_cache::double_correction_warning(sampler, loss.reweights()).is_some(),
                corrections == 2
            );
        }
        for (pos_weight, class_weights, focal_alpha) in [
            ("auto", false, None),
            ("none", true, None),
            ("none", false, Some(0.25)),
        ] {
            let stacked = TrainOptions {
                pos_weight: pos_weight.into(),
                class_weights,
                focal_alpha,
                loss: focal_alpha.map(|_| "focal".to_owned()),
                ..o.clone()
            };
            let loss = stacked.loss_spec(!class_weights).unwrap();
            assert!(loss.reweights(), "{loss:?}");
            assert!(
                medfen_cache::double_correction_warning(
                    SamplerKind::ClassBalanced,
                    loss.reweights()
                )
                .is_some()
            );
        }
    }

    #[test]
    fn defaults_follow_the_task_kind() {
        let o = TrainOptions::new("c", "s", "t");
        assert_eq!(
            o.loss_spec(true).unwrap(),
            LossSpec::Bce {
                pos_weight: PosWeight::None
            }
        );
        assert!(matches!(o.loss_spec(false).unwrap(), LossSpec::Ce { .. }));
        assert_eq!(o.early_stopping(true).unwrap().monitor, Monitor::Auroc);
        assert_eq!(o.early_stopping(false).unwrap().monitor, Monitor::MacroF1);
        assert_eq!(o.early_stopping(true).unwrap().patience, 10);
        let focal = TrainOptions {
            loss: Some("focal".into()),
            focal_alpha: Some(0.25),
            ..o.clone()
        };
        assert_eq!(
            focal.loss_spec(true).unwrap(),
            LossSpec::Focal {
                gamma: 2.0,
                alpha: Some(0.25)
            }
        );
        let bad = TrainOptions {
            loss: Some("hinge".into()),
            ..o
        };
        assert!(
            bad.loss_spec(true)
                .unwrap_err()
                .to_string()
                .contains("--loss hinge")
        );
    }

    #[test]
    fn small_values_parse_with_errors_naming_the_option() {
        assert_eq!("auto".parse::<BatchSize>().unwrap(), BatchSize::Auto);
        assert_eq!("16".parse::<BatchSize>().unwrap(), BatchSize::Fixed(16));
        assert!(
            "x".parse::<BatchSize>()
                .unwrap_err()
                .to_string()
                .contains("--batch-size")
        );
        assert_eq!(parse_window("40, 400").unwrap(), (40.0, 400.0));
        assert!(
            parse_window("40")
                .unwrap_err()
                .to_string()
                .contains("--extra-window 40")
        );
    }

    #[test]
    fn a_missing_cache_is_named() {
        let o = TrainOptions::new("/no/such/cache", "/no/such/splits", "normal_vs_abnormal");
        let err = o.resolve(Device::Cpu).unwrap_err().to_string();
        assert!(err.contains("--cache /no/such/cache"), "{err}");
    }
}
