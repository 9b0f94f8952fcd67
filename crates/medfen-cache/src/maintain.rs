//! Looking after caches: `verify` (every record against its checksum) and `gc`
//! (incomplete builds, and caches no longer wanted).

use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::{COMPLETE, CacheManifest, read_index, record_checksum};

/// What [`verify_cache`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Records checked.
    pub records: usize,
    /// Records whose bytes do not match their checksum: (exam id, side).
    pub corrupt: Vec<(u64, String)>,
    /// Problems with the folder itself (size, missing files).
    pub problems: Vec<String>,
}

impl VerifyReport {
    /// True when nothing is wrong.
    pub fn ok(&self) -> bool {
        self.corrupt.is_empty() && self.problems.is_empty()
    }
}

/// Recomputes every record's checksum.
///
/// # Errors
/// Unreadable files.
pub fn verify_cache(dir: &Path) -> Result<VerifyReport> {
    let mut problems = Vec::new();
    if !dir.join("spec.json").is_file() {
        return Err(Error::cache(dir, "not a cache folder (no spec.json)"));
    }
    if !dir.join(COMPLETE).exists() {
        problems.push(format!(
            "{}: incomplete (no {COMPLETE} marker); run the build again to resume",
            dir.display()
        ));
        return Ok(VerifyReport {
            records: 0,
            corrupt: Vec::new(),
            problems,
        });
    }
    let spec_path = dir.join("spec.json");
    let manifest: CacheManifest = medfen_io::read_json(&spec_path)?;
    let index = read_index(dir)?;
    let data_path = dir.join("data.i16");
    let size = std::fs::metadata(&data_path)
        .map_err(|e| Error::io(&data_path, e))?
        .len();
    let rb = manifest.record_bytes;
    if size != rb * index.len() as u64 {
        problems.push(format!(
            "data.i16 is {size} bytes; {} records of {rb} bytes need {}",
            index.len(),
            rb * index.len() as u64
        ));
    }
    let mut file = std::fs::File::open(&data_path).map_err(|e| Error::io(&data_path, e))?;
    let mut corrupt = Vec::new();
    let mut buf = vec![0u8; rb as usize];
    for m in &index {
        let ok = file.read_exact(&mut buf).is_ok() && record_checksum(&buf) == m.checksum;
        if !ok {
            corrupt.push((m.exam_id, m.side.name().to_string()));
        }
    }
    Ok(VerifyReport {
        records: index.len(),
        corrupt,
        problems,
    })
}

/// What [`gc_caches`] removed (or would remove).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcReport {
    /// Folders removed, with their sizes in bytes and why.
    pub removed: Vec<(PathBuf, u64, String)>,
    /// Folders kept.
    pub kept: Vec<PathBuf>,
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |rd| {
        rd.filter_map(std::result::Result::ok)
            .map(|e| {
                let p = e.path();
                if p.is_dir() {
                    dir_size(&p)
                } else {
                    e.metadata().map_or(0, |m| m.len())
                }
            })
            .sum()
    })
}

/// Removes cache folders under `root`: incomplete builds always (they resume from
/// scratch), and, when `keep` is given, every complete cache whose key is not in it.
/// Folders that are not caches (no `spec.json`) are never touched.
///
/// # Errors
/// `root` cannot be listed, or a folder cannot be removed.
pub fn gc_caches(root: &Path, keep: Option<&[String]>, dry_run: bool) -> Result<GcReport> {
    let mut report = GcReport {
        removed: Vec::new(),
        kept: Vec::new(),
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(|e| Error::io(root, e))?
        .filter_map(std::result::Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir() && p.join("spec.json").is_file())
        .collect();
    dirs.sort();
    for d in dirs {
        let key = d
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let why = if !d.join(COMPLETE).exists() {
            Some("incomplete build")
        } else if keep.is_some_and(|k| !k.contains(&key)) {
            Some("not in --keep")
        } else {
            None
        };
        match why {
            Some(why) => {
                let size = dir_size(&d);
                if !dry_run {
                    std::fs::remove_dir_all(&d).map_err(|e| Error::io(&d, e))?;
                }
                report.removed.push((d, size, why.to_string()));
            }
            None => report.kept.push(d),
        }
    }
    Ok(report)
}
