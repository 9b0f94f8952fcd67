//! Augmentation of one cache record: window level/width jitter, flips, a small affine,
//! intensity, gamma and noise, drawn per (seed, epoch, record) and applied identically
//! to the record's K slices.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

use crate::kernels::{BLOCK, Isa, Noise, PIECE, SliceBlock, Taps, WindowMap, bilinear, mix64};
use crate::spec::CacheSpec;

mod settings;

pub use settings::{Augment, AugmentPreset};

/// The random stream of one sample.
pub(crate) struct SampleRng(pub(crate) ChaCha8Rng);

impl SampleRng {
    pub(crate) fn new(seed: u64, epoch: u64, sample: u64) -> Self {
        let mut h = Sha256::new();
        h.update(b"medfen-cache augment\0");
        h.update(seed.to_le_bytes());
        h.update(epoch.to_le_bytes());
        h.update(sample.to_le_bytes());
        Self(ChaCha8Rng::from_seed(h.finalize().into()))
    }

    fn unit(&mut self) -> f32 {
        (self.0.next_u32() >> 8) as f32 / (1u32 << 24) as f32
    }

    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    fn sym(&mut self, a: f32) -> f32 {
        self.range(-a, a)
    }
}

/// Augments one record (`raw`: little-endian i16 `[K, S, S]`) into `out`
/// (`[C, K, S, S]` floats in [0, 1]).
///
/// Every value is first mapped through the sample's window (level, width, intensity,
/// gamma); an affine then resamples the windowed slice bilinearly (pixel centres,
/// `pad_hu` outside the record), and the noise is added last: normal draws read from a
/// fixed table in runs of 1,024 pixels, each run at an offset and with a sign drawn
/// for it (independent within a slice; the same values recur, shifted, across samples).
///
/// # Panics
/// When `raw` or `out` have the wrong length for `spec` and `aug`.
pub fn augment_record(
    raw: &[u8],
    spec: &CacheSpec,
    aug: &Augment,
    seed: u64,
    epoch: u64,
    sample: u64,
    out: &mut [f32],
) {
    augment_record_with(Isa::detect(), raw, spec, aug, (seed, epoch, sample), out);
}

/// The relative cost of augmenting one sample: 2 when an affine is drawn for it (the
/// bilinear resampling about doubles the work), 1 otherwise. The batch maker starts
/// with the costly samples so that the threads finish together.
pub(crate) fn sample_cost(
    aug: &Augment,
    spec: &CacheSpec,
    (seed, epoch, sample): (u64, u64, u64),
) -> u8 {
    let draws = Draws::new(
        aug,
        spec.image_size,
        &mut SampleRng::new(seed, epoch, sample),
    );
    1 + u8::from(draws.affine.is_some())
}

/// One sample's draws: where its output pixels read and how values are mapped.
struct Draws {
    maps: Vec<WindowMap>,
    flip_r: bool,
    flip_c: bool,
    /// The affine, when one was drawn.
    affine: Option<Affine>,
    /// Noise standard deviation and key.
    noise: Option<(f32, u64)>,
    /// Which value transforms were drawn (the tests count them).
    #[cfg(test)]
    applied: Applied,
}

/// Which of the value transforms a sample drew.
#[cfg(test)]
struct Applied {
    intensity: bool,
    gamma: bool,
}

