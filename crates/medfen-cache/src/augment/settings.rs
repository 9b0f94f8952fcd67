//! The augmentation's settings and its presets.

use serde::{Deserialize, Serialize};

/// Augmentation settings. Three presets: [`Augment::default`] (medfen's training
/// augmentation), [`Augment::original`] (the recipe of the Python pipeline medfen
/// replaces) and [`Augment::eval`] (the window only).
///
/// Fields added after the first release have serde defaults that keep older settings
/// files (a training run's `run.json`) meaning what they meant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Augment {
    /// Window level, HU.
    pub window_level: f32,
    /// Window width, HU.
    pub window_width: f32,
    /// Level jitter, ± HU.
    pub level_jitter: f32,
    /// Width scale range.
    pub width_scale: (f32, f32),
    /// Probability of mirroring the columns (medial-lateral).
    pub flip_columns: f32,
    /// Probability of mirroring the rows (anterior-posterior).
    pub flip_rows: f32,
    /// Probability of an affine (rotation, scale, shift).
    pub affine_prob: f32,
    /// Largest rotation, degrees.
    pub rotate_deg: f32,
    /// Scale range.
    pub scale: (f32, f32),
    /// Largest shift, fraction of the image side.
    pub shift: f32,
    /// Intensity scale jitter (± fraction).
    pub intensity_scale: f32,
    /// Intensity shift jitter (± on the [0, 1] scale).
    pub intensity_shift: f32,
    /// Gamma range (1 = none).
    pub gamma: (f32, f32),
    /// Gaussian noise standard deviation on the [0, 1] scale (the top of the range
    /// when [`Augment::noise_std_min`] is set).
    pub noise_std: f32,
    /// Extra channels, each another fixed window (level, width).
    pub extra_windows: Vec<(f32, f32)>,
    /// Probability that a sample gets the intensity scale and shift (1: every sample).
    #[serde(default = "always")]
    pub intensity_prob: f32,
    /// Probability that a sample gets a gamma (1: every sample).
    #[serde(default = "always")]
    pub gamma_prob: f32,
    /// Probability that a sample gets noise (1: every sample).
    #[serde(default = "always")]
    pub noise_prob: f32,
    /// When set, each noisy sample draws its standard deviation from
    /// U(`noise_std_min`, `noise_std`); otherwise every one uses `noise_std`.
    #[serde(default)]
    pub noise_std_min: Option<f32>,
    /// The original pipeline's order of the value transforms: the intensity scale and
    /// shift first, then the gamma on values clamped to [1e-6, 1], and no clamp before
    /// the noise (`clamp(g(x * s + b) + noise, 0, 1)`). Otherwise (medfen's order) the
    /// gamma comes first and the intensity's result is clamped before the noise
    /// (`clamp(clamp(x^g * s + b, 0, 1) + noise, 0, 1)`).
    #[serde(default)]
    pub intensity_first: bool,
}

/// The serde default of the probabilities: every sample.
fn always() -> f32 {
    1.0
}

impl Default for Augment {
    /// Training defaults: window 500/3000 with level ±200 and width x[0.8, 1.2], an
    /// affine half of the time (±10°, x[0.9, 1.1], ±5%), intensity ±10% / ±0.05,
    /// gamma [0.8, 1.25], noise 0.02, no flips (records already share one
    /// medial-to-lateral orientation).
    fn default() -> Self {
        Self {
            window_level: 500.0,
            window_width: 3000.0,
            level_jitter: 200.0,
            width_scale: (0.8, 1.2),
            flip_columns: 0.0,
            flip_rows: 0.0,
            affine_prob: 0.5,
            rotate_deg: 10.0,
            scale: (0.9, 1.1),
            shift: 0.05,
            intensity_scale: 0.1,
            intensity_shift: 0.05,
            gamma: (0.8, 1.25),
            noise_std: 0.02,
            extra_windows: Vec::new(),
            intensity_prob: 1.0,
            gamma_prob: 1.0,
            noise_prob: 1.0,
            noise_std_min: None,
            intensity_first: false,
        }
    }
}

