//! Reading columns of CSV and Parquet tables that users hand to medfen.
//!
//! Columns keep the type the file gives them (text, integer, float, boolean) and are
//! converted on access with errors that name the file, the column and the row.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// One column as stored in the file.
#[derive(Debug, Clone, PartialEq)]
pub enum RawColumn {
    /// Text (every CSV column; string columns of Parquet).
    Text(Vec<Option<String>>),
    /// Integers.
    Int(Vec<Option<i64>>),
    /// Floating-point numbers.
    Float(Vec<Option<f64>>),
    /// Booleans.
    Bool(Vec<Option<bool>>),
}

/// Selected columns of a table.
#[derive(Debug, Clone)]
pub struct Table {
    path: PathBuf,
    rows: usize,
    /// First data row's number as a person counts it (CSV: line 2; Parquet: row 1).
    first_row: usize,
    columns: BTreeMap<String, RawColumn>,
}

impl Table {
    /// Reads the named columns of a `.csv` or `.parquet` file (chosen by extension).
    ///
    /// # Errors
    /// When the file cannot be read or parsed, or lacks a column (the message lists the
    /// columns it has).
    pub fn read(path: &Path, wanted: &[&str]) -> Result<Self> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") => read_csv(path, wanted),
            Some("parquet" | "pq") => read_parquet(path, wanted),
            _ => bail!(
                "{}: unsupported table format (expected .csv or .parquet)",
                path.display()
            ),
        }
    }

    /// Number of data rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// How a person refers to row `i` (0-based data row) of this file.
    pub fn row_name(&self, i: usize) -> String {
        if self.first_row == 2 {
            format!("line {}", i + 2)
        } else {
            format!("row {}", i + 1)
        }
    }

    fn column(&self, name: &str) -> &RawColumn {
        &self.columns[name]
    }

    /// The column as numbers; empty cells are `None`.
    ///
    /// # Errors
    /// On a cell that is not a number, naming file, column, row and text.
    pub fn floats(&self, name: &str) -> Result<Vec<Option<f64>>> {
        Ok(match self.column(name) {
            RawColumn::Float(v) => v.clone(),
            RawColumn::Int(v) => v.iter().map(|x| x.map(|x| x as f64)).collect(),
            RawColumn::Bool(v) => v
                .iter()
                .map(|x| x.map(|b| f64::from(u8::from(b))))
                .collect(),
            RawColumn::Text(v) => v
                .iter()
                .enumerate()
                .map(|(i, cell)| match cell.as_deref().map(str::trim) {
                    None | Some("") => Ok(None),
                    Some(t) => t.parse::<f64>().map(Some).map_err(|_| {
                        anyhow::anyhow!(
                            "{}: column `{name}`, {}: `{t}` is not a number",
                            self.path.display(),
                            self.row_name(i)
                        )
                    }),
                })
                .collect::<Result<_>>()?,
        })
    }

    /// The column as text (numbers formatted without a trailing `.0` for integers).
    pub fn texts(&self, name: &str) -> Vec<Option<String>> {
        match self.column(name) {
            RawColumn::Text(v) => v
                .iter()
                .map(|c| {
                    c.as_ref()
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                })
                .collect(),
            RawColumn::Int(v) => v.iter().map(|x| x.map(|x| x.to_string())).collect(),
            RawColumn::Float(v) => v.iter().map(|x| x.map(|x| x.to_string())).collect(),
            RawColumn::Bool(v) => v.iter().map(|x| x.map(|x| x.to_string())).collect(),
        }
    }

    /// Binary labels: 1/0, 1.0/0.0, true/false (any case), yes/no; empty cells are `None`.
    ///
    /// # Errors
    /// On any other value, naming file, column, row and value.
    pub fn binary_labels(&self, name: &str) -> Result<Vec<Option<bool>>> {
        self.texts(name)
            .into_iter()
            .enumerate()
            .map(|(i, cell)| match cell.as_deref().map(str::to_ascii_lowercase).as_deref() {
                None => Ok(None),
                Some("1" | "1.0" | "true" | "yes" | "pos" | "positive") => Ok(Some(true)),
                Some("0" | "0.0" | "-0" | "false" | "no" | "neg" | "negative") => Ok(Some(false)),
                Some(other) => bail!(
                    "{}: column `{name}`, {}: label `{other}` is not binary (expected 0/1 or true/false)",
                    self.path.display(),
                    self.row_name(i)
                ),
            })
            .collect()
    }

    /// The path the table was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn missing_column(path: &Path, name: &str, available: &[String]) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: no column `{name}` (columns: {})",
        path.display(),
        available.join(", ")
    )
}

