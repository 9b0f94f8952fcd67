//! What a training run is: the model, the loss, the optimisation and the data, as one
//! serialisable record stored in the run folder (`run.json`).

use std::path::{Path, PathBuf};

use medfen_cache::{Augment, CacheSpec, SamplerKind};
use medfen_io::FileFormat;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::nets::{
    Ear2dConfig, ResNet2dConfig, ResNet3dConfig, ResNet3dDepth, ResNetDepth, SlicePooling,
};

/// The network of a run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelSpec {
    /// A 2D slice encoder with pooling over the K slices.
    Ear2d(Ear2dConfig),
    /// A 3D ResNet over the `[K, S, S]` record.
    ResNet3d(ResNet3dConfig),
}

impl ModelSpec {
    /// Model names `medfen train --model` accepts.
    pub const NAMES: &'static [&'static str] = &[
        "ear2d-r18",
        "ear2d-r34",
        "ear2d-r50",
        "ear2d-r18-mean",
        "ear2d-r34-mean",
        "ear2d-r50-mean",
        "ear2d-r18-transformer",
        "ear2d-r34-transformer",
        "ear2d-r50-transformer",
        "resnet3d-10",
        "resnet3d-18",
        "resnet3d-34",
        "resnet3d-50",
        "resnet3d-101",
        "resnet3d-152",
        "resnet3d-200",
    ];

    /// The model called `name` (one of [`ModelSpec::NAMES`]) with first-stage `width`,
    /// `in_channels` input channels and `outputs` logits. `small_input` selects the
    /// 3x3 stride-1 stem (2D) or stride 1 without max-pool (3D) for crops under 128 px.
    ///
    /// # Errors
    /// [`Error::Config`] for an unknown name, listing the known ones.
    pub fn from_name(
        name: &str,
        width: i64,
        in_channels: i64,
        outputs: i64,
        small_input: bool,
    ) -> Result<Self> {
        let unknown = || {
            Error::Config(format!(
                "unknown model `{name}`; known models: {}",
                Self::NAMES.join(", ")
            ))
        };
        if let Some(rest) = name.strip_prefix("ear2d-") {
            let (depth, pooling) = if let Some(d) = rest.strip_suffix("-mean") {
                (d, SlicePooling::Mean)
            } else if let Some(d) = rest.strip_suffix("-transformer") {
                (
                    d,
                    SlicePooling::Transformer {
                        layers: 2,
                        heads: 4,
                        max_slices: 128,
                    },
                )
            } else {
                (rest, SlicePooling::GatedAttention { hidden: 128 })
            };
            let depth = match depth {
                "r18" => ResNetDepth::R18,
                "r34" => ResNetDepth::R34,
                "r50" => ResNetDepth::R50,
                _ => return Err(unknown()),
            };
            return Ok(Self::Ear2d(Ear2dConfig {
                encoder: ResNet2dConfig {
                    depth,
                    width,
                    in_channels,
                    small_input,
                },
                pooling,
                outputs,
                dropout: 0.2,
            }));
        }
        if let Some(depth) = name.strip_prefix("resnet3d-") {
            let depth = match depth {
                "10" => ResNet3dDepth::R10,
                "18" => ResNet3dDepth::R18,
                "34" => ResNet3dDepth::R34,
                "50" => ResNet3dDepth::R50,
                "101" => ResNet3dDepth::R101,
                "152" => ResNet3dDepth::R152,
                "200" => ResNet3dDepth::R200,
                _ => return Err(unknown()),
            };
            return Ok(Self::ResNet3d(ResNet3dConfig {
                depth,
                width,
                in_channels,
                stem_size: 7,
                stem_stride: if small_input { 1 } else { 2 },
                no_max_pool: small_input,
                outputs,
                ..ResNet3dConfig::default()
            }));
        }
        Err(unknown())
    }

    /// Logits per sample.
    pub fn outputs(&self) -> i64 {
        match self {
            Self::Ear2d(c) => c.outputs,
            Self::ResNet3d(c) => c.outputs,
        }
    }

    /// Input channels.
    pub fn in_channels(&self) -> i64 {
        match self {
            Self::Ear2d(c) => c.encoder.in_channels,
            Self::ResNet3d(c) => c.in_channels,
        }
    }
}

