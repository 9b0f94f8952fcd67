//! The label spreadsheet, as the hospital exports it: sheet `影像学检查`, one row per
//! exam in no particular order, `N：name` diagnosis cells, mixed date formats, blank
//! sides, and (with `--corrupt-rate`) the defects real spreadsheets have.

use std::path::Path;

use medfen_tasks::CODE_NAMES;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};

use crate::cohort::{Cohort, Date};
use crate::defects::{DefectKind, MALFORMED_CELLS, PlantedDefect};
use crate::error::{Error, Result};
use crate::random::Stream;

/// Sheet name of the real spreadsheet.
pub const SHEET: &str = "影像学检查";
/// Column headers, in order.
pub const COLUMNS: [&str; 7] = [
    "序号",
    "检查号",
    "检查时间",
    "左侧诊断-训练",
    "右侧诊断-训练",
    "影像所见",
    "检查结论",
];

fn finding(side: &str, code: u8) -> String {
    let text = match code {
        1 => "中耳腔及乳突气房内见软组织密度影，乳突骨质硬化。",
        2 => "上鼓室及鼓窦区见软组织肿块影，听小骨及盾板骨质破坏。",
        3 => "中耳腔及乳突气房内见液性密度影，可见气液平面。",
        4 => "鼓窦及乳突区见膨胀性稍高密度影，边缘骨质受压变薄。",
        5 => "中耳乳突气化良好，未见明显异常密度影。",
        _ => "中耳腔内见少许斑片状密度增高影。",
    };
    format!("{side}{text}")
}

/// A cell of the exam-id or date column.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Number(u64),
    Text(String),
    DateTime(Date),
}

#[derive(Debug, Clone, PartialEq)]
struct Row {
    exam_id: Cell,
    date: Cell,
    left: Option<String>,
    right: Option<String>,
    findings: String,
    conclusion: String,
    /// The exam the row belongs to (index into the cohort), if any.
    exam: Option<usize>,
    /// Which defect this row carries and for which exam (by exam id).
    defect: Option<(DefectKind, u64)>,
    /// A duplicate row points at the exam whose first row it copies.
    duplicate_of: Option<usize>,
}

fn diagnosis(code: u8, s: &mut Stream) -> String {
    let name = CODE_NAMES[usize::from(code) - 1];
    match s.int(0, 9) {
        0 | 1 => format!("{code}:{name}"),
        2 => format!(" {code} ： {name} "),
        _ => format!("{code}：{name}"),
    }
}

fn date_cell(d: Date, s: &mut Stream) -> Cell {
    match s.int(0, 9) {
        0..=3 => Cell::Text(d.to_string()),
        4 | 5 => Cell::Text(format!("{}/{}/{}", d.year, d.month, d.day)),
        _ => Cell::DateTime(d),
    }
}

/// The rows of the spreadsheet and the label-side defects.
pub(crate) struct LabelTable {
    rows: Vec<Row>,
    /// Spreadsheet row (1-based, header = 1) of each exam's first row, if it has one.
    pub exam_rows: Vec<Option<usize>>,
    pub defects: Vec<PlantedDefect>,
}

/// An exam's row before any defect: its diagnosis cells (blank sides blank), the report
/// text, and an exam id and date in one of the forms a hospital export has.
fn exam_row(i: usize, exam: &crate::cohort::ExamPlan, r: &mut Stream) -> Row {
    let cell =
        |side: usize, r: &mut Stream| (!exam.blank[side]).then(|| diagnosis(exam.codes[side], r));
    let left = cell(0, r);
    let right = cell(1, r);
    let findings = format!(
        "{}{}",
        finding("左侧", exam.codes[0]),
        finding("右侧", exam.codes[1])
    );
    let conclusion = format!(
        "左侧{}；右侧{}。",
        CODE_NAMES[usize::from(exam.codes[0]) - 1],
        CODE_NAMES[usize::from(exam.codes[1]) - 1]
    );
    let exam_id = if r.chance(0.1) {
        Cell::Text(exam.exam_id.to_string())
    } else {
        Cell::Number(exam.exam_id)
    };
    Row {
        exam_id,
        date: date_cell(exam.label_date, r),
        left,
        right,
        findings,
        conclusion,
        exam: Some(i),
        defect: None,
        duplicate_of: None,
    }
}

