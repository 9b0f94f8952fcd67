//! Operating thresholds: chosen on val by the run's rule (and at 95% specificity),
//! frozen into the run, and applied unchanged to every other split.

use medfen_metrics::{ThresholdRule, choose_threshold};
use medfen_tasks::{SplitName, Thresholds};

use super::{EvalOptions, evaluate};
use crate::error::{Error, Result};

/// The thresholds of val's `labels` and `probs` for the checkpoint being evaluated.
///
/// # Errors
/// Val has one class only (no threshold can be chosen).
pub(super) fn choose_on_val(
    labels: &[bool],
    probs: &[f64],
    options: &EvalOptions,
    checkpoint_sha256: &str,
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
        format: Thresholds::FORMAT.tag(),
        checkpoint: options.checkpoint.clone(),
        checkpoint_sha256: checkpoint_sha256.to_owned(),
        chosen_on: "val".into(),
        operating,
        at_95_specificity: at_95,
    })
}

/// The run's frozen val thresholds for this checkpoint; evaluates val first when there
/// are none yet (or they belong to another checkpoint or rule).
///
/// # Errors
/// Thresholds of this checkpoint and rule chosen on other weights (the run was trained
/// further since): the caller must rerun `medfen eval --split val`.
pub(super) fn frozen(options: &EvalOptions, checkpoint_sha256: &str) -> Result<Thresholds> {
    if let Some(t) = Thresholds::read(&options.run)?
        && t.checkpoint == options.checkpoint
        && t.operating.rule == options.threshold_rule
    {
        if let Some(why) = t.mismatch(&options.checkpoint, checkpoint_sha256) {
            return Err(Error::data(Thresholds::path(&options.run), why));
        }
        return Ok(t);
    }
    tracing::info!(
        "choosing thresholds on val first (frozen for {})",
        options.split
    );
    let val = EvalOptions {
        split: SplitName::Val,
        replicates: 0,
        ..options.clone()
    };
    evaluate(&val)?
        .thresholds
        .ok_or_else(|| Error::data(Thresholds::path(&options.run), "val gave no thresholds"))
}
