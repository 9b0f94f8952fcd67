//! Making a dataset: plan everything first (so progress has a total and a rerun knows
//! what to expect), then write in parallel, resuming where files already exist.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cohort::Cohort;
use crate::config::{OutputFormat, SynthConfig};
use crate::ct::{BrokenFile, ExamScan, plan_exam};
use crate::defects::{DefectKind, PlantedDefect};
use crate::error::{Error, Result};
use crate::labels::LabelTable;
use crate::phantom::Anatomy;
use crate::random::Stream;
use crate::{bonescan, modalities, nifti_out, truth};

/// Name of the stamp file that identifies a dataset and its options.
pub const STAMP: &str = "synth.json";

/// What was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthReport {
    /// The output folder.
    pub out: PathBuf,
    /// The dataset kind.
    pub format: OutputFormat,
    /// Exams (or whole-body scans, or multi-modal patients).
    pub exams: usize,
    /// Distinct patients.
    pub patients: usize,
    /// Ears per diagnosis code 1..=6 (for the ear-CT formats).
    pub ears_by_code: [usize; 6],
    /// Label cells left blank.
    pub blank_sides: usize,
    /// Files in the dataset.
    pub files: u64,
    /// Files that were already present (a resumed run).
    pub files_reused: u64,
    /// The planted defects.
    pub defects: Vec<PlantedDefect>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Stamp {
    medfen_synth_version: String,
    config: serde_json::Value,
    complete: bool,
}

fn stamp_config(config: &SynthConfig) -> serde_json::Value {
    let mut v = serde_json::to_value(config).unwrap_or_default();
    if let Some(map) = v.as_object_mut() {
        map.remove("out");
    }
    v
}

/// A planned dataset: generate with [`SynthPlan::generate`].
pub struct SynthPlan {
    config: SynthConfig,
    cohort: Cohort,
    defects: Vec<Option<DefectKind>>,
    scans: Vec<ExamScan>,
}

impl SynthPlan {
    /// Plans the dataset `config` describes.
    ///
    /// # Errors
    /// [`Error::Config`] for invalid options.
    pub fn new(config: &SynthConfig) -> Result<Self> {
        config.validate()?;
        let cohort = Cohort::plan(config);
        let defects: Vec<Option<DefectKind>> = (0..cohort.exams.len())
            .map(|i| {
                if config.format == OutputFormat::Dicom {
                    crate::defects::plan(config.seed, i, config.corrupt_rate)
                } else {
                    None
                }
            })
            .collect();
        let anatomies: Vec<Anatomy> = (0..cohort.patients.len())
            .map(|p| Anatomy::new(&mut Stream::new(config.seed, "anatomy", p as u64)))
            .collect();
        let scans = match config.format {
            OutputFormat::Dicom | OutputFormat::Nifti | OutputFormat::PngModalities => cohort
                .exams
                .par_iter()
                .map(|e| plan_exam(config, e, &anatomies[e.patient]))
                .collect(),
            OutputFormat::Bonescan => Vec::new(),
        };
        Ok(Self {
            config: config.clone(),
            cohort,
            defects,
            scans,
        })
    }

    /// Units of work [`SynthPlan::generate`] reports through its progress callback.
    pub fn total_work(&self) -> u64 {
        match self.config.format {
            OutputFormat::Dicom => self.scans.iter().map(ExamScan::file_count).sum(),
            OutputFormat::Nifti | OutputFormat::PngModalities | OutputFormat::Bonescan => {
                self.config.exams as u64
            }
        }
    }

    /// Writes the dataset. `progress` receives increments of [`SynthPlan::total_work`].
    ///
    /// # Errors
    /// [`Error::OutputInUse`] when the folder holds something else; I/O and encoding
    /// errors naming the file.
    pub fn generate(&self, progress: &(dyn Fn(u64) + Sync)) -> Result<SynthReport> {
        let out = &self.config.out;
        self.claim_output()?;
        let (files, reused, defects) = match self.config.format {
            OutputFormat::Dicom => self.write_dicom(progress)?,
            OutputFormat::Nifti => {
                let (f, r) =
                    nifti_out::write(out, &self.config, &self.cohort, &self.scans, progress)?;
                (f, r, Vec::new())
            }
            OutputFormat::PngModalities => {
                let (f, r) =
                    modalities::write(out, &self.config, &self.cohort, &self.scans, progress)?;
                (f, r, Vec::new())
            }
            OutputFormat::Bonescan => {
                let (f, r) = bonescan::write(out, &self.config, progress)?;
                (f, r, Vec::new())
            }
        };
        let mut ears_by_code = [0usize; 6];
        let mut blank_sides = 0;
        if self.config.format != OutputFormat::Bonescan {
            for e in &self.cohort.exams {
                for side in 0..2 {
                    ears_by_code[usize::from(e.codes[side]) - 1] += 1;
                    blank_sides += usize::from(e.blank[side]);
                }
            }
        }
        let report = SynthReport {
            out: out.clone(),
            format: self.config.format,
            exams: self.config.exams,
            patients: if self.config.format == OutputFormat::Bonescan {
                self.config.exams
            } else {
                self.cohort.patients.len()
            },
            ears_by_code,
            blank_sides,
            files,
            files_reused: reused,
            defects,
        };
        self.write_stamp(true)?;
        Ok(report)
    }

