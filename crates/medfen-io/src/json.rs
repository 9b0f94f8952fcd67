//! JSON files: written pretty with a final newline, atomically; read with errors that
//! name the file; and versioned sidecars ([`FileFormat`]) whose readers refuse a file of
//! another kind or version with a message saying which command writes a readable one.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::atomic::{write_atomically, write_durably};
use crate::error::{Error, Result};

fn pretty(path: &Path, value: &impl Serialize) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::json(path, e))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Writes `value` as pretty JSON with a final newline, atomically and durably (JSON
/// files are small and are often what a resumed run trusts).
///
/// # Errors
/// Serialisation or I/O errors naming `path`.
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    write_durably(path, &pretty(path, value)?)
}

/// As [`write_json`] without the flush to disk, for exports a rerun regenerates.
///
/// # Errors
/// Serialisation or I/O errors naming `path`.
pub fn write_json_quickly(path: &Path, value: &impl Serialize) -> Result<()> {
    write_atomically(path, &pretty(path, value)?)
}

/// Reads a JSON file into `T`.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read, [`Error::Json`] naming the file and the
/// parser's complaint otherwise.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::json(path, e))
}

/// The kind and version of a file one medfen stage hands to another.
///
/// Sidecar JSON files carry it as their `format` field, e.g. `"medfen-split/1"`. A
/// reader checks it before anything else, so a file of another kind, an older layout or
/// a newer medfen is refused with a message instead of misread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileFormat {
    /// What the file is, e.g. `medfen-split`.
    pub name: &'static str,
    /// The layout version; bumped whenever a reader of the old layout would misread it.
    pub version: u32,
    /// The command that writes it, for the error message (e.g. `medfen split`).
    pub written_by: &'static str,
}

impl FileFormat {
    /// `name/version`, the value of the `format` field.
    pub fn tag(&self) -> String {
        format!("{}/{}", self.name, self.version)
    }

    /// Checks the `format` field of a parsed JSON document.
    ///
    /// # Errors
    /// [`Error::Format`] naming `path`, what it holds and what to run instead.
    pub fn check(&self, path: &Path, document: &serde_json::Value) -> Result<()> {
        let found = document.get("format").and_then(serde_json::Value::as_str);
        let reason = match found {
            Some(tag) if tag == self.tag() => return Ok(()),
            Some(tag) if tag.split('/').next() == Some(self.name) => format!(
                "is {tag}, this medfen reads {} (re-run `{}` with this medfen)",
                self.tag(),
                self.written_by
            ),
            Some(tag) => format!(
                "is a {tag} file, not {} (from `{}`)",
                self.tag(),
                self.written_by
            ),
            None => format!(
                "has no `format` field: not a {} file, or one written by an older medfen \
                 (re-run `{}`)",
                self.tag(),
                self.written_by
            ),
        };
        Err(Error::Format {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Reads a versioned JSON file: checks its `format` field, then parses it as `T`.
    ///
    /// # Errors
    /// As [`FileFormat::check`] and [`read_json`].
    pub fn read<T: DeserializeOwned>(&self, path: &Path) -> Result<T> {
        let document: serde_json::Value = read_json(path)?;
        self.check(path, &document)?;
        serde_json::from_value(document).map_err(|e| Error::json(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPLIT: FileFormat = FileFormat {
        name: "medfen-split",
        version: 2,
        written_by: "medfen split",
    };

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Doc {
        format: String,
        n: u32,
    }

    #[test]
    fn versioned_files_are_checked_before_they_are_parsed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("split.json");
        let doc = Doc {
            format: SPLIT.tag(),
            n: 3,
        };
        write_json(&path, &doc).unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().ends_with("}\n"));
        assert_eq!(SPLIT.read::<Doc>(&path).unwrap(), doc);

        let old = Doc {
            format: "medfen-split/1".into(),
            n: 3,
        };
        write_json(&path, &old).unwrap();
        let err = SPLIT.read::<Doc>(&path).unwrap_err().to_string();
        assert!(
            err.contains("split.json") && err.contains("re-run `medfen split`"),
            "{err}"
        );

        write_json(&path, &serde_json::json!({"n": 3})).unwrap();
        let err = SPLIT.read::<Doc>(&path).unwrap_err().to_string();
        assert!(err.contains("no `format` field"), "{err}");

        write_json(&path, &serde_json::json!({"format": "medfen-cache/1"})).unwrap();
        let err = SPLIT.read::<Doc>(&path).unwrap_err().to_string();
        assert!(err.contains("is a medfen-cache/1 file"), "{err}");
    }
}
