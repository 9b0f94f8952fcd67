//! Label tables: the hospital's spreadsheet (xlsx, via calamine) or a CSV, read into
//! one validated row per exam.
//!
//! Every row is checked: the exam id must be a number, the date a date (or empty), the
//! diagnosis cells `N：name` or empty. Rows of the same exam are merged when they agree
//! and reported, both rows named, when they do not. Invalid rows are an error listing
//! every row and text, or, with `skip_invalid`, set aside in a quarantine list with the
//! reason: never silently dropped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use calamine::{Data, Reader, open_workbook_auto};
use serde::{Deserialize, Serialize};

use crate::codes::parse_diagnosis;
use crate::error::{Error, LabelProblem, Result};
use medfen_io::Table;

/// Column names of the label table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelColumns {
    /// Exam id (default `检查号`).
    pub exam_id: String,
    /// Exam date (default `检查时间`).
    pub date: String,
    /// Left-ear diagnosis (default `左侧诊断-训练`).
    pub left: String,
    /// Right-ear diagnosis (default `右侧诊断-训练`).
    pub right: String,
    /// Findings text, optional (default `影像所见`).
    pub findings: String,
    /// Conclusion text, optional (default `检查结论`).
    pub conclusion: String,
}

impl Default for LabelColumns {
    fn default() -> Self {
        Self {
            exam_id: "检查号".into(),
            date: "检查时间".into(),
            left: "左侧诊断-训练".into(),
            right: "右侧诊断-训练".into(),
            findings: "影像所见".into(),
            conclusion: "检查结论".into(),
        }
    }
}

/// How to read a label table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelOptions {
    /// Sheet of an xlsx/xls/ods workbook (default `影像学检查`).
    pub sheet: String,
    /// Column names.
    pub columns: LabelColumns,
    /// Quarantine invalid rows instead of failing.
    pub skip_invalid: bool,
}

impl Default for LabelOptions {
    fn default() -> Self {
        Self {
            sheet: "影像学检查".into(),
            columns: LabelColumns::default(),
            skip_invalid: false,
        }
    }
}

/// One exam's labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExamLabels {
    /// Exam id.
    pub exam_id: u64,
    /// Exam date `YYYY-MM-DD`, when the table gives one.
    pub date: Option<String>,
    /// Left-ear code 1..=6 (None: blank cell).
    pub left: Option<u8>,
    /// Right-ear code 1..=6.
    pub right: Option<u8>,
    /// Findings text.
    pub findings: Option<String>,
    /// Conclusion text.
    pub conclusion: Option<String>,
    /// The table rows this exam came from (more than one when duplicates were merged).
    pub rows: Vec<usize>,
}

/// A row set aside with `skip_invalid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    /// The problem.
    #[serde(flatten)]
    pub problem: LabelProblem,
}

/// What reading the table did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSummary {
    /// The table.
    pub path: PathBuf,
    /// Data rows read (header excluded, fully empty rows excluded).
    pub rows_read: usize,
    /// Exams with labels.
    pub exams: usize,
    /// Exams whose duplicate, agreeing rows were merged (with their rows).
    pub merged: Vec<(u64, Vec<usize>)>,
    /// Rows quarantined.
    pub quarantined_rows: usize,
    /// Diagnosis cells left blank.
    pub blank_sides: usize,
    /// Ears per code 1..=6.
    pub ears_by_code: [usize; crate::codes::NUM_CODES],
}

/// A validated label table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelTable {
    /// One entry per exam, by increasing exam id.
    pub exams: Vec<ExamLabels>,
    /// Rows set aside (with `skip_invalid`), by row.
    pub quarantine: Vec<Quarantined>,
    /// Counts.
    pub summary: LabelSummary,
}

impl LabelTable {
    /// The labels of `exam_id`.
    pub fn get(&self, exam_id: u64) -> Option<&ExamLabels> {
        self.exams
            .binary_search_by_key(&exam_id, |e| e.exam_id)
            .ok()
            .map(|i| &self.exams[i])
    }

