//! Column tables: built column by column and written as Parquet with a CSV twin (pandas,
//! polars, R and a spreadsheet open both), or read from either format with typed
//! accessors whose errors name the file, the column and the row.
//!
//! Columns are 64-bit integers, 64-bit floats, UTF-8 text or booleans, each value
//! optional. A CSV file reads as text columns (an empty cell is a missing value); the
//! accessors convert on demand, so a stage file reads the same from either twin.

mod csv_io;
mod parquet_io;

use std::path::{Path, PathBuf};

use crate::atomic::write_atomically;
use crate::error::{Error, Result};

/// One column's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// 64-bit integers.
    Int(Vec<Option<i64>>),
    /// 64-bit floats.
    Float(Vec<Option<f64>>),
    /// UTF-8 text.
    Text(Vec<Option<String>>),
    /// Booleans.
    Bool(Vec<Option<bool>>),
}

impl Column {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Self::Int(v) => v.len(),
            Self::Float(v) => v.len(),
            Self::Text(v) => v.len(),
            Self::Bool(v) => v.len(),
        }
    }

    /// True when the column has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `row` as CSV writes it (empty when missing).
    fn csv_cell(&self, row: usize) -> String {
        match self {
            Self::Int(v) => v[row].map(|x| x.to_string()).unwrap_or_default(),
            Self::Float(v) => v[row].map(|x| x.to_string()).unwrap_or_default(),
            Self::Text(v) => v[row].clone().unwrap_or_default(),
            Self::Bool(v) => v[row].map(|x| x.to_string()).unwrap_or_default(),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Self::Int(_) => "integer",
            Self::Float(_) => "float",
            Self::Text(_) => "text",
            Self::Bool(_) => "boolean",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    name: String,
    values: Column,
    /// Whether the Parquet schema declares the column nullable.
    nullable: bool,
}

/// A table of named columns, built in memory or read from a Parquet or CSV file.
///
/// ```
/// use medfen_io::Table;
///
/// let dir = tempfile::tempdir()?;
/// let mut t = Table::new();
/// t.int("exam_id", [Some(7), Some(9)]);
/// t.text("side", [Some("left".to_string()), None]);
/// t.write_parquet(&dir.path().join("ears.parquet"))?;
/// t.write_csv(&dir.path().join("ears.csv"))?;
/// for file in ["ears.parquet", "ears.csv"] {
///     let back = Table::read(&dir.path().join(file))?;
///     assert_eq!(back.ints("exam_id")?, [Some(7), Some(9)]);
///     assert_eq!(back.texts("side")?, [Some("left".to_string()), None]);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    columns: Vec<Entry>,
    /// The file it was read from (named in errors).
    source: Option<PathBuf>,
    /// Whether rows are named as CSV lines (header on line 1) or Parquet rows.
    csv_lines: bool,
    /// Key-value metadata stored in a Parquet file's footer (CSV has none).
    metadata: Vec<(String, String)>,
}

impl Table {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a column (nullable).
    pub fn push(&mut self, name: impl Into<String>, values: Column) {
        self.columns.push(Entry {
            name: name.into(),
            values,
            nullable: true,
        });
    }

    /// Appends an integer column.
    pub fn int(&mut self, name: &str, v: impl IntoIterator<Item = Option<i64>>) {
        self.push(name, Column::Int(v.into_iter().collect()));
    }

    /// Appends a float column.
    pub fn float(&mut self, name: &str, v: impl IntoIterator<Item = Option<f64>>) {
        self.push(name, Column::Float(v.into_iter().collect()));
    }

    /// Appends a text column.
    pub fn text(&mut self, name: &str, v: impl IntoIterator<Item = Option<String>>) {
        self.push(name, Column::Text(v.into_iter().collect()));
    }

    /// Appends a boolean column.
    pub fn boolean(&mut self, name: &str, v: impl IntoIterator<Item = Option<bool>>) {
        self.push(name, Column::Bool(v.into_iter().collect()));
    }

    /// Appends a boolean column that has a value in every row; Parquet declares it
    /// non-nullable.
    pub fn flag(&mut self, name: &str, v: impl IntoIterator<Item = bool>) {
        self.columns.push(Entry {
            name: name.into(),
            values: Column::Bool(v.into_iter().map(Some).collect()),
            nullable: false,
        });
    }

    /// Sets a key-value pair stored in the footer of the Parquet file (CSV twins carry
    /// no metadata), e.g. the table's format version.
    pub fn set_metadata(&mut self, key: &str, value: &str) {
        self.metadata.retain(|(k, _)| k != key);
        self.metadata.push((key.to_string(), value.to_string()));
    }