impl Draws {
    fn new(aug: &Augment, image_size: usize, rng: &mut SampleRng) -> Self {
        let level = aug.window_level + rng.sym(aug.level_jitter);
        let width = (aug.window_width * rng.range(aug.width_scale.0, aug.width_scale.1)).max(1.0);
        let flip_c = rng.unit() < aug.flip_columns;
        let flip_r = rng.unit() < aug.flip_rows;
        let affine = rng.unit() < aug.affine_prob;
        let (theta, zoom, tx, ty) = (
            rng.sym(aug.rotate_deg).to_radians(),
            rng.range(aug.scale.0, aug.scale.1),
            rng.sym(aug.shift),
            rng.sym(aug.shift),
        );
        let iscale = 1.0 + rng.sym(aug.intensity_scale);
        let ishift = rng.sym(aug.intensity_shift);
        let gamma = rng.range(aug.gamma.0, aug.gamma.1);
        let noise_key = rng.0.next_u64();
        // Drawn after everything above, so that settings with every probability at 1
        // and a fixed noise give the draws they gave before these settings existed.
        let with_intensity = rng.unit() < aug.intensity_prob;
        let with_gamma = rng.unit() < aug.gamma_prob;
        let with_noise = rng.unit() < aug.noise_prob;
        let noise_std = match aug.noise_std_min {
            Some(low) => rng.range(low, aug.noise_std),
            None => aug.noise_std,
        };
        let (iscale, ishift) = if with_intensity {
            (iscale, ishift)
        } else {
            (1.0, 0.0)
        };
        let gamma = if with_gamma { gamma } else { 1.0 };
        let first = if aug.intensity_first {
            WindowMap::intensity_first(level, width, iscale, ishift, gamma)
        } else {
            WindowMap::new(level, width, iscale, ishift, gamma)
        };
        let mut maps = vec![first];
        for &(l, w) in &aug.extra_windows {
            maps.push(WindowMap::new(l, w, 1.0, 0.0, 1.0));
        }
        let side = image_size as f32;
        Self {
            maps,
            flip_r,
            flip_c,
            affine: affine.then(|| Affine {
                sin_cos: theta.sin_cos(),
                zoom,
                shift: (ty * side, tx * side),
            }),
            noise: (with_noise && noise_std > 0.0).then_some((noise_std, noise_key)),
            #[cfg(test)]
            applied: Applied {
                intensity: with_intensity,
                gamma: with_gamma,
            },
        }
    }
}

/// A rotation about the image centre, a zoom and a shift.
#[derive(Clone, Copy)]
struct Affine {
    /// Sine and cosine of the rotation.
    sin_cos: (f32, f32),
    /// Zoom factor (> 1 enlarges).
    zoom: f32,
    /// Shift in pixels (rows, columns).
    shift: (f32, f32),
}

