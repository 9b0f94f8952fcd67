//! CSV encoding and decoding of [`Table`]s.

use std::path::Path;

use super::{Column, Table, missing_column};
use crate::error::{Error, Result};

/// The table's CSV bytes: a header row, then one line per row; missing values empty.
pub(super) fn encode(table: &Table, path: &Path) -> Result<Vec<u8>> {
    let bad = |e: csv::Error| Error::table(path, e);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(table.columns.iter().map(|e| e.name.as_str()))
        .map_err(bad)?;
    for r in 0..table.rows() {
        w.write_record(table.columns.iter().map(|e| e.values.csv_cell(r)))
            .map_err(bad)?;
    }
    w.into_inner().map_err(|e| Error::table(path, e))
}

/// Reads the `wanted` columns (all when `None`) of a CSV file as text; empty cells are
/// missing values.
/// The column names of a CSV file (its header line).
pub(super) fn header(path: &Path) -> Result<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .map_err(|e| Error::table(path, format!("cannot open: {e}")))?;
    Ok(reader
        .headers()
        .map_err(|e| Error::table(path, format!("cannot read the header line: {e}")))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
        .collect())
}

pub(super) fn decode(path: &Path, wanted: Option<&[&str]>) -> Result<Vec<(String, Column)>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .map_err(|e| Error::table(path, format!("cannot open: {e}")))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| Error::table(path, format!("cannot read the header line: {e}")))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
        .collect();
    let picked: Vec<(String, usize)> = match wanted {
        Some(w) => w
            .iter()
            .map(|name| {
                headers
                    .iter()
                    .position(|h| h == name)
                    .map(|i| ((*name).to_owned(), i))
                    .ok_or_else(|| missing_column(path, name, &headers))
            })
            .collect::<Result<_>>()?,
        None => headers.iter().cloned().zip(0..).collect(),
    };
    let mut cells: Vec<Vec<Option<String>>> = vec![Vec::new(); picked.len()];
    for (row, record) in reader.records().enumerate() {
        let record = record
            .map_err(|e| Error::table(path, format!("cannot parse line {}: {e}", row + 2)))?;
        for (k, (_, i)) in picked.iter().enumerate() {
            cells[k].push(
                record
                    .get(*i)
                    .filter(|s| !s.trim().is_empty())
                    .map(str::to_owned),
            );
        }
    }
    Ok(picked
        .into_iter()
        .zip(cells)
        .map(|((name, _), v)| (name, Column::Text(v)))
        .collect())
}