/// The loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LossSpec {
    /// Binary cross-entropy on the logit.
    Bce {
        /// Weight of positive samples.
        pos_weight: PosWeight,
    },
    /// Binary focal loss `-α_t (1 - p_t)^γ log p_t`.
    Focal {
        /// Focusing parameter γ (2 in Lin et al.).
        gamma: f64,
        /// Weight α of positives (1 - α for negatives); `None` weighs both 1.
        alpha: Option<f64>,
    },
    /// Cross-entropy over classes.
    Ce {
        /// Label smoothing in [0, 1).
        label_smoothing: f64,
        /// Weigh classes by `N / (C * n_c)` of the training ears.
        class_weights: bool,
    },
}

impl LossSpec {
    /// True when the loss corrects the class imbalance itself (so a class-balanced
    /// sampler would correct it twice).
    pub fn reweights(&self) -> bool {
        match self {
            Self::Bce { pos_weight } => *pos_weight != PosWeight::None,
            Self::Focal { alpha, .. } => alpha.is_some(),
            Self::Ce { class_weights, .. } => *class_weights,
        }
    }
}

/// The positive-class weight of [`LossSpec::Bce`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PosWeight {
    /// No weighting.
    None,
    /// `negatives / positives` among the training ears.
    Auto,
    /// A given weight.
    Value(f64),
}

impl std::str::FromStr for PosWeight {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(Self::None),
            "auto" => Ok(Self::Auto),
            v => v
                .parse::<f64>()
                .ok()
                .filter(|w| w.is_finite() && *w > 0.0)
                .map(Self::Value)
                .ok_or_else(|| {
                    Error::Config(format!(
                        "--pos-weight `{s}`: expected none, auto or a positive number"
                    ))
                }),
        }
    }
}

/// The validation metric that chooses the best checkpoint and stops the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    /// AUROC (binary tasks; default).
    Auroc,
    /// Average precision (binary tasks).
    AveragePrecision,
    /// Macro-averaged F1 (multi-class default).
    MacroF1,
    /// Accuracy.
    Accuracy,
    /// Validation loss (lower is better).
    Loss,
}

impl Monitor {
    /// True when a larger value is better.
    pub fn higher_is_better(self) -> bool {
        self != Self::Loss
    }

    /// The metric's name in `metrics.jsonl`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auroc => "auroc",
            Self::AveragePrecision => "average_precision",
            Self::MacroF1 => "macro_f1",
            Self::Accuracy => "accuracy",
            Self::Loss => "loss",
        }
    }
}

impl std::str::FromStr for Monitor {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "auroc" => Self::Auroc,
            "ap" | "average_precision" => Self::AveragePrecision,
            "macro_f1" | "f1" => Self::MacroF1,
            "accuracy" => Self::Accuracy,
            "loss" | "val_loss" => Self::Loss,
            _ => {
                return Err(Error::Config(format!(
                    "unknown metric `{s}`: expected auroc, ap, macro_f1, accuracy or loss"
                )));
            }
        })
    }
}

/// Numeric precision of the forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// fp32 everywhere (the only choice on CPU).
    Fp32,
    /// CUDA autocast to bfloat16 (no loss scaling needed).
    Bf16,
    /// CUDA autocast to float16 with a dynamic loss scaler.
    Fp16,
}

impl std::str::FromStr for Precision {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "fp32" | "32" => Self::Fp32,
            "bf16" => Self::Bf16,
            "fp16" | "16" => Self::Fp16,
            _ => {
                return Err(Error::Config(format!(
                    "unknown precision `{s}`: expected fp32, bf16 or fp16"
                )));
            }
        })
    }
}

/// Early stopping.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// The monitored validation metric.
    pub monitor: Monitor,
    /// Epochs without an improvement of more than `min_delta` before stopping (0: never
    /// stop early).
    pub patience: u64,
    /// Smallest change that counts as an improvement.
    pub min_delta: f64,
}

