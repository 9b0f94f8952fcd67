//! Bilinear resizing of 2D planes with half-pixel centres.
//!
//! Output pixel `(x, y)` samples the source at `((x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5)`
//! with `sx = src_w / dst_w` (PyTorch `align_corners=False`, OpenCV `INTER_LINEAR`),
//! clamping at the borders.

/// Resizes a `src_h x src_w` plane (row-major) to `dst_h x dst_w`.
///
/// # Panics
/// When `src.len() != src_h * src_w` or a size is zero.
pub fn resize_bilinear(
    src: &[f32],
    src_h: usize,
    src_w: usize,
    dst_h: usize,
    dst_w: usize,
) -> Vec<f32> {
    assert_eq!(
        src.len(),
        src_h * src_w,
        "source must hold height x width values"
    );
    assert!(
        src_h > 0 && src_w > 0 && dst_h > 0 && dst_w > 0,
        "sizes must be positive"
    );
    let taps = |n_src: usize, n_dst: usize| -> Vec<(usize, usize, f32)> {
        let s = n_src as f64 / n_dst as f64;
        (0..n_dst)
            .map(|i| {
                let pos = ((i as f64 + 0.5) * s - 0.5).max(0.0);
                let i0 = (pos.floor() as usize).min(n_src - 1);
                let i1 = (i0 + 1).min(n_src - 1);
                (i0, i1, (pos - i0 as f64).clamp(0.0, 1.0) as f32)
            })
            .collect()
    };
    let (xs, ys) = (taps(src_w, dst_w), taps(src_h, dst_h));
    let mut out = vec![0.0f32; dst_h * dst_w];
    for (oy, &(y0, y1, fy)) in ys.iter().enumerate() {
        let (r0, r1) = (
            &src[y0 * src_w..(y0 + 1) * src_w],
            &src[y1 * src_w..(y1 + 1) * src_w],
        );
        for (ox, &(x0, x1, fx)) in xs.iter().enumerate() {
            let top = r0[x0] + (r0[x1] - r0[x0]) * fx;
            let bottom = r1[x0] + (r1[x1] - r1[x0]) * fx;
            out[oy * dst_w + ox] = top + (bottom - top) * fy;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::resize_bilinear;

    #[test]
    fn half_pixel_centres_like_pytorch() {
        // torch.nn.functional.interpolate([[0, 1, 2, 3]], size=2, mode="bilinear",
        // align_corners=False) gives [0.5, 2.5]; upsampling [0, 1] to 4 gives
        // [0, 0.25, 0.75, 1].
        assert_eq!(
            resize_bilinear(&[0.0, 1.0, 2.0, 3.0], 1, 4, 1, 2),
            vec![0.5, 2.5]
        );
        assert_eq!(
            resize_bilinear(&[0.0, 1.0], 1, 2, 1, 4),
            vec![0.0, 0.25, 0.75, 1.0]
        );
        let same: Vec<f32> = (0..12).map(|v| v as f32).collect();
        assert_eq!(resize_bilinear(&same, 3, 4, 3, 4), same);
    }
}
