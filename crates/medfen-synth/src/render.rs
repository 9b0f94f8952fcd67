//! From the phantom to CT-like images: reconstruction kernels (blur), slice thickness
//! (averaging thin sections), noise, and stored values.

use crate::phantom::Scene;
use crate::random::{PixelNoise, Stream};
use crate::shapes::PlaneGrid;

/// How an image is reconstructed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Reconstruction {
    /// Binomial [1 2 1] blur passes (0 = none): 1 for a bone kernel, 2 for soft tissue.
    pub blur_passes: usize,
    /// Number of thin sections averaged across the slice thickness (1 = thin slice).
    pub sections: usize,
    /// Slice thickness, mm (the sections spread over it).
    pub thickness: f64,
    /// Noise standard deviation, HU.
    pub noise_hu: f64,
}

/// Renders one image of `scene` on `grid` (HU, row-major). The sections are spread
/// along the plane's normal (z for axial images, y for coronal ones).
pub(crate) fn render_image(
    scene: &Scene,
    grid: &PlaneGrid,
    normal_axis: usize,
    recon: &Reconstruction,
    noise: &mut Stream,
) -> Vec<f32> {
    let n = grid.rows * grid.cols;
    let mut img = vec![0f32; n];
    if recon.sections <= 1 {
        scene.render(grid, &mut img);
    } else {
        let mut section = vec![0f32; n];
        for s in 0..recon.sections {
            let offset = recon.thickness * ((s as f64 + 0.5) / recon.sections as f64 - 0.5);
            let mut g = *grid;
            g.origin[normal_axis] += offset;
            scene.render(&g, &mut section);
            for (a, b) in img.iter_mut().zip(&section) {
                *a += *b;
            }
        }
        let inv = 1.0 / recon.sections as f32;
        for v in &mut img {
            *v *= inv;
        }
    }
    for _ in 0..recon.blur_passes {
        blur(&mut img, grid.rows, grid.cols);
    }
    if recon.noise_hu > 0.0 {
        let mut px = PixelNoise::new(noise);
        let sd = recon.noise_hu as f32;
        for v in &mut img {
            *v += sd * px.next();
        }
    }
    img
}

/// One pass of the separable binomial filter [1 2 1] / 4, edges clamped. Both passes
/// run along rows (the vertical one combines three rows), so the loops vectorise.
fn blur(img: &mut [f32], rows: usize, cols: usize) {
    if rows == 0 || cols == 0 {
        return;
    }
    let mut line = vec![0f32; cols];
    for row in img.chunks_exact_mut(cols) {
        line.copy_from_slice(row);
        let last = cols - 1;
        row[0] = 0.25 * (line[0] + line[1.min(last)]) + 0.5 * line[0];
        for c in 1..last {
            row[c] = 0.25 * (line[c - 1] + line[c + 1]) + 0.5 * line[c];
        }
        if last > 0 {
            row[last] = 0.25 * (line[last - 1] + line[last]) + 0.5 * line[last];
        }
    }
    // Vertical pass: `prev` and `cur` hold the unfiltered rows r-1 (clamped) and r.
    let mut prev = img[..cols].to_vec();
    let mut cur = vec![0f32; cols];
    for r in 0..rows {
        cur.copy_from_slice(&img[r * cols..(r + 1) * cols]);
        let (head, tail) = img.split_at_mut((r + 1) * cols);
        let next: &[f32] = if r + 1 < rows { &tail[..cols] } else { &cur };
        for (c, out) in head[r * cols..].iter_mut().enumerate() {
            *out = 0.25 * (prev[c] + next[c]) + 0.5 * cur[c];
        }
        std::mem::swap(&mut prev, &mut cur);
    }
}

/// How HU become stored values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct StoredFormat {
    /// Rescale intercept (slope 1).
    pub intercept: f64,
    /// Signed 16-bit storage with this padding value outside the reconstruction circle;
    /// `None`: unsigned 12-bit, air outside.
    pub padding: Option<i32>,
}

/// `x.round() as i32` for every value that survives clamping to 0..=4095, without the
/// libm call (`roundf` is not inlined on baseline x86-64): exact because `x - trunc(x)`
/// is exact below 2^23; values it rounds differently are negative and clamp to 0.
#[inline]
fn round_half_away(x: f32) -> i32 {
    let t = x as i32;
    t + i32::from(x - t as f32 >= 0.5)
}

/// Stored values of an image (row-major); pixels farther than `radius_px` from the
/// image centre lie outside the reconstruction circle.
pub(crate) fn stored_values(
    hu: &[f32],
    rows: usize,
    cols: usize,
    format: &StoredFormat,
    radius_px: f64,
) -> Vec<i32> {
    let (cr, cc) = ((rows as f64 - 1.0) / 2.0, (cols as f64 - 1.0) / 2.0);
    let r2 = radius_px * radius_px;
    let intercept = format.intercept as f32;
    let mut out = Vec::with_capacity(hu.len());
    for r in 0..rows {
        let dr = (r as f64 - cr).powi(2);
        for c in 0..cols {
            let inside = dr + (c as f64 - cc).powi(2) <= r2;
            let v = if inside {
                round_half_away(hu[r * cols + c] - intercept).clamp(0, 4095)
            } else {
                format.padding.unwrap_or(0)
            };
            out.push(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blur_keeps_constants_and_spreads_a_point() {
        let mut img = vec![7f32; 9];
        blur(&mut img, 3, 3);
        assert!(img.iter().all(|v| (*v - 7.0).abs() < 1e-6));
        let mut img = vec![0f32; 25];
        img[12] = 16.0;
        blur(&mut img, 5, 5);
        assert_eq!(img[12], 4.0);
        assert_eq!(img[11], 2.0);
        assert_eq!(img[6], 1.0);
        assert!((img.iter().sum::<f32>() - 16.0).abs() < 1e-5);
    }

    #[test]
    fn stored_values_clamp_and_pad_outside_the_circle() {
        let hu = vec![-1024.0, 0.0, 5000.0, -3000.0];
        let f = StoredFormat {
            intercept: -1024.0,
            padding: Some(-2000),
        };
        assert_eq!(stored_values(&hu, 2, 2, &f, 10.0), vec![0, 1024, 4095, 0]);
        assert_eq!(stored_values(&hu, 2, 2, &f, 0.1), vec![-2000; 4]);
    }
}
