//! Who is in the dataset: patients, their exams, dates, scanners and the diagnosis of
//! each ear.

use std::fmt;

use crate::config::SynthConfig;
use crate::random::Stream;
use crate::scanner;

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// The date `days` after 1970-01-01 (proleptic Gregorian; H. Hinnant's algorithm).
    pub fn from_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Self { year, month, day }
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        let (y, m) = if self.month <= 2 {
            (i64::from(self.year) - 1, i64::from(self.month) + 9)
        } else {
            (i64::from(self.year), i64::from(self.month) - 3)
        };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let doy = (153 * m + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// `YYYYMMDD`, the DICOM DA form.
    pub fn dicom(self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A synthetic patient: identifiers exist only in DICOM headers (and are hashed by
/// every later stage).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Patient {
    pub id: String,
    pub name: String,
}

/// One exam: a date folder, an exam folder, a diagnosis per ear.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExamPlan {
    /// Position in the dataset (0-based, in date order).
    pub index: usize,
    pub exam_id: u64,
    pub patient: usize,
    /// Date of the exam (the DICOM folder and StudyDate).
    pub date: Date,
    /// Date in the label table (often different, as in the real spreadsheet).
    pub label_date: Date,
    /// Diagnosis code of the patient's left and right ear.
    pub codes: [u8; 2],
    /// Whether the label cell of each side is left blank.
    pub blank: [bool; 2],
    pub scanner: usize,
}

/// The cohort: patients and their exams.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cohort {
    pub patients: Vec<Patient>,
    pub exams: Vec<ExamPlan>,
}

/// First and last exam dates of the real dataset.
const FIRST_DAY: Date = Date {
    year: 2016,
    month: 1,
    day: 6,
};
const LAST_DAY: Date = Date {
    year: 2022,
    month: 12,
    day: 30,
};

/// Codes of the two ears of one exam, with realistic laterality: disease is often
/// unilateral, bilateral disease often shares its code, and the marginal frequency of
/// each code over ears equals `freq`.
fn draw_codes(freq: &[f64; 6], s: &mut Stream) -> [u8; 2] {
    let f5 = freq[4];
    // P(both normal) = n, P(one ear diseased) = u, P(both diseased) = b, with
    // n + u/2 = f5 (the marginal of "normal").
    let mut n = 0.28 * f5;
    let mut u = 2.0 * (f5 - n);
    let mut b = 1.0 - n - u;
    if b < 0.0 {
        b = 0.0;
        u = 2.0 * (1.0 - f5);
        n = 1.0 - u;
    }
    let disease_codes = [1u8, 2, 3, 4, 6];
    let disease_weights: Vec<f64> = disease_codes
        .iter()
        .map(|&c| freq[usize::from(c) - 1])
        .collect();
    let has_disease = disease_weights.iter().sum::<f64>() > 0.0;
    let disease = |s: &mut Stream| disease_codes[s.weighted(&disease_weights)];
    if !has_disease {
        return [5, 5];
    }
    match s.weighted(&[n, u, b]) {
        0 => [5, 5],
        1 => {
            let code = disease(s);
            if s.chance(0.5) { [code, 5] } else { [5, code] }
        }
        _ => {
            let left = disease(s);
            let right = if s.chance(0.6) { left } else { disease(s) };
            [left, right]
        }
    }
}

