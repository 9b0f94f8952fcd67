//! The error type of medfen-dicom: every variant names the file, series or attribute.

use std::path::PathBuf;

/// Everything that can go wrong reading images.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file medfen writes could not be written (medfen-io's error names it).
    #[error(transparent)]
    File(#[from] medfen_io::Error),
    /// The file is not DICOM (no `DICM` marker after the 128-byte preamble).
    #[error("{path}: not a DICOM file (no DICM marker at byte 128)")]
    NotDicom {
        /// The file.
        path: PathBuf,
    },
    /// The DICOM data could not be parsed (truncated file, broken lengths, ...).
    #[error("{path}: cannot parse DICOM: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser reported.
        reason: String,
    },
    /// A required attribute is missing.
    #[error("{path}: missing {attribute}")]
    MissingAttribute {
        /// The file.
        path: PathBuf,
        /// Attribute name and tag, e.g. `Rows (0028,0010)`.
        attribute: &'static str,
    },
    /// An attribute has a value medfen cannot use.
    #[error("{path}: {attribute} = {value:?}: {reason}")]
    InvalidAttribute {
        /// The file.
        path: PathBuf,
        /// Attribute name and tag.
        attribute: &'static str,
        /// The value as found.
        value: String,
        /// Why it is unusable.
        reason: &'static str,
    },
    /// The file holds no pixel data (a report, a DICOMDIR, a presentation state...).
    #[error("{path}: no PixelData (SOP class {sop_class})")]
    NoPixelData {
        /// The file.
        path: PathBuf,
        /// Its SOP class UID.
        sop_class: String,
    },
    /// The data set is encoded differently from what its transfer syntax declares
    /// (implicit VR under an explicit-VR syntax or the reverse). pydicom guesses the
    /// encoding; medfen refuses rather than guess.
    #[error("{path}: mislabeled file: {reason}")]
    MislabeledEncoding {
        /// The file.
        path: PathBuf,
        /// What was declared and what was found.
        reason: String,
    },
    /// The pixel data is compressed with a transfer syntax medfen cannot decode.
    #[error("{path}: unsupported transfer syntax {uid} ({name})")]
    UnsupportedTransferSyntax {
        /// The file.
        path: PathBuf,
        /// Transfer syntax UID.
        uid: String,
        /// Its name.
        name: String,
    },
    /// The image is of a kind medfen does not read (colour, palette, float pixels...).
    #[error("{path}: unsupported image: {reason}")]
    UnsupportedImage {
        /// The file.
        path: PathBuf,
        /// What is unsupported.
        reason: String,
    },
    /// Compressed pixel data could not be decoded.
    #[error("{path}: cannot decode frame {frame}: {reason}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// Frame index (0-based).
        frame: u32,
        /// What went wrong.
        reason: String,
    },
    /// Pixel data shorter than rows x columns x frames requires.
    #[error("{path}: pixel data has {found} bytes, {expected} expected (truncated?)")]
    PixelDataLength {
        /// The file.
        path: PathBuf,
        /// Bytes required.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// A series cannot form one volume (mixed orientation or size, too few slices...).
    #[error("series {series}: {reason} ({})", files_list(.files))]
    Geometry {
        /// Series instance UID (with a suffix when the series was split).
        series: String,
        /// What is inconsistent.
        reason: String,
        /// Files involved.
        files: Vec<PathBuf>,
    },
    /// No series qualifies under the selection policy.
    #[error("{context}: no usable series: {reason}")]
    NoSeries {
        /// Folder or exam.
        context: String,
        /// Why every candidate was rejected.
        reason: String,
    },
    /// Several series remain equally good and the policy does not break the tie.
    #[error("{context}: cannot choose between series {}: {reason} (set a tie-break policy or pick one)", .candidates.join(", "))]
    AmbiguousSeries {
        /// Folder or exam.
        context: String,
        /// Series that tie.
        candidates: Vec<String>,
        /// What they tie on.
        reason: String,
    },
    /// A NIfTI file could not be read.
    #[error("{path}: NIfTI: {reason}")]
    Nifti {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A 2D image (PNG, JPEG) could not be read.
    #[error("{path}: image: {reason}")]
    Image {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// No input files were found.
    #[error("{0}: no DICOM, NIfTI or image files found")]
    NothingFound(PathBuf),
}

fn files_list(files: &[PathBuf]) -> String {
    const SHOWN: usize = 6;
    let mut names: Vec<String> = files
        .iter()
        .take(SHOWN)
        .map(|p| p.display().to_string())
        .collect();
    if files.len() > SHOWN {
        names.push(format!("and {} more", files.len() - SHOWN));
    }
    if names.is_empty() {
        "no files".into()
    } else {
        names.join(", ")
    }
}

/// `Result` with this crate's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The I/O error for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
