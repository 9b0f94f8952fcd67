//! Patient-level train/val/test splits with strictly nested training subsets.
//!
//! Every exam of a patient (both ears) lands in one split; patients are stratified by
//! their label profile (the set of codes over all their ears) with deterministic
//! fallbacks for rare profiles (the patient's rarest code, then one shared stratum).
//! Code filters apply before stratification. Training subsets for ratios such as
//! 1%, 20%, 100% are built smallest first, each starting from the previous one, so
//! 1% ⊂ 20% ⊂ 100% holds by construction; they are class-stratified at ear level with
//! a minimum per class. Val and test are the same for every ratio. Every random choice
//! is a keyed hash of (seed, purpose, id), so the same manifest and seed give the
//! same bytes whatever the row order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::manifest::Ear;
use crate::table::{Table, file_sha256, write_json};

/// What happens to ears whose code is outside `keep_codes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeepMode {
    /// The ear loses its label (masked); the exam stays if its other ear is kept.
    #[default]
    MaskSide,
    /// The whole exam is dropped.
    DropExam,
}

/// Options of [`make_split`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitOptions {
    /// Fraction of patients in validation (default 0.1).
    pub val: f64,
    /// Fraction of patients in test (default 0.2).
    pub test: f64,
    /// Training subset ratios (default 0.01, 0.2, 1.0).
    pub ratios: Vec<f64>,
    /// Seed.
    pub seed: u64,
    /// Minimum ears per class in every training subset (when the class has them).
    pub min_per_class: usize,
    /// Codes to keep (None: all six).
    pub keep_codes: Option<Vec<u8>>,
    /// What happens to ears with other codes.
    pub keep_mode: KeepMode,
    /// Exams whose patients form an external test set (e.g. one site), outside the
    /// random split.
    pub external_exams: BTreeSet<u64>,
}

impl Default for SplitOptions {
    fn default() -> Self {
        Self {
            val: 0.1,
            test: 0.2,
            ratios: vec![0.01, 0.2, 1.0],
            seed: 42,
            min_per_class: 1,
            keep_codes: None,
            keep_mode: KeepMode::MaskSide,
            external_exams: BTreeSet::new(),
        }
    }
}

impl SplitOptions {
    fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::SplitOptions(m));
        if !(0.0..1.0).contains(&self.val)
            || !(0.0..1.0).contains(&self.test)
            || self.val + self.test >= 1.0
        {
            return bad(format!(
                "val {} and test {} must be in [0, 1) with val + test < 1",
                self.val, self.test
            ));
        }
        if self.ratios.is_empty() || self.ratios.iter().any(|r| !(*r > 0.0 && *r <= 1.0)) {
            return bad(format!("ratios {:?} must be in (0, 1]", self.ratios));
        }
        if let Some(k) = &self.keep_codes
            && (k.is_empty() || k.iter().any(|c| !(1..=6).contains(c)))
        {
            return bad(format!("keep codes {k:?} must be non-empty codes 1..6"));
        }
        Ok(())
    }
}

/// Which split an exam is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitName {
    /// Training.
    Train,
    /// Validation.
    Val,
    /// Test.
    Test,
    /// External test (a held-out site).
    ExternalTest,
}

impl SplitName {
    /// File stem.
    pub fn name(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Val => "val",
            Self::Test => "test",
            Self::ExternalTest => "external_test",
        }
    }
}

/// An ear in a split file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitEar {
    /// The ear, with `code` after the code filter (None when masked).
    pub ear: Ear,
    /// The manifest's code.
    pub code_original: Option<u8>,
}

/// Counts of one split file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitCounts {
    /// Patients.
    pub patients: usize,
    /// Exams.
    pub exams: usize,
    /// Ears (both ears of every exam).
    pub ears: usize,
    /// Labelled ears per code 1..=6 (after the filter).
    pub ears_by_code: [usize; 6],
}

/// A training subset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subset {
    /// The ratio asked for.
    pub ratio: f64,
    /// Folder name (`1pct`, `20pct`, `100pct`).
    pub folder: String,
    /// Target ears per code 1..=6.
    pub targets: [usize; 6],
    /// Exam ids, in file order.
    pub exams: Vec<u64>,
    /// Counts.
    pub counts: SplitCounts,
}

