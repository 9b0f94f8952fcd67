//! Header-only scan of a directory tree, in parallel.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::header::{DicomHeader, read_header};

/// Options of [`scan`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScanOptions {
    /// Skip files and folders whose name starts with `.` (default true).
    pub skip_hidden: bool,
    /// Follow symbolic links (default false).
    pub follow_links: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            skip_hidden: true,
            follow_links: false,
        }
    }
}

/// A file that looked like DICOM but could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadableFile {
    /// The file.
    pub path: PathBuf,
    /// Why it could not be read.
    pub reason: String,
}

/// What a scan found. Every file under the root is in exactly one list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanReport {
    /// The folder scanned.
    pub root: PathBuf,
    /// Headers of readable DICOM files (images and non-images), in path order.
    pub headers: Vec<DicomHeader>,
    /// Files without the DICOM marker (skipped).
    pub non_dicom: Vec<PathBuf>,
    /// DICOMDIR files (skipped).
    pub dicomdirs: Vec<PathBuf>,
    /// DICOM files whose header could not be read, with the reason.
    pub unreadable: Vec<UnreadableFile>,
}

impl ScanReport {
    /// Number of files looked at.
    pub fn files_seen(&self) -> usize {
        self.headers.len() + self.non_dicom.len() + self.dicomdirs.len() + self.unreadable.len()
    }
}

/// Lists the regular files under `root` in a deterministic (sorted) order.
///
/// # Errors
/// When a directory cannot be read.
pub fn list_files(root: &Path, options: &ScanOptions) -> Result<Vec<PathBuf>> {
    let walker = walkdir::WalkDir::new(root)
        .follow_links(options.follow_links)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0
                || !options.skip_hidden
                || !e.file_name().to_string_lossy().starts_with('.')
        });
    let mut files = Vec::new();
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e
                .path()
                .map_or_else(|| root.to_path_buf(), Path::to_path_buf);
            Error::io(
                path,
                e.into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("filesystem loop")),
            )
        })?;
        if entry.file_type().is_file() {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

/// Reads the header of every file under `root` (a file or a folder), in parallel,
/// without reading pixel data. `progress` is called with the number of files done.
///
/// Files without the DICOM marker and DICOMDIRs are skipped and listed; DICOM files that
/// fail to parse are listed with the reason. Nothing is silently dropped.
///
/// # Errors
/// When `root` does not exist or a folder cannot be listed.
pub fn scan(
    root: &Path,
    options: &ScanOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ScanReport> {
    if !root.exists() {
        return Err(Error::io(
            root,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    let files = list_files(root, options)?;
    let outcomes: Vec<(PathBuf, Result<DicomHeader>)> = files
        .into_par_iter()
        .map(|path| {
            let r = read_header(&path);
            progress(1);
            (path, r)
        })
        .collect();
    let mut report = ScanReport {
        root: root.to_path_buf(),
        headers: Vec::new(),
        non_dicom: Vec::new(),
        dicomdirs: Vec::new(),
        unreadable: Vec::new(),
    };
    for (path, outcome) in outcomes {
        match outcome {
            Ok(h) if h.is_dicomdir() => report.dicomdirs.push(path),
            Ok(h) => report.headers.push(h),
            Err(Error::NotDicom { .. }) => report.non_dicom.push(path),
            Err(e) => report.unreadable.push(UnreadableFile {
                path,
                reason: e.to_string(),
            }),
        }
    }
    tracing::debug!(
        root = %root.display(),
        headers = report.headers.len(),
        non_dicom = report.non_dicom.len(),
        dicomdirs = report.dicomdirs.len(),
        unreadable = report.unreadable.len(),
        "scan finished"
    );
    Ok(report)
}
