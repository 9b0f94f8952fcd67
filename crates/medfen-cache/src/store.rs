//! The content-addressed cache: `<root>/<key>/` with `spec.json`, `index.parquet` (and
//! `.csv`) and `data.i16`, fixed-size little-endian i16 records `[K, S, S]`, one per
//! ear, two per exam (left, right), exams by id.
//!
//! The key is the SHA-256 of the spec (code version included) and of every source
//! file's name, size and modification time, so a changed spec or source makes a new
//! cache instead of reusing a stale one. Each series is decoded once for both ears;
//! exams are built in parallel, their records written in place and their metadata
//! atomically into `.partial/`, so an interrupted build resumes where it stopped; the
//! index is written last and `COMPLETE` after it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use medfen_dicom::ReadOptions;
use medfen_io::{Table, read_exact_at, write_all_at, write_atomically, write_durably};
use medfen_tasks::{ExamRecord, Side, SplitFolder, read_exam_index};

use crate::error::{Error, Result};
use crate::roi::{CentreSource, EarRecord, LazySlices, Placement, extract_ears};
use crate::spec::{CacheSpec, OnIrregular};

/// Name of the marker written when a cache is complete.
pub const COMPLETE: &str = "COMPLETE";

/// One exam to cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheSource {
    /// Exam id.
    pub exam_id: u64,
    /// Folder of the chosen series (absolute).
    pub series_dir: PathBuf,
    /// The series the index chose.
    pub series_uid: String,
    /// Left and right codes (None: no label).
    pub codes: [Option<u8>; 2],
    /// Split of the exam (`train`, `val`, `test`, `external_test`), when known.
    pub split: Option<String>,
}

/// Reads the exams of a split folder (all of its largest subset's files) joined with
/// the index: what `medfen cache` builds.
///
/// # Errors
/// Missing or malformed tables, naming the file; a split exam absent from the index.
pub fn sources_from(index: &Path, splits: &Path) -> Result<Vec<CacheSource>> {
    let index_file = read_exam_index(index)?;
    let by_id: BTreeMap<u64, &ExamRecord> =
        index_file.exams.iter().map(|e| (e.exam_id, e)).collect();
    let folder = SplitFolder::open(splits)?;
    folder
        .exams()?
        .into_iter()
        .map(|(id, split)| {
            let exam = by_id.get(&id).ok_or_else(|| {
                Error::cache(
                    splits,
                    format!(
                        "exam {id} of the split is not in the index {}",
                        index.display()
                    ),
                )
            })?;
            Ok(CacheSource {
                exam_id: id,
                series_dir: index_file.dicom_root().join(&exam.series_dir),
                series_uid: exam.series_uid.clone(),
                codes: [exam.left_code, exam.right_code],
                split: Some(split.name().to_string()),
            })
        })
        .collect()
}

/// Fingerprint of a series folder: every file's name, size and modification time.
fn fingerprint(dir: &Path) -> Result<String> {
    let mut entries: Vec<(String, u64, u128)> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(std::result::Result::ok)
        // The entry's type comes with the listing (no stat per file); symbolic links
        // are followed, as before.
        .filter(|e| {
            e.file_type()
                .is_ok_and(|t| t.is_file() || (t.is_symlink() && e.path().is_file()))
        })
        .map(|e| {
            let m = e.metadata().map_err(|err| Error::io(e.path(), err))?;
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            Ok((e.file_name().to_string_lossy().into_owned(), m.len(), mtime))
        })
        .collect::<Result<_>>()?;
    entries.sort();
    let mut h = Sha256::new();
    for (name, size, mtime) in entries {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(size.to_le_bytes());
        h.update(mtime.to_le_bytes());
    }
    Ok(hex::encode(h.finalize()))
}

/// The cache key of `spec` over `sources` (hex SHA-256, 32 characters kept) and the
/// per-source fingerprints.
///
/// # Errors
/// A source folder that cannot be listed.
pub fn cache_key(spec: &CacheSpec, sources: &[CacheSource]) -> Result<(String, Vec<String>)> {
    let prints: Vec<String> = sources
        .par_iter()
        .map(|s| fingerprint(&s.series_dir))
        .collect::<Result<_>>()?;
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(spec).unwrap_or_default());
    for (s, p) in sources.iter().zip(&prints) {
        h.update(s.exam_id.to_le_bytes());
        h.update(s.series_uid.as_bytes());
        h.update(p.as_bytes());
    }
    Ok((hex::encode(h.finalize())[..32].to_string(), prints))
}

