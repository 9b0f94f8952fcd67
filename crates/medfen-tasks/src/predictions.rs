//! The prediction table: one schema for every table of per-ear predictions medfen
//! writes (`medfen eval` and `medfen predict` today; explanations, few-shot and the
//! experiment matrix as they come), written as Parquet with a CSV twin and read back
//! by [`PredictionTable::read`]. docs/formats.md describes every column.
//!
//! Columns, in order:
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `exam_id` | int | the exam (null: `medfen predict` on a folder without a numeric id) |
//! | `side` | text | `left` or `right`: the patient's side |
//! | `source` | text | the exam folder given to `medfen predict` (null in `medfen eval`) |
//! | `patient_key` | text | keyed patient hash from the split files (null in `medfen predict`) |
//! | `code` | int | diagnosis code 1-6 after the split's filter (null: unlabelled) |
//! | `in_task` | bool | the ear has a target in the task (null: label unknown) |
//! | `y_true` | int | the target (null outside the task) |
//! | `y_pred` | int | predicted class (binary: at `threshold`) |
//! | `y_prob` | float | binary: P(positive); multi-class: P(predicted class) |
//! | `prob_<class>` | float | multi-class tasks: each class's probability |
//! | `threshold` | float | binary tasks: the threshold applied (frozen from val) |
//! | `top<j>_slice` | int | j-th heaviest attention slice (position in the record) |
//! | `top<j>_weight` | float | its attention weight |
//! | `top<j>_source_slice` | int | its slice index in the source series |
//! | `top<j>_z_mm` | float | its position along the slice normal, mm, 4 decimals |

use std::path::Path;

use medfen_io::Table;

use crate::codes::checked_code;
use crate::error::{Error, Result};
use crate::manifest::Side;

/// The value of the Parquet footer key `medfen.format` of a prediction table.
pub const PREDICTIONS_FORMAT: &str = "medfen-predictions/1";
/// Decimals of `top<j>_z_mm` (0.1 µm), as the cache index stores z.
pub const Z_DECIMALS: usize = 4;

/// `z` rounded to [`Z_DECIMALS`] decimals, as every table of medfen states z in mm.
pub fn round_mm(z: f64) -> f64 {
    format!("{z:.Z_DECIMALS$}").parse().unwrap_or(z)
}

/// One of the heaviest attention slices of an ear.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TopSlice {
    /// Position of the slice in the record (0..K).
    pub slice: usize,
    /// Its attention weight.
    pub weight: f32,
    /// Its slice index in the source series (None when the writer does not know it).
    pub source_slice: Option<usize>,
    /// Its position along the slice normal, mm ([`round_mm`]).
    pub z_mm: Option<f64>,
}

/// One row: an ear's prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Exam id (None: a folder without a numeric id given to `medfen predict`).
    pub exam_id: Option<u64>,
    /// Patient side.
    pub side: Side,
    /// The exam folder given to `medfen predict` (None in evaluations).
    pub source: Option<String>,
    /// Keyed patient hash (None where no split file gives it).
    pub patient_key: Option<String>,
    /// Diagnosis code after the split's filter (None: unlabelled).
    pub code: Option<u8>,
    /// Whether the ear has a target in the task (None: label unknown).
    pub in_task: Option<bool>,
    /// The target (None outside the task).
    pub y_true: Option<u8>,
    /// Predicted class.
    pub y_pred: usize,
    /// Probabilities: one (the positive class) for binary tasks, one per class else.
    pub probs: Vec<f64>,
    /// Threshold applied to the positive class (binary tasks).
    pub threshold: Option<f64>,
    /// Heaviest attention slices, heaviest first (empty without attention).
    pub top_slices: Vec<TopSlice>,
}

/// A table of predictions of one task.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionTable {
    /// The classes of a multi-class task, one `prob_<class>` column each; empty for
    /// binary tasks (one probability per ear, `y_prob`).
    pub class_names: Vec<String>,
    /// Attention slices reported per ear.
    pub top_k: usize,
    /// The rows.
    pub rows: Vec<Prediction>,
}

fn count(v: usize) -> Option<i64> {
    i64::try_from(v).ok()
}

impl PredictionTable {
    /// True for a binary task's table.
    pub fn binary(&self) -> bool {
        self.class_names.is_empty()
    }

