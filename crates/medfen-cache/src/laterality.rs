//! A laterality check on real data: does the label table's "left" mean the patient's
//! left?
//!
//! Synthetic tests prove the pipeline consistent with itself; they cannot check that a
//! hospital's label table and its images agree on sides. Middle-ear disease (chronic
//! otitis media, cholesteatoma, effusion, cholesterol granuloma) fills the middle ear
//! and mastoid air cells with soft tissue or fluid, so in an exam labelled with disease
//! on one side only, the diseased ear should hold less air. [`check_laterality`]
//! measures the enclosed aerated volume (voxels below -500 HU inside each ear's crop
//! that the air outside the head cannot reach) of both ears of every such exam and reports how often the labelled-diseased side is the less
//! aerated one, with a Wilson interval over exams. Well above one half: the sides
//! agree. Well below: the sides are swapped somewhere (labels, images, or the reading
//! of either).

use std::collections::BTreeMap;

use medfen_tasks::Side;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::loader::CacheReader;

/// HU below which a voxel counts as air.
pub const AERATED_BELOW_HU: i16 = -500;
/// The code of a normal ear.
const NORMAL: u8 = 5;
/// Codes of middle-ear disease that replaces air (1-4); `other` (6) is left out.
const AIR_REPLACING: [u8; 4] = [1, 2, 3, 4];
/// Fewer unilateral exams than this make the check inconclusive whatever they show.
pub const MIN_EXAMS: usize = 10;

/// What the check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LateralityVerdict {
    /// The interval lies above one half: labelled-diseased ears hold less air.
    Consistent,
    /// Too few exams, or an interval that includes one half.
    Inconclusive,
    /// The interval lies below one half: the sides look swapped somewhere.
    Swapped,
}

/// One exam with disease labelled on one side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnilateralExam {
    /// Exam id.
    pub exam_id: u64,
    /// The side labelled diseased.
    pub diseased: Side,
    /// Aerated volume of the left ear's crop, ml.
    pub aerated_ml_left: f64,
    /// Aerated volume of the right ear's crop, ml.
    pub aerated_ml_right: f64,
}

impl UnilateralExam {
    /// 1 when the labelled-diseased ear holds less air, 0 when more, 1/2 on a tie.
    pub fn agreement(&self) -> f64 {
        let (sick, healthy) = match self.diseased {
            Side::Left => (self.aerated_ml_left, self.aerated_ml_right),
            Side::Right => (self.aerated_ml_right, self.aerated_ml_left),
        };
        if sick < healthy {
            1.0
        } else if sick > healthy {
            0.0
        } else {
            0.5
        }
    }
}

/// The result of [`check_laterality`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LateralityReport {
    /// HU below which a voxel counts as air.
    pub aerated_below_hu: i16,
    /// Exams with air-replacing disease on one side and a normal other side.
    pub exams: usize,
    /// Share of them whose labelled-diseased ear is the less aerated (ties count 1/2).
    pub fraction: Option<f64>,
    /// 95% Wilson interval of `fraction`, over exams (each exam counted once).
    pub interval: Option<(f64, f64)>,
    /// The conclusion.
    pub verdict: LateralityVerdict,
    /// The conclusion in words.
    pub message: String,
    /// Every exam used.
    pub unilateral: Vec<UnilateralExam>,
}

/// Voxels of a `[K, S, S]` record below [`AERATED_BELOW_HU`] that air outside the
/// crop's sides cannot reach: the air outside the head and in the external ear canal
/// (which opens outwards) is left out, the air of the middle ear and mastoid cells
/// (closed off by the eardrum and bone) stays. A 6-connected flood fill from every air
/// voxel on the four side faces of the crop.
fn enclosed_air(record: &[i16], k: usize, s: usize) -> usize {
    let air: Vec<bool> = record.iter().map(|&v| v < AERATED_BELOW_HU).collect();
    let mut outside = vec![false; air.len()];
    let mut stack = Vec::new();
    for z in 0..k {
        for a in 0..s {
            for (y, x) in [(0, a), (s - 1, a), (a, 0), (a, s - 1)] {
                stack.push((z * s + y) * s + x);
            }
        }
    }
    while let Some(i) = stack.pop() {
        if !air[i] || outside[i] {
            continue;
        }
        outside[i] = true;
        let (z, y, x) = (i / (s * s), (i / s) % s, i % s);
        if z > 0 {
            stack.push(i - s * s);
        }
        if z + 1 < k {
            stack.push(i + s * s);
        }
        if y > 0 {
            stack.push(i - s);
        }
        if y + 1 < s {
            stack.push(i + s);
        }
        if x > 0 {
            stack.push(i - 1);
        }
        if x + 1 < s {
            stack.push(i + 1);
        }
    }
    air.iter()
        .zip(&outside)
        .filter(|(a, o)| **a && !**o)
        .count()
}

/// The enclosed aerated volume of record `i` ([`enclosed_air`]), ml.
fn aerated_ml(reader: &CacheReader, i: usize) -> f64 {
    let spec = reader.spec();
    let air = enclosed_air(&reader.record(i), spec.num_slices, spec.image_size);
    let p = &reader.index()[i].placement;
    let z = &p.z_mm;
    let dz = match z.len() {
        0 | 1 => 1.0,
        n => (z[n - 1] - z[0]).abs() / (n - 1) as f64,
    };
    air as f64 * p.pixel_mm[0] * p.pixel_mm[1] * dz / 1000.0
}

