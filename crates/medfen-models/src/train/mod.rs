//! Training runs.
//!
//! - [`TrainOptions`] -> [`TrainConfig`] / [`train`]: a resumable training run in a
//!   folder, configured by options with documented defaults.
//! - [`cached_ears`]: the ears of a split file located in a cache.
//! - [`score_ears`]: a model over cache records without gradients.
//! - [`probe_batch_size`]: the largest batch that fits, leaving the model untouched.

mod autobatch;
mod config;
mod ears;
mod loss;
mod model;
mod options;
mod run;
mod scaler;
mod scores;
mod state;

pub use autobatch::probe_batch_size;
pub use config::{
    EarlyStopping, LossSpec, ModelSpec, Monitor, PosWeight, Precision, RUN_FORMAT, TrainConfig,
    read_run_config, write_run_config,
};
pub use ears::{CachedEar, cached_ears, class_counts};
pub use loss::{Loss, LossWeights};
pub use model::{Forward, InferenceModel, Model, to_channels_last};
pub use options::{BatchSize, TrainOptions, parse_window};
pub(crate) use run::autocast;
pub use run::{RunOptions, TrainEvent, TrainReport, resolve_task, train};
pub use scaler::LossScaler;
pub use scores::{
    EarScore, QuickMetrics, eval_window, quick_metrics, score_ears, task_rows, top_slices,
};
pub use state::{EpochSummary, TrainState};