/// `spec.json` of a cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheManifest {
    /// The key (folder name).
    pub key: String,
    /// The preprocessing spec.
    pub spec: CacheSpec,
    /// Bytes per record.
    pub record_bytes: u64,
    /// The exams, by id, with their fingerprints.
    pub sources: Vec<(CacheSource, String)>,
}

/// Per-ear metadata kept beside each record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordMeta {
    /// Exam id.
    pub exam_id: u64,
    /// Side.
    pub side: Side,
    /// Code (None: no label).
    pub code: Option<u8>,
    /// Split, when known.
    pub split: Option<String>,
    /// Where the record comes from in its volume.
    #[serde(flatten)]
    pub placement: Placement,
    /// XXH3-128 of the record's bytes (hex), for `verify`.
    pub checksum: String,
    /// `None` for a series on a regular orthogonal grid; else how its irregular
    /// geometry (gap, uneven steps, gantry tilt) was made regular before extraction.
    #[serde(default)]
    pub geometry: Option<String>,
}

/// Whether the records of the exam in `slot` match the checksums of its marker (an
/// interrupted build's exams are kept only then).
fn records_intact(file: &std::fs::File, marker: &Path, slot: usize, record_len: usize) -> bool {
    let Some(metas) = std::fs::read(marker)
        .ok()
        .and_then(|b| serde_json::from_slice::<Vec<RecordMeta>>(&b).ok())
    else {
        return false;
    };
    let mut buf = vec![0u8; 2 * record_len];
    metas.len() == 2
        && metas.iter().enumerate().all(|(i, m)| {
            read_exact_at(file, &mut buf, ((2 * slot + i) * 2 * record_len) as u64).is_ok()
                && record_checksum(&buf) == m.checksum
        })
}

/// Starts writing `len` bytes at `offset` of `file` to disk without waiting for it
/// (Linux; elsewhere nothing), so that the flush ending the build finds little left to
/// write. Advisory: errors surface at that flush.
fn start_writeback(file: &std::fs::File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd as _;
        let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
            return;
        };
        // SAFETY: sync_file_range only reads its integer arguments; the descriptor is
        // open for as long as `file` is borrowed.
        #[allow(unsafe_code)]
        unsafe {
            libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
}

/// Asks the file system to allocate the file's `len` bytes now (Linux; advisory): one
/// extent up front instead of blocks allocated page by page as records are written.
fn reserve_blocks(file: &std::fs::File, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd as _;
        let Ok(len) = i64::try_from(len) else {
            return;
        };
        // SAFETY: fallocate only reads its integer arguments; the descriptor is open
        // for as long as `file` is borrowed. Mode 0 keeps the size and contents.
        #[allow(unsafe_code)]
        unsafe {
            libc::fallocate(file.as_raw_fd(), 0, 0, len);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, len);
}

/// A record's little-endian bytes: borrowed on little-endian hosts (no copy of the
/// 3 MB record), converted on others.
fn record_bytes(r: &EarRecord) -> std::borrow::Cow<'_, [u8]> {
    if cfg!(target_endian = "little") {
        std::borrow::Cow::Borrowed(bytemuck::cast_slice(&r.data))
    } else {
        std::borrow::Cow::Owned(r.data.iter().flat_map(|v| v.to_le_bytes()).collect())
    }
}

/// What a build did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildReport {
    /// The cache folder.
    pub dir: PathBuf,
    /// Its key.
    pub key: String,
    /// Ears cached.
    pub records: usize,
    /// Exams decoded in this run.
    pub exams_built: usize,
    /// Exams found already built (a resumed or complete cache).
    pub exams_reused: usize,
    /// Size of `data.i16`, bytes.
    pub data_bytes: u64,
    /// Ears whose crop centre came from the fallbacks (not the ear's own air).
    pub centre_fallbacks: usize,
}

/// Bytes a cache of `exams` exams would take.
pub fn estimated_bytes(spec: &CacheSpec, exams: usize) -> u64 {
    (2 * exams * spec.record_len() * 2) as u64
}

/// What [`extract_source`] made of one exam.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractedExam {
    /// Both ears, left first.
    pub ears: [EarRecord; 2],
    /// `None` for a series on a regular orthogonal grid; else how its gap, uneven steps
    /// or gantry tilt was made regular (`resampled: <findings>`).
    pub geometry: Option<String>,
}

