//! The preprocessing spec: every parameter that shapes a cached ear record. It is part
//! of the cache key, so changing any value makes a new cache instead of reusing a
//! stale one.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Version of the extraction code and cache layout; bumped whenever records or the
/// index would change.
pub const CODE_VERSION: &str = "medfen-cache-3";

/// How the K slices of an ear are chosen along z.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Sampling {
    /// K slices evenly spread over the whole series (indices floor(linspace)).
    Even,
    /// K slices evenly spread over a block of `block_len` slices centred on the slice
    /// where the ear's lateral band holds the most air inside bone.
    AirBlock {
        /// Slices in the block.
        block_len: usize,
    },
    /// K slices resampled (linear in z) every `spacing_mm` around the ear's centre.
    Mm {
        /// Output slice spacing, mm.
        spacing_mm: f64,
    },
}

/// How the in-plane crop is placed and sized.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum CropMode {
    /// A square of `crop_mm` millimetres centred on the lateral temporal-bone component
    /// (largest bone component in the lateral band, biased laterally), resampled to
    /// the image size: every record has the same physical pixel size.
    TemporalPatch {
        /// Crop side, mm.
        crop_mm: f64,
        /// Lateral fraction of the half image searched for the temporal bone.
        band: f64,
        /// Lateral bias of the centre inside the component's box (0 = lateral edge).
        bias: f64,
        /// Smallest component worth choosing, mm².
        min_area_mm2: f64,
    },
    /// The original pipeline's crop: `crop_px` native pixels around the same centre,
    /// resized to the image size (pixel size then depends on the scanner).
    NativePixels {
        /// Crop side, native pixels.
        crop_px: usize,
        /// As in `TemporalPatch`.
        band: f64,
        /// As in `TemporalPatch`.
        bias: f64,
        /// As in `TemporalPatch`.
        min_area_mm2: f64,
    },
}

impl CropMode {
    /// The centre search parameters shared by both modes: (band, bias, min area mm²).
    pub fn search(&self) -> (f64, f64, f64) {
        match *self {
            Self::TemporalPatch {
                band,
                bias,
                min_area_mm2,
                ..
            }
            | Self::NativePixels {
                band,
                bias,
                min_area_mm2,
                ..
            } => (band, bias, min_area_mm2),
        }
    }
}

/// What to do with a series whose slices are not a regular orthogonal grid (a gap,
/// uneven steps, gantry tilt).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnIrregular {
    /// Resample it onto a regular grid in mm (shear removed) before extracting the
    /// ears, and record that per exam (the default).
    #[default]
    Resample,
    /// Leave it out: the build fails, listing every such exam and why.
    Refuse,
}

impl std::str::FromStr for OnIrregular {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "resample" => Ok(Self::Resample),
            "refuse" => Ok(Self::Refuse),
            other => Err(format!("`{other}`: expected resample or refuse")),
        }
    }
}

/// Every parameter of an ear record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheSpec {
    /// Slices per ear (K).
    pub num_slices: usize,
    /// Output image side, pixels.
    pub image_size: usize,
    /// z sampling.
    pub sampling: Sampling,
    /// In-plane crop.
    pub crop: CropMode,
    /// Slices sampled to find the midline and the crop centre.
    pub probe_slices: usize,
    /// Bone threshold, HU.
    pub bone_hu: i16,
    /// Air threshold, HU.
    pub air_hu: i16,
    /// Value outside the image, HU.
    pub pad_hu: i16,
    /// Series with gaps, uneven steps or gantry tilt.
    #[serde(default)]
    pub on_irregular: OnIrregular,
    /// Extraction code version.
    pub version: String,
}

impl Default for CacheSpec {
    /// K = 32 slices every 1.25 mm (40 mm of z) and a 72 mm square resampled to
    /// 224 x 224 (0.321 mm pixels): the temporal bone's middle ear, mastoid and canal
    /// (about 28 x 37 x 24 mm) fit with a margin for the centre's error (docs/cache.md).
    fn default() -> Self {
        Self {
            num_slices: 32,
            image_size: 224,
            sampling: Sampling::Mm { spacing_mm: 1.25 },
            crop: CropMode::TemporalPatch {
                crop_mm: 72.0,
                band: 0.6,
                bias: 0.25,
                min_area_mm2: 40.0,
            },
            probe_slices: 9,
            bone_hu: 300,
            air_hu: -500,
            pad_hu: -1024,
            on_irregular: OnIrregular::Resample,
            version: CODE_VERSION.to_string(),
        }
    }
}