impl Augment {
    /// No randomness: the window only (evaluation). Every range is empty, so a field
    /// set on top of it (`Augment { noise_std: 0.02, ..Augment::eval(500.0, 3000.0) }`)
    /// adds just that transform.
    pub fn eval(window_level: f32, window_width: f32) -> Self {
        Self {
            window_level,
            window_width,
            level_jitter: 0.0,
            width_scale: (1.0, 1.0),
            affine_prob: 0.0,
            rotate_deg: 0.0,
            scale: (1.0, 1.0),
            shift: 0.0,
            intensity_scale: 0.0,
            intensity_shift: 0.0,
            gamma: (1.0, 1.0),
            noise_std: 0.0,
            ..Self::default()
        }
    }

    /// The training augmentation of the Python ear-CT pipeline medfen replaces, with
    /// its default options: window 500/3000 with level ±200 and width x[0.8, 1.2]; no
    /// affine (its ranges, ±12°, x[0.85, 1.15] and ±8% of the side, apply when
    /// `affine_prob` is raised); row and column flips each with probability 0.2;
    /// intensity x[0.85, 1.15] + [-0.15, 0.15] with probability 0.6; gamma [0.6, 1.6]
    /// with probability 0.2; noise with probability 0.2 and a standard deviation
    /// drawn from [0, 0.05]; the values transformed in its order
    /// ([`Augment::intensity_first`]).
    ///
    /// Differences remain: the window is drawn per sample (the original drew one per
    /// batch, so all ears of a batch shared it); with an affine (off in the recipe) the
    /// gamma is applied before the resampling rather than after it (the intensity
    /// commutes with it); and the gamma is the piecewise
    /// curve of every medfen gamma, which a few HU above the window's bottom is off the
    /// power by up to 2.2e-3 at gamma 0.6 and 7.3e-4 at 0.7 (2.5e-4 from 0.8 up, and
    /// below 1e-4 above the window's first hundredth; see `docs/cache.md`).
    pub fn original() -> Self {
        Self {
            flip_columns: 0.2,
            flip_rows: 0.2,
            affine_prob: 0.0,
            rotate_deg: 12.0,
            scale: (0.85, 1.15),
            shift: 0.08,
            intensity_scale: 0.15,
            intensity_shift: 0.15,
            gamma: (0.6, 1.6),
            noise_std: 0.05,
            intensity_prob: 0.6,
            gamma_prob: 0.2,
            noise_prob: 0.2,
            noise_std_min: Some(0.0),
            intensity_first: true,
            ..Self::default()
        }
    }

    /// Channels per sample.
    pub fn channels(&self) -> usize {
        1 + self.extra_windows.len()
    }
}

/// The named augmentations `medfen train --augment` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AugmentPreset {
    /// [`Augment::default`]: window jitter, an affine for half the ears, intensity,
    /// gamma and noise on every ear.
    #[default]
    Medfen,
    /// [`Augment::original`]: the Python pipeline's recipe (window jitter, flips p 0.2,
    /// intensity p 0.6, gamma and noise p 0.2, no affine), in its order.
    Original,
    /// [`Augment::eval`]: the window only.
    None,
}

impl AugmentPreset {
    /// Every preset's name, as `--augment` takes it.
    pub const NAMES: [&'static str; 3] = ["medfen", "original", "none"];

    /// The preset's augmentation with the window (`level`, `width`), HU.
    pub fn with_window(self, window_level: f32, window_width: f32) -> Augment {
        let base = match self {
            Self::Medfen => Augment::default(),
            Self::Original => Augment::original(),
            Self::None => return Augment::eval(window_level, window_width),
        };
        Augment {
            window_level,
            window_width,
            ..base
        }
    }
}

impl std::fmt::Display for AugmentPreset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Self::Medfen => "medfen",
            Self::Original => "original",
            Self::None => "none",
        };
        f.write_str(name)
    }
}

impl std::str::FromStr for AugmentPreset {
    type Err = String;

    /// Parses `medfen`, `original` or `none`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "medfen" => Ok(Self::Medfen),
            "original" => Ok(Self::Original),
            "none" => Ok(Self::None),
            _ => Err(format!(
                "unknown augmentation `{s}`: expected {}",
                Self::NAMES.join(", ")
            )),
        }
    }
}