/// Extracts both ears of one exam as `medfen cache` does: the series medfen-dicom's
/// rules choose in `src.series_dir` (it must be `src.series_uid` when one is given),
/// decoded lazily when it is a regular axial stack, resampled onto a regular grid
/// first when it is not (or refused, under [`OnIrregular::Refuse`]).
///
/// # Errors
/// An unreadable exam, another series than the index chose, an irregular series under
/// `--on-irregular refuse` ([`Error::Irregular`]), naming the exam.
pub fn extract_source(spec: &CacheSpec, src: &CacheSource) -> Result<ExtractedExam> {
    let (ears, geometry) = build_exam(spec, src)?;
    Ok(ExtractedExam { ears, geometry })
}

/// The two ears of an exam, and how an irregular geometry was made regular (`None`
/// for a regular series).
fn build_exam(spec: &CacheSpec, src: &CacheSource) -> Result<([EarRecord; 2], Option<String>)> {
    let options = ReadOptions::default();
    let scan = medfen_dicom::scan(&src.series_dir, &options.scan, &|_| {})?;
    let series = medfen_dicom::group_series(&scan.headers);
    let summaries: Vec<_> = series
        .iter()
        .map(|s| medfen_dicom::summarize(s, &scan.headers))
        .collect();
    let context = src.series_dir.display().to_string();
    let wrong = || Error::Exam {
        exam_id: src.exam_id,
        series_dir: context.clone(),
        reason: "the folder's chosen series is not the one in the index (re-run `medfen index`)"
            .into(),
    };
    if summaries.is_empty() {
        return Err(Error::Exam {
            exam_id: src.exam_id,
            series_dir: context,
            reason: "no image series".into(),
        });
    }
    let choice = medfen_dicom::choose_series(&context, &summaries, &options.policy)?;
    if !src.series_uid.is_empty() && summaries[choice.index].series_uid != src.series_uid {
        return Err(wrong());
    }
    let plan = medfen_dicom::plan_volume(&series[choice.index], &scan.headers, &options.assembly)?;
    if let Some(why) = medfen_dicom::irregularity(&plan) {
        return irregular_exam(spec, src, &plan, &scan.headers, why);
    }
    // Axial in the canonical orientation: decode only the slices (and of most, only the
    // rows) extraction reads, straight from the file offsets the scan found.
    if let Some(mut slices) = crate::shell::lazy_slices(&plan) {
        let mut reader = medfen_dicom::pixels::FrameRowReader::default();
        let mut load =
            |v: &mut LazySlices, zs: &[usize], rows: std::ops::Range<usize>| -> Result<()> {
                for &z in zs {
                    if let Some(want) = v.missing(z, rows.clone()) {
                        let s = &plan.slices[z];
                        let (header, frame) = (&scan.headers[s.header], s.frame as usize);
                        reader.read_rows(header, frame, want.clone(), v.rows_mut(z, want))?;
                    }
                }
                Ok(())
            };
        let ears = crate::roi::extract_ears_lazy(&mut slices, spec, &mut load);
        crate::shell::give_back(slices);
        return Ok((ears?, None));
    }
    let volume = medfen_dicom::load_volume::<i16>(&plan, &scan.headers, &|_| {})?;
    Ok((extract_ears(&volume, spec), None))
}

/// An exam whose series has a gap, uneven steps or gantry tilt (`why`): refused, or
/// resampled onto a regular orthogonal grid before extraction.
fn irregular_exam(
    spec: &CacheSpec,
    src: &CacheSource,
    plan: &medfen_dicom::VolumePlan,
    headers: &[medfen_dicom::DicomHeader],
    why: String,
) -> Result<([EarRecord; 2], Option<String>)> {
    let refuse = |reason: String| Error::Irregular {
        exam_id: src.exam_id,
        series_dir: src.series_dir.display().to_string(),
        reason,
    };
    if spec.on_irregular == OnIrregular::Refuse {
        return Err(refuse(why));
    }
    let volume = medfen_dicom::load_volume::<i16>(plan, headers, &|_| {})?;
    let regular = medfen_dicom::regularize(&volume, plan).map_err(|e| refuse(e.to_string()))?;
    tracing::info!(
        exam_id = src.exam_id,
        "resampled onto a regular grid: {why}"
    );
    Ok((
        extract_ears(&regular, spec),
        Some(format!("resampled: {why}")),
    ))
}