/// Checks the cache's ears: labels from `codes` (by exam and side) when given, else
/// the codes the cache was built with.
///
/// # Errors
/// A malformed interval computation (cannot happen with at least one exam).
pub fn check_laterality(
    reader: &CacheReader,
    codes: Option<&BTreeMap<(u64, Side), Option<u8>>>,
) -> Result<LateralityReport> {
    // Per exam, left then right: (code, record index).
    type Ear = Option<(Option<u8>, usize)>;
    let mut ears: BTreeMap<u64, [Ear; 2]> = BTreeMap::new();
    for (i, m) in reader.index().iter().enumerate() {
        let code = codes.map_or(m.code, |c| c.get(&(m.exam_id, m.side)).copied().flatten());
        let slot = usize::from(m.side == Side::Right);
        ears.entry(m.exam_id).or_default()[slot] = Some((code, i));
    }
    let mut unilateral = Vec::new();
    for (exam_id, [left, right]) in ears {
        let (Some((l, li)), Some((r, ri))) = (left, right) else {
            continue;
        };
        let sick = |c: Option<u8>| c.is_some_and(|c| AIR_REPLACING.contains(&c));
        let diseased = match (l, r) {
            (l, Some(NORMAL)) if sick(l) => Side::Left,
            (Some(NORMAL), r) if sick(r) => Side::Right,
            _ => continue,
        };
        unilateral.push(UnilateralExam {
            exam_id,
            diseased,
            aerated_ml_left: aerated_ml(reader, li),
            aerated_ml_right: aerated_ml(reader, ri),
        });
    }
    summarise(unilateral)
}

fn summarise(unilateral: Vec<UnilateralExam>) -> Result<LateralityReport> {
    let n = unilateral.len();
    let agreeing: f64 = unilateral.iter().map(UnilateralExam::agreement).sum();
    let (fraction, interval) = if n == 0 {
        (None, None)
    } else {
        let ci = medfen_metrics::wilson_interval(agreeing, n as f64, 0.95)
            .map_err(|e| Error::cache("laterality", e))?;
        (Some(agreeing / n as f64), Some(ci))
    };
    let verdict = match interval {
        Some((_, hi)) if n >= MIN_EXAMS && hi < 0.5 => LateralityVerdict::Swapped,
        Some((lo, _)) if n >= MIN_EXAMS && lo > 0.5 => LateralityVerdict::Consistent,
        _ => LateralityVerdict::Inconclusive,
    };
    Ok(LateralityReport {
        aerated_below_hu: AERATED_BELOW_HU,
        exams: n,
        fraction,
        interval,
        verdict,
        message: message(verdict, n, fraction, interval),
        unilateral,
    })
}

fn message(
    verdict: LateralityVerdict,
    n: usize,
    fraction: Option<f64>,
    interval: Option<(f64, f64)>,
) -> String {
    let share = match (fraction, interval) {
        (Some(f), Some((lo, hi))) => format!(
            "the labelled-diseased ear is the less aerated one in {:.0}% [{:.0}%, {:.0}%] of {n} \
             exams with disease on one side (95% Wilson interval over exams)",
            100.0 * f,
            100.0 * lo,
            100.0 * hi
        ),
        _ => "no exam has air-replacing disease (codes 1-4) on one side and a normal ear on the other"
            .to_owned(),
    };
    match verdict {
        LateralityVerdict::Consistent => format!("laterality consistent: {share}"),
        LateralityVerdict::Inconclusive if n < MIN_EXAMS => {
            format!("laterality inconclusive (fewer than {MIN_EXAMS} exams): {share}")
        }
        LateralityVerdict::Inconclusive => format!("laterality inconclusive: {share}"),
        LateralityVerdict::Swapped => format!(
            "LEFT AND RIGHT LOOK SWAPPED: {share}. The diseased side holds MORE air than the \
             healthy one far more often than not: the label table's sides, the images' \
             orientation or the reading of either is reversed somewhere. Check a few of these \
             exams by eye before training on them"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exam(id: u64, diseased: Side, left: f64, right: f64) -> UnilateralExam {
        UnilateralExam {
            exam_id: id,
            diseased,
            aerated_ml_left: left,
            aerated_ml_right: right,
        }
    }

    #[test]
    fn air_reachable_from_the_crop_sides_is_left_out() {
        // One slice of 5 x 5: an air channel from the left edge (the ear canal) and a
        // closed air pocket behind a soft-tissue wall (the middle ear).
        let (a, t) = (-1000i16, 40i16);
        #[rustfmt::skip]
        let slice = [
            t, t, t, t, t,
            a, a, t, a, t,
            t, t, t, a, t,
            t, t, t, t, t,
            t, t, t, t, t,
        ];
        assert_eq!(enclosed_air(&slice, 1, 5), 2);
        // Stacked slices connect through z: the pocket opens into an air slice above.
        let mut two = slice.to_vec();
        two.extend([a; 25]);
        assert_eq!(enclosed_air(&two, 2, 5), 0);
    }

    #[test]
    fn the_verdict_follows_the_interval() {
        let agree: Vec<_> = (0..20).map(|i| exam(i, Side::Left, 1.0, 3.0)).collect();
        let r = summarise(agree.clone()).unwrap();
        assert_eq!(
            (r.verdict, r.fraction),
            (LateralityVerdict::Consistent, Some(1.0))
        );
        let swapped: Vec<_> = (0..20).map(|i| exam(i, Side::Right, 1.0, 3.0)).collect();
        let r = summarise(swapped).unwrap();
        assert_eq!(r.verdict, LateralityVerdict::Swapped);
        assert!(
            r.message.starts_with("LEFT AND RIGHT LOOK SWAPPED"),
            "{}",
            r.message
        );
        let few = summarise(agree[..5].to_vec()).unwrap();
        assert_eq!(few.verdict, LateralityVerdict::Inconclusive);
        let tie = exam(1, Side::Left, 2.0, 2.0);
        assert_eq!(tie.agreement(), 0.5);
        assert_eq!(summarise(Vec::new()).unwrap().fraction, None);
    }
}