/// Per-thread buffers reused across samples (fresh 100-600 kB allocations per ear cost
/// page faults).
#[derive(Default)]
struct Scratch {
    taps: Taps,
    values: Vec<i16>,
    padded: Vec<f32>,
    converted: Vec<i16>,
    block: SliceBlock,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// [`augment_record`] with the loops of `isa`.
pub(crate) fn augment_record_with(
    isa: Isa,
    raw: &[u8],
    spec: &CacheSpec,
    aug: &Augment,
    (seed, epoch, sample): (u64, u64, u64),
    out: &mut [f32],
) {
    let (k, s) = (spec.num_slices, spec.image_size);
    let plane = s * s;
    assert_eq!(raw.len(), 2 * k * plane, "record size");
    assert_eq!(out.len(), aug.channels() * k * plane, "output size");
    let draws = Draws::new(aug, s, &mut SampleRng::new(seed, epoch, sample));
    SCRATCH.with_borrow_mut(|scratch| {
        let Scratch {
            taps,
            values,
            padded,
            converted,
            block,
        } = scratch;
        // The record as i16 (records are little-endian and 2-byte aligned in the
        // memory map; anything else is converted once).
        let src: &[i16] = match bytemuck::try_cast_slice::<u8, i16>(raw) {
            Ok(v) if cfg!(target_endian = "little") => v,
            _ => {
                converted.clear();
                converted.extend(
                    raw.chunks_exact(2)
                        .map(|b| i16::from_le_bytes([b[0], b[1]])),
                );
                converted
            }
        };
        let source = if let Some(affine) = draws.affine {
            affine_taps(isa, s, affine, (draws.flip_r, draws.flip_c), taps);
            padded.resize((s + 2) * (s + 2), 0.0);
            Source::Taps
        } else if draws.flip_r || draws.flip_c {
            values.resize(PIECE, 0);
            Source::Flipped
        } else {
            Source::Identity
        };
        for (ch, window) in draws.maps.iter().enumerate() {
            let pad = window.value(spec.pad_hu);
            // The noise of slice z (the first channel only).
            let noise = |z: usize| match (ch, draws.noise) {
                (0, Some((std, key))) => Some(Noise::new(std, mix64(key ^ z as u64))),
                _ => None,
            };
            // Whole blocks of slices at once where the vector loops have a block copy.
            let mut done = 0;
            while source == Source::Taps && done + BLOCK <= k {
                let (from, to) = (done * plane, (done + BLOCK) * plane);
                let o = &mut out[ch * k * plane + from..ch * k * plane + to];
                let streams: Option<[Noise; BLOCK]> = match (ch, draws.noise) {
                    (0, Some((std, key))) => Some(std::array::from_fn(|j| {
                        Noise::new(std, mix64(key ^ (done + j) as u64))
                    })),
                    _ => None,
                };
                let (hu, noise) = (&src[from..to], streams.as_ref());
                if !block.window_bilinear(isa, (window, pad), (hu, s), taps, o, noise) {
                    break;
                }
                done += BLOCK;
            }
            if source == Source::Taps {
                // The border of the padded plane: `pad_hu` through this window.
                padded.fill(pad);
            }
            for z in done..k {
                let slice = &src[z * plane..(z + 1) * plane];
                let o = &mut out[(ch * k + z) * plane..(ch * k + z + 1) * plane];
                match source {
                    Source::Identity | Source::Flipped => {
                        let flips =
                            (source == Source::Flipped).then_some((draws.flip_r, draws.flip_c));
                        window_pieces(isa, window, (slice, s), flips, values, noise(z), o);
                        continue;
                    }
                    Source::Taps => {
                        let p = s + 2;
                        for (row, dst) in slice
                            .chunks_exact(s)
                            .zip(padded.chunks_exact_mut(p).skip(1))
                        {
                            window.apply_raw(isa, row, &mut dst[1..=s]);
                        }
                        bilinear(isa, padded, p, taps, o);
                    }
                }
                // The noise, and the clamp the window left for after the affine (the
                // other sources have finished above).
                noise(z).unwrap_or(Noise::none()).add(isa, 0, o);
            }
        }
    });
}

/// Window and noise of one slice (`slice`, `s` x `s`) in one pass, a piece (a run of
/// the noise) at a time; with `flips`, a piece first gathers its mirrored rows into
/// `values`, a buffer in the L1 cache.
#[inline]
fn window_pieces(
    isa: Isa,
    window: &WindowMap,
    (slice, s): (&[i16], usize),
    flips: Option<(bool, bool)>,
    values: &mut [i16],
    noise: Option<Noise>,
    o: &mut [f32],
) {
    let plane = s * s;
    for run in 0..plane.div_ceil(PIECE) {
        let at = run * PIECE..((run + 1) * PIECE).min(plane);
        let hu = if let Some(flips) = flips {
            let piece = &mut values[..at.len()];
            flipped_piece(slice, s, flips, at.start, piece);
            &*piece
        } else {
            &slice[at.clone()]
        };
        let o = &mut o[at];
        match noise {
            Some(noise) => window.apply_noisy(isa, hu, o, noise.run(run, hu.len())),
            None => window.apply(isa, hu, o),
        }
    }
}

/// Output pixels `start..start + piece.len()` of a slice (`s` x `s`) mirrored by `flips`
/// (rows, columns): `piece[i]` is the slice's pixel that output pixel `start + i` shows.
fn flipped_piece(
    slice: &[i16],
    s: usize,
    (flip_r, flip_c): (bool, bool),
    start: usize,
    piece: &mut [i16],
) {
    let mut done = 0;
    while done < piece.len() {
        let (r, c) = ((start + done) / s, (start + done) % s);
        let n = (s - c).min(piece.len() - done);
        let row = &slice[if flip_r { s - 1 - r } else { r } * s..][..s];
        let to = &mut piece[done..done + n];
        if flip_c {
            // Output columns c.. show source columns s - 1 - c down.
            mirror(&row[s - c - n..s - c], to);
        } else {
            to.copy_from_slice(&row[c..c + n]);
        }
        done += n;
    }
}

/// `to[i] = from[n - 1 - i]`, 16 values at a time (fixed-size chunks, which the compiler
/// turns into vector shuffles).
fn mirror(from: &[i16], to: &mut [i16]) {
    let mut dst = to.rchunks_exact_mut(16);
    let mut src = from.chunks_exact(16);
    for (d, s) in (&mut dst).zip(&mut src) {
        for (d, &v) in d.iter_mut().zip(s.iter().rev()) {
            *d = v;
        }
    }
    for (d, &v) in dst
        .into_remainder()
        .iter_mut()
        .zip(src.remainder().iter().rev())
    {
        *d = v;
    }
}

/// The bilinear taps of an affine (rotation, zoom, shift in pixels) after the flips,
/// into a plane padded by one pixel on every side: a point further out than the pad
/// reads the pad with weight 1. The loops are compiled for the best vector width
/// `isa` allows (the same IEEE operations, so the same taps).
fn affine_taps(isa: Isa, s: usize, affine: Affine, flips: (bool, bool), taps: &mut Taps) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        fn avx512(s: usize, affine: Affine, flips: (bool, bool), taps: &mut Taps) {
            affine_taps_body(s, affine, flips, taps);
        }
        #[target_feature(enable = "avx2,fma")]
        fn avx2(s: usize, affine: Affine, flips: (bool, bool), taps: &mut Taps) {
            affine_taps_body(s, affine, flips, taps);
        }
        #[allow(unsafe_code)]
        match isa {
            // SAFETY: `Isa::Avx512` is only detected on CPUs with AVX-512 F.
            Isa::Avx512 => return unsafe { avx512(s, affine, flips, taps) },
            // SAFETY: `Isa::Avx2` is only detected on CPUs with AVX2 and FMA.
            Isa::Avx2 => return unsafe { avx2(s, affine, flips, taps) },
            Isa::Baseline => {}
        }
    }
    let _ = isa;
    affine_taps_body(s, affine, flips, taps);
}