    /// Writes the quarantine list as CSV (`row, column, text, reason`).
    ///
    /// # Errors
    /// I/O errors naming the file.
    pub fn write_quarantine(&self, path: &Path) -> Result<()> {
        let mut t = Table::new();
        let q = &self.quarantine;
        t.int("row", q.iter().map(|r| Some(r.problem.row as i64)));
        t.int(
            "exam_id",
            q.iter().map(|r| r.problem.exam_id.map(|x| x as i64)),
        );
        t.text("column", q.iter().map(|r| Some(r.problem.column.clone())));
        t.text("text", q.iter().map(|r| Some(r.problem.text.clone())));
        t.text("reason", q.iter().map(|r| Some(r.problem.reason.clone())));
        Ok(t.write_csv(path)?)
    }
}

/// A cell as read.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Empty,
    Text(String),
    Number(f64),
    /// Excel serial date (days since 1899-12-30).
    Date(f64),
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Self::Empty => String::new(),
            Self::Text(s) => s.clone(),
            Self::Number(v) | Self::Date(v) => format_number(*v),
        }
    }
}

fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        v.to_string()
    }
}

/// Reads the label table at `path`: a workbook (xlsx, xls, xlsb, ods) or a CSV (by
/// extension).
///
/// ```
/// use medfen_tasks::{LabelOptions, read_labels};
/// let dir = tempfile::tempdir()?;
/// let csv = dir.path().join("labels.csv");
/// std::fs::write(&csv, "检查号,检查时间,左侧诊断-训练,右侧诊断-训练\n\
///     1001,2024-01-05,5：正常,2:中耳胆脂瘤\n\
///     1002,2024/1/6,,1：慢性化脓性中耳炎\n\
///     1001,2024-01-05,5：正常,2:中耳胆脂瘤\n")?;
/// let labels = read_labels(&csv, &LabelOptions::default())?;
/// assert_eq!(labels.exams.len(), 2);
/// assert_eq!(labels.exams[0].rows, vec![2, 4]); // the duplicate rows agree: merged
/// assert_eq!((labels.exams[1].left, labels.exams[1].right), (None, Some(1)));
/// assert_eq!(labels.exams[1].date.as_deref(), Some("2024-01-06"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// Unreadable files, a missing sheet or column, and (without `skip_invalid`) every
/// invalid or conflicting row at once ([`Error::InvalidLabels`]).
pub fn read_labels(path: &Path, options: &LabelOptions) -> Result<LabelTable> {
    let is_csv = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv") || e.eq_ignore_ascii_case("tsv"));
    let (header, rows) = if is_csv {
        read_csv_cells(path)?
    } else {
        read_workbook_cells(path, &options.sheet)?
    };
    let at = ColumnIndex::locate(path, &header, &options.columns)?;
    let mut problems: Vec<LabelProblem> = Vec::new();
    let mut parsed: Vec<ExamLabels> = Vec::new();
    let mut rows_read = 0;
    for (row_number, cells) in &rows {
        if cells
            .iter()
            .all(|c| matches!(c, Cell::Empty) || c.text().trim().is_empty())
        {
            continue;
        }
        rows_read += 1;
        match at.parse_row(*row_number, cells, &options.columns) {
            Ok(e) => parsed.push(e),
            Err(row_problems) => problems.extend(row_problems),
        }
    }
    let (exams, merged) = merge_rows(parsed, &options.columns.exam_id, &mut problems);
    problems.sort_by(|a, b| (a.row, &a.column).cmp(&(b.row, &b.column)));
    if !problems.is_empty() && !options.skip_invalid {
        return Err(Error::InvalidLabels {
            path: path.to_path_buf(),
            problems,
        });
    }
    Ok(label_table(path, rows_read, exams, merged, problems))
}

/// Where the label table's columns are.
struct ColumnIndex {
    id: usize,
    date: Option<usize>,
    left: usize,
    right: usize,
    findings: Option<usize>,
    conclusion: Option<usize>,
}

impl ColumnIndex {
    /// Finds the columns of `c` in `header`; the exam id and both sides are required.
    fn locate(path: &Path, header: &[String], c: &LabelColumns) -> Result<Self> {
        let col = |name: &str, required: bool| -> Result<Option<usize>> {
            let found = header.iter().position(|h| h.trim() == name);
            if found.is_none() && required {
                return Err(Error::MissingColumn {
                    path: path.to_path_buf(),
                    column: name.to_string(),
                    found: header.join(", "),
                });
            }
            Ok(found)
        };
        Ok(Self {
            id: col(&c.exam_id, true)?.unwrap_or_default(),
            date: col(&c.date, false)?,
            left: col(&c.left, true)?.unwrap_or_default(),
            right: col(&c.right, true)?.unwrap_or_default(),
            findings: col(&c.findings, false)?,
            conclusion: col(&c.conclusion, false)?,
        })
    }

