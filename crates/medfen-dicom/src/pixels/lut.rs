//! The modality LUT: stored values to HU (or the modality's own units).

use std::path::Path;

use crate::error::{Error, Result};
use crate::header::{DicomHeader, Photometric, PixelFormat};

/// HU given to padding pixels (outside the reconstructed field of view): air.
pub const AIR_HU: f64 = -1024.0;

/// Maps one frame's stored values to output values:
///
/// 1. stored values inside the Pixel Padding range become air (-1024 HU);
/// 2. MONOCHROME1 images are inverted on the stored values (`max + min - v`), so the
///    result keeps the MONOCHROME2 sense (high = dense);
/// 3. `slope * v + intercept`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModalityLut {
    /// Rescale slope (never 0).
    pub slope: f64,
    /// Rescale intercept.
    pub intercept: f64,
    /// `max + min` of the stored range, for MONOCHROME1.
    pub invert_sum: Option<i64>,
    /// Inclusive range of stored padding values.
    pub padding: Option<(i64, i64)>,
}

impl ModalityLut {
    /// The LUT of frame `frame` of `header`.
    ///
    /// # Errors
    /// [`Error::InvalidAttribute`] for a rescale slope of 0 (which would erase the image).
    pub fn for_frame(header: &DicomHeader, frame: usize) -> Result<Self> {
        let rescale = header
            .frames
            .get(frame)
            .or(header.frames.first())
            .map(|f| f.rescale)
            .unwrap_or_default();
        Self::new(
            &header.path,
            header.pixel.as_ref(),
            rescale.slope,
            rescale.intercept,
            header.padding,
        )
    }

    pub(crate) fn new(
        path: &Path,
        format: Option<&PixelFormat>,
        slope: f64,
        intercept: f64,
        padding: Option<(i32, Option<i32>)>,
    ) -> Result<Self> {
        if slope == 0.0 {
            return Err(Error::InvalidAttribute {
                path: path.to_path_buf(),
                attribute: "RescaleSlope (0028,1053)",
                value: "0".into(),
                reason: "a slope of 0 maps every pixel to the intercept",
            });
        }
        let invert_sum = format
            .filter(|f| f.photometric == Photometric::Monochrome1)
            .map(|f| {
                let b = u32::from(f.bits_stored.min(63));
                if f.signed { -1 } else { (1i64 << b) - 1 }
            });
        let padding = padding.map(|(v, limit)| {
            let (a, b) = (i64::from(v), i64::from(limit.unwrap_or(v)));
            (a.min(b), a.max(b))
        });
        Ok(Self {
            slope,
            intercept,
            invert_sum,
            padding,
        })
    }

    /// The output value of stored value `v`.
    #[inline]
    pub fn apply(&self, v: i64) -> f64 {
        if let Some((lo, hi)) = self.padding
            && (lo..=hi).contains(&v)
        {
            return AIR_HU;
        }
        let v = match self.invert_sum {
            Some(sum) => sum - v,
            None => v,
        };
        self.slope * v as f64 + self.intercept
    }

    /// `Some(intercept)` when the LUT is a pure integer shift (slope 1, integral
    /// intercept, no padding or inversion): the fast path of CT.
    pub(crate) fn integer_shift(&self) -> Option<i64> {
        (self.slope == 1.0
            && self.intercept.fract() == 0.0
            && self.padding.is_none()
            && self.invert_sum.is_none())
        .then_some(self.intercept as i64)
    }
}

/// Output voxel types.
pub trait HuValue: Copy + Default + Send + Sync + 'static {
    /// Converts a modality value; the flag is true when it had to be clamped.
    fn from_value(v: f64) -> (Self, bool);
    /// Converts an integer value (fast path).
    fn from_int(v: i64) -> (Self, bool);

    /// Converts 16-bit little-endian samples: `(((raw >> sh) & mask) ^ sign) - sign + add`
    /// per sample; returns how many values were clamped.
    fn convert_le16(
        bytes: &[u8],
        sh: u32,
        mask: i32,
        sign: i32,
        add: i32,
        out: &mut [Self],
    ) -> usize {
        let mut clamped = 0usize;
        for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let u = i32::from(u16::from_le_bytes([c[0], c[1]]));
            let (x, cl) = Self::from_int(i64::from((((u >> sh) & mask) ^ sign) - sign + add));
            *o = x;
            clamped += usize::from(cl);
        }
        clamped
    }
}