/// Plants `defect` in exam `i`'s `row`, or in an extra row pushed to `rows` (a
/// duplicate, or the row of an exam without DICOM, numbered from `extra_id`).
fn plant_row_defect(
    defect: Option<DefectKind>,
    row: &mut Row,
    (i, exam): (usize, &crate::cohort::ExamPlan),
    r: &mut Stream,
    rows: &mut Vec<Row>,
    extra_id: &mut u64,
) {
    match defect {
        Some(DefectKind::MalformedCell) => {
            let text = (*r.pick(&MALFORMED_CELLS)).to_owned();
            if r.chance(0.5) {
                row.left = Some(text);
            } else {
                row.right = Some(text);
            }
            row.defect = Some((DefectKind::MalformedCell, exam.exam_id));
        }
        Some(DefectKind::BadExamId) => {
            row.exam_id = Cell::Text(format!("{}X", exam.exam_id));
            row.defect = Some((DefectKind::BadExamId, exam.exam_id));
        }
        Some(DefectKind::BadDate) => {
            row.date = Cell::Text(format!("{}-13-45", exam.label_date.year));
            row.defect = Some((DefectKind::BadDate, exam.exam_id));
        }
        Some(kind @ (DefectKind::DuplicateRowAgreeing | DefectKind::DuplicateRowConflicting)) => {
            let mut dup = row.clone();
            dup.defect = Some((kind, exam.exam_id));
            dup.duplicate_of = Some(i);
            if kind == DefectKind::DuplicateRowConflicting {
                // a different code on one side (filling a blank side counts too)
                let side = usize::from(r.chance(0.5));
                let code = exam.codes[side];
                let other = if code == 5 { 1 } else { 5 };
                let text = Some(diagnosis(other, r));
                if side == 0 {
                    dup.left = text;
                } else {
                    dup.right = text;
                }
            }
            rows.push(dup);
        }
        Some(DefectKind::MissingExam) => {
            *extra_id += 1 + r.int(0, 50) as u64;
            rows.push(Row {
                exam_id: Cell::Number(*extra_id),
                date: date_cell(exam.date, r),
                left: Some(diagnosis(5, r)),
                right: Some(diagnosis(1, r)),
                findings: finding("左侧", 5),
                conclusion: "左侧正常；右侧慢性化脓性中耳炎。".into(),
                exam: None,
                defect: Some((DefectKind::MissingExam, *extra_id)),
                duplicate_of: None,
            });
        }
        _ => {}
    }
}

/// The defect planted in the `k`-th row (0-based, after shuffling) and what medfen is
/// expected to say about it; `first` is the first row of the exam a duplicate copies.
fn planted_defect(
    k: usize,
    row: &Row,
    kind: DefectKind,
    exam_id: u64,
    first: Option<usize>,
) -> PlantedDefect {
    let n = k + 2;
    let (text, expected) = match kind {
        DefectKind::MalformedCell => {
            let text = [&row.left, &row.right]
                .into_iter()
                .flatten()
                .find(|t| MALFORMED_CELLS.contains(&t.as_str()))
                .cloned();
            (
                text,
                format!(
                    "row {n}: an unparseable diagnosis cell is an error naming the row and text (quarantined with --skip-invalid)"
                ),
            )
        }
        DefectKind::BadExamId => (
            Some(row_text(&row.exam_id)),
            format!(
                "row {n}: an exam id that is not a number is an error naming the row (quarantined with --skip-invalid)"
            ),
        ),
        DefectKind::BadDate => (
            Some(row_text(&row.date)),
            format!(
                "row {n}: a date that does not parse is an error naming the row (quarantined with --skip-invalid)"
            ),
        ),
        DefectKind::DuplicateRowAgreeing => (
            None,
            format!(
                "rows {} and {n} describe exam {exam_id} identically: merged, and the merge reported",
                first.unwrap_or(0)
            ),
        ),
        DefectKind::DuplicateRowConflicting => (
            None,
            format!(
                "rows {} and {n} disagree about exam {exam_id}: an error listing both rows",
                first.unwrap_or(0)
            ),
        ),
        DefectKind::MissingExam => (
            None,
            format!(
                "row {n}: exam {exam_id} has no DICOM folder: listed as an unmatched label row"
            ),
        ),
        _ => (None, String::new()),
    };
    PlantedDefect {
        kind,
        exam_id,
        label_row: Some(n),
        other_row: first,
        file: None,
        text,
        expected,
    }
}