/// A finished split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitPlan {
    /// Options used.
    pub options: SplitOptions,
    /// The split of each exam.
    pub assignment: BTreeMap<u64, SplitName>,
    /// Training subsets, smallest first.
    pub subsets: Vec<Subset>,
    /// Counts of val, test and external test.
    pub holdout: BTreeMap<String, SplitCounts>,
    /// Patients per stratification level (`profile`, `rarest_code`, `pooled`).
    pub strata: BTreeMap<String, usize>,
    /// Exams left out: no labelled ear after the filter, or dropped by it.
    pub excluded_exams: Vec<(u64, String)>,
    /// Things a reader should know (e.g. a class with no training ear).
    pub warnings: Vec<String>,
    /// The ears of every kept exam.
    pub ears: Vec<SplitEar>,
}

/// A uniform 64-bit value from (seed, purpose, id).
fn keyed(seed: u64, purpose: &str, id: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(purpose.as_bytes());
    h.update([0]);
    h.update(id.as_bytes());
    let d = h.finalize();
    u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
}

fn counts(ears: &[&SplitEar]) -> SplitCounts {
    let mut by_code = [0usize; 6];
    for e in ears {
        if let Some(c) = e.ear.code {
            by_code[usize::from(c) - 1] += 1;
        }
    }
    SplitCounts {
        patients: ears
            .iter()
            .map(|e| &e.ear.patient_key)
            .collect::<BTreeSet<_>>()
            .len(),
        exams: ears
            .iter()
            .map(|e| e.ear.exam_id)
            .collect::<BTreeSet<_>>()
            .len(),
        ears: ears.len(),
        ears_by_code: by_code,
    }
}

fn folder_name(ratio: f64) -> String {
    let pct = ratio * 100.0;
    if (pct - pct.round()).abs() < 1e-9 {
        format!("{}pct", pct.round())
    } else {
        format!("{}pct", (pct * 10.0).round() / 10.0)
    }
}

