//! Letterboxing 2D images into a fixed canvas, invertibly.

use serde::{Deserialize, Serialize};

use crate::resize::resize_bilinear;

/// How an image of `src` size sits in a canvas of `dst` size: scaled by
/// `min(dst_w / src_w, dst_h / src_h)`, rounded to whole pixels, centred with
/// `floor` padding. Stores everything needed to map points and boxes back.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Letterbox {
    /// Source width and height.
    pub src: (usize, usize),
    /// Canvas width and height.
    pub dst: (usize, usize),
    /// Scale factor.
    pub scale: f64,
    /// Size of the scaled image (width, height).
    pub scaled: (usize, usize),
    /// Padding left and top.
    pub pad: (usize, usize),
}

impl Letterbox {
    /// The letterbox of a `src_w x src_h` image in a `dst_w x dst_h` canvas.
    ///
    /// # Panics
    /// When a size is zero.
    pub fn new(src_w: usize, src_h: usize, dst_w: usize, dst_h: usize) -> Self {
        assert!(
            src_w > 0 && src_h > 0 && dst_w > 0 && dst_h > 0,
            "sizes must be positive"
        );
        let scale = (dst_w as f64 / src_w as f64).min(dst_h as f64 / src_h as f64);
        let scaled = (
            ((src_w as f64 * scale).round() as usize).clamp(1, dst_w),
            ((src_h as f64 * scale).round() as usize).clamp(1, dst_h),
        );
        let pad = ((dst_w - scaled.0) / 2, (dst_h - scaled.1) / 2);
        Self {
            src: (src_w, src_h),
            dst: (dst_w, dst_h),
            scale,
            scaled,
            pad,
        }
    }

    /// Canvas coordinates of a point given in source pixel coordinates.
    pub fn to_canvas(&self, x: f64, y: f64) -> (f64, f64) {
        (
            x * self.sx() + self.pad.0 as f64,
            y * self.sy() + self.pad.1 as f64,
        )
    }

    /// Source pixel coordinates of a canvas point.
    pub fn to_source(&self, x: f64, y: f64) -> (f64, f64) {
        (
            (x - self.pad.0 as f64) / self.sx(),
            (y - self.pad.1 as f64) / self.sy(),
        )
    }

    /// A canvas box `[x0, y0, x1, y1]` in source pixels, clipped to the image.
    pub fn box_to_source(&self, b: [f64; 4]) -> [f64; 4] {
        let (x0, y0) = self.to_source(b[0], b[1]);
        let (x1, y1) = self.to_source(b[2], b[3]);
        let (w, h) = (self.src.0 as f64, self.src.1 as f64);
        [
            x0.clamp(0.0, w),
            y0.clamp(0.0, h),
            x1.clamp(0.0, w),
            y1.clamp(0.0, h),
        ]
    }

    /// Exact per-axis scales (the rounded size may differ slightly from `scale`).
    fn sx(&self) -> f64 {
        self.scaled.0 as f64 / self.src.0 as f64
    }

    fn sy(&self) -> f64 {
        self.scaled.1 as f64 / self.src.1 as f64
    }

    /// The letterboxed canvas of a `src_h x src_w` plane: bilinear resize (half-pixel
    /// centres) and `fill` around it.
    ///
    /// # Panics
    /// When `plane` does not hold `src_w * src_h` values.
    pub fn apply(&self, plane: &[f32], fill: f32) -> Vec<f32> {
        let resized = resize_bilinear(plane, self.src.1, self.src.0, self.scaled.1, self.scaled.0);
        let mut canvas = vec![fill; self.dst.0 * self.dst.1];
        for y in 0..self.scaled.1 {
            let row = &resized[y * self.scaled.0..(y + 1) * self.scaled.0];
            let start = (y + self.pad.1) * self.dst.0 + self.pad.0;
            canvas[start..start + self.scaled.0].copy_from_slice(row);
        }
        canvas
    }
}

#[cfg(test)]
mod tests {
    use super::Letterbox;

    #[test]
    fn whole_body_scan_into_1024_by_512() {
        // A 256 x 1024 (w x h) anterior view into a 512 x 1024 canvas: scale 1, pads 128.
        let lb = Letterbox::new(256, 1024, 512, 1024);
        assert_eq!((lb.scale, lb.scaled, lb.pad), (1.0, (256, 1024), (128, 0)));
        // A 600 x 2000 image: scale 0.512, 307 x 1024, left pad floor(205 / 2) = 102.
        let lb = Letterbox::new(600, 2000, 512, 1024);
        assert_eq!((lb.scaled, lb.pad), ((307, 1024), (102, 0)));
        let (x, y) = lb.to_canvas(300.0, 1000.0);
        let (sx, sy) = lb.to_source(x, y);
        assert!((sx - 300.0).abs() < 1e-9 && (sy - 1000.0).abs() < 1e-9);
        let b = lb.box_to_source([0.0, 0.0, 512.0, 1024.0]);
        assert_eq!(b, [0.0, 0.0, 600.0, 2000.0]);
        let canvas = lb.apply(&vec![1.0; 600 * 2000], -1.0);
        assert_eq!(canvas.len(), 512 * 1024);
        assert_eq!(
            (canvas[0], canvas[102], canvas[102 + 306], canvas[102 + 307]),
            (-1.0, 1.0, 1.0, -1.0)
        );
    }
}
