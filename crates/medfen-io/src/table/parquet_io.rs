//! Parquet encoding and decoding of [`Table`]s (arrow-rs).

use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use super::{Column, Table, missing_column};
use crate::error::{Error, Result};

fn data_type(c: &Column) -> DataType {
    match c {
        Column::Int(_) => DataType::Int64,
        Column::Float(_) => DataType::Float64,
        Column::Text(_) => DataType::Utf8,
        Column::Bool(_) => DataType::Boolean,
    }
}

fn array(c: &Column) -> ArrayRef {
    match c {
        Column::Int(x) => Arc::new(Int64Array::from(x.clone())),
        Column::Float(x) => Arc::new(Float64Array::from(x.clone())),
        Column::Text(x) => Arc::new(StringArray::from(x.clone())),
        Column::Bool(x) => Arc::new(BooleanArray::from(x.clone())),
    }
}

/// The table as one record batch in a Parquet file's bytes.
pub(super) fn encode(table: &Table, path: &Path) -> Result<Vec<u8>> {
    let fields: Vec<Field> = table
        .columns
        .iter()
        .map(|e| Field::new(&e.name, data_type(&e.values), e.nullable))
        .collect();
    let arrays: Vec<ArrayRef> = table.columns.iter().map(|e| array(&e.values)).collect();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|e| Error::table(path, e))?;
    let props = (!table.metadata.is_empty()).then(|| {
        let kv = table
            .metadata
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
            .collect();
        WriterProperties::builder()
            .set_key_value_metadata(Some(kv))
            .build()
    });
    let mut bytes = Vec::new();
    let mut w = ArrowWriter::try_new(&mut bytes, batch.schema(), props)
        .map_err(|e| Error::table(path, e))?;
    w.write(&batch).map_err(|e| Error::table(path, e))?;
    w.close().map_err(|e| Error::table(path, e))?;
    Ok(bytes)
}

/// The columns of a Parquet file and its footer's key-value metadata.
type Decoded = (Vec<(String, Column)>, Vec<(String, String)>);

/// Reads the `wanted` columns (all when `None`) of a Parquet file, in file order, and
/// the footer's key-value metadata.
/// The column names of a Parquet file (its schema).
pub(super) fn header(path: &Path) -> Result<Vec<String>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| Error::table(path, format!("not a readable Parquet file: {e}")))?;
    Ok(builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect())
}

pub(super) fn decode(path: &Path, wanted: Option<&[&str]>) -> Result<Decoded> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let not_parquet = |e: parquet::errors::ParquetError| {
        Error::table(path, format!("not a readable Parquet file: {e}"))
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(not_parquet)?;
    let metadata: Vec<(String, String)> = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .into_iter()
        .flatten()
        .filter_map(|kv| Some((kv.key.clone(), kv.value.clone()?)))
        .collect();
    let available: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let names: Vec<String> = match wanted {
        Some(w) => {
            if let Some(name) = w.iter().find(|n| !available.iter().any(|a| a == *n)) {
                return Err(missing_column(path, name, &available));
            }
            available
                .iter()
                .filter(|a| w.contains(&a.as_str()))
                .cloned()
                .collect()
        }
        None => available.clone(),
    };
    let reader = builder.build().map_err(not_parquet)?;
    let mut columns: Vec<(String, Option<Column>)> = names.into_iter().map(|n| (n, None)).collect();
    for batch in reader {
        let batch =
            batch.map_err(|e| Error::table(path, format!("cannot decode a row group: {e}")))?;
        for (name, column) in &mut columns {
            let array = batch
                .column_by_name(name)
                .ok_or_else(|| Error::table(path, format!("a row group lacks column `{name}`")))?;
            let part =
                convert(array).map_err(|e| Error::table(path, format!("column `{name}`: {e}")))?;
            match column {
                None => *column = Some(part),
                Some(c) => append(c, part),
            }
        }
    }
    let columns = columns
        .into_iter()
        .map(|(n, c)| (n, c.unwrap_or(Column::Text(Vec::new()))))
        .collect();
    Ok((columns, metadata))
}

fn append(into: &mut Column, part: Column) {
    match (into, part) {
        (Column::Text(a), Column::Text(b)) => a.extend(b),
        (Column::Int(a), Column::Int(b)) => a.extend(b),
        (Column::Float(a), Column::Float(b)) => a.extend(b),
        (Column::Bool(a), Column::Bool(b)) => a.extend(b),
        _ => unreachable!("a Parquet column has one type in every row group"),
    }
}

/// An Arrow array as a column: booleans, integers (any width) as i64, floats and
/// decimals as f64, everything else cast to text.
fn convert(array: &ArrayRef) -> std::result::Result<Column, String> {
    let dt = array.data_type();
    let cast = |to: &DataType| {
        arrow_cast::cast(array, to).map_err(|e| format!("cannot read type {dt}: {e}"))
    };
    Ok(match dt {
        DataType::Boolean => Column::Bool(array.as_boolean().iter().collect()),
        DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::Decimal128(..) => {
            Column::Float(
                cast(&DataType::Float64)?
                    .as_primitive::<Float64Type>()
                    .iter()
                    .collect(),
            )
        }
        d if d.is_integer() => Column::Int(
            cast(&DataType::Int64)?
                .as_primitive::<Int64Type>()
                .iter()
                .collect(),
        ),
        _ => {
            let text = cast(&DataType::Utf8)?;
            let strings = text.as_string::<i32>();
            Column::Text(
                (0..strings.len())
                    .map(|i| (!strings.is_null(i)).then(|| strings.value(i).to_owned()))
                    .collect(),
            )
        }
    })
}
