//! The modality LUT: stored values to HU (or the modality's own units).

use std::path::Path;

use crate::error::{Error, Result};
use crate::header::DicomHeader;

/// HU given to padding pixels (outside the reconstructed field of view): air.
pub const AIR_HU: f64 = -1024.0;

/// Maps one frame's stored values to output values (HU for CT):
///
/// 1. stored values inside the Pixel Padding range become air (-1024 HU);
/// 2. `slope * v + intercept`: the Modality LUT alone.
///
/// The Photometric Interpretation plays no part: MONOCHROME1 only says how to *display*
/// the values after the modality and VOI transforms (PS3.3 C.7.6.3.1.2, C.11.1), so a
/// MONOCHROME1 CT slice gives the same HU as its MONOCHROME2 twin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModalityLut {
    /// Rescale slope (never 0).
    pub slope: f64,
    /// Rescale intercept.
    pub intercept: f64,
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
            rescale.slope,
            rescale.intercept,
            header.padding,
        )
    }

    pub(crate) fn new(
        path: &Path,
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
        let padding = padding.map(|(v, limit)| {
            let (a, b) = (i64::from(v), i64::from(limit.unwrap_or(v)));
            (a.min(b), a.max(b))
        });
        Ok(Self {
            slope,
            intercept,
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
        self.slope * v as f64 + self.intercept
    }

    /// `Some(intercept)` when the LUT is a pure integer shift (slope 1, integral
    /// intercept, no padding): the fast path of CT.
    pub(crate) fn integer_shift(&self) -> Option<i64> {
        (self.slope == 1.0 && self.intercept.fract() == 0.0 && self.padding.is_none())
            .then_some(self.intercept as i64)
    }

    /// `Some((intercept, padding))` when the LUT is an integer shift outside the
    /// padding range (slope 1, integral intercept): the fast path of CT, scanners that
    /// pad included.
    pub(crate) fn shift_and_padding(&self) -> Option<(i64, Option<(i64, i64)>)> {
        (self.slope == 1.0 && self.intercept.fract() == 0.0)
            .then_some((self.intercept as i64, self.padding))
    }
}

/// How 16-bit little-endian samples become values: the stored value is
/// `(((raw >> shift) & mask) ^ sign) - sign`; stored values in `padding` (inclusive)
/// become air ([`AIR_HU`]), the others `stored + add`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Le16Layout {
    /// Right shift of the raw sample (High Bit + 1 - Bits Stored).
    pub shift: u32,
    /// Mask of Bits Stored.
    pub mask: i32,
    /// The sign bit for signed data, else 0.
    pub sign: i32,
    /// The rescale intercept.
    pub add: i32,
    /// Inclusive range of padding stored values.
    pub padding: Option<(i32, i32)>,
}

impl Le16Layout {
    /// The stored value of raw sample `u`.
    #[inline]
    fn stored(&self, u: i32) -> i32 {
        (((u >> self.shift) & self.mask) ^ self.sign) - self.sign
    }

    /// The padding range, or an empty one (`lo > hi`) that matches nothing.
    #[inline]
    fn padding_or_empty(&self) -> (i32, i32) {
        self.padding.unwrap_or((1, 0))
    }
}

/// Output voxel types.
pub trait HuValue: Copy + Default + Send + Sync + 'static {
    /// Converts a modality value; the flag is true when it had to be clamped.
    fn from_value(v: f64) -> (Self, bool);
    /// Converts an integer value (fast path).
    fn from_int(v: i64) -> (Self, bool);

    /// Converts 16-bit little-endian samples as `layout` says; returns how many values
    /// were clamped.
    fn convert_le16(bytes: &[u8], layout: &Le16Layout, out: &mut [Self]) -> usize {
        let mut clamped = 0usize;
        let (lo, hi) = layout.padding_or_empty();
        for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let v = layout.stored(i32::from(u16::from_le_bytes([c[0], c[1]])));
            let (x, cl) = if (lo..=hi).contains(&v) {
                Self::from_value(AIR_HU)
            } else {
                Self::from_int(i64::from(v + layout.add))
            };
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
    /// inside int16 (12-bit CT with intercept -1024, or 16-bit signed data with a
    /// padding value), no clamp is needed and the loop vectorises with baseline SSE2;
    /// padding is a select in the same loop. Compiled twice from the same code: for
    /// the baseline and (chosen at run time) for AVX2, twice as wide.
    fn convert_le16(bytes: &[u8], layout: &Le16Layout, out: &mut [Self]) -> usize {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            #[target_feature(enable = "avx2")]
            fn avx2(bytes: &[u8], layout: &Le16Layout, out: &mut [i16]) -> usize {
                convert_le16_i16(bytes, layout, out)
            }
            // SAFETY: the CPU has AVX2 (checked above).
            #[allow(unsafe_code)]
            return unsafe { avx2(bytes, layout, out) };
        }
        convert_le16_i16(bytes, layout, out)
    }
}