    /// One row's labels, or every problem of the row.
    fn parse_row(
        &self,
        row: usize,
        cells: &[Cell],
        c: &LabelColumns,
    ) -> std::result::Result<ExamLabels, Vec<LabelProblem>> {
        let get = |i: Option<usize>| i.and_then(|i| cells.get(i)).cloned().unwrap_or(Cell::Empty);
        let id_cell = get(Some(self.id));
        let row_exam = parse_exam_id(&id_cell).ok();
        let mut problems = Vec::new();
        let mut note = |column: &str, cell: &Cell, reason: String| {
            problems.push(LabelProblem {
                row,
                exam_id: row_exam,
                column: column.to_string(),
                text: cell.text(),
                reason,
            });
        };
        let exam_id = or_note(parse_exam_id(&id_cell).map(Some), |r| {
            note(&c.exam_id, &id_cell, r);
        });
        let date_cell = get(self.date);
        let date = or_note(parse_date(&date_cell), |r| note(&c.date, &date_cell, r));
        let left_cell = get(Some(self.left));
        let left = or_note(parse_diagnosis(&left_cell.text()), |r| {
            note(&c.left, &left_cell, r);
        });
        let right_cell = get(Some(self.right));
        let right = or_note(parse_diagnosis(&right_cell.text()), |r| {
            note(&c.right, &right_cell, r);
        });
        if !problems.is_empty() {
            return Err(problems);
        }
        let text_of = |i: Option<usize>| {
            let t = get(i).text().replace("\r\n", "\n").replace('\r', "\n");
            let t = t.trim();
            (!t.is_empty()).then(|| t.to_string())
        };
        Ok(ExamLabels {
            exam_id: exam_id.unwrap_or_default(),
            date,
            left,
            right,
            findings: text_of(self.findings),
            conclusion: text_of(self.conclusion),
            rows: vec![row],
        })
    }
}

/// The parsed value, or `None` after handing the reason to `note`.
fn or_note<T>(
    parsed: std::result::Result<Option<T>, String>,
    note: impl FnOnce(String),
) -> Option<T> {
    parsed.unwrap_or_else(|reason| {
        note(reason);
        None
    })
}

/// How the later rows of one exam disagree with its first row (codes, date).
fn disagreements(group: &[ExamLabels]) -> Vec<String> {
    let first = &group[0];
    group[1..]
        .iter()
        .flat_map(|g| {
            let mut d = Vec::new();
            for (what, a, b) in [
                ("left", first.left, g.left),
                ("right", first.right, g.right),
            ] {
                if a != b {
                    d.push(format!(
                        "{what} {} in row {} but {} in row {}",
                        code_text(a),
                        first.rows[0],
                        code_text(b),
                        g.rows[0]
                    ));
                }
            }
            if first.date != g.date {
                d.push(format!(
                    "date {} in row {} but {} in row {}",
                    first.date.as_deref().unwrap_or("(none)"),
                    first.rows[0],
                    g.date.as_deref().unwrap_or("(none)"),
                    g.rows[0]
                ));
            }
            d
        })
        .collect()
}

/// Merges the rows of each exam; rows that disagree become problems naming every row
/// (column `id_column`). Returns the exams by id and the merged (exam, rows).
fn merge_rows(
    parsed: Vec<ExamLabels>,
    id_column: &str,
    problems: &mut Vec<LabelProblem>,
) -> (Vec<ExamLabels>, Vec<(u64, Vec<usize>)>) {
    let mut by_exam: BTreeMap<u64, Vec<ExamLabels>> = BTreeMap::new();
    for e in parsed {
        by_exam.entry(e.exam_id).or_default().push(e);
    }
    let mut exams = Vec::with_capacity(by_exam.len());
    let mut merged = Vec::new();
    for (exam_id, group) in by_exam {
        let rows: Vec<usize> = group.iter().flat_map(|g| g.rows.clone()).collect();
        let disagree = disagreements(&group);
        if disagree.is_empty() {
            if group.len() > 1 {
                merged.push((exam_id, rows.clone()));
            }
            if let Some(mut e) = group.into_iter().next() {
                e.rows = rows;
                exams.push(e);
            }
            continue;
        }
        let reason = format!(
            "exam {exam_id} has rows {} that disagree: {}",
            rows.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            disagree.join("; ")
        );
        problems.extend(rows.iter().map(|r| LabelProblem {
            row: *r,
            exam_id: Some(exam_id),
            column: id_column.to_string(),
            text: exam_id.to_string(),
            reason: reason.clone(),
        }));
    }
    (exams, merged)
}