    /// Takes the output folder: empty or absent, or a dataset made with the same options
    /// (then the run resumes).
    fn claim_output(&self) -> Result<()> {
        let out = &self.config.out;
        let stamp_path = out.join(STAMP);
        let non_empty = std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_some());
        if non_empty {
            let stamp: Option<Stamp> = std::fs::read(&stamp_path)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            match stamp {
                Some(s) if s.config == stamp_config(&self.config) => {
                    tracing::info!(out = %out.display(), "resuming: the folder holds this dataset, possibly incomplete");
                }
                Some(_) => {
                    return Err(Error::OutputInUse {
                        path: out.clone(),
                        what: format!("a synth dataset made with other options (see {STAMP})"),
                    });
                }
                None => {
                    return Err(Error::OutputInUse {
                        path: out.clone(),
                        what: "files that are not a synth dataset".into(),
                    });
                }
            }
        }
        self.write_stamp(false)
    }

    fn write_stamp(&self, complete: bool) -> Result<()> {
        let stamp = Stamp {
            medfen_synth_version: env!("CARGO_PKG_VERSION").to_owned(),
            config: stamp_config(&self.config),
            complete,
        };
        let mut bytes = serde_json::to_vec_pretty(&stamp).unwrap_or_default();
        bytes.push(b'\n');
        medfen_io::write_durably(&self.config.out.join(STAMP), &bytes)?;
        Ok(())
    }

    fn write_dicom(
        &self,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(u64, u64, Vec<PlantedDefect>)> {
        let out = &self.config.out;
        let before = count_files(&out.join("dicom"));
        // Files broken on purpose, and their records.
        let mut broken: Vec<Vec<BrokenFile>> = vec![Vec::new(); self.scans.len()];
        let mut planted = Vec::new();
        for (i, d) in self.defects.iter().enumerate() {
            let scan = &self.scans[i];
            let bone = scan.bone();
            let exam_id = self.cohort.exams[i].exam_id;
            let rel = |name: &str| {
                scan.dir
                    .join(&bone.folder)
                    .join(name)
                    .to_string_lossy()
                    .into_owned()
            };
            match d {
                Some(DefectKind::BrokenDicom) => {
                    let slice = bone.slices / 2;
                    let mut s = Stream::new(self.config.seed, "broken", i as u64);
                    let fraction = s.uniform(0.4, 0.7);
                    broken[i].push(BrokenFile::Truncated { slice, fraction });
                    planted.push(PlantedDefect {
                        kind: DefectKind::BrokenDicom,
                        exam_id,
                        label_row: None,
                        other_row: None,
                        file: Some(rel(&bone.file_names[slice])),
                        text: None,
                        expected: "a truncated file: listed as unreadable with the reason; the series loads without it and reports the gap".into(),
                    });
                }
                Some(DefectKind::NotDicom) => {
                    let name = format!("scan_{exam_id}.dcm");
                    planted.push(PlantedDefect {
                        kind: DefectKind::NotDicom,
                        exam_id,
                        label_row: None,
                        other_row: None,
                        file: Some(rel(&name)),
                        text: None,
                        expected: "a file named .dcm without the DICM marker: skipped and counted as not DICOM".into(),
                    });
                    broken[i].push(BrokenFile::NotDicom { name });
                }
                _ => {}
            }
        }
        self.scans
            .par_iter()
            .zip(&self.cohort.exams)
            .zip(&broken)
            .try_for_each(|((scan, exam), broken)| {
                scan.write(
                    out,
                    &self.config,
                    exam,
                    &self.cohort.patients[exam.patient],
                    broken,
                    progress,
                )
            })?;
        let labels = LabelTable::build(self.config.seed, &self.cohort, &self.defects);
        labels.write_xlsx(&out.join("labels.xlsx"))?;
        truth::ear_table(
            &self.config,
            &self.cohort,
            &self.scans,
            &labels.exam_rows,
            &self.defects,
        )
        .write_parquet_and_csv(&out.join("truth.parquet"))?;
        truth::series_table(&self.cohort, &self.scans)
            .write_parquet_and_csv(&out.join("series.parquet"))?;
        planted.extend(labels.defects);
        planted.sort_by_key(|d| (d.exam_id, d.kind));
        let mut json = serde_json::to_vec_pretty(&planted).unwrap_or_default();
        json.push(b'\n');
        medfen_io::write_atomically(&out.join("defects.json"), &json)?;
        let files = count_files(&out.join("dicom"));
        Ok((files, before.min(files), planted))
    }
}

fn count_files(dir: &Path) -> u64 {
    walk(dir)
}

fn walk(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(std::result::Result::ok)
            .map(|e| {
                let p = e.path();
                if p.is_dir() { walk(&p) } else { 1 }
            })
            .sum()
    })
}

/// Plans and writes the dataset `config` describes, without progress reporting.
///
/// # Errors
/// As [`SynthPlan::new`] and [`SynthPlan::generate`].
pub fn generate(config: &SynthConfig) -> Result<SynthReport> {
    SynthPlan::new(config)?.generate(&|_| {})
}