impl HuValue for i16 {
    #[inline]
    fn from_value(v: f64) -> (Self, bool) {
        let r = v.round();
        if r < f64::from(i16::MIN) {
            (i16::MIN, true)
        } else if r > f64::from(i16::MAX) {
            (i16::MAX, true)
        } else {
            (r as i16, false)
        }
    }

    #[inline]
    fn from_int(v: i64) -> (Self, bool) {
        let c = v.clamp(i64::from(i16::MIN), i64::from(i16::MAX));
        (c as i16, c != v)
    }

    /// The CT hot loop, in 32-bit arithmetic. When every possible stored value lands
    /// inside int16 (12-bit CT with intercept -1024), no clamp is needed and the loop
    /// vectorises with baseline SSE2.
    fn convert_le16(
        bytes: &[u8],
        sh: u32,
        mask: i32,
        sign: i32,
        add: i32,
        out: &mut [Self],
    ) -> usize {
        let (lo, hi) = if sign == 0 {
            (0, mask)
        } else {
            (-sign, sign - 1)
        };
        if lo + add >= i32::from(i16::MIN) && hi + add <= i32::from(i16::MAX) {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                let u = i32::from(u16::from_le_bytes([c[0], c[1]]));
                *o = ((((u >> sh) & mask) ^ sign) - sign + add) as i16;
            }
            return 0;
        }
        let mut clamped = 0usize;
        for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let u = i32::from(u16::from_le_bytes([c[0], c[1]]));
            let v = (((u >> sh) & mask) ^ sign) - sign + add;
            let x = v.clamp(i32::from(i16::MIN), i32::from(i16::MAX));
            *o = x as i16;
            clamped += usize::from(x != v);
        }
        clamped
    }
}

impl HuValue for f32 {
    #[inline]
    fn from_value(v: f64) -> (Self, bool) {
        (v as f32, false)
    }

    #[inline]
    fn from_int(v: i64) -> (Self, bool) {
        (v as f32, false)
    }
}

impl HuValue for f64 {
    #[inline]
    fn from_value(v: f64) -> (Self, bool) {
        (v, false)
    }

    #[inline]
    fn from_int(v: i64) -> (Self, bool) {
        (v as f64, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::Photometric;

    fn fmt(bits: u16, signed: bool, photometric: Photometric) -> PixelFormat {
        PixelFormat {
            samples_per_pixel: 1,
            bits_allocated: 16,
            bits_stored: bits,
            high_bit: bits - 1,
            signed,
            photometric,
            planar: false,
        }
    }

    #[test]
    fn padding_inversion_and_rescale() {
        let p = Path::new("x.dcm");
        let lut = ModalityLut::new(
            p,
            Some(&fmt(12, false, Photometric::Monochrome2)),
            1.0,
            -1024.0,
            Some((-2000, None)),
        )
        .unwrap();
        assert_eq!(lut.apply(1024), 0.0);
        assert_eq!(lut.apply(-2000), AIR_HU);
        let mono1 = ModalityLut::new(
            p,
            Some(&fmt(12, false, Photometric::Monochrome1)),
            2.0,
            0.0,
            None,
        )
        .unwrap();
        assert_eq!(mono1.apply(0), 2.0 * 4095.0);
        let signed1 = ModalityLut::new(
            p,
            Some(&fmt(16, true, Photometric::Monochrome1)),
            1.0,
            0.0,
            None,
        )
        .unwrap();
        assert_eq!(
            (signed1.apply(-32768), signed1.apply(32767)),
            (32767.0, -32768.0)
        );
        let err = ModalityLut::new(p, None, 0.0, 5.0, None).unwrap_err();
        assert!(err.to_string().contains("RescaleSlope"), "{err}");
        assert_eq!(i16::from_value(40000.0), (i16::MAX, true));
        assert_eq!(i16::from_int(-5), (-5, false));
    }
}