    /// A metadata value: as set, or as read from a Parquet file's footer.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |e| e.values.len())
    }

    /// Column names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.columns.iter().map(|e| e.name.as_str()).collect()
    }

    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|e| e.name == name)
            .map(|e| &e.values)
    }

    /// True when the table has the column.
    pub fn has(&self, name: &str) -> bool {
        self.column(name).is_some()
    }

    /// The file the table was read from (`<table>` for one built in memory).
    pub fn path(&self) -> &Path {
        self.source
            .as_deref()
            .unwrap_or_else(|| Path::new("<table>"))
    }

    /// How a person refers to data row `i` (0-based) of the file: `line i+2` of a CSV
    /// (the header is line 1), `row i+1` of a Parquet file.
    pub fn row_name(&self, i: usize) -> String {
        if self.csv_lines {
            format!("line {}", i + 2)
        } else {
            format!("row {}", i + 1)
        }
    }

    fn need(&self, name: &str) -> Result<&Column> {
        self.column(name).ok_or_else(|| self.missing(name))
    }

    fn missing(&self, name: &str) -> Error {
        Error::table(
            self.path(),
            format!("no column `{name}` (columns: {})", self.names().join(", ")),
        )
    }

    fn cell_error(&self, name: &str, row: usize, what: impl std::fmt::Display) -> Error {
        Error::table(
            self.path(),
            format!("column `{name}`, {}: {what}", self.row_name(row)),
        )
    }

    /// A column as integers (text cells are parsed; floats must be whole numbers).
    ///
    /// # Errors
    /// A missing column, or a cell that is not an integer, naming column and row.
    pub fn ints(&self, name: &str) -> Result<Vec<Option<i64>>> {
        match self.need(name)? {
            Column::Int(v) => Ok(v.clone()),
            Column::Float(v) => v
                .iter()
                .enumerate()
                .map(|(i, x)| match x {
                    Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(*f as i64)),
                    Some(f) => Err(self.cell_error(name, i, format!("{f} is not an integer"))),
                    None => Ok(None),
                })
                .collect(),
            Column::Text(v) => {
                v.iter()
                    .enumerate()
                    .map(|(i, cell)| match cell.as_deref().map(str::trim) {
                        None | Some("") => Ok(None),
                        Some(t) => t.parse().map(Some).map_err(|_| {
                            self.cell_error(name, i, format!("`{t}` is not an integer"))
                        }),
                    })
                    .collect()
            }
            Column::Bool(_) => Err(Error::table(
                self.path(),
                format!("column `{name}` is boolean, not integer"),
            )),
        }
    }

    /// A column as numbers (integers widened, booleans as 0/1, text parsed).
    ///
    /// # Errors
    /// A missing column, or a text cell that is not a number, naming column and row.
    pub fn floats(&self, name: &str) -> Result<Vec<Option<f64>>> {
        Ok(match self.need(name)? {
            Column::Float(v) => v.clone(),
            Column::Int(v) => v.iter().map(|x| x.map(|x| x as f64)).collect(),
            Column::Bool(v) => v
                .iter()
                .map(|x| x.map(|b| f64::from(u8::from(b))))
                .collect(),
            Column::Text(v) => {
                v.iter()
                    .enumerate()
                    .map(|(i, cell)| match cell.as_deref().map(str::trim) {
                        None | Some("") => Ok(None),
                        Some(t) => t.parse::<f64>().map(Some).map_err(|_| {
                            self.cell_error(name, i, format!("`{t}` is not a number"))
                        }),
                    })
                    .collect::<Result<_>>()?
            }
        })
    }

    /// A column as text, exactly as stored; numbers and booleans are formatted.
    ///
    /// # Errors
    /// A missing column.
    pub fn texts(&self, name: &str) -> Result<Vec<Option<String>>> {
        Ok(match self.need(name)? {
            Column::Text(v) => v.clone(),
            Column::Int(v) => v.iter().map(|x| x.map(|x| x.to_string())).collect(),
            Column::Float(v) => v.iter().map(|x| x.map(|x| x.to_string())).collect(),
            Column::Bool(v) => v.iter().map(|x| x.map(|x| x.to_string())).collect(),
        })
    }

    /// A column as booleans (text cells `true`/`false`, as the CSV twin writes them).
    ///
    /// # Errors
    /// A missing column, or a cell of another kind, naming column and row.
    pub fn bools(&self, name: &str) -> Result<Vec<Option<bool>>> {
        match self.need(name)? {
            Column::Bool(v) => Ok(v.clone()),
            Column::Text(v) => v
                .iter()
                .enumerate()
                .map(|(i, cell)| match cell.as_deref().map(str::trim) {
                    None | Some("") => Ok(None),
                    Some("true") => Ok(Some(true)),
                    Some("false") => Ok(Some(false)),
                    Some(t) => Err(self.cell_error(name, i, format!("`{t}` is not true/false"))),
                })
                .collect(),
            other => Err(Error::table(
                self.path(),
                format!("column `{name}` is {}, not boolean", other.type_name()),
            )),
        }
    }

    /// Binary labels: 1/0, 1.0/0.0, true/false, yes/no, pos/neg (any case); empty
    /// cells are `None`.
    ///
    /// # Errors
    /// A missing column, or any other value, naming column, row and value.
    pub fn binary_labels(&self, name: &str) -> Result<Vec<Option<bool>>> {
        self.texts(name)?
            .into_iter()
            .enumerate()
            .map(|(i, cell)| {
                let lower = cell.map(|c| c.trim().to_ascii_lowercase());
                match lower.as_deref() {
                    None | Some("") => Ok(None),
                    Some("1" | "1.0" | "true" | "yes" | "pos" | "positive") => Ok(Some(true)),
                    Some("0" | "0.0" | "-0" | "false" | "no" | "neg" | "negative") => {
                        Ok(Some(false))
                    }
                    Some(other) => Err(self.cell_error(
                        name,
                        i,
                        format!("label `{other}` is not binary (expected 0/1 or true/false)"),
                    )),
                }
            })
            .collect()
    }

    /// The Parquet bytes of the table.
    ///
    /// # Errors
    /// Columns of different lengths or an encoder failure, naming `path`.
    pub fn parquet_bytes(&self, path: &Path) -> Result<Vec<u8>> {
        self.check_lengths(path)?;
        parquet_io::encode(self, path)
    }

    /// The CSV bytes of the table (header row first).
    ///
    /// # Errors
    /// Columns of different lengths or an encoder failure, naming `path`.
    pub fn csv_bytes(&self, path: &Path) -> Result<Vec<u8>> {
        self.check_lengths(path)?;
        csv_io::encode(self, path)
    }

    /// Writes `path` as Parquet, atomically.
    ///
    /// # Errors
    /// As [`Table::parquet_bytes`], and I/O errors.
    pub fn write_parquet(&self, path: &Path) -> Result<()> {
        write_atomically(path, &self.parquet_bytes(path)?)
    }

    /// Writes `path` as CSV, atomically.
    ///
    /// # Errors
    /// As [`Table::csv_bytes`], and I/O errors.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        write_atomically(path, &self.csv_bytes(path)?)
    }

    /// Writes the Parquet file `path` and its CSV twin (`path` with extension `csv`).
    ///
    /// # Errors
    /// As [`Table::write_parquet`] and [`Table::write_csv`].
    pub fn write_parquet_and_csv(&self, path: &Path) -> Result<()> {
        self.write_parquet(path)?;
        self.write_csv(&path.with_extension("csv"))
    }

    /// Writes `path` as Parquet or CSV, by its extension (`.parquet`, `.pq`, `.csv`).
    ///
    /// # Errors
    /// Another extension, or as the writers.
    pub fn write(&self, path: &Path) -> Result<()> {
        match extension(path).as_deref() {
            Some("csv") => self.write_csv(path),
            Some("parquet" | "pq") => self.write_parquet(path),
            _ => Err(unsupported(path)),
        }
    }

    fn check_lengths(&self, path: &Path) -> Result<()> {
        let n = self.rows();
        match self.columns.iter().find(|e| e.values.len() != n) {
            Some(e) => Err(Error::table(
                path,
                format!("column {} has another length", e.name),
            )),
            None => Ok(()),
        }
    }

    /// Reads every column of a `.parquet` (or `.pq`) or `.csv` file, by extension.
    ///
    /// # Errors
    /// An unreadable or malformed file, naming it.
    pub fn read(path: &Path) -> Result<Self> {
        Self::read_selected(path, None)
    }

    /// Reads the named columns of a Parquet or CSV file.
    ///
    /// # Errors
    /// As [`Table::read`]; a missing column (the message lists the columns it has).
    pub fn read_columns(path: &Path, wanted: &[&str]) -> Result<Self> {
        Self::read_selected(path, Some(wanted))
    }

    /// The column names of a Parquet or CSV file, without reading its rows.
    ///
    /// # Errors
    /// An unreadable or malformed file, naming it.
    pub fn column_names(path: &Path) -> Result<Vec<String>> {
        match extension(path).as_deref() {
            Some("csv") => csv_io::header(path),
            Some("parquet" | "pq") => parquet_io::header(path),
            _ => Err(unsupported(path)),
        }
    }

    fn read_selected(path: &Path, wanted: Option<&[&str]>) -> Result<Self> {
        let (columns, metadata, csv_lines) = match extension(path).as_deref() {
            Some("csv") => (csv_io::decode(path, wanted)?, Vec::new(), true),
            Some("parquet" | "pq") => {
                let (columns, metadata) = parquet_io::decode(path, wanted)?;
                (columns, metadata, false)
            }
            _ => return Err(unsupported(path)),
        };
        Ok(Self {
            columns: columns
                .into_iter()
                .map(|(name, values)| Entry {
                    name,
                    values,
                    nullable: true,
                })
                .collect(),
            source: Some(path.to_path_buf()),
            csv_lines,
            metadata,
        })
    }
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

fn unsupported(path: &Path) -> Error {
    Error::table(path, "unsupported table format (expected .csv or .parquet)")
}

/// The missing-column error of a file whose columns are `available`.
fn missing_column(path: &Path, name: &str, available: &[String]) -> Error {
    Error::table(
        path,
        format!("no column `{name}` (columns: {})", available.join(", ")),
    )
}