impl CacheSpec {
    /// Checks the values.
    ///
    /// # Errors
    /// [`Error::Spec`] naming the value.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Spec(m));
        if !(1..=512).contains(&self.num_slices) {
            return bad(format!("num_slices {} must be 1..512", self.num_slices));
        }
        if !(8..=1024).contains(&self.image_size) {
            return bad(format!("image_size {} must be 8..1024", self.image_size));
        }
        match self.sampling {
            Sampling::AirBlock { block_len: 0 } => {
                return bad("block_len must be > 0".into());
            }
            Sampling::Mm { spacing_mm } if !(spacing_mm > 0.0 && spacing_mm < 20.0) => {
                return bad(format!("z spacing {spacing_mm} mm must be in (0, 20)"));
            }
            _ => {}
        }
        let (band, bias, area) = match self.crop {
            CropMode::TemporalPatch {
                crop_mm,
                band,
                bias,
                min_area_mm2,
            } => {
                if !(crop_mm > 5.0 && crop_mm < 400.0) {
                    return bad(format!("crop {crop_mm} mm must be in (5, 400)"));
                }
                (band, bias, min_area_mm2)
            }
            CropMode::NativePixels {
                crop_px,
                band,
                bias,
                min_area_mm2,
            } => {
                if !(8..=2048).contains(&crop_px) {
                    return bad(format!("crop {crop_px} px must be 8..2048"));
                }
                (band, bias, min_area_mm2)
            }
        };
        if !(band > 0.0 && band <= 1.0 && (0.0..=1.0).contains(&bias)) || area < 0.0 {
            return bad(format!(
                "band {band} must be in (0, 1], bias {bias} in [0, 1], min area {area} >= 0"
            ));
        }
        if self.probe_slices == 0 {
            return bad("probe_slices must be > 0".into());
        }
        Ok(())
    }

    /// This spec with `num_slices` slices of `image_size` x `image_size` pixels per ear.
    pub fn with_record_shape(self, num_slices: usize, image_size: usize) -> Self {
        Self {
            num_slices,
            image_size,
            ..self
        }
    }

    /// This spec with the z sampling `sampling`.
    pub fn with_sampling(self, sampling: Sampling) -> Self {
        Self { sampling, ..self }
    }

    /// This spec with a `crop_mm` square crop (the same centre search): every record
    /// has the same physical pixel size.
    ///
    /// ```
    /// use medfen_cache::{CacheSpec, CropMode, Sampling};
    /// let spec = CacheSpec::default()
    ///     .with_record_shape(16, 64)
    ///     .with_sampling(Sampling::Mm { spacing_mm: 2.0 })
    ///     .with_crop_mm(60.0);
    /// assert!(matches!(spec.crop, CropMode::TemporalPatch { crop_mm, .. } if crop_mm == 60.0));
    /// assert_eq!(spec.record_len(), 16 * 64 * 64);
    /// spec.validate()?;
    /// # Ok::<(), medfen_cache::Error>(())
    /// ```
    pub fn with_crop_mm(self, crop_mm: f64) -> Self {
        let (band, bias, min_area_mm2) = self.crop.search();
        Self {
            crop: CropMode::TemporalPatch {
                crop_mm,
                band,
                bias,
                min_area_mm2,
            },
            ..self
        }
    }

    /// i16 values in one ear record.
    pub fn record_len(&self) -> usize {
        self.num_slices * self.image_size * self.image_size
    }

    /// The original pipeline's ear preprocessing: 32 even slices, a 192-pixel native
    /// crop resized to 224.
    pub fn compatible() -> Self {
        Self {
            sampling: Sampling::Even,
            crop: CropMode::NativePixels {
                crop_px: 192,
                band: 0.6,
                bias: 0.25,
                min_area_mm2: 40.0,
            },
            probe_slices: 5,
            ..Self::default()
        }
    }
}
