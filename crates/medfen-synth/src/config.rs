//! What to generate: the options of `medfen synth`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How hard the phantom is: lesion size and contrast, noise, and how much scans vary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Difficulty {
    /// Large, high-contrast lesions, low noise, one pixel spacing, no head motion.
    Easy,
    /// Realistic: moderate lesions and noise, spacing and kernels vary, small shifts.
    #[default]
    Medium,
    /// Small, low-contrast lesions, high noise, wide spacing ranges, rotated heads,
    /// field-of-view shifts and normal variants that mimic disease.
    Hard,
}

/// The knobs a difficulty sets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DifficultyKnobs {
    /// Lesion size factor.
    pub lesion_size: f64,
    /// Lesion contrast factor (1 = full contrast against the aerated ear).
    pub lesion_contrast: f64,
    /// Image noise of the bone kernel, HU (standard deviation).
    pub noise_hu: f64,
    /// Relative jitter of the in-plane pixel spacing.
    pub spacing_jitter: f64,
    /// Slice steps (mm) the bone series draw from, before scaling by matrix size.
    pub slice_steps: &'static [f64],
    /// Largest field-of-view shift of the head, mm.
    pub fov_shift_mm: f64,
    /// Largest head rotation about each axis, degrees.
    pub rotation_deg: f64,
    /// Probability that a normal ear carries a benign variant (a few fluid-filled
    /// mastoid cells, poor pneumatisation).
    pub normal_variant: f64,
}

impl Difficulty {
    pub(crate) fn knobs(self) -> DifficultyKnobs {
        match self {
            Self::Easy => DifficultyKnobs {
                lesion_size: 1.3,
                lesion_contrast: 1.0,
                noise_hu: 15.0,
                spacing_jitter: 0.0,
                slice_steps: &[0.6],
                fov_shift_mm: 0.0,
                rotation_deg: 0.0,
                normal_variant: 0.0,
            },
            Self::Medium => DifficultyKnobs {
                lesion_size: 1.0,
                lesion_contrast: 0.8,
                noise_hu: 35.0,
                spacing_jitter: 0.12,
                slice_steps: &[0.5, 0.6, 0.6, 0.625, 0.7],
                fov_shift_mm: 8.0,
                rotation_deg: 3.0,
                normal_variant: 0.15,
            },
            Self::Hard => DifficultyKnobs {
                lesion_size: 0.7,
                lesion_contrast: 0.55,
                noise_hu: 70.0,
                spacing_jitter: 0.22,
                slice_steps: &[0.4, 0.5, 0.6, 0.625, 0.75, 1.0],
                fov_shift_mm: 18.0,
                rotation_deg: 7.0,
                normal_variant: 0.35,
            },
        }
    }
}

/// Transfer syntax of the written DICOM series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SyntaxChoice {
    /// Explicit VR Little Endian, uncompressed.
    #[default]
    ExplicitLe,
    /// RLE Lossless.
    Rle,
    /// JPEG Lossless (process 14, first-order prediction).
    Jpeg,
    /// A different syntax per series: explicit and implicit little endian, RLE, JPEG.
    Mixed,
}

/// What kind of dataset to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputFormat {
    /// The ear-CT layout: `dicom/<date>/<exam>/<series>/*.dcm`, `labels.xlsx`,
    /// `truth.parquet`.
    #[default]
    Dicom,
    /// One NIfTI volume per exam and a CSV of labels (the frozen-feature workflow).
    Nifti,
    /// 224x224 PNG slices in a hospital/fold/grade/patient/modality tree, two
    /// modalities and an external hospital (the multi-modal fusion workflow).
    PngModalities,
    /// 2D whole-body bone scans (ANT/POST) with hot spots, BS-80K-style folders, label
    /// index files and VOC boxes (the whole-body workflow).
    Bonescan,
}

/// Frequencies of the diagnosis codes 1..=6 over ears (they need not sum to 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CodeFrequencies(pub [f64; 6]);

impl Default for CodeFrequencies {
    /// The labelled ears of the real dataset (seed-ear-ct.md §8): 34.14% CSOM, 15.03%
    /// cholesteatoma, 12.66% effusion, 0.47% cholesterol granuloma, 28.78% normal,
    /// 8.92% other.
    fn default() -> Self {
        Self([0.3414, 0.1503, 0.1266, 0.0047, 0.2878, 0.0892])
    }
}

impl CodeFrequencies {
    /// Parses `1=0.3,4=0.05,...`: codes not named keep their default frequency.
    ///
    /// # Errors
    /// [`Error::Config`] for an unknown code or a negative or non-numeric value.
    pub fn parse(text: &str) -> Result<Self> {
        let mut f = Self::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (code, value) = part.split_once('=').ok_or_else(|| {
                Error::Config(format!("code frequency `{part}`: expected CODE=VALUE"))
            })?;
            let code: usize = code
                .trim()
                .parse()
                .ok()
                .filter(|c| (1..=6).contains(c))
                .ok_or_else(|| Error::Config(format!("code frequency `{part}`: codes are 1..6")))?;
            let value: f64 = value
                .trim()
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    Error::Config(format!("code frequency `{part}`: a number >= 0 is needed"))
                })?;
            f.0[code - 1] = value;
        }
        if f.0.iter().sum::<f64>() <= 0.0 {
            return Err(Error::Config("code frequencies sum to 0".into()));
        }
        Ok(f)
    }

    /// Normalised frequencies.
    pub fn normalised(&self) -> [f64; 6] {
        let total: f64 = self.0.iter().sum();
        self.0.map(|v| v / total)
    }
}

