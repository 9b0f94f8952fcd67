//! Column tables written as Parquet with a CSV twin, and read back from Parquet.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{Error, Result};

/// One column's values (every type nullable).
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// 64-bit integers.
    Int(Vec<Option<i64>>),
    /// 64-bit floats.
    Float(Vec<Option<f64>>),
    /// UTF-8 text.
    Text(Vec<Option<String>>),
    /// Booleans.
    Bool(Vec<Option<bool>>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Self::Int(v) => v.len(),
            Self::Float(v) => v.len(),
            Self::Text(v) => v.len(),
            Self::Bool(v) => v.len(),
        }
    }

    fn csv(&self, row: usize) -> String {
        match self {
            Self::Int(v) => v[row].map(|x| x.to_string()).unwrap_or_default(),
            Self::Float(v) => v[row].map(|x| x.to_string()).unwrap_or_default(),
            Self::Text(v) => v[row].clone().unwrap_or_default(),
            Self::Bool(v) => v[row].map(|x| x.to_string()).unwrap_or_default(),
        }
    }

    fn data_type(&self) -> DataType {
        match self {
            Self::Int(_) => DataType::Int64,
            Self::Float(_) => DataType::Float64,
            Self::Text(_) => DataType::Utf8,
            Self::Bool(_) => DataType::Boolean,
        }
    }

    fn array(&self) -> ArrayRef {
        match self {
            Self::Int(x) => Arc::new(Int64Array::from(x.clone())),
            Self::Float(x) => Arc::new(Float64Array::from(x.clone())),
            Self::Text(x) => Arc::new(StringArray::from(x.clone())),
            Self::Bool(x) => Arc::new(BooleanArray::from(x.clone())),
        }
    }
}

/// A table of named columns.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Table {
    columns: Vec<(String, Values)>,
}

impl Table {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a column.
    pub fn push(&mut self, name: impl Into<String>, values: Values) {
        self.columns.push((name.into(), values));
    }

    /// Appends an integer column.
    pub fn int(&mut self, name: &str, v: impl IntoIterator<Item = Option<i64>>) {
        self.push(name, Values::Int(v.into_iter().collect()));
    }

    /// Appends a float column.
    pub fn float(&mut self, name: &str, v: impl IntoIterator<Item = Option<f64>>) {
        self.push(name, Values::Float(v.into_iter().collect()));
    }

    /// Appends a text column.
    pub fn text(&mut self, name: &str, v: impl IntoIterator<Item = Option<String>>) {
        self.push(name, Values::Text(v.into_iter().collect()));
    }

