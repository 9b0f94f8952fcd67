//! The ears of a split found in a cache: which records to train or evaluate on, with
//! the labels of the split files (after `medfen split`'s filters).

use std::collections::HashMap;

use medfen_cache::CacheReader;
use medfen_tasks::{Side, SplitFolder, SplitName, Task};

use crate::error::{Error, Result};

/// An ear of a split file, located in a cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedEar {
    /// Record index in the cache.
    pub record: usize,
    /// Exam id.
    pub exam_id: u64,
    /// Side.
    pub side: Side,
    /// Diagnosis code after the split's filters (None: no label or filtered out).
    pub code: Option<u8>,
    /// Keyed patient hash, from the split file.
    pub patient_key: String,
}

impl CachedEar {
    /// The ear's target for `task` (None: masked out).
    pub fn target(&self, task: &Task) -> Option<u8> {
        task.target(self.code)
    }
}

/// The ears of `split` in the training subset `subset` of `splits`, matched to the
/// records of `reader`.
///
/// # Errors
/// An unknown subset (listing the known ones), a missing or malformed split file; an
/// ear of the split that the cache does not hold (the cache was built from another
/// split folder).
pub fn cached_ears(
    reader: &CacheReader,
    splits: &SplitFolder,
    subset: &str,
    split: SplitName,
) -> Result<Vec<CachedEar>> {
    let subset = splits.subset(subset)?;
    let path = splits.file(subset, split);
    if !splits.has(subset, split) {
        return Err(Error::data(&path, "no such split file"));
    }
    let by_ear: HashMap<(u64, Side), usize> = reader
        .index()
        .iter()
        .enumerate()
        .map(|(i, m)| ((m.exam_id, m.side), i))
        .collect();
    let ears = splits
        .read(subset, split)?
        .into_iter()
        .map(|e| {
            let record = *by_ear.get(&(e.exam_id, e.side)).ok_or_else(|| {
                Error::data(
                    &path,
                    format!(
                        "exam {} ({}) is not in the cache {}: build the cache from this split \
                         folder (`medfen cache --splits {}`)",
                        e.exam_id,
                        e.side.name(),
                        reader.dir().display(),
                        splits.dir().display()
                    ),
                )
            })?;
            Ok(CachedEar {
                record,
                exam_id: e.exam_id,
                side: e.side,
                code: e.code,
                patient_key: e.patient_key,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if ears.is_empty() {
        return Err(Error::data(&path, "the split has no ears"));
    }
    Ok(ears)
}

/// The number of ears of each target class (`task.num_classes()` entries).
pub fn class_counts(ears: &[CachedEar], task: &Task) -> Vec<usize> {
    let mut counts = vec![0usize; task.num_classes()];
    for t in ears.iter().filter_map(|e| e.target(task)) {
        counts[usize::from(t)] += 1;
    }
    counts
}