    /// The rows as a [`Table`] in the schema's column order.
    pub fn table(&self) -> Table {
        let r = &self.rows;
        let mut t = Table::new();
        t.set_metadata("medfen.format", PREDICTIONS_FORMAT);
        t.int(
            "exam_id",
            r.iter()
                .map(|p| p.exam_id.and_then(|v| i64::try_from(v).ok())),
        );
        t.text("side", r.iter().map(|p| Some(p.side.name().to_string())));
        t.text("source", r.iter().map(|p| p.source.clone()));
        t.text("patient_key", r.iter().map(|p| p.patient_key.clone()));
        t.int("code", r.iter().map(|p| p.code.map(i64::from)));
        t.boolean("in_task", r.iter().map(|p| p.in_task));
        t.int("y_true", r.iter().map(|p| p.y_true.map(i64::from)));
        t.int("y_pred", r.iter().map(|p| count(p.y_pred)));
        if self.binary() {
            t.float("y_prob", r.iter().map(|p| p.probs.first().copied()));
        } else {
            t.float("y_prob", r.iter().map(|p| p.probs.get(p.y_pred).copied()));
            for (k, name) in self.class_names.iter().enumerate() {
                t.float(
                    &format!("prob_{name}"),
                    r.iter().map(|p| p.probs.get(k).copied()),
                );
            }
        }
        t.float("threshold", r.iter().map(|p| p.threshold));
        for j in 0..self.top_k {
            let at = |p: &Prediction| p.top_slices.get(j).copied();
            let n = j + 1;
            t.int(
                &format!("top{n}_slice"),
                r.iter().map(|p| at(p).and_then(|s| count(s.slice))),
            );
            t.float(
                &format!("top{n}_weight"),
                r.iter().map(|p| at(p).map(|s| f64::from(s.weight))),
            );
            t.int(
                &format!("top{n}_source_slice"),
                r.iter()
                    .map(|p| at(p).and_then(|s| s.source_slice.and_then(count))),
            );
            t.float(
                &format!("top{n}_z_mm"),
                r.iter().map(|p| at(p).and_then(|s| s.z_mm)),
            );
        }
        t
    }

    /// Writes the table to `path` (`.parquet` or `.csv`, by extension).
    ///
    /// # Errors
    /// Another extension, or I/O errors naming the file.
    pub fn write(&self, path: &Path) -> Result<()> {
        Ok(self.table().write(path)?)
    }

    /// Reads a prediction table (`.parquet` or `.csv`). A Parquet file must carry the
    /// schema's format tag; both must have the schema's columns.
    ///
    /// # Errors
    /// A table of another format or without the schema's columns, naming the file.
    pub fn read(path: &Path) -> Result<Self> {
        let t = Table::read(path)?;
        if path.extension().is_none_or(|e| e != "csv") {
            let found = t.metadata("medfen.format");
            if found != Some(PREDICTIONS_FORMAT) {
                return Err(Error::table(
                    path,
                    format!(
                        "not a {PREDICTIONS_FORMAT} table (its medfen.format is {}): \
                         write it with this medfen's `medfen eval` or `medfen predict`",
                        found.unwrap_or("missing")
                    ),
                ));
            }
        }
        let class_names: Vec<String> = t
            .names()
            .iter()
            .filter_map(|n| n.strip_prefix("prob_").map(str::to_string))
            .collect();
        let top_k = (1..=t.names().len())
            .take_while(|n| t.has(&format!("top{n}_slice")))
            .count();
        let rows = RowReader::new(&t, &class_names, top_k)?.rows(&t, path)?;
        Ok(Self {
            class_names,
            top_k,
            rows,
        })
    }
}

/// The columns of a prediction table, as read.
struct RowReader {
    exam_id: Vec<Option<i64>>,
    side: Vec<Option<String>>,
    source: Vec<Option<String>>,
    patient_key: Vec<Option<String>>,
    code: Vec<Option<i64>>,
    in_task: Vec<Option<bool>>,
    y_true: Vec<Option<i64>>,
    y_pred: Vec<Option<i64>>,
    probs: Vec<Vec<Option<f64>>>,
    threshold: Vec<Option<f64>>,
    top: Vec<[Vec<Option<f64>>; 4]>,
}