impl Cohort {
    pub fn plan(config: &SynthConfig) -> Self {
        let freq = config.code_frequencies.normalised();
        let n_exams = config.exams;
        let n_patients =
            ((n_exams as f64 / (1.0 + config.repeat_patients)).round() as usize).clamp(1, n_exams);
        let mut s = Stream::new(config.seed, "cohort", 0);

        // Patients: unique 8-digit IDs and synthetic names.
        let mut ids = std::collections::BTreeSet::new();
        let patients: Vec<Patient> = (0..n_patients)
            .map(|k| {
                let id = loop {
                    let v = s.int(10_000_000, 99_999_999);
                    if ids.insert(v) {
                        break v;
                    }
                };
                Patient {
                    id: format!("P{id}"),
                    name: format!("SYNTHETIC^PATIENT{:05}", k + 1),
                }
            })
            .collect();

        // Exams: one per patient, the rest are repeat exams of random patients.
        let mut owners: Vec<usize> = (0..n_patients).collect();
        for _ in n_patients..n_exams {
            owners.push(s.int(0, n_patients as i64 - 1) as usize);
        }
        let (first, last) = (FIRST_DAY.days(), LAST_DAY.days());
        let mut days: Vec<i64> = (0..n_exams).map(|_| s.int(first, last)).collect();
        days.sort_unstable();
        // Shuffle which exam gets which date, then order exams by date.
        s.shuffle(&mut owners);
        let mut exams: Vec<(i64, usize)> = days.into_iter().zip(owners).collect();
        exams.sort_unstable();

        let scanner_weights = scanner::weights();
        let mut exam_id = 2_000_000 + s.int(0, 99_999) as u64;
        let mut last_codes: Vec<Option<[u8; 2]>> = vec![None; n_patients];
        let exams = exams
            .into_iter()
            .enumerate()
            .map(|(index, (day, patient))| {
                let mut e = Stream::new(config.seed, "exam", index as u64);
                exam_id += e.int(1, 400) as u64;
                // A repeat exam keeps the earlier diagnosis more often than not.
                let codes = match last_codes[patient] {
                    Some(c) if e.chance(0.6) => c,
                    _ => config.diseased_sides.apply(draw_codes(&freq, &mut e)),
                };
                last_codes[patient] = Some(codes);
                let blank = [e.chance(config.blank_sides), e.chance(config.blank_sides)];
                // Most label dates differ from the folder date (5185 of 7692 ears in
                // the real data).
                let label_day = if e.chance(0.67) {
                    day + e.int(1, 30) * if e.chance(0.5) { 1 } else { -1 }
                } else {
                    day
                };
                ExamPlan {
                    index,
                    exam_id,
                    patient,
                    date: Date::from_days(day),
                    label_date: Date::from_days(label_day),
                    codes,
                    blank,
                    scanner: e.weighted(&scanner_weights),
                }
            })
            .collect();
        Self { patients, exams }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CodeFrequencies, SynthConfig};

    #[test]
    fn dates_round_trip() {
        for d in [-1000, 0, 16_806, 19_356, 20_000] {
            assert_eq!(Date::from_days(d).days(), d);
        }
        assert_eq!(FIRST_DAY.to_string(), "2016-01-06");
        assert_eq!(Date::from_days(0).dicom(), "19700101");
        assert_eq!(
            Date {
                year: 2020,
                month: 2,
                day: 29
            }
            .days()
                + 1,
            Date {
                year: 2020,
                month: 3,
                day: 1
            }
            .days()
        );
    }

    #[test]
    fn ear_codes_follow_the_frequencies_and_disease_is_often_unilateral() {
        let freq = CodeFrequencies::default().normalised();
        let mut s = Stream::new(3, "codes", 0);
        let mut counts = [0usize; 6];
        let mut unilateral = 0;
        let n = 40_000;
        for _ in 0..n {
            let c = draw_codes(&freq, &mut s);
            counts[usize::from(c[0]) - 1] += 1;
            counts[usize::from(c[1]) - 1] += 1;
            unilateral += usize::from((c[0] == 5) != (c[1] == 5));
        }
        for (k, (&c, f)) in counts.iter().zip(freq).enumerate() {
            let got = c as f64 / f64::from(2 * n);
            assert!((got - f).abs() < 0.006, "code {}: {got} vs {f}", k + 1);
        }
        let u = unilateral as f64 / f64::from(n);
        assert!((0.35..0.5).contains(&u), "{u}");
    }

    #[test]
    fn cohorts_are_reproducible_and_repeat_patients_exist() {
        let cfg = SynthConfig::new("/x")
            .with_exams(200)
            .with_repeat_patients(0.25);
        let a = Cohort::plan(&cfg);
        assert_eq!(a, Cohort::plan(&cfg));
        assert_eq!(a.exams.len(), 200);
        assert_eq!(a.patients.len(), 160);
        let mut per_patient = vec![0; a.patients.len()];
        for e in &a.exams {
            per_patient[e.patient] += 1;
        }
        assert!(per_patient.iter().all(|&n| n >= 1));
        assert!(per_patient.iter().filter(|&&n| n >= 2).count() > 20);
        // ids increase with date, dates within the real range
        assert!(
            a.exams
                .windows(2)
                .all(|w| w[0].exam_id < w[1].exam_id && w[0].date <= w[1].date)
        );
        assert!(
            a.exams
                .iter()
                .all(|e| e.date >= FIRST_DAY && e.date <= LAST_DAY)
        );
        let other = Cohort::plan(&cfg.clone().with_seed(7));
        assert_ne!(a, other);
    }
}
