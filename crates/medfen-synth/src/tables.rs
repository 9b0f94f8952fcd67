//! Small column tables written as Parquet with a CSV twin (pandas, polars and a
//! spreadsheet open both).

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;

use crate::error::{Error, Result};

/// One column's values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Values {
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
    Bool(Vec<bool>),
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
            Self::Bool(v) => v[row].to_string(),
        }
    }
}

/// A table built column by column.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Table {
    columns: Vec<(String, Values)>,
}

impl Table {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, name: impl Into<String>, values: Values) {
        self.columns.push((name.into(), values));
    }

    pub fn int(&mut self, name: &str, v: impl IntoIterator<Item = Option<i64>>) {
        self.push(name, Values::Int(v.into_iter().collect()));
    }

    pub fn float(&mut self, name: &str, v: impl IntoIterator<Item = Option<f64>>) {
        self.push(name, Values::Float(v.into_iter().collect()));
    }

    pub fn text(&mut self, name: &str, v: impl IntoIterator<Item = Option<String>>) {
        self.push(name, Values::Text(v.into_iter().collect()));
    }

    pub fn boolean(&mut self, name: &str, v: impl IntoIterator<Item = bool>) {
        self.push(name, Values::Bool(v.into_iter().collect()));
    }

    fn rows(&self) -> usize {
        self.columns.first().map_or(0, |(_, v)| v.len())
    }

    fn batch(&self, path: &Path) -> Result<RecordBatch> {
        let n = self.rows();
        if let Some((name, _)) = self.columns.iter().find(|(_, v)| v.len() != n) {
            return Err(Error::table(
                path,
                &format!("column {name} has another length"),
            ));
        }
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|(name, v)| {
                let t = match v {
                    Values::Int(_) => DataType::Int64,
                    Values::Float(_) => DataType::Float64,
                    Values::Text(_) => DataType::Utf8,
                    Values::Bool(_) => DataType::Boolean,
                };
                Field::new(name, t, !matches!(v, Values::Bool(_)))
            })
            .collect();
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter()
            .map(|(_, v)| -> ArrayRef {
                match v {
                    Values::Int(x) => Arc::new(Int64Array::from(x.clone())),
                    Values::Float(x) => Arc::new(Float64Array::from(x.clone())),
                    Values::Text(x) => Arc::new(StringArray::from(x.clone())),
                    Values::Bool(x) => Arc::new(BooleanArray::from(x.clone())),
                }
            })
            .collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
            .map_err(|e| Error::table(path, &e))
    }

    /// Writes `path` (Parquet) atomically.
    pub fn write_parquet(&self, path: &Path) -> Result<()> {
        let batch = self.batch(path)?;
        let mut bytes = Vec::new();
        let mut w = ArrowWriter::try_new(&mut bytes, batch.schema(), None)
            .map_err(|e| Error::table(path, &e))?;
        w.write(&batch).map_err(|e| Error::table(path, &e))?;
        w.close().map_err(|e| Error::table(path, &e))?;
        medfen_dicom::write_atomically(path, &bytes, false)?;
        Ok(())
    }

    /// Writes `path` (CSV with a header row) atomically.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(self.columns.iter().map(|(n, _)| n.as_str()))
            .map_err(|e| Error::table(path, &e))?;
        for r in 0..self.rows() {
            w.write_record(self.columns.iter().map(|(_, v)| v.csv(r)))
                .map_err(|e| Error::table(path, &e))?;
        }
        let bytes = w.into_inner().map_err(|e| Error::table(path, &e))?;
        medfen_dicom::write_atomically(path, &bytes, false)?;
        Ok(())
    }

    /// Writes `<stem>.parquet` and `<stem>.csv` in `dir`.
    pub fn write_both(&self, dir: &Path, stem: &str) -> Result<()> {
        self.write_parquet(&dir.join(format!("{stem}.parquet")))?;
        self.write_csv(&dir.join(format!("{stem}.csv")))
    }
}
