//! Phantom temporal-bone CT datasets with known lesions, in every input format medfen
//! reads.
//!
//! There is no patient data in CI, so every stage of medfen is tested (and the demo
//! runs) on datasets this crate makes. A dataset is a cohort of patients (some with two
//! exams) whose heads are analytic phantoms: skull, sinuses and two temporal bones with
//! the ear canal, middle-ear cavity, attic, antrum, mastoid air cells, ossicles and
//! inner ear, placed in the scanner with a pose. Each ear carries the lesion of its
//! diagnosis code:
//!
//! | code | diagnosis | phantom |
//! |---|---|---|
//! | 1 | chronic suppurative otitis media | thickened mucosa, soft-tissue patch, sclerotic mastoid |
//! | 2 | cholesteatoma | expansile soft-tissue mass from the attic, eroding ossicles and scutum |
//! | 3 | otitis media with effusion | fluid below a horizontal air-fluid level |
//! | 4 | cholesterol granuloma | expansile, slightly denser mass with a remodelled rim |
//! | 5 | normal | aerated (at medium/hard, sometimes a benign variant) |
//! | 6 | other | a small soft-tissue focus and thin mucosa |
//!
//! The patient's left ear is at +x of the LPS frame: a pipeline that swaps sides, orders
//! slices wrongly or crops beside the ear fails visibly against `truth.parquet`, which
//! gives every lesion's box in millimetres and in voxels. Everything derives from
//! (seed, purpose, item): the same options give byte-identical files.
//!
//! Formats ([`OutputFormat`]): the ear-CT DICOM tree with `labels.xlsx` (the default),
//! NIfTI volumes with a label CSV, multi-modal PNG slices, and 2D whole-body bone scans.
//! `docs/synth.md` describes the layouts and every table column.
//!
//! # Example
//!
//! ```
//! use medfen_synth::{SynthConfig, SynthPlan, Difficulty};
//!
//! let dir = tempfile::tempdir()?;
//! let config = SynthConfig::new(dir.path())
//!     .with_exams(2)
//!     .with_matrix(64)
//!     .with_difficulty(Difficulty::Easy);
//! let plan = SynthPlan::new(&config)?;
//! let report = plan.generate(&|_| {})?;
//! assert_eq!(report.exams, 2);
//! assert_eq!(report.ears_by_code.iter().sum::<usize>(), 4);
//! assert!(dir.path().join("labels.xlsx").is_file());
//! assert!(dir.path().join("truth.parquet").is_file());
//!
//! // Every exam reads back as a volume with medfen-dicom; the bone series is chosen.
//! let exams: Vec<_> = std::fs::read_dir(dir.path().join("dicom"))?
//!     .flat_map(|date| std::fs::read_dir(date.unwrap().path()).unwrap())
//!     .map(|e| e.unwrap().path())
//!     .collect();
//! assert_eq!(exams.len(), 2);
//! let loaded = medfen_dicom::read_dicom::<i16>(
//!     &exams[0],
//!     &medfen_dicom::ReadOptions::default(),
//!     &|_| {},
//! )?;
//! assert!(loaded.volume.shape[0] >= 8);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod bonescan;
mod cohort;
mod config;
mod ct;
mod dataset;
mod defects;
mod error;
mod labels;
mod modalities;
mod nifti_out;
mod phantom;
mod random;
mod render;
mod scanner;
mod shapes;
mod truth;

pub use config::{
    CodeFrequencies, Difficulty, DiseasedSides, OutputFormat, SyntaxChoice, SynthConfig,
};
pub use ct::SeriesRole;
pub use dataset::{STAMP, SynthPlan, SynthReport, generate};
pub use defects::{DefectKind, PlantedDefect};
pub use error::{Error, Result};
pub use labels::{COLUMNS as LABEL_COLUMNS, SHEET as LABEL_SHEET};
pub use phantom::{NormalVariant, Side};