/// The validated table with its summary; `problems` become the quarantine.
fn label_table(
    path: &Path,
    rows_read: usize,
    exams: Vec<ExamLabels>,
    merged: Vec<(u64, Vec<usize>)>,
    problems: Vec<LabelProblem>,
) -> LabelTable {
    let mut ears_by_code = [0usize; crate::codes::NUM_CODES];
    let mut blank_sides = 0;
    for e in &exams {
        for code in [e.left, e.right] {
            match code {
                Some(c) => ears_by_code[crate::codes::code_index(c)] += 1,
                None => blank_sides += 1,
            }
        }
    }
    let quarantined_rows = {
        let mut r: Vec<usize> = problems.iter().map(|p| p.row).collect();
        r.dedup();
        r.len()
    };
    LabelTable {
        summary: LabelSummary {
            path: path.to_path_buf(),
            rows_read,
            exams: exams.len(),
            merged,
            quarantined_rows,
            blank_sides,
            ears_by_code,
        },
        exams,
        quarantine: problems
            .into_iter()
            .map(|problem| Quarantined { problem })
            .collect(),
    }
}

fn code_text(c: Option<u8>) -> String {
    c.map_or_else(|| "blank".to_string(), |c| format!("code {c}"))
}

fn parse_exam_id(cell: &Cell) -> Result<u64, String> {
    match cell {
        Cell::Empty => Err("no exam id".into()),
        Cell::Number(v) | Cell::Date(v) => {
            if v.fract() == 0.0 && *v >= 0.0 && *v < 1e15 {
                Ok(*v as u64)
            } else {
                Err("the exam id is not a whole number".into())
            }
        }
        Cell::Text(t) => {
            let t = t.trim();
            let t = t.strip_suffix(".0").unwrap_or(t);
            if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
                t.parse().map_err(|_| "the exam id is too long".to_string())
            } else if t.is_empty() {
                Err("no exam id".into())
            } else {
                Err("the exam id is not a number".into())
            }
        }
    }
}

/// Days from 1970-01-01 to a civil date (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn ymd(y: i64, m: u32, d: u32) -> Result<String, String> {
    if !(1900..=2200).contains(&y) || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return Err(format!("{y}-{m:02}-{d:02} is not a calendar date"));
    }
    Ok(format!("{y:04}-{m:02}-{d:02}"))
}

/// Parses a date cell into `YYYY-MM-DD`: an Excel date, an Excel serial number, or
/// text `YYYY-MM-DD`, `YYYY/M/D`, `YYYY.MM.DD` or `YYYYMMDD`, optionally followed by a
/// time. Empty cells give `Ok(None)`.
fn parse_date(cell: &Cell) -> Result<Option<String>, String> {
    match cell {
        Cell::Empty => Ok(None),
        Cell::Number(v) | Cell::Date(v) => {
            if !(1.0..2_958_466.0).contains(v) {
                return Err("not a date".into());
            }
            let (y, m, d) = civil_from_days(v.floor() as i64 - 25_569);
            ymd(y, m, d).map(Some)
        }
        Cell::Text(t) => {
            let t = t.trim();
            if t.is_empty() {
                return Ok(None);
            }
            let day = t.split([' ', 'T']).next().unwrap_or(t);
            let parts: Vec<&str> = day.split(['-', '/', '.']).collect();
            let num = |s: &str| -> Result<i64, String> {
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("not a date (expected YYYY-MM-DD)".into());
                }
                s.parse().map_err(|_| "not a date".to_string())
            };
            let (y, m, d) = match parts.as_slice() {
                [y, m, d] if y.len() == 4 => (num(y)?, num(m)?, num(d)?),
                [compact] if compact.len() == 8 => (
                    num(&compact[..4])?,
                    num(&compact[4..6])?,
                    num(&compact[6..])?,
                ),
                _ => return Err("not a date (expected YYYY-MM-DD)".into()),
            };
            ymd(y, m.clamp(0, 99) as u32, d.clamp(0, 99) as u32).map(Some)
        }
    }
}

