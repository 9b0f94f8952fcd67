//! Steps 2 and 3 of a split: patients grouped into strata by their label profile,
//! then assigned to test, val and train stratum by stratum.

use std::collections::{BTreeMap, BTreeSet};

use super::{SplitEar, SplitName, SplitOptions, keyed};
use crate::codes::{NUM_CODES, code_index};

/// The split of every exam, and what stratification did.
pub(super) struct Assigned {
    /// The split of each exam.
    pub assignment: BTreeMap<u64, SplitName>,
    /// Patients per stratification level (`profile`, `rarest_code`, `pooled`).
    pub strata: BTreeMap<String, usize>,
    /// Patients per stratum (`profile:2+5`, `rarest:code4`, `pooled`).
    pub strata_by_key: BTreeMap<String, usize>,
    /// Labelled ears per code over every kept ear.
    pub global: [usize; NUM_CODES],
}

/// Each patient's exams and codes (after the filter).
struct Patients<'a> {
    exams: BTreeMap<&'a str, BTreeSet<u64>>,
    codes: BTreeMap<&'a str, BTreeSet<u8>>,
    global: [usize; NUM_CODES],
}

impl<'a> Patients<'a> {
    fn of(kept: &'a [SplitEar]) -> Self {
        let mut p = Self {
            exams: BTreeMap::new(),
            codes: BTreeMap::new(),
            global: [0; NUM_CODES],
        };
        for e in kept {
            p.exams.entry(&e.patient_key).or_default().insert(e.exam_id);
            let codes = p.codes.entry(&e.patient_key).or_default();
            if let Some(c) = e.code {
                codes.insert(c);
                p.global[code_index(c)] += 1;
            }
        }
        p
    }

    /// The patient's codes, joined: `2+5`.
    fn profile(&self, p: &str) -> String {
        self.codes[p]
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("+")
    }

    /// The patient's globally rarest code, `code4` (or `none`).
    fn rarest(&self, p: &str) -> String {
        self.codes[p]
            .iter()
            .min_by_key(|c| (self.global[code_index(**c)], **c))
            .map_or_else(|| "none".to_string(), |c| format!("code{c}"))
    }
}

/// Assigns every kept exam to a split.
pub(super) fn patients(kept: &[SplitEar], options: &SplitOptions) -> Assigned {
    let patients = Patients::of(kept);
    let external: BTreeSet<&str> = patients
        .exams
        .iter()
        .filter(|(_, exams)| exams.iter().any(|x| options.external_exams.contains(x)))
        .map(|(p, _)| *p)
        .collect();
    let internal: Vec<&str> = patients
        .exams
        .keys()
        .copied()
        .filter(|p| !external.contains(p))
        .collect();
    let (mut strata, levels) = stratify(&patients, &internal, min_stratum(options));
    let strata_by_key = strata.iter().map(|(k, ps)| (k.clone(), ps.len())).collect();
    let mut patient_split = assign_strata(&mut strata, &patients, options);
    for p in &external {
        patient_split.insert(p, SplitName::ExternalTest);
    }
    let assignment = kept
        .iter()
        .map(|e| (e.exam_id, patient_split[e.patient_key.as_str()]))
        .collect();
    Assigned {
        assignment,
        strata: levels,
        strata_by_key,
        global: patients.global,
    }
}

/// The smallest stratum that can place a patient in the smaller holdout.
fn min_stratum(options: &SplitOptions) -> usize {
    let smallest = [options.val, options.test]
        .into_iter()
        .filter(|f| *f > 0.0)
        .fold(1.0f64, f64::min);
    (1.0 / smallest).ceil().max(2.0) as usize
}

/// Strata of patients (profile, else rarest code, else one pooled stratum) and the
/// number of patients per level.
fn stratify<'a>(
    patients: &Patients<'a>,
    internal: &[&'a str],
    min_stratum: usize,
) -> (BTreeMap<String, Vec<&'a str>>, BTreeMap<String, usize>) {
    let mut level: BTreeMap<&str, (&'static str, String)> = BTreeMap::new();
    let mut by_profile: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for p in internal {
        by_profile.entry(patients.profile(p)).or_default().push(p);
    }
    let mut by_rarest: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (prof, ps) in by_profile {
        if ps.len() >= min_stratum {
            for p in ps {
                level.insert(p, ("profile", format!("profile:{prof}")));
            }
        } else {
            for p in ps {
                by_rarest.entry(patients.rarest(p)).or_default().push(p);
            }
        }
    }
    for (code, ps) in by_rarest {
        let (lvl, key) = if ps.len() >= min_stratum {
            ("rarest_code", format!("rarest:{code}"))
        } else {
            ("pooled", "pooled".to_string())
        };
        for p in ps {
            level.insert(p, (lvl, key.clone()));
        }
    }
    let mut strata: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut levels: BTreeMap<String, usize> = BTreeMap::new();
    for (p, (lvl, key)) in &level {
        strata.entry(key.clone()).or_default().push(p);
        *levels.entry((*lvl).to_string()).or_default() += 1;
    }
    (strata, levels)
}

/// Assigns patients stratum by stratum, carrying rounding across strata, and keeps
/// a patient of every stratum for training.
///
/// Within a stratum, patients are ordered by a seed-keyed hash of their smallest exam
/// id: something the data fixes and every machine sees alike. Never by the patient key,
/// an HMAC under a machine-local secret: the same data and seed must give the same
/// split on any machine, and after the secret is lost.
fn assign_strata<'a>(
    strata: &mut BTreeMap<String, Vec<&'a str>>,
    patients: &Patients<'a>,
    options: &SplitOptions,
) -> BTreeMap<&'a str, SplitName> {
    let mut patient_split: BTreeMap<&str, SplitName> = BTreeMap::new();
    let (mut cum, mut given_test, mut given_val) = (0usize, 0usize, 0usize);
    let quota = |n: usize, f: f64| (n as f64 * f).round() as usize;
    let first_exam = |p: &str| patients.exams[p].first().copied().unwrap_or_default();
    for ps in strata.values_mut() {
        ps.sort_by_key(|p| {
            let exam = first_exam(p);
            (keyed(options.seed, "split", &exam.to_string()), exam)
        });
        let n = ps.len();
        cum += n;
        let mut n_test = quota(cum, options.test).saturating_sub(given_test).min(n);
        let mut n_val = quota(cum, options.val)
            .saturating_sub(given_val)
            .min(n - n_test);
        while n_test + n_val >= n && n > 0 && (n_test + n_val) > 0 {
            if n_val > 0 {
                n_val -= 1;
            } else {
                n_test -= 1;
            }
        }
        given_test += n_test;
        given_val += n_val;
        for (k, p) in ps.iter().enumerate() {
            let s = if k < n_test {
                SplitName::Test
            } else if k < n_test + n_val {
                SplitName::Val
            } else {
                SplitName::Train
            };
            patient_split.insert(p, s);
        }
    }
    patient_split
}