/// Splits the manifest's ears.
///
/// # Errors
/// [`Error::SplitOptions`] for fractions or ratios that cannot work, or a manifest
/// whose exams disagree on their patient key.
#[allow(clippy::too_many_lines)]
pub fn make_split(ears: &[Ear], options: &SplitOptions) -> Result<SplitPlan> {
    options.validate()?;
    // 1. Code filter, before anything else.
    let keep = |c: u8| options.keep_codes.as_ref().is_none_or(|k| k.contains(&c));
    let mut by_exam: BTreeMap<u64, Vec<&Ear>> = BTreeMap::new();
    for e in ears {
        by_exam.entry(e.exam_id).or_default().push(e);
    }
    let mut kept: Vec<SplitEar> = Vec::new();
    let mut excluded_exams = Vec::new();
    for (id, group) in &by_exam {
        let keys: BTreeSet<&str> = group.iter().map(|e| e.patient_key.as_str()).collect();
        if keys.len() != 1 {
            return Err(Error::SplitOptions(format!(
                "exam {id} has ears with different patient keys in the manifest"
            )));
        }
        let outside = group.iter().any(|e| e.code.is_some_and(|c| !keep(c)));
        if outside && options.keep_mode == KeepMode::DropExam {
            excluded_exams.push((*id, "a code outside --keep-codes (drop-exam)".to_string()));
            continue;
        }
        let filtered: Vec<SplitEar> = group
            .iter()
            .map(|e| SplitEar {
                ear: Ear {
                    code: e.code.filter(|c| keep(*c)),
                    ..(*e).clone()
                },
                code_original: e.code,
            })
            .collect();
        if filtered.iter().all(|e| e.ear.code.is_none()) {
            excluded_exams.push((*id, "no labelled ear".to_string()));
            continue;
        }
        kept.extend(filtered);
    }
    kept.sort_by_key(|e| (e.ear.exam_id, e.ear.side));

    // 2. Patients and their profiles.
    let mut patient_exams: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
    let mut patient_codes: BTreeMap<&str, BTreeSet<u8>> = BTreeMap::new();
    let mut global = [0usize; 6];
    for e in &kept {
        patient_exams
            .entry(&e.ear.patient_key)
            .or_default()
            .insert(e.ear.exam_id);
        let codes = patient_codes.entry(&e.ear.patient_key).or_default();
        if let Some(c) = e.ear.code {
            codes.insert(c);
            global[usize::from(c) - 1] += 1;
        }
    }
    let external: BTreeSet<&str> = patient_exams
        .iter()
        .filter(|(_, exams)| exams.iter().any(|x| options.external_exams.contains(x)))
        .map(|(p, _)| *p)
        .collect();
    let profile = |p: &str| {
        patient_codes[p]
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("+")
    };
    let rarest = |p: &str| {
        patient_codes[p]
            .iter()
            .min_by_key(|c| (global[usize::from(**c) - 1], **c))
            .map_or_else(|| "none".to_string(), |c| format!("code{c}"))
    };
    // Smallest stratum that can place a patient in the smaller holdout.
    let smallest = [options.val, options.test]
        .into_iter()
        .filter(|f| *f > 0.0)
        .fold(1.0f64, f64::min);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let min_stratum = (1.0 / smallest).ceil().max(2.0) as usize;
    let internal: Vec<&str> = patient_exams
        .keys()
        .copied()
        .filter(|p| !external.contains(p))
        .collect();
    let mut level: BTreeMap<&str, (&'static str, String)> = BTreeMap::new();
    let mut by_profile: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for p in &internal {
        by_profile.entry(profile(p)).or_default().push(p);
    }
    let mut by_rarest: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (prof, ps) in by_profile {
        if ps.len() >= min_stratum {
            for p in ps {
                level.insert(p, ("profile", format!("profile:{prof}")));
            }
        } else {
            for p in ps {
                by_rarest.entry(rarest(p)).or_default().push(p);
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
    let mut strata_levels: BTreeMap<String, usize> = BTreeMap::new();
    for (p, (lvl, key)) in &level {
        strata.entry(key.clone()).or_default().push(p);
        *strata_levels.entry((*lvl).to_string()).or_default() += 1;
    }

    // 3. Assign patients, stratum by stratum, carrying rounding across strata.
    let mut patient_split: BTreeMap<&str, SplitName> = BTreeMap::new();
    let (mut cum, mut given_test, mut given_val) = (0usize, 0usize, 0usize);
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let quota = |n: usize, f: f64| (n as f64 * f).round() as usize;
    for ps in strata.values_mut() {
        ps.sort_by_key(|p| (keyed(options.seed, "split", p), *p));
        let n = ps.len();
        cum += n;
        let mut n_test = quota(cum, options.test).saturating_sub(given_test).min(n);
        let mut n_val = quota(cum, options.val)
            .saturating_sub(given_val)
            .min(n - n_test);
        // keep a patient of every stratum for training
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
    for p in &external {
        patient_split.insert(p, SplitName::ExternalTest);
    }
    let assignment: BTreeMap<u64, SplitName> = kept
        .iter()
        .map(|e| (e.ear.exam_id, patient_split[e.ear.patient_key.as_str()]))
        .collect();

    // 4. Nested, class-stratified training subsets.
    let train_exams: Vec<u64> = assignment
        .iter()
        .filter(|(_, s)| **s == SplitName::Train)
        .map(|(id, _)| *id)
        .collect();
    let mut exam_codes: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    for e in &kept {
        if let Some(c) = e.ear.code {
            exam_codes.entry(e.ear.exam_id).or_default().push(c);
        }
    }
    let mut n_train = [0usize; 6];
    for id in &train_exams {
        for c in exam_codes.get(id).into_iter().flatten() {
            n_train[usize::from(*c) - 1] += 1;
        }
    }
    let mut priority = train_exams.clone();
    priority.sort_by_key(|id| (keyed(options.seed, "subset", &id.to_string()), *id));
    let mut class_order: Vec<usize> = (0..6).collect();
    class_order.sort_by_key(|c| (n_train[*c], *c)); // rarest first
    let mut ratios = options.ratios.clone();
    ratios.sort_by(f64::total_cmp);
    ratios.dedup();
    let mut warnings = Vec::new();
    for c in 0..6 {
        if global[c] > 0 && n_train[c] == 0 {
            warnings.push(format!(
                "code {} has {} labelled ear(s) but none in training",
                c + 1,
                global[c]
            ));
        }
    }
    let mut selected: Vec<u64> = Vec::new();
    let mut chosen: BTreeSet<u64> = BTreeSet::new();
    let mut have = [0usize; 6];
    let mut subsets = Vec::new();
    for &ratio in &ratios {
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let targets: [usize; 6] = std::array::from_fn(|c| {
            if ratio >= 1.0 {
                n_train[c]
            } else {
                n_train[c].min(
                    options
                        .min_per_class
                        .max((n_train[c] as f64 * ratio).round() as usize),
                )
            }
        });
        let take = |id: u64,
                    chosen: &mut BTreeSet<u64>,
                    selected: &mut Vec<u64>,
                    have: &mut [usize; 6]| {
            if chosen.insert(id) {
                selected.push(id);
                for c in exam_codes.get(&id).into_iter().flatten() {
                    have[usize::from(*c) - 1] += 1;
                }
            }
        };
        if ratio >= 1.0 {
            for id in &priority {
                take(*id, &mut chosen, &mut selected, &mut have);
            }
        } else {
            let mut cursor = [0usize; 6];
            loop {
                let mut progress = false;
                for &c in &class_order {
                    if have[c] >= targets[c] {
                        continue;
                    }
                    let code = [1u8, 2, 3, 4, 5, 6][c];
                    while cursor[c] < priority.len() {
                        let id = priority[cursor[c]];
                        cursor[c] += 1;
                        if !chosen.contains(&id)
                            && exam_codes.get(&id).is_some_and(|v| v.contains(&code))
                        {
                            take(id, &mut chosen, &mut selected, &mut have);
                            progress = true;
                            break;
                        }
                    }
                }
                if !progress || (0..6).all(|c| have[c] >= targets[c]) {
                    break;
                }
            }
        }
        let set: BTreeSet<u64> = selected.iter().copied().collect();
        let sub_ears: Vec<&SplitEar> = kept
            .iter()
            .filter(|e| set.contains(&e.ear.exam_id))
            .collect();
        subsets.push(Subset {
            ratio,
            folder: folder_name(ratio),
            targets,
            exams: selected.clone(),
            counts: counts(&sub_ears),
        });
    }

    let mut holdout = BTreeMap::new();
    for s in [SplitName::Val, SplitName::Test, SplitName::ExternalTest] {
        let e: Vec<&SplitEar> = kept
            .iter()
            .filter(|e| assignment[&e.ear.exam_id] == s)
            .collect();
        if s != SplitName::ExternalTest || !e.is_empty() {
            holdout.insert(s.name().to_string(), counts(&e));
        }
    }
    Ok(SplitPlan {
        options: options.clone(),
        assignment,
        subsets,
        holdout,
        strata: strata_levels,
        excluded_exams,
        warnings,
        ears: kept,
    })
}

/// `split.json`: what was split, how, and the counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitReport {
    /// The manifest.
    pub manifest: PathBuf,
    /// SHA-256 of the manifest.
    pub manifest_sha256: String,
    /// The split (options, counts, strata, exclusions, warnings; not the ears).
    pub options: SplitOptions,
    /// Training subsets (without their exam lists).
    pub subsets: Vec<(String, f64, [usize; 6], SplitCounts)>,
    /// Val, test and external test counts.
    pub holdout: BTreeMap<String, SplitCounts>,
    /// Patients per stratification level.
    pub strata: BTreeMap<String, usize>,
    /// Exams left out and why.
    pub excluded_exams: Vec<(u64, String)>,
    /// Warnings.
    pub warnings: Vec<String>,
    /// The audit of the written files.
    pub audit: crate::audit::AuditReport,
}

fn ear_table(ears: &[&SplitEar], split: &str) -> Table {
    let mut t = Table::new();
    #[allow(clippy::cast_possible_wrap)]
    t.int("exam_id", ears.iter().map(|e| Some(e.ear.exam_id as i64)));
    t.text(
        "side",
        ears.iter().map(|e| Some(e.ear.side.name().to_string())),
    );
    t.int("code", ears.iter().map(|e| e.ear.code.map(i64::from)));
    t.int(
        "class_id",
        ears.iter().map(|e| e.ear.code.map(|c| i64::from(c) - 1)),
    );
    t.int(
        "code_original",
        ears.iter().map(|e| e.code_original.map(i64::from)),
    );
    t.text(
        "patient_key",
        ears.iter().map(|e| Some(e.ear.patient_key.clone())),
    );
    t.text("split", ears.iter().map(|_| Some(split.to_string())));
    t.text("date", ears.iter().map(|e| e.ear.date.clone()));
    t.text(
        "exam_dir",
        ears.iter().map(|e| Some(e.ear.exam_dir.clone())),
    );
    t.text(
        "series_dir",
        ears.iter().map(|e| Some(e.ear.series_dir.clone())),
    );
    t
}

impl SplitPlan {
    /// The ears of `exams` in that order (left then right of each).
    fn ears_of(&self, exams: &[u64]) -> Vec<&SplitEar> {
        let mut by_exam: BTreeMap<u64, Vec<&SplitEar>> = BTreeMap::new();
        for e in &self.ears {
            by_exam.entry(e.ear.exam_id).or_default().push(e);
        }
        exams
            .iter()
            .flat_map(|id| by_exam.get(id).cloned().unwrap_or_default())
            .collect()
    }

    /// Writes `<out>/<pct>pct/{train,val,test}.{csv,parquet}` (and `external_test`
    /// when there is one), audits them against the manifest and writes `split.json`.
    ///
    /// # Errors
    /// I/O errors naming the file.
    pub fn write(&self, out: &Path, manifest: &Path) -> Result<SplitReport> {
        // Subset folders of an earlier run with other ratios would be audited as part
        // of this split: refuse rather than mix or delete.
        if let Ok(entries) = std::fs::read_dir(out) {
            let ours: BTreeSet<&str> = self.subsets.iter().map(|s| s.folder.as_str()).collect();
            let mut foreign: Vec<String> = entries
                .filter_map(std::result::Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with("pct") && !ours.contains(n.as_str()))
                .collect();
            foreign.sort();
            if !foreign.is_empty() {
                return Err(Error::SplitOptions(format!(
                    "{} holds subsets of another run ({}); remove them or choose another output folder",
                    out.display(),
                    foreign.join(", ")
                )));
            }
        }
        let holdout_exams = |s: SplitName| -> Vec<u64> {
            self.assignment
                .iter()
                .filter(|(_, x)| **x == s)
                .map(|(id, _)| *id)
                .collect()
        };
        for sub in &self.subsets {
            let dir = out.join(&sub.folder);
            let mut files: Vec<(&str, Vec<u64>)> = vec![
                ("train", sub.exams.clone()),
                ("val", holdout_exams(SplitName::Val)),
                ("test", holdout_exams(SplitName::Test)),
            ];
            let external = holdout_exams(SplitName::ExternalTest);
            if !external.is_empty() {
                files.push(("external_test", external));
            }
            for (name, exams) in files {
                let t = ear_table(&self.ears_of(&exams), name);
                t.write_csv(&dir.join(format!("{name}.csv")))?;
                t.write_parquet(&dir.join(format!("{name}.parquet")))?;
            }
        }
        let audit = crate::audit::audit(out, manifest)?;
        let report = SplitReport {
            manifest: manifest.to_path_buf(),
            manifest_sha256: file_sha256(manifest)?,
            options: self.options.clone(),
            subsets: self
                .subsets
                .iter()
                .map(|s| (s.folder.clone(), s.ratio, s.targets, s.counts.clone()))
                .collect(),
            holdout: self.holdout.clone(),
            strata: self.strata.clone(),
            excluded_exams: self.excluded_exams.clone(),
            warnings: self.warnings.clone(),
            audit,
        };
        write_json(&out.join("split.json"), &report)?;
        Ok(report)
    }
}
