//! medfen's file plumbing, shared by every other medfen crate: column tables written as
//! Parquet with a CSV twin and read back with typed accessors ([`Table`]), atomic and
//! durable writes ([`write_atomically`], [`write_durably`], [`write_with`]), JSON files
//! and versioned sidecars ([`write_json`], [`read_json`], [`FileFormat`]), file
//! fingerprints ([`file_sha256`]), positioned reads and writes that threads can share
//! ([`read_exact_at`], [`write_all_at`]), and memory settings for large buffers
//! ([`advise_huge_pages`], [`reuse_freed_memory`]).
//!
//! It knows nothing about DICOM, ears or models; the crates that own a stage's files
//! (medfen-tasks, medfen-cache, medfen-models) build their typed readers on it.
//!
//! # Example
//!
//! A stage writes a table and a versioned sidecar; the next stage reads them back and
//! is refused a sidecar of another version:
//!
//! ```
//! use medfen_io::{FileFormat, Table, write_json};
//!
//! const REPORT: FileFormat =
//!     FileFormat { name: "medfen-example", version: 1, written_by: "medfen example" };
//!
//! let dir = tempfile::tempdir()?;
//! let mut t = Table::new();
//! t.int("exam_id", [Some(1), Some(2)]);
//! t.float("y_prob", [Some(0.25), None]);
//! t.write_parquet_and_csv(&dir.path().join("rows.parquet"))?;
//! write_json(&dir.path().join("rows.json"), &serde_json::json!({"format": REPORT.tag(), "rows": 2}))?;
//!
//! let back = Table::read(&dir.path().join("rows.csv"))?;
//! assert_eq!(back.floats("y_prob")?, [Some(0.25), None]);
//! let report: serde_json::Value = REPORT.read(&dir.path().join("rows.json"))?;
//! assert_eq!(report["rows"], 2);
//! let newer = FileFormat { version: 2, ..REPORT };
//! assert!(newer.read::<serde_json::Value>(&dir.path().join("rows.json")).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod atomic;
mod error;
mod hash;
mod json;
mod memory;
mod npy;
mod positioned;
mod table;

pub use atomic::{write_atomically, write_durably, write_with};
pub use error::{Error, Result};
pub use hash::{file_sha256, sha256_hex};
pub use json::{FileFormat, read_json, write_json, write_json_quickly};
pub use memory::{advise_huge_pages, reuse_freed_memory};
pub use npy::{NpyElement, write_npy};
pub use positioned::{read_exact_at, write_all_at};
pub use table::{Column, Table};
