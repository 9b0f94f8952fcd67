//! `medfen predict`: per-ear probabilities for unlabelled exams, straight from DICOM.
//! Each exam is read (series chosen by medfen-dicom's rules), both ears are extracted
//! with the run's cache spec exactly as the cache would, windowed as in evaluation,
//! and run through the checkpoint. The rows follow the common prediction schema
//! ([`PredictionTable`]), as `medfen eval`'s do.

use std::path::{Path, PathBuf};

use medfen_cache::{CacheSource, EarRecord, augment_record, extract_source};
use medfen_tasks::{Prediction, PredictionTable, TaskKind, Thresholds};
use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};
use crate::eval::{checkpoint_file, load_run_model, top_slices_of};
use crate::train::{InferenceModel, TrainConfig, eval_window, resolve_task};

/// The exam id of an exam folder: its name when it is all digits (the `{exam}` folder
/// of the hospital layout `medfen index` reads), else none.
fn exam_id_of(folder: &Path) -> Option<u64> {
    let name = folder.file_name()?.to_str()?;
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()))
        .then(|| name.parse().ok())
        .flatten()
}

/// The model's probabilities and attention weights for the two ears of an exam.
fn forward_pair(
    model: &InferenceModel<'_>,
    config: &TrainConfig,
    records: &[EarRecord; 2],
    binary: bool,
    device: Device,
) -> Result<(Vec<f64>, Vec<f32>)> {
    let spec = &config.cache_spec;
    let window = eval_window(&config.augment);
    let per = window.channels() * spec.record_len();
    let mut data = vec![0f32; 2 * per];
    for (r, chunk) in records.iter().zip(data.chunks_mut(per)) {
        let bytes: Vec<u8> = r.data.iter().flat_map(|v| v.to_le_bytes()).collect();
        augment_record(&bytes, spec, &window, 0, 0, 0, chunk);
    }
    let dims = [
        2,
        window.channels(),
        spec.num_slices,
        spec.image_size,
        spec.image_size,
    ]
    .map(|d| i64::try_from(d).unwrap_or(i64::MAX));
    tch::no_grad(|| {
        let xs = Tensor::from_slice(&data).reshape(dims).to_device(device);
        let fwd = model.forward(&xs);
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
    })
}

/// The threshold of the run's binary task: `given` (chosen by the caller, e.g. on other
/// data), else the one frozen on val for exactly these weights.
///
/// # Errors
/// No `thresholds.json` (val not evaluated yet), or one chosen for another checkpoint
/// or for other weights of this one: rerun `medfen eval --split val`, or give one.
fn binary_threshold(run: &Path, which: &str, given: Option<f64>) -> Result<f64> {
    if let Some(t) = given {
        if !(0.0..=1.0).contains(&t) {
            return Err(Error::Config(format!(
                "threshold {t}: expected a probability in [0, 1]"
            )));
        }
        tracing::warn!("threshold {t} given by the caller, not chosen on val");
        return Ok(t);
    }
    let path = Thresholds::path(run);
    let Some(t) = Thresholds::read(run)? else {
        return Err(Error::data(
            &path,
            "no frozen thresholds: run `medfen eval --split val` first, or give a threshold \
             (`medfen predict --threshold X`)",
        ));
    };
    let sha = medfen_io::file_sha256(&checkpoint_file(run, which)?)?;
    match t.mismatch(which, &sha) {
        Some(why) => Err(Error::data(&path, why)),
        None => Ok(t.operating.threshold),
    }
}

/// Predicts both ears of every exam folder in `exams` with checkpoint `which` of `run`.
/// A binary task's ears are called positive at `threshold`, or else at the threshold
/// frozen on val for this checkpoint.
///
/// # Errors
/// Run errors; no usable frozen threshold (see above); a threshold given for a
/// multi-class task; an exam that cannot be read (naming it).
pub fn predict_exams(
    run: &Path,
    which: &str,
    exams: &[PathBuf],
    threshold: Option<f64>,
    device: Device,
) -> Result<PredictionTable> {
    let (config, model) = load_run_model(run, which, device)?;
    let task = resolve_task(&config)?;
    let binary = matches!(task.kind, TaskKind::Binary { .. });
    if !binary && threshold.is_some() {
        return Err(Error::Config(format!(
            "--threshold applies to binary tasks; {} has {} classes (predicted by argmax)",
            task.name,
            task.num_classes()
        )));
    }
    let threshold = binary
        .then(|| binary_threshold(run, which, threshold))
        .transpose()?;
    let inference = model.for_inference();
    let mut rows = Vec::with_capacity(2 * exams.len());
    for exam in exams {
        // Exactly as the cache extracts an exam (series rules, irregular geometry
        // resampled or refused by the run's cache spec).
        let source = CacheSource {
            exam_id: exam_id_of(exam).unwrap_or_default(),
            series_dir: exam.clone(),
            series_uid: String::new(),
            codes: [None, None],
            split: None,
        };
        let records = extract_source(&config.cache_spec, &source)
            .map_err(|e| Error::data(exam, e))?
            .ears;
        let (probs, weights) = forward_pair(&inference, &config, &records, binary, device)?;
        let n = probs.len() / 2;
        let k = weights.len() / 2;
        for (j, r) in records.iter().enumerate() {
            let p = probs[j * n..(j + 1) * n].to_vec();
            let y_pred = match threshold {
                Some(t) => usize::from(p[0] >= t),
                None => medfen_metrics::argmax_rows(&p, n)?[0],
            };
            let top_slices = if k > 0 {
                top_slices_of(
                    &weights[j * k..(j + 1) * k],
                    config.top_k,
                    &r.placement.slice_indices,
                    &r.placement.z_mm,
                )
            } else {
                Vec::new()
            };
            rows.push(Prediction {
                exam_id: exam_id_of(exam),
                side: r.side,
                source: Some(exam.display().to_string()),
                patient_key: None,
                code: None,
                in_task: None,
                y_true: None,
                y_pred,
                probs: p,
                threshold,
                top_slices,
            });
        }
    }
    Ok(PredictionTable {
        class_names: if binary {
            Vec::new()
        } else {
            task.class_names.clone()
        },
        top_k: config.top_k,
        rows,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn exam_ids_come_from_numeric_folder_names() {
        assert_eq!(
            super::exam_id_of("dicom/2024-01-02/1001".as_ref()),
            Some(1001)
        );
        assert_eq!(
            super::exam_id_of("dicom/2024-01-02/1001/".as_ref()),
            Some(1001)
        );
        assert_eq!(super::exam_id_of("scans/anon_case".as_ref()), None);
    }
}