/// The report of a cache that is already complete.
fn complete_report(dir: &Path, key: String, sources: usize) -> Result<BuildReport> {
    let index = read_index(dir)?;
    Ok(BuildReport {
        dir: dir.to_path_buf(),
        key,
        records: index.len(),
        exams_built: 0,
        exams_reused: sources,
        data_bytes: std::fs::metadata(dir.join("data.i16"))
            .map_err(|e| Error::io(dir, e))?
            .len(),
        centre_fallbacks: index
            .iter()
            .filter(|m| m.placement.centre_source != CentreSource::Air)
            .count(),
    })
}

/// Opens `data.i16.partial`, sized for every record up front (taking back the data
/// file of a build stopped between renaming it and writing `COMPLETE`).
fn open_partial_data(dir: &Path, total: u64) -> Result<std::fs::File> {
    let tmp = dir.join("data.i16.partial");
    let data = dir.join("data.i16");
    if !tmp.exists() && data.exists() {
        // Its exams are checked and reused, not built again.
        std::fs::rename(&data, &tmp).map_err(|e| Error::io(&data, e))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .read(true)
        .open(&tmp)
        .map_err(|e| Error::io(&tmp, e))?;
    file.set_len(total).map_err(|e| Error::io(&tmp, e))?;
    reserve_blocks(&file, total);
    Ok(file)
}

/// A build in progress: the partial data file and the folder of exam markers.
struct PartialBuild<'a> {
    spec: &'a CacheSpec,
    file: std::fs::File,
    tmp: PathBuf,
    partial: PathBuf,
    record_len: usize,
}

impl PartialBuild<'_> {
    /// Builds the exam in `slot` unless its marker shows intact records; true when
    /// built now. Its two records are written in place, then its marker atomically:
    /// an exam whose marker exists is done, so an interrupted build resumes after it.
    fn exam(&self, slot: usize, src: &CacheSource) -> Result<bool> {
        let record_len = self.record_len;
        let meta_path = self.partial.join(format!("{}.json", src.exam_id));
        if meta_path.exists() {
            if records_intact(&self.file, &meta_path, slot, record_len) {
                return Ok(false);
            }
            tracing::warn!(
                exam_id = src.exam_id,
                "an exam marked built has records that do not match their checksums \
                 (a crash before they reached the disk?): building it again"
            );
        }
        let (ears, geometry) = build_exam(self.spec, src)?;
        let mut metas = Vec::with_capacity(2);
        for (i, ear) in ears.iter().enumerate() {
            let b = record_bytes(ear);
            metas.push(RecordMeta {
                exam_id: src.exam_id,
                side: ear.side,
                code: src.codes[i],
                split: src.split.clone(),
                placement: ear.placement.clone(),
                checksum: record_checksum(&b),
                geometry: geometry.clone(),
            });
            write_all_at(&self.file, &b, ((2 * slot + i) * 2 * record_len) as u64)
                .map_err(|e| Error::io(&self.tmp, e))?;
        }
        start_writeback(
            &self.file,
            (2 * slot * 2 * record_len) as u64,
            (2 * 2 * record_len) as u64,
        );
        // The marker of a built exam: not flushed to disk on its own (a resumed build
        // checks the records against it, and the build ends with one flush).
        let mut marker = serde_json::to_vec(&metas).map_err(|e| Error::cache(&meta_path, e))?;
        marker.push(b'\n');
        write_atomically(&meta_path, &marker)?;
        Ok(true)
    }

    /// Every exam's record metadata, in source order, from the markers.
    fn metas(&self, sources: &[CacheSource]) -> Result<Vec<RecordMeta>> {
        let mut metas: Vec<RecordMeta> = Vec::with_capacity(2 * sources.len());
        for src in sources {
            let meta_path = self.partial.join(format!("{}.json", src.exam_id));
            let m: Vec<RecordMeta> = serde_json::from_slice(
                &std::fs::read(&meta_path).map_err(|e| Error::io(&meta_path, e))?,
            )
            .map_err(|e| Error::cache(&meta_path, e))?;
            metas.extend(m);
        }
        Ok(metas)
    }
}

/// Assembles a finished build: `data.i16`, the index (both reach the disk: a reader
/// trusts them once `COMPLETE` exists), then `COMPLETE`.
fn finish_build(
    dir: &Path,
    key: &str,
    tmp: &Path,
    metas: &[RecordMeta],
    record_bytes: u64,
) -> Result<()> {
    std::fs::rename(tmp, dir.join("data.i16")).map_err(|e| Error::io(tmp, e))?;
    let table = index_table(metas, record_bytes);
    for (name, parquet) in [("index.parquet", true), ("index.csv", false)] {
        let path = dir.join(name);
        let bytes = if parquet {
            table.parquet_bytes(&path)?
        } else {
            table.csv_bytes(&path)?
        };
        write_durably(&path, &bytes)?;
    }
    write_durably(&dir.join(COMPLETE), key.as_bytes())?;
    Ok(())
}