impl RowReader {
    fn new(t: &Table, class_names: &[String], top_k: usize) -> Result<Self> {
        let probs = if class_names.is_empty() {
            vec![t.floats("y_prob")?]
        } else {
            class_names
                .iter()
                .map(|c| t.floats(&format!("prob_{c}")))
                .collect::<medfen_io::Result<_>>()?
        };
        let top = (1..=top_k)
            .map(|n| -> Result<[Vec<Option<f64>>; 4]> {
                Ok([
                    t.floats(&format!("top{n}_slice"))?,
                    t.floats(&format!("top{n}_weight"))?,
                    t.floats(&format!("top{n}_source_slice"))?,
                    t.floats(&format!("top{n}_z_mm"))?,
                ])
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            exam_id: t.ints("exam_id")?,
            side: t.texts("side")?,
            source: t.texts("source")?,
            patient_key: t.texts("patient_key")?,
            code: t.ints("code")?,
            in_task: t.bools("in_task")?,
            y_true: t.ints("y_true")?,
            y_pred: t.ints("y_pred")?,
            probs,
            threshold: t.floats("threshold")?,
            top,
        })
    }

    fn rows(&self, t: &Table, path: &Path) -> Result<Vec<Prediction>> {
        (0..t.rows())
            .map(|i| {
                let bad = |what: &str| Error::table(path, format!("{}: {what}", t.row_name(i)));
                let small = |v: Option<i64>| v.and_then(|v| u8::try_from(v).ok());
                let index = |v: Option<f64>| v.map(|v| v as usize);
                Ok(Prediction {
                    exam_id: self.exam_id[i].and_then(|v| u64::try_from(v).ok()),
                    side: self.side[i]
                        .as_deref()
                        .and_then(Side::parse)
                        .ok_or_else(|| bad("side is not left/right"))?,
                    source: self.source[i].clone(),
                    patient_key: self.patient_key[i].clone(),
                    code: self.code[i].and_then(checked_code),
                    in_task: self.in_task[i],
                    y_true: small(self.y_true[i]),
                    y_pred: self.y_pred[i]
                        .and_then(|v| usize::try_from(v).ok())
                        .ok_or_else(|| bad("no y_pred"))?,
                    probs: self.probs.iter().filter_map(|c| c[i]).collect(),
                    threshold: self.threshold[i],
                    top_slices: self
                        .top
                        .iter()
                        .filter_map(|[s, w, src, z]| {
                            Some(TopSlice {
                                slice: index(s[i])?,
                                weight: w[i]? as f32,
                                source_slice: index(src[i]),
                                z_mm: z[i],
                            })
                        })
                        .collect(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(binary: bool) -> PredictionTable {
        let top = TopSlice {
            slice: 3,
            weight: 0.5,
            source_slice: Some(41),
            z_mm: Some(round_mm(-25.574_999_999_999_967)),
        };
        PredictionTable {
            class_names: if binary {
                Vec::new()
            } else {
                vec!["a".into(), "b".into(), "c".into()]
            },
            top_k: 2,
            rows: vec![Prediction {
                exam_id: Some(1001),
                side: Side::Right,
                source: None,
                patient_key: Some("ab12".into()),
                code: Some(2),
                in_task: Some(true),
                y_true: Some(1),
                y_pred: 1,
                probs: if binary {
                    vec![0.75]
                } else {
                    vec![0.1, 0.7, 0.2]
                },
                threshold: binary.then_some(0.4),
                top_slices: vec![top],
            }],
        }
    }

    #[test]
    fn both_twins_read_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        for binary in [true, false] {
            let t = sample(binary);
            for name in ["p.parquet", "p.csv"] {
                let path = dir.path().join(name);
                t.write(&path).unwrap();
                assert_eq!(PredictionTable::read(&path).unwrap(), t, "{name}");
            }
        }
        assert_eq!(sample(true).rows[0].top_slices[0].z_mm, Some(-25.575));
    }

    #[test]
    fn a_parquet_table_of_another_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.parquet");
        let mut t = Table::new();
        t.int("exam_id", [Some(1)]);
        t.write_parquet(&path).unwrap();
        let err = PredictionTable::read(&path).unwrap_err().to_string();
        assert!(err.contains("not a medfen-predictions/1 table"), "{err}");
    }
}