impl LabelTable {
    pub fn build(seed: u64, cohort: &Cohort, defects: &[Option<DefectKind>]) -> Self {
        let mut s = Stream::new(seed, "labels", 0);
        let mut rows = Vec::new();
        let mut extra_id = cohort.exams.last().map_or(9_000_000, |e| e.exam_id) + 1000;
        for (i, exam) in cohort.exams.iter().enumerate() {
            let defect = defects[i];
            if defect == Some(DefectKind::UnlabelledExam) {
                continue;
            }
            let mut r = Stream::new(seed, "label-row", i as u64);
            let mut row = exam_row(i, exam, &mut r);
            plant_row_defect(
                defect,
                &mut row,
                (i, exam),
                &mut r,
                &mut rows,
                &mut extra_id,
            );
            rows.push(row);
        }
        s.shuffle(&mut rows);
        // Row numbers after shuffling: data starts on spreadsheet row 2.
        let mut exam_rows = vec![None; cohort.exams.len()];
        for (k, row) in rows.iter().enumerate() {
            if let (Some(e), None) = (row.exam, row.duplicate_of) {
                exam_rows[e] = Some(k + 2);
            }
        }
        let mut planted: Vec<PlantedDefect> = rows
            .iter()
            .enumerate()
            .filter_map(|(k, row)| {
                let (kind, exam_id) = row.defect?;
                let first = row.duplicate_of.and_then(|e| exam_rows[e]);
                Some(planted_defect(k, row, kind, exam_id, first))
            })
            .collect();
        for (i, d) in defects.iter().enumerate() {
            if *d == Some(DefectKind::UnlabelledExam) {
                let exam_id = cohort.exams[i].exam_id;
                planted.push(PlantedDefect {
                    kind: DefectKind::UnlabelledExam,
                    exam_id,
                    label_row: None,
                    other_row: None,
                    file: None,
                    text: None,
                    expected: format!(
                        "exam {exam_id} has DICOM files but no label row: listed as unlabelled"
                    ),
                });
            }
        }
        Self {
            rows,
            exam_rows,
            defects: planted,
        }
    }

    /// Writes the spreadsheet (atomically).
    pub fn write_xlsx(&self, path: &Path) -> Result<()> {
        let err = |e: rust_xlsxwriter::XlsxError| Error::table(path, &e);
        let mut wb = Workbook::new();
        // A fixed creation time keeps the file byte-identical across runs.
        let created = ExcelDateTime::from_ymd(2024, 3, 29).map_err(err)?;
        wb.set_properties(&DocProperties::new().set_creation_datetime(&created));
        let date_format = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
        let ws = wb.add_worksheet();
        ws.set_name(SHEET).map_err(err)?;
        for (c, name) in COLUMNS.iter().enumerate() {
            ws.write_string(0, c as u16, *name).map_err(err)?;
        }
        for (k, row) in self.rows.iter().enumerate() {
            let r = k as u32 + 1;
            ws.write_number(r, 0, (k + 1) as f64).map_err(err)?;
            for (col, cell) in [(1u16, &row.exam_id), (2, &row.date)] {
                match cell {
                    Cell::Number(v) => {
                        ws.write_number(r, col, *v as f64).map_err(err)?;
                    }
                    Cell::Text(t) => {
                        ws.write_string(r, col, t).map_err(err)?;
                    }
                    Cell::DateTime(d) => {
                        let dt = ExcelDateTime::from_ymd(d.year as u16, d.month as u8, d.day as u8)
                            .and_then(|dt| dt.and_hms(9, 30, 0))
                            .map_err(err)?;
                        ws.write_datetime_with_format(r, col, &dt, &date_format)
                            .map_err(err)?;
                    }
                }
            }
            for (col, text) in [(3u16, &row.left), (4, &row.right)] {
                if let Some(t) = text {
                    ws.write_string(r, col, t).map_err(err)?;
                }
            }
            ws.write_string(r, 5, &row.findings).map_err(err)?;
            ws.write_string(r, 6, &row.conclusion).map_err(err)?;
        }
        let bytes = wb.save_to_buffer().map_err(err)?;
        medfen_io::write_atomically(path, &bytes)?;
        Ok(())
    }
}

fn row_text(cell: &Cell) -> String {
    match cell {
        Cell::Text(t) => t.clone(),
        Cell::Number(v) => v.to_string(),
        Cell::DateTime(d) => d.to_string(),
    }
}