/// Builds (or resumes, or reuses) the cache of `sources` under `root`.
///
/// # Errors
/// An invalid spec, an exam that cannot be read (naming it), or an I/O error.
pub fn build_cache(
    root: &Path,
    spec: &CacheSpec,
    sources: &[CacheSource],
    progress: &(dyn Fn(u64) + Sync),
) -> Result<BuildReport> {
    spec.validate()?;
    let (key, prints) = cache_key(spec, sources)?;
    let dir = root.join(&key);
    if dir.join(COMPLETE).exists() {
        progress(sources.len() as u64);
        return complete_report(&dir, key, sources.len());
    }
    let partial = dir.join(".partial");
    let record_len = spec.record_len();
    std::fs::create_dir_all(&partial).map_err(|e| Error::io(&partial, e))?;
    let manifest = CacheManifest {
        key: key.clone(),
        spec: spec.clone(),
        record_bytes: (record_len * 2) as u64,
        sources: sources.iter().cloned().zip(prints).collect(),
    };
    medfen_io::write_json(&dir.join("spec.json"), &manifest)?;
    let total = (2 * sources.len() * record_len * 2) as u64;
    let build = PartialBuild {
        spec,
        file: open_partial_data(&dir, total)?,
        tmp: dir.join("data.i16.partial"),
        partial: partial.clone(),
        record_len,
    };
    let outcomes: Vec<Result<bool>> = sources
        .par_iter()
        .enumerate()
        .map(|(slot, src)| {
            let built = build.exam(slot, src);
            progress(1);
            built
        })
        .collect();
    let built = every_exam_built(outcomes)?;
    build
        .file
        .sync_all()
        .map_err(|e| Error::io(&build.tmp, e))?;
    let metas = build.metas(sources)?;
    let tmp = build.tmp.clone();
    drop(build);
    finish_build(&dir, &key, &tmp, &metas, (record_len * 2) as u64)?;
    std::fs::remove_dir_all(&partial).map_err(|e| Error::io(&partial, e))?;
    let built_now = built.iter().filter(|b| **b).count();
    Ok(BuildReport {
        dir: dir.clone(),
        key,
        records: metas.len(),
        exams_built: built_now,
        exams_reused: sources.len() - built_now,
        data_bytes: (metas.len() * record_len * 2) as u64,
        centre_fallbacks: metas
            .iter()
            .filter(|m| m.placement.centre_source != CentreSource::Air)
            .count(),
    })
}

/// Whether each exam was built now; the first error, except that every exam refused
/// for its geometry is listed together.
fn every_exam_built(outcomes: Vec<Result<bool>>) -> Result<Vec<bool>> {
    let mut refused = Vec::new();
    let mut built = Vec::with_capacity(outcomes.len());
    for outcome in outcomes {
        match outcome {
            Ok(b) => built.push(b),
            Err(Error::Irregular {
                exam_id,
                series_dir,
                reason,
            }) => refused.push(format!("exam {exam_id} ({series_dir}): {reason}")),
            Err(e) => return Err(e),
        }
    }
    if refused.is_empty() {
        Ok(built)
    } else {
        Err(Error::Refused(refused))
    }
}

fn join<T: ToString>(v: &[T]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(";")
}