/// [`HuValue::convert_le16`] of `i16`.
#[inline]
fn convert_le16_i16(bytes: &[u8], layout: &Le16Layout, out: &mut [i16]) -> usize {
    let (lo, hi) = if layout.sign == 0 {
        (0, layout.mask)
    } else {
        (-layout.sign, layout.sign - 1)
    };
    let (pad_lo, pad_hi) = layout.padding_or_empty();
    let air = AIR_HU as i16;
    let add = layout.add;
    if lo + add >= i32::from(i16::MIN) && hi + add <= i32::from(i16::MAX) {
        let pairs = out.iter_mut().zip(bytes.chunks_exact(2));
        // Two loops: the select costs a quarter of the loop when there is no padding.
        if layout.padding.is_none() {
            for (o, c) in pairs {
                let v = layout.stored(i32::from(u16::from_le_bytes([c[0], c[1]])));
                {
                    *o = (v + add) as i16;
                }
            }
        } else {
            for (o, c) in pairs {
                let v = layout.stored(i32::from(u16::from_le_bytes([c[0], c[1]])));
                let padded = v >= pad_lo && v <= pad_hi;
                {
                    *o = if padded { air } else { (v + add) as i16 };
                }
            }
        }
        return 0;
    }
    // Branch-free, with a 32-bit count per chunk, so this loop vectorises too (a
    // 64-bit count, or `&&` between the comparisons, keeps it scalar and branchy:
    // docs/dicom.md, "Speed").
    let mut clamped = 0usize;
    for (out, bytes) in out.chunks_mut(1 << 12).zip(bytes.chunks(1 << 13)) {
        let mut count = 0u32;
        for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let v = layout.stored(i32::from(u16::from_le_bytes([c[0], c[1]])));
            #[allow(clippy::needless_bitwise_bool)]
            let padded = (v >= pad_lo) & (v <= pad_hi);
            let w = v + add;
            let x = w.clamp(i32::from(i16::MIN), i32::from(i16::MAX));
            {
                *o = if padded { air } else { x as i16 };
            }
            #[allow(clippy::needless_bitwise_bool)]
            let out_of_range = !padded & (x != w);
            count += u32::from(out_of_range);
        }
        clamped += count as usize;
    }
    clamped
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
    use crate::header::{Photometric, PixelFormat};

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
    fn padding_and_rescale_whatever_the_photometric_interpretation() {
        let p = Path::new("x.dcm");
        let lut = ModalityLut::new(p, 1.0, -1024.0, Some((-2000, None))).unwrap();
        assert_eq!(lut.apply(1024), 0.0);
        assert_eq!(lut.apply(-2000), AIR_HU);
        let scaled = ModalityLut::new(p, 2.0, 0.5, None).unwrap();
        assert_eq!(
            (scaled.apply(0), scaled.apply(4095)),
            (0.5, 2.0 * 4095.0 + 0.5)
        );
        let err = ModalityLut::new(p, 0.0, 5.0, None).unwrap_err();
        assert!(err.to_string().contains("RescaleSlope"), "{err}");
        assert_eq!(i16::from_value(40000.0), (i16::MAX, true));
        assert_eq!(i16::from_int(-5), (-5, false));
    }

    /// Every 16-bit sample through the fast loops equals the LUT applied to its stored
    /// value: signed 16-bit with a padding range, unsigned 12-bit in a high-bit layout
    /// with padding, and an intercept that forces clamping.
    #[test]
    fn the_le16_fast_path_equals_the_lut_with_padding() {
        let p = Path::new("x.dcm");
        let raw: Vec<u8> = (0..=u16::MAX).flat_map(u16::to_le_bytes).collect();
        for (format, intercept, padding) in [
            (
                fmt(16, true, Photometric::Monochrome2),
                0.0,
                Some((-2000, Some(-1990))),
            ),
            (
                fmt(16, true, Photometric::Monochrome2),
                -1024.0,
                Some((-2000, None)),
            ),
            (
                fmt(12, false, Photometric::Monochrome2),
                -1024.0,
                Some((0, Some(3))),
            ),
            (
                fmt(16, false, Photometric::Monochrome2),
                -1024.0,
                Some((65535, None)),
            ),
            (fmt(12, false, Photometric::Monochrome2), -1024.0, None),
        ] {
            let lut = ModalityLut::new(p, 1.0, intercept, padding).unwrap();
            let (shift, pad) = lut.shift_and_padding().expect("an integer shift");
            let bits = u32::from(format.bits_stored);
            let layout = Le16Layout {
                shift: u32::from(format.high_bit + 1) - bits,
                mask: ((1i64 << bits) - 1) as i32,
                sign: if format.signed { 1 << (bits - 1) } else { 0 },
                add: shift as i32,
                padding: pad.map(|(a, b)| (a as i32, b as i32)),
            };
            let (mut fast16, mut fast32) = (vec![0i16; 65536], vec![0f32; 65536]);
            let clamped = i16::convert_le16(&raw, &layout, &mut fast16);
            f32::convert_le16(&raw, &layout, &mut fast32);
            let mut want_clamped = 0;
            for u in 0..65536usize {
                let stored = i64::from(layout.stored(u as i32));
                let hu = lut.apply(stored);
                let (want, c) = i16::from_value(hu);
                want_clamped += usize::from(c);
                assert_eq!(fast16[u], want, "{format:?} {padding:?} raw {u}");
                assert_eq!(fast32[u], hu as f32, "{format:?} {padding:?} raw {u}");
            }
            assert_eq!(clamped, want_clamped, "{format:?}");
        }
    }
}
