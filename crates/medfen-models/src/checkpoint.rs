//! Saving and loading model weights as safetensors, atomically.
//!
//! tch chooses the file format from the extension, so checkpoints must end in
//! `.safetensors` (anything else would silently become libtorch's C++ format). Writes
//! go to a temporary `.safetensors` file in the same directory, are flushed to disk and
//! then renamed over the destination: an interrupted save never leaves a truncated
//! checkpoint behind.

use std::fs;
use std::path::{Path, PathBuf};

use tch::nn::VarStore;

use crate::error::{Error, Result};

/// Writes every variable of `vs` (trainable weights and buffers such as BatchNorm
/// running statistics) to `path`, atomically.
///
/// # Errors
/// [`Error::CheckpointExtension`] unless `path` ends in `.safetensors`;
/// [`Error::CheckpointWrite`] or [`Error::Io`] when writing fails.
pub fn save(vs: &VarStore, path: &Path) -> Result<()> {
    require_safetensors(path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{stem}.tmp-{}.safetensors", std::process::id()));
    // safetensors holds contiguous data: channels-last weights are written as
    // contiguous copies (loading copies back into whatever layout the model uses).
    let mut tensors: Vec<(String, tch::Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(name, t)| (name, t.contiguous()))
        .collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    tch::Tensor::write_safetensors(&tensors, &tmp).map_err(|source| Error::CheckpointWrite {
        path: path.to_path_buf(),
        source,
    })?;
    let synced = fs::File::open(&tmp).and_then(|f| f.sync_all());
    let renamed = synced.and_then(|()| fs::rename(&tmp, path));
    if let Err(source) = renamed {
        let _ = fs::remove_file(&tmp);
        return Err(Error::Io {
            path: path.to_path_buf(),
            source,
        });
    }
    Ok(())
}

/// Loads the variables of `vs` from the safetensors file at `path`.
///
/// Every variable of `vs` must be present in the file with the same shape.
///
/// # Errors
/// [`Error::CheckpointExtension`] unless `path` ends in `.safetensors`;
/// [`Error::CheckpointRead`] when the file is missing, unreadable, lacks a variable or
/// has a different shape.
pub fn load(vs: &mut VarStore, path: &Path) -> Result<()> {
    require_safetensors(path)?;
    vs.load(path).map_err(|source| Error::CheckpointRead {
        path: path.to_path_buf(),
        source,
    })
}

fn require_safetensors(path: &Path) -> Result<()> {
    if path.extension().and_then(|e| e.to_str()) == Some("safetensors") {
        Ok(())
    } else {
        Err(Error::CheckpointExtension(path.to_path_buf()))
    }
}