fn index_table(metas: &[RecordMeta], record_bytes: u64) -> Table {
    let mut t = Table::new();
    {
        t.int("exam_id", metas.iter().map(|m| Some(m.exam_id as i64)));
        t.text(
            "side",
            metas.iter().map(|m| Some(m.side.name().to_string())),
        );
        t.int("record", (0..metas.len()).map(|i| Some(i as i64)));
        t.int(
            "offset",
            (0..metas.len()).map(|i| Some(i as i64 * record_bytes as i64)),
        );
    }
    t.int("code", metas.iter().map(|m| m.code.map(i64::from)));
    t.text("split", metas.iter().map(|m| m.split.clone()));
    t.text(
        "slice_indices",
        metas.iter().map(|m| Some(join(&m.placement.slice_indices))),
    );
    t.text(
        "z_mm",
        metas.iter().map(|m| {
            Some(
                m.placement
                    .z_mm
                    .iter()
                    .map(|z| format!("{z:.4}"))
                    .collect::<Vec<_>>()
                    .join(";"),
            )
        }),
    );
    t.float(
        "centre_x_mm",
        metas.iter().map(|m| Some(m.placement.centre_mm[0])),
    );
    t.float(
        "centre_y_mm",
        metas.iter().map(|m| Some(m.placement.centre_mm[1])),
    );
    t.float(
        "centre_row_vox",
        metas.iter().map(|m| Some(m.placement.centre_vox[0])),
    );
    t.float(
        "centre_col_vox",
        metas.iter().map(|m| Some(m.placement.centre_vox[1])),
    );
    t.float(
        "pixel_row_mm",
        metas.iter().map(|m| Some(m.placement.pixel_mm[0])),
    );
    t.float(
        "pixel_col_mm",
        metas.iter().map(|m| Some(m.placement.pixel_mm[1])),
    );
    t.float(
        "midline_x_mm",
        metas.iter().map(|m| Some(m.placement.midline_mm)),
    );
    t.text(
        "centre_source",
        metas.iter().map(|m| {
            serde_json::to_value(m.placement.centre_source)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
        }),
    );
    t.float(
        "padded_fraction",
        metas.iter().map(|m| Some(m.placement.padded_fraction)),
    );
    t.text("geometry", metas.iter().map(|m| m.geometry.clone()));
    t.text("xxh3_128", metas.iter().map(|m| Some(m.checksum.clone())));
    t
}

/// Reads a cache's index.
///
/// # Errors
/// Missing or malformed files, naming them.
pub fn read_index(dir: &Path) -> Result<Vec<RecordMeta>> {
    let path = dir.join("index.parquet");
    let t = Table::read(&path)?;
    let ids = t.ints("exam_id")?;
    let sides = t.texts("side")?;
    let codes = t.ints("code")?;
    let splits = t.texts("split")?;
    let slices = t.texts("slice_indices")?;
    let zs = t.texts("z_mm")?;
    let f = |n: &str| t.floats(n);
    let (cx, cy, ry, rx, py, px, mid) = (
        f("centre_x_mm")?,
        f("centre_y_mm")?,
        f("centre_row_vox")?,
        f("centre_col_vox")?,
        f("pixel_row_mm")?,
        f("pixel_col_mm")?,
        f("midline_x_mm")?,
    );
    let sources = t.texts("centre_source")?;
    let padded = f("padded_fraction")?;
    let geometry = t.texts("geometry")?;
    let sums = t.texts("xxh3_128")?;
    let parse_list = |s: &Option<String>| -> Vec<f64> {
        s.as_deref()
            .unwrap_or_default()
            .split(';')
            .filter(|x| !x.is_empty())
            .filter_map(|x| x.parse().ok())
            .collect()
    };
    (0..t.rows())
        .map(|i| {
            let bad = |what: &str| Error::cache(&path, format!("row {}: {what}", i + 1));
            Ok(RecordMeta {
                exam_id: ids[i]
                    .and_then(|v| u64::try_from(v).ok())
                    .ok_or_else(|| bad("exam id"))?,
                side: sides[i]
                    .as_deref()
                    .and_then(Side::parse)
                    .ok_or_else(|| bad("side"))?,
                code: codes[i].and_then(|c| u8::try_from(c).ok()),
                split: splits[i].clone(),
                placement: Placement {
                    slice_indices: parse_list(&slices[i])
                        .into_iter()
                        .map(|v| v as usize)
                        .collect(),
                    z_mm: parse_list(&zs[i]),
                    centre_mm: [cx[i].unwrap_or_default(), cy[i].unwrap_or_default()],
                    centre_vox: [ry[i].unwrap_or_default(), rx[i].unwrap_or_default()],
                    pixel_mm: [py[i].unwrap_or_default(), px[i].unwrap_or_default()],
                    midline_mm: mid[i].unwrap_or_default(),
                    centre_source: sources[i]
                        .as_deref()
                        .and_then(|s| {
                            serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
                        })
                        .ok_or_else(|| bad("centre source"))?,
                    padded_fraction: padded[i].unwrap_or_default(),
                },
                checksum: sums[i].clone().unwrap_or_default(),
                geometry: geometry[i].clone(),
            })
        })
        .collect()
}

/// The checksum of a record's bytes: XXH3-128 in hex. It detects corruption (what
/// `verify` is for) at memory speed; SHA-256 took 8% of the build.
pub(crate) fn record_checksum(bytes: &[u8]) -> String {
    hex::encode(twox_hash::XxHash3_128::oneshot(bytes).to_be_bytes())
}