/// [`affine_taps`]' loops; always inlined, so that each copy above compiles them for
/// its vector width.
#[allow(clippy::inline_always)]
#[inline(always)]
fn affine_taps_body(
    s: usize,
    Affine {
        sin_cos: (sin, cos),
        zoom,
        shift: (shift_r, shift_c),
    }: Affine,
    (flip_r, flip_c): (bool, bool),
    taps: &mut Taps,
) {
    let (si, p) = (s as i32, s as i32 + 2);
    let (half, last, beyond) = (s as f32 / 2.0, s as f32 - 1.0, s as f32 + 1.0);
    let inv_zoom = 1.0 / zoom;
    // Branch-free, so the column loop vectorises.
    let axis = |v: f32| -> (i32, f32) {
        // Into [-2, s + 1] (NaN too: `max` and `min` take the number), which keeps every
        // class below (pad before, inside, pad after) and lets a truncation give the
        // floor.
        let v = v.max(-2.0).min(beyond);
        // SAFETY: v is finite and within [-2, s + 1], so v and v0 + 1 fit an i32.
        #[allow(unsafe_code, clippy::cast_precision_loss)]
        let v0 = {
            let t: i32 = unsafe { v.to_int_unchecked() };
            (if t as f32 > v { t - 1 } else { t }) as f32
        };
        // SAFETY: as above.
        #[allow(unsafe_code)]
        let inside = (unsafe { (v0 + 1.0).to_int_unchecked::<i32>() }, v - v0);
        let before = (0, 0.0); // pad row/column -1, weight on it
        let after = (si, 1.0); // pad row/column s, weight on it
        if v0 < -1.0 {
            before
        } else if v0 > last {
            after
        } else {
            inside
        }
    };
    let plane = s * s;
    taps.index.resize(plane, 0);
    taps.wx.resize(plane, 0.0);
    taps.wy.resize(plane, 0.0);
    let rows = taps
        .index
        .chunks_exact_mut(s)
        .zip(taps.wx.chunks_exact_mut(s))
        .zip(taps.wy.chunks_exact_mut(s));
    for (r, ((index, wx), wy)) in (0..si).zip(rows) {
        let y = (if flip_r { si - 1 - r } else { r }) as f32 + 0.5 - half;
        let yy = (y - shift_r) * inv_zoom;
        let (row_y, row_x) = (cos * yy + half - 0.5, -sin * yy + half - 0.5);
        for (c, ((i, wx), wy)) in
            (0..si).zip(index.iter_mut().zip(wx.iter_mut()).zip(wy.iter_mut()))
        {
            let x = (if flip_c { si - 1 - c } else { c }) as f32 + 0.5 - half;
            let xx = (x - shift_c) * inv_zoom;
            let ((y0, ty), (x0, tx)) = (axis(row_y + sin * xx), axis(row_x + cos * xx));
            {
                *i = (y0 * p + x0) as u32;
            }
            *wx = tx;
            *wy = ty;
        }
    }
}

/// Where the output pixels of a sample read, the same for its K slices.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    /// Every pixel from where it is.
    Identity,
    /// The slice mirrored (flips, no affine): `Scratch::values`.
    Flipped,
    /// Bilinear taps into the padded plane: `Scratch::taps`.
    Taps,
}

#[cfg(test)]
mod tests;