fn read_csv(path: &Path, wanted: &[&str]) -> Result<Table> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let headers: Vec<String> = reader
        .headers()
        .with_context(|| format!("{}: cannot read the header line", path.display()))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
        .collect();
    let mut index = Vec::with_capacity(wanted.len());
    for name in wanted {
        let i = headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| missing_column(path, name, &headers))?;
        index.push((*name, i));
    }
    let mut cols: Vec<Vec<Option<String>>> = vec![Vec::new(); wanted.len()];
    for (row, record) in reader.records().enumerate() {
        let record =
            record.with_context(|| format!("{}: cannot parse line {}", path.display(), row + 2))?;
        for (k, &(_, i)) in index.iter().enumerate() {
            cols[k].push(
                record
                    .get(i)
                    .map(str::to_owned)
                    .filter(|s| !s.trim().is_empty()),
            );
        }
    }
    let rows = cols.first().map_or(0, Vec::len);
    let columns = index
        .iter()
        .map(|(n, _)| (*n).to_owned())
        .zip(cols.into_iter().map(RawColumn::Text))
        .collect();
    Ok(Table {
        path: path.to_path_buf(),
        rows,
        first_row: 2,
        columns,
    })
}

fn read_parquet(path: &Path, wanted: &[&str]) -> Result<Table> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .with_context(|| format!("{}: not a readable Parquet file", path.display()))?;
    let schema = builder.schema().clone();
    let available: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    for name in wanted {
        if !available.iter().any(|a| a == name) {
            return Err(missing_column(path, name, &available));
        }
    }
    let reader = builder
        .build()
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let mut columns: BTreeMap<String, RawColumn> = BTreeMap::new();
    let mut rows = 0;
    for batch in reader {
        let batch =
            batch.with_context(|| format!("{}: cannot decode a row group", path.display()))?;
        rows += batch.num_rows();
        for name in wanted {
            let array = batch.column_by_name(name).expect("column checked above");
            let part =
                convert(array).with_context(|| format!("{}: column `{name}`", path.display()))?;
            append(
                columns
                    .entry((*name).to_owned())
                    .or_insert_with(|| empty_like(&part)),
                part,
            );
        }
    }
    for name in wanted {
        columns
            .entry((*name).to_owned())
            .or_insert(RawColumn::Text(Vec::new()));
    }
    Ok(Table {
        path: path.to_path_buf(),
        rows,
        first_row: 1,
        columns,
    })
}

fn empty_like(c: &RawColumn) -> RawColumn {
    match c {
        RawColumn::Text(_) => RawColumn::Text(Vec::new()),
        RawColumn::Int(_) => RawColumn::Int(Vec::new()),
        RawColumn::Float(_) => RawColumn::Float(Vec::new()),
        RawColumn::Bool(_) => RawColumn::Bool(Vec::new()),
    }
}

fn append(into: &mut RawColumn, part: RawColumn) {
    match (into, part) {
        (RawColumn::Text(a), RawColumn::Text(b)) => a.extend(b),
        (RawColumn::Int(a), RawColumn::Int(b)) => a.extend(b),
        (RawColumn::Float(a), RawColumn::Float(b)) => a.extend(b),
        (RawColumn::Bool(a), RawColumn::Bool(b)) => a.extend(b),
        _ => unreachable!("a Parquet column has one type in every row group"),
    }
}

fn convert(array: &ArrayRef) -> Result<RawColumn> {
    let dt = array.data_type();
    Ok(match dt {
        DataType::Boolean => RawColumn::Bool(array.as_boolean().iter().collect()),
        DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::Decimal128(..) => {
            let cast = arrow_cast::cast(array, &DataType::Float64)?;
            RawColumn::Float(cast.as_primitive::<Float64Type>().iter().collect())
        }
        d if d.is_integer() => {
            let cast = arrow_cast::cast(array, &DataType::Int64)?;
            RawColumn::Int(cast.as_primitive::<Int64Type>().iter().collect())
        }
        _ => {
            let cast = arrow_cast::cast(array, &DataType::Utf8)
                .map_err(|e| anyhow::anyhow!("cannot read type {dt} as text: {e}"))?;
            let strings = cast.as_string::<i32>();
            RawColumn::Text(
                (0..strings.len())
                    .map(|i| (!strings.is_null(i)).then(|| strings.value(i).to_owned()))
                    .collect(),
            )
        }
    })
}