/// Everything that defines a training run. Stored as `run.json`; `--resume` refuses a
/// run folder whose configuration differs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The cache folder (`<root>/<key>`).
    pub cache_dir: PathBuf,
    /// The split folder made by `medfen split`.
    pub splits_dir: PathBuf,
    /// The training subset (`1pct`, `20pct`, `100pct`, ...).
    pub subset: String,
    /// Task name (registry).
    pub task: String,
    /// Optional TOML file of user tasks.
    pub tasks_file: Option<PathBuf>,
    /// The cache's preprocessing (copied from the cache; checked by eval and predict).
    pub cache_spec: CacheSpec,
    /// The cache key.
    pub cache_key: String,
    /// The model name given on the command line.
    pub model_name: String,
    /// The network.
    pub model: ModelSpec,
    /// The loss.
    pub loss: LossSpec,
    /// Order of training ears.
    pub sampler: SamplerKind,
    /// Training augmentation (its window is also the evaluation window).
    pub augment: Augment,
    /// Epochs.
    pub epochs: u64,
    /// Ears per batch.
    pub batch_size: usize,
    /// Batches whose gradients are accumulated per optimizer step.
    pub accumulate: u64,
    /// Peak learning rate.
    pub lr: f64,
    /// Final learning rate of the cosine.
    pub min_lr: f64,
    /// Warmup, in epochs (fractional allowed), counted in optimizer steps.
    pub warmup_epochs: f64,
    /// AdamW decoupled weight decay (weights only).
    pub weight_decay: f64,
    /// Global gradient-norm clip (`None`: no clipping).
    pub grad_clip: Option<f64>,
    /// Early stopping and best-checkpoint choice.
    pub early_stopping: EarlyStopping,
    /// Seed of everything random (init, sampler, augmentation, dropout).
    pub seed: u64,
    /// Forward precision.
    pub precision: Precision,
    /// Save a resumable checkpoint every this many optimizer steps inside an epoch (0:
    /// at epoch ends only).
    pub checkpoint_steps: u64,
    /// Batches prepared ahead by the loader thread.
    pub prefetch: usize,
    /// Top-k attention slices reported per ear by eval.
    pub top_k: usize,
}

impl TrainConfig {
    /// Checks the values that would otherwise fail late.
    ///
    /// # Errors
    /// [`Error::Config`] naming the offending option.
    pub fn validate(&self, binary: bool) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.epochs == 0 {
            return bad("--epochs must be at least 1".into());
        }
        if self.batch_size == 0 || self.accumulate == 0 {
            return bad("--batch-size and --accumulate must be at least 1".into());
        }
        let lr_ok = self.lr.is_finite() && self.lr > 0.0;
        let min_ok = self.min_lr.is_finite() && self.min_lr >= 0.0;
        if !lr_ok || !min_ok {
            return bad(format!(
                "--lr {} / --min-lr {}: must be positive / non-negative",
                self.lr, self.min_lr
            ));
        }
        if let Some(c) = self.grad_clip
            && !(c.is_finite() && c > 0.0)
        {
            return bad(format!("--grad-clip {c}: must be positive"));
        }
        match (binary, self.loss) {
            (true, LossSpec::Ce { .. }) => {
                return bad(format!(
                    "task `{}` is binary: use --loss bce or focal, not ce",
                    self.task
                ));
            }
            (false, LossSpec::Bce { .. } | LossSpec::Focal { .. }) => {
                return bad(format!(
                    "task `{}` has several classes: use --loss ce",
                    self.task
                ));
            }
            (
                _,
                LossSpec::Ce {
                    label_smoothing, ..
                },
            ) if !(0.0..1.0).contains(&label_smoothing) => {
                return bad(format!(
                    "--label-smoothing {label_smoothing}: must be in [0, 1)"
                ));
            }
            _ => {}
        }
        if !binary
            && matches!(
                self.early_stopping.monitor,
                Monitor::Auroc | Monitor::AveragePrecision
            )
        {
            return bad(format!(
                "--monitor {}: only for binary tasks (use macro_f1, accuracy or loss)",
                self.early_stopping.monitor.name()
            ));
        }
        Ok(())
    }
}

/// The format of `run.json`: a [`TrainConfig`] with its `format` tag.
pub const RUN_FORMAT: FileFormat = FileFormat {
    name: "medfen-run",
    version: 1,
    written_by: "medfen train",
};

/// `run.json` as written: the format tag, then the configuration's fields.
#[derive(Serialize)]
struct RunFileOut<'a> {
    format: String,
    #[serde(flatten)]
    config: &'a TrainConfig,
}

/// `run.json` as read.
#[derive(Deserialize)]
struct RunFileIn {
    #[serde(flatten)]
    config: TrainConfig,
}

/// Writes `run.json` of the run folder `run`.
///
/// # Errors
/// I/O errors naming the file.
pub fn write_run_config(run: &Path, config: &TrainConfig) -> Result<()> {
    let file = RunFileOut {
        format: RUN_FORMAT.tag(),
        config,
    };
    Ok(medfen_io::write_json(&run.join("run.json"), &file)?)
}

/// Reads the configuration of a run folder (`run.json`).
///
/// # Errors
/// A folder without `run.json`, or with one of another format version or unreadable.
pub fn read_run_config(run: &Path) -> Result<TrainConfig> {
    let path = run.join("run.json");
    if !path.exists() {
        return Err(Error::data(
            run,
            "not a run folder (no run.json): give the --out folder of `medfen train`",
        ));
    }
    Ok(RUN_FORMAT.read::<RunFileIn>(&path)?.config)
}