/// Everything `medfen synth` needs. `SynthConfig::new(out)` gives the documented
/// defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SynthConfig {
    /// Output folder.
    pub out: PathBuf,
    /// Number of exams (default 60).
    pub exams: usize,
    /// Seed of every random choice (default 42).
    pub seed: u64,
    /// Difficulty (default medium).
    pub difficulty: Difficulty,
    /// Transfer syntax of the DICOM series (default explicit little endian).
    pub syntax: SyntaxChoice,
    /// Fraction of exams carrying a planted defect (default 0).
    pub corrupt_rate: f64,
    /// Dataset kind (default the DICOM ear-CT layout).
    pub format: OutputFormat,
    /// Image matrix of the axial series (default 512). Smaller matrices keep the field
    /// of view and slice coverage, with proportionally coarser pixels and slices.
    pub matrix: usize,
    /// Ear-level code frequencies (default: the real dataset's).
    pub code_frequencies: CodeFrequencies,
    /// Fraction of patients with a second exam (default 0.1).
    pub repeat_patients: f64,
    /// Fraction of ears whose diagnosis cell is left blank (default 0.04, as in the real
    /// spreadsheet).
    pub blank_sides: f64,
    /// Which ears may be diseased (default both). `Left` makes every patient-right ear
    /// normal: a laterality check for models (a model that mixes up sides gives
    /// right ears high probabilities).
    #[serde(default, skip_serializing_if = "DiseasedSides::is_both")]
    pub diseased_sides: DiseasedSides,
    /// Gantry tilt of the bone series, degrees (default 0): each slice's position
    /// drifts posteriorly by `tan(tilt)` x the slice step, as on a tilted gantry, and
    /// GantryDetectorTilt says so. For checking shear correction.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gantry_tilt_deg: f64,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes &T
fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// Which ears of the cohort may carry disease.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiseasedSides {
    /// Either ear (the real data's laterality).
    #[default]
    Both,
    /// The patient's left ears only (right ears are all normal).
    Left,
    /// The patient's right ears only.
    Right,
}

impl DiseasedSides {
    #[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes &T
    fn is_both(&self) -> bool {
        *self == Self::Both
    }

    /// `codes` ([left, right]) with the ear that may not be diseased made normal (5).
    pub fn apply(self, codes: [u8; 2]) -> [u8; 2] {
        match self {
            Self::Both => codes,
            Self::Left => [codes[0], 5],
            Self::Right => [5, codes[1]],
        }
    }
}

impl SynthConfig {
    /// The defaults, writing to `out`.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        Self {
            out: out.into(),
            exams: 60,
            seed: 42,
            difficulty: Difficulty::Medium,
            syntax: SyntaxChoice::ExplicitLe,
            corrupt_rate: 0.0,
            format: OutputFormat::Dicom,
            matrix: 512,
            code_frequencies: CodeFrequencies::default(),
            repeat_patients: 0.1,
            blank_sides: 0.04,
            diseased_sides: DiseasedSides::Both,
            gantry_tilt_deg: 0.0,
        }
    }

    /// Sets the number of exams.
    pub fn with_exams(mut self, exams: usize) -> Self {
        self.exams = exams;
        self
    }

    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the difficulty.
    pub fn with_difficulty(mut self, difficulty: Difficulty) -> Self {
        self.difficulty = difficulty;
        self
    }

    /// Sets the transfer syntax.
    pub fn with_syntax(mut self, syntax: SyntaxChoice) -> Self {
        self.syntax = syntax;
        self
    }

    /// Sets the fraction of exams with a planted defect.
    pub fn with_corrupt_rate(mut self, rate: f64) -> Self {
        self.corrupt_rate = rate;
        self
    }

    /// Sets the dataset kind.
    pub fn with_format(mut self, format: OutputFormat) -> Self {
        self.format = format;
        self
    }

    /// Sets the image matrix.
    pub fn with_matrix(mut self, matrix: usize) -> Self {
        self.matrix = matrix;
        self
    }

    /// Sets the code frequencies.
    pub fn with_code_frequencies(mut self, f: CodeFrequencies) -> Self {
        self.code_frequencies = f;
        self
    }

    /// Sets the fraction of patients with a second exam.
    pub fn with_repeat_patients(mut self, fraction: f64) -> Self {
        self.repeat_patients = fraction;
        self
    }

    /// Sets the fraction of blank diagnosis cells.
    pub fn with_blank_sides(mut self, fraction: f64) -> Self {
        self.blank_sides = fraction;
        self
    }

    /// Sets which ears may be diseased.
    pub fn with_diseased_sides(mut self, sides: DiseasedSides) -> Self {
        self.diseased_sides = sides;
        self
    }

    /// Sets the gantry tilt of the bone series, degrees.
    pub fn with_gantry_tilt(mut self, degrees: f64) -> Self {
        self.gantry_tilt_deg = degrees;
        self
    }

    /// Checks the options.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first bad option.
    pub fn validate(&self) -> Result<()> {
        let frac = |name: &str, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(Error::Config(format!("{name} must lie in [0, 1], not {v}")))
            }
        };
        if self.exams == 0 {
            return Err(Error::Config("at least one exam is needed".into()));
        }
        if self.exams > 999_999 {
            return Err(Error::Config("at most 999999 exams".into()));
        }
        if !(64..=1024).contains(&self.matrix) {
            return Err(Error::Config(format!(
                "the matrix must lie in 64..=1024 pixels, not {}",
                self.matrix
            )));
        }
        frac("--corrupt-rate", self.corrupt_rate)?;
        frac("--repeat-patients", self.repeat_patients)?;
        frac("--blank-sides", self.blank_sides)?;
        Ok(())
    }

    /// Pixel and slice scale relative to the full 512 matrix.
    pub(crate) fn scale(&self) -> f64 {
        512.0 / self.matrix as f64
    }
}