    /// Appends a boolean column.
    pub fn boolean(&mut self, name: &str, v: impl IntoIterator<Item = Option<bool>>) {
        self.push(name, Values::Bool(v.into_iter().collect()));
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |(_, v)| v.len())
    }

    /// Column names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.columns.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&Values> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    fn need(&self, path: &Path, name: &str) -> Result<&Values> {
        self.column(name).ok_or_else(|| {
            Error::table(
                path,
                format!("no column `{name}` (columns: {})", self.names().join(", ")),
            )
        })
    }

    /// A text column, or an error naming `path`.
    ///
    /// # Errors
    /// Missing column or another type.
    pub fn texts(&self, path: &Path, name: &str) -> Result<Vec<Option<String>>> {
        match self.need(path, name)? {
            Values::Text(v) => Ok(v.clone()),
            _ => Err(Error::table(path, format!("column `{name}` is not text"))),
        }
    }

    /// An integer column, or an error naming `path`.
    ///
    /// # Errors
    /// Missing column or another type.
    pub fn ints(&self, path: &Path, name: &str) -> Result<Vec<Option<i64>>> {
        match self.need(path, name)? {
            Values::Int(v) => Ok(v.clone()),
            _ => Err(Error::table(
                path,
                format!("column `{name}` is not integer"),
            )),
        }
    }

    /// A float column (integers are widened), or an error naming `path`.
    ///
    /// # Errors
    /// Missing column or another type.
    pub fn floats(&self, path: &Path, name: &str) -> Result<Vec<Option<f64>>> {
        match self.need(path, name)? {
            Values::Float(v) => Ok(v.clone()),
            #[allow(clippy::cast_precision_loss)]
            Values::Int(v) => Ok(v.iter().map(|x| x.map(|x| x as f64)).collect()),
            _ => Err(Error::table(
                path,
                format!("column `{name}` is not numeric"),
            )),
        }
    }

    /// A boolean column, or an error naming `path`.
    ///
    /// # Errors
    /// Missing column or another type.
    pub fn bools(&self, path: &Path, name: &str) -> Result<Vec<Option<bool>>> {
        match self.need(path, name)? {
            Values::Bool(v) => Ok(v.clone()),
            _ => Err(Error::table(
                path,
                format!("column `{name}` is not boolean"),
            )),
        }
    }

    fn batch(&self, path: &Path) -> Result<RecordBatch> {
        let n = self.rows();
        if let Some((name, _)) = self.columns.iter().find(|(_, v)| v.len() != n) {
            return Err(Error::table(
                path,
                format!("column {name} has another length"),
            ));
        }
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|(name, v)| Field::new(name, v.data_type(), true))
            .collect();
        let arrays: Vec<ArrayRef> = self.columns.iter().map(|(_, v)| v.array()).collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
            .map_err(|e| Error::table(path, e))
    }

    /// The Parquet bytes of the table.
    ///
    /// # Errors
    /// Inconsistent column lengths or an encoder failure.
    pub fn parquet_bytes(&self, path: &Path) -> Result<Vec<u8>> {
        let batch = self.batch(path)?;
        let mut bytes = Vec::new();
        let mut w = ArrowWriter::try_new(&mut bytes, batch.schema(), None)
            .map_err(|e| Error::table(path, e))?;
        w.write(&batch).map_err(|e| Error::table(path, e))?;
        w.close().map_err(|e| Error::table(path, e))?;
        Ok(bytes)
    }

    /// The CSV bytes of the table (header row first).
    ///
    /// # Errors
    /// An encoder failure.
    pub fn csv_bytes(&self, path: &Path) -> Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(self.columns.iter().map(|(n, _)| n.as_str()))
            .map_err(|e| Error::table(path, e))?;
        for r in 0..self.rows() {
            w.write_record(self.columns.iter().map(|(_, v)| v.csv(r)))
                .map_err(|e| Error::table(path, e))?;
        }
        w.into_inner().map_err(|e| Error::table(path, e))
    }

    /// Writes `path` (Parquet) atomically.
    ///
    /// # Errors
    /// As [`Table::parquet_bytes`], and I/O errors.
    pub fn write_parquet(&self, path: &Path) -> Result<()> {
        let bytes = self.parquet_bytes(path)?;
        medfen_dicom::write_atomically(path, &bytes, true)?;
        Ok(())
    }

    /// Writes `path` (CSV) atomically.
    ///
    /// # Errors
    /// As [`Table::csv_bytes`], and I/O errors.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        let bytes = self.csv_bytes(path)?;
        medfen_dicom::write_atomically(path, &bytes, true)?;
        Ok(())
    }

    /// Reads a Parquet file whose columns are Int64, Float64, Utf8 or Boolean.
    ///
    /// # Panics
    /// Never: each array is downcast to the type its schema field declares.
    ///
    /// # Errors
    /// Unreadable files and other column types, naming the file.
    pub fn read_parquet(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let not_parquet = |e: parquet::errors::ParquetError| {
            Error::table(path, format!("not a readable Parquet file: {e}"))
        };
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(not_parquet)?;
        let schema = builder.schema().clone();
        let reader = builder.build().map_err(not_parquet)?;
        let mut columns: Vec<(String, Values)> = schema
            .fields()
            .iter()
            .map(|f| -> Result<(String, Values)> {
                let v = match f.data_type() {
                    DataType::Int64 => Values::Int(Vec::new()),
                    DataType::Float64 => Values::Float(Vec::new()),
                    DataType::Utf8 => Values::Text(Vec::new()),
                    DataType::Boolean => Values::Bool(Vec::new()),
                    other => {
                        return Err(Error::table(
                            path,
                            format!("column `{}` has unsupported type {other}", f.name()),
                        ));
                    }
                };
                Ok((f.name().clone(), v))
            })
            .collect::<Result<_>>()?;
        for batch in reader {
            let batch = batch.map_err(|e| Error::table(path, e))?;
            for (k, (_, values)) in columns.iter_mut().enumerate() {
                let a = batch.column(k);
                match values {
                    Values::Int(v) => {
                        let a = a
                            .as_any()
                            .downcast_ref::<Int64Array>()
                            .expect("schema says Int64");
                        v.extend(a.iter());
                    }
                    Values::Float(v) => {
                        let a = a
                            .as_any()
                            .downcast_ref::<Float64Array>()
                            .expect("schema says Float64");
                        v.extend(a.iter());
                    }
                    Values::Text(v) => {
                        let a = a
                            .as_any()
                            .downcast_ref::<StringArray>()
                            .expect("schema says Utf8");
                        v.extend(a.iter().map(|s| s.map(str::to_string)));
                    }
                    Values::Bool(v) => {
                        let a = a
                            .as_any()
                            .downcast_ref::<BooleanArray>()
                            .expect("schema says Boolean");
                        v.extend(a.iter());
                    }
                }
            }
        }
        Ok(Self { columns })
    }
}

/// SHA-256 hex of a file's bytes (input fingerprints in sidecar JSON).
///
/// # Errors
/// The file cannot be read.
pub fn file_sha256(path: &Path) -> Result<String> {
    use sha2::Digest as _;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(hex::encode(sha2::Sha256::digest(&bytes)))
}

/// Writes pretty JSON atomically.
///
/// # Errors
/// Serialisation or I/O errors.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::table(path, e))?;
    bytes.push(b'\n');
    medfen_dicom::write_atomically(path, &bytes, true)?;
    Ok(())
}
