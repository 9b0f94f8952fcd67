//! The ears of a split, found in a cache: which records to train or evaluate on, with
//! the labels of the split files (after `medfen split`'s filters).

use std::collections::HashMap;
use std::path::Path;

use medfen_cache::CacheReader;
use medfen_tasks::table::Table;
use medfen_tasks::{Side, Task};

use crate::error::{Error, Result};

/// One ear of a split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitEar {
    /// Record index in the cache.
    pub record: usize,
    /// Exam id.
    pub exam_id: u64,
    /// Side.
    pub side: Side,
    /// Diagnosis code after the split's filters (None: no label or filtered out).
    pub code: Option<u8>,
}

impl SplitEar {
    /// The ear's target for `task` (None: masked out).
    pub fn target(&self, task: &Task) -> Option<u8> {
        task.target(self.code)
    }
}

/// The ears of `<splits>/<subset>/<split>.parquet`, matched to the records of `reader`.
///
/// # Errors
/// A missing or malformed split file; an ear of the split that the cache does not hold
/// (the cache was built from another split folder).
pub fn split_ears(
    reader: &CacheReader,
    splits: &Path,
    subset: &str,
    split: &str,
) -> Result<Vec<SplitEar>> {
    let path = splits.join(subset).join(format!("{split}.parquet"));
    if !path.exists() {
        let mut known: Vec<String> = std::fs::read_dir(splits)
            .map_err(|e| Error::io(splits, e))?
            .filter_map(std::result::Result::ok)
            .filter(|e| e.path().join("train.parquet").exists())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        known.sort();
        return Err(Error::data(
            &path,
            format!(
                "no such split file (subsets in {}: {})",
                splits.display(),
                known.join(", ")
            ),
        ));
    }
    let t = Table::read_parquet(&path)?;
    let ids = t.ints(&path, "exam_id")?;
    let sides = t.texts(&path, "side")?;
    let codes = t.ints(&path, "code")?;
    let by_ear: HashMap<(u64, Side), usize> = reader
        .index()
        .iter()
        .enumerate()
        .map(|(i, m)| ((m.exam_id, m.side), i))
        .collect();
    let mut ears = Vec::with_capacity(t.rows());
    for row in 0..t.rows() {
        let bad = |what: &str| Error::data(&path, format!("row {}: {what}", row + 1));
        let exam_id = ids[row]
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| bad("no exam_id"))?;
        let side = sides[row]
            .as_deref()
            .and_then(Side::parse)
            .ok_or_else(|| bad("side is not left/right"))?;
        let code = match codes[row] {
            None => None,
            Some(c) => Some(
                u8::try_from(c)
                    .ok()
                    .filter(|c| (1..=6).contains(c))
                    .ok_or_else(|| bad("code outside 1-6"))?,
            ),
        };
        let record = *by_ear.get(&(exam_id, side)).ok_or_else(|| {
            Error::data(
                &path,
                format!(
                    "exam {exam_id} ({}) is not in the cache {}: build the cache from this split \
                     folder (`medfen cache --splits {}`)",
                    side.name(),
                    reader.dir().display(),
                    splits.display()
                ),
            )
        })?;
        ears.push(SplitEar {
            record,
            exam_id,
            side,
            code,
        });
    }
    if ears.is_empty() {
        return Err(Error::data(&path, "the split has no ears"));
    }
    Ok(ears)
}

/// The number of ears of each target class (`task.num_classes()` entries).
pub fn class_counts(ears: &[SplitEar], task: &Task) -> Vec<usize> {
    let mut counts = vec![0usize; task.num_classes()];
    for t in ears.iter().filter_map(|e| e.target(task)) {
        counts[usize::from(t)] += 1;
    }
    counts
}