type Rows = Vec<(usize, Vec<Cell>)>;

fn read_workbook_cells(path: &Path, sheet: &str) -> Result<(Vec<String>, Rows)> {
    let mut book = open_workbook_auto(path).map_err(|e| Error::Spreadsheet {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let names = book.sheet_names();
    if !names.iter().any(|n| n == sheet) {
        return Err(Error::MissingSheet {
            path: path.to_path_buf(),
            sheet: sheet.to_string(),
            found: names.join(", "),
        });
    }
    let range = book
        .worksheet_range(sheet)
        .map_err(|e| Error::Spreadsheet {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    let (start_row, start_col) = range.start().unwrap_or((0, 0));
    let mut rows = range.rows();
    let pad = start_col as usize;
    let cell = |d: &Data| match d {
        Data::Empty => Cell::Empty,
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Float(f) => Cell::Number(*f),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Bool(b) => Cell::Text(b.to_string()),
        Data::DateTime(dt) => Cell::Date(dt.as_f64()),
        Data::Error(e) => Cell::Text(format!("#{e:?}")),
    };
    let header: Vec<String> = rows
        .next()
        .map(|r| {
            std::iter::repeat_n(String::new(), pad)
                .chain(r.iter().map(|d| cell(d).text()))
                .collect()
        })
        .unwrap_or_default();
    let data = rows
        .enumerate()
        .map(|(k, r)| {
            let cells = std::iter::repeat_n(Cell::Empty, pad)
                .chain(r.iter().map(cell))
                .collect();
            // spreadsheet rows are 1-based; the header is the range's first row
            (start_row as usize + k + 2, cells)
        })
        .collect();
    Ok((header, data))
}

fn read_csv_cells(path: &Path) -> Result<(Vec<String>, Rows)> {
    let bad = |e: csv::Error| Error::Spreadsheet {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let delimiter = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("tsv"))
    {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_path(path)
        .map_err(bad)?;
    let header: Vec<String> = reader
        .headers()
        .map_err(bad)?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(bad)?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let cells = record
            .iter()
            .map(|s| {
                if s.trim().is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text(s.to_string())
                }
            })
            .collect();
        rows.push((line, cells));
    }
    Ok((header, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_from_serials_and_text() {
        // 2024-01-05 is Excel serial 45296
        assert_eq!(
            parse_date(&Cell::Date(45_296.0)).unwrap().unwrap(),
            "2024-01-05"
        );
        assert_eq!(
            parse_date(&Cell::Date(45_296.75)).unwrap().unwrap(),
            "2024-01-05"
        );
        for t in [
            "2024-01-05",
            "2024/1/5",
            "2024.01.05",
            "20240105",
            "2024-01-05 08:30:00",
        ] {
            assert_eq!(
                parse_date(&Cell::Text(t.into())).unwrap().unwrap(),
                "2024-01-05",
                "{t}"
            );
        }
        for t in [
            "2024-13-45",
            "2023-02-29",
            "05/01/2024",
            "yesterday",
            "2024-1",
        ] {
            assert!(parse_date(&Cell::Text(t.into())).is_err(), "{t}");
        }
        assert_eq!(
            parse_date(&Cell::Text("2024-02-29".into()))
                .unwrap()
                .unwrap(),
            "2024-02-29"
        );
        assert_eq!(parse_date(&Cell::Empty).unwrap(), None);
    }

    #[test]
    fn exam_ids_from_numbers_and_text() {
        assert_eq!(parse_exam_id(&Cell::Number(2_090_609.0)), Ok(2_090_609));
        assert_eq!(
            parse_exam_id(&Cell::Text(" 2090609 ".into())),
            Ok(2_090_609)
        );
        assert_eq!(
            parse_exam_id(&Cell::Text("2090609.0".into())),
            Ok(2_090_609)
        );
        assert!(parse_exam_id(&Cell::Text("2090609X".into())).is_err());
        assert!(parse_exam_id(&Cell::Number(12.5)).is_err());
        assert!(parse_exam_id(&Cell::Empty).is_err());
    }
}
