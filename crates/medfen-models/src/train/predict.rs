//! `medfen predict`: per-ear probabilities for unlabelled exams, straight from DICOM.
//! Each exam is read (series chosen by medfen-dicom's rules), both ears are extracted
//! with the run's cache spec exactly as the cache would, windowed as in evaluation,
//! and run through the checkpoint.

use std::path::{Path, PathBuf};

use medfen_cache::{augment_record, extract_ears};
use medfen_dicom::ReadOptions;
use medfen_tasks::table::Table;
use medfen_tasks::{Side, TaskKind};
use tch::{Device, Kind, Tensor};

use super::evaluate::{Thresholds, load_run_model};
use super::run::resolve_task;
use super::scores::{eval_window, top_slices};
use crate::error::{Error, Result};

/// The prediction for one ear of an exam.
#[derive(Debug, Clone, PartialEq)]
pub struct EarPrediction {
    /// The exam folder as given.
    pub exam: PathBuf,
    /// Side.
    pub side: Side,
    /// Probabilities (binary: of the positive class; else one per class).
    pub probs: Vec<f64>,
    /// Predicted class (binary: at the run's frozen val threshold, or 0.5 without one).
    pub predicted: usize,
    /// The threshold applied (binary tasks).
    pub threshold: Option<f64>,
    /// Heaviest slices: (slice position, weight, z in mm).
    pub top_slices: Vec<(usize, f32, f64)>,
}

/// Predicts both ears of every exam folder in `exams` with checkpoint `which` of `run`.
///
/// # Errors
/// Run errors; an exam that cannot be read (naming it).
pub fn predict_exams(
    run: &Path,
    which: &str,
    exams: &[PathBuf],
    device: Device,
) -> Result<Vec<EarPrediction>> {
    let (config, model) = load_run_model(run, which, device)?;
    let task = resolve_task(&config)?;
    let binary = matches!(task.kind, TaskKind::Binary { .. });
    let threshold = if binary {
        let path = run.join("thresholds.json");
        Some(if path.exists() {
            let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
            let t: Thresholds =
                serde_json::from_slice(&bytes).map_err(|e| Error::data(&path, e))?;
            t.operating.threshold
        } else {
            tracing::warn!(
                "{} has no thresholds.json (run `medfen eval --split val` first): using 0.5",
                run.display()
            );
            0.5
        })
    } else {
        None
    };
    let spec = &config.cache_spec;
    let window = eval_window(&config.augment);
    let per = window.channels() * spec.record_len();
    let mut out = Vec::new();
    let inference = model.for_inference();
    for exam in exams {
        let volume = medfen_dicom::read_dicom::<i16>(exam, &ReadOptions::default(), &|_| {})
            .map_err(|e| Error::data(exam, e))?
            .volume;
        let records = extract_ears(&volume, spec);
        let mut data = vec![0f32; 2 * per];
        for (r, chunk) in records.iter().zip(data.chunks_mut(per)) {
            let bytes: Vec<u8> = r.data.iter().flat_map(|v| v.to_le_bytes()).collect();
            augment_record(&bytes, spec, &window, 0, 0, 0, chunk);
        }
        #[allow(clippy::cast_possible_wrap)]
        let shape = [
            2,
            window.channels() as i64,
            spec.num_slices as i64,
            spec.image_size as i64,
            spec.image_size as i64,
        ];
        let (probs, weights) = tch::no_grad(|| -> Result<(Vec<f64>, Vec<f32>)> {
            let xs = Tensor::from_slice(&data).reshape(shape).to_device(device);
            let fwd = inference.forward(&xs);
            let logits = fwd.logits.to_kind(Kind::Float);
            let p = if binary {
                logits.sigmoid()
            } else {
                logits.softmax(-1, Kind::Float)
            };
            let p = Vec::<f64>::try_from(
                p.to_kind(Kind::Double)
                    .to_device(Device::Cpu)
                    .flatten(0, -1),
            )?;
            let w = match fwd.slice_weights {
                Some(w) => Vec::<f32>::try_from(w.to_device(Device::Cpu).flatten(0, -1))?,
                None => Vec::new(),
            };
            Ok((p, w))
        })?;
        let n = probs.len() / 2;
        let k = weights.len() / 2;
        for (j, r) in records.iter().enumerate() {
            let p = probs[j * n..(j + 1) * n].to_vec();
            let predicted = match threshold {
                Some(t) => usize::from(p[0] >= t),
                None => medfen_metrics::argmax_rows(&p, n)?[0],
            };
            let top = if k > 0 {
                top_slices(&weights[j * k..(j + 1) * k], config.top_k)
            } else {
                Vec::new()
            };
            out.push(EarPrediction {
                exam: exam.clone(),
                side: r.side,
                probs: p,
                predicted,
                threshold,
                top_slices: top
                    .into_iter()
                    .map(|(s, w)| (s, w, r.placement.z_mm.get(s).copied().unwrap_or(f64::NAN)))
                    .collect(),
            });
        }
    }
    Ok(out)
}

impl EarPrediction {
    /// The predictions as a table (`exam, side, y_prob | prob_<class>, y_pred,
    /// threshold, top<i>_slice, top<i>_weight, top<i>_z_mm`).
    pub fn table(predictions: &[Self], class_names: &[String]) -> Table {
        let mut t = Table::new();
        t.text(
            "exam",
            predictions
                .iter()
                .map(|p| Some(p.exam.display().to_string())),
        );
        t.text(
            "side",
            predictions.iter().map(|p| Some(p.side.name().to_string())),
        );
        let binary = predictions.first().is_some_and(|p| p.probs.len() == 1);
        if binary {
            t.float("y_prob", predictions.iter().map(|p| Some(p.probs[0])));
        } else {
            for (k, name) in class_names.iter().enumerate() {
                t.float(
                    &format!("prob_{name}"),
                    predictions.iter().map(|p| p.probs.get(k).copied()),
                );
            }
        }
        #[allow(clippy::cast_possible_wrap)]
        t.int(
            "y_pred",
            predictions.iter().map(|p| Some(p.predicted as i64)),
        );
        t.float("threshold", predictions.iter().map(|p| p.threshold));
        let k = predictions
            .iter()
            .map(|p| p.top_slices.len())
            .max()
            .unwrap_or(0);
        for j in 0..k {
            #[allow(clippy::cast_possible_wrap)]
            t.int(
                &format!("top{}_slice", j + 1),
                predictions
                    .iter()
                    .map(|p| p.top_slices.get(j).map(|s| s.0 as i64)),
            );
            t.float(
                &format!("top{}_weight", j + 1),
                predictions
                    .iter()
                    .map(|p| p.top_slices.get(j).map(|s| f64::from(s.1))),
            );
            t.float(
                &format!("top{}_z_mm", j + 1),
                predictions.iter().map(|p| p.top_slices.get(j).map(|s| s.2)),
            );
        }
        t
    }
}
