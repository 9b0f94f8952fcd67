//! Step 1 of a split: the code filter, before anything else, so that filtered codes
//! never shape the strata.

use std::collections::{BTreeMap, BTreeSet};

use super::{KeepMode, SplitEar, SplitName, SplitOptions};
use crate::error::{Error, Result};
use crate::manifest::Ear;

/// The ears that stay, and the exams left out with the reason.
pub(super) struct Filtered {
    /// Kept ears by exam id then side, their split not yet assigned (`Train`).
    pub kept: Vec<SplitEar>,
    /// Exams left out and why.
    pub excluded_exams: Vec<(u64, String)>,
}

/// Applies `--keep-codes` (masking or dropping) and leaves out exams without a
/// labelled ear.
pub(super) fn apply(ears: &[Ear], options: &SplitOptions) -> Result<Filtered> {
    let mut by_exam: BTreeMap<u64, Vec<&Ear>> = BTreeMap::new();
    for e in ears {
        by_exam.entry(e.exam_id).or_default().push(e);
    }
    let mut kept: Vec<SplitEar> = Vec::new();
    let mut excluded_exams = Vec::new();
    for (id, group) in &by_exam {
        let keys: BTreeSet<&str> = group.iter().map(|e| e.patient_key.as_str()).collect();
        if keys.len() != 1 {
            return Err(Error::SplitOptions(format!(
                "exam {id} has ears with different patient keys in the manifest"
            )));
        }
        let outside = group
            .iter()
            .any(|e| e.code.is_some_and(|c| !options.keeps(c)));
        if outside && options.keep_mode == KeepMode::DropExam {
            excluded_exams.push((*id, "a code outside --keep-codes (drop-exam)".to_string()));
            continue;
        }
        let filtered: Vec<SplitEar> = group.iter().map(|e| filtered_ear(e, options)).collect();
        if filtered.iter().all(|e| e.code.is_none()) {
            excluded_exams.push((*id, "no labelled ear".to_string()));
            continue;
        }
        kept.extend(filtered);
    }
    kept.sort_by_key(|e| (e.exam_id, e.side));
    Ok(Filtered {
        kept,
        excluded_exams,
    })
}

fn filtered_ear(e: &Ear, options: &SplitOptions) -> SplitEar {
    SplitEar {
        exam_id: e.exam_id,
        side: e.side,
        code: e.code.filter(|c| options.keeps(*c)),
        code_original: e.code,
        patient_key: e.patient_key.clone(),
        split: SplitName::Train,
        date: e.date.clone(),
        exam_dir: e.exam_dir.clone(),
        series_dir: e.series_dir.clone(),
    }
}
