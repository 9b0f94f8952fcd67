//! Training, evaluation and prediction runs.
//!
//! - [`TrainConfig`] / [`train`]: a resumable training run in a folder.
//! - [`evaluate`]: predictions and metrics on val or test with exam-clustered bootstrap
//!   intervals; thresholds chosen on val are frozen into the run and applied to test.
//! - [`predict_exams`]: per-ear probabilities for unlabelled DICOM exams.
//! - [`probe_batch_size`]: the largest batch that fits, leaving the model untouched.

mod autobatch;
mod config;
mod ears;
mod evaluate;
mod loss;
mod model;
mod predict;
mod run;
mod scaler;
mod scores;

pub use autobatch::probe_batch_size;
pub use config::{EarlyStopping, LossSpec, ModelSpec, Monitor, PosWeight, Precision, TrainConfig};
pub use ears::{SplitEar, class_counts, split_ears};
pub use evaluate::{EvalOptions, EvalReport, Thresholds, evaluate, load_run_model};
pub use loss::{Loss, LossWeights};
pub use model::{Forward, InferenceModel, Model, to_channels_last};
pub use predict::{EarPrediction, predict_exams};
pub(crate) use run::autocast;
pub use run::{
    EpochSummary, RunOptions, TrainEvent, TrainReport, TrainState, read_run_config, resolve_task,
    train,
};
pub use scaler::LossScaler;
pub use scores::{EarScore, QuickMetrics, eval_window, quick_metrics, score_ears, top_slices};
