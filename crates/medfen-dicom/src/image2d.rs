//! 2D images (PNG 8/16-bit, JPEG) as one-slice volumes.

use std::path::Path;

use image::{DynamicImage, ImageReader};

use crate::error::{Error, Result};
use crate::volume::{SliceSource, Volume};

/// True for file names read as 2D images.
pub fn is_image_file(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("png" | "jpg" | "jpeg")
    )
}

/// Reads a PNG or JPEG as a one-slice volume `[1, height, width]` of its gray values
/// (0-255 for 8-bit, 0-65535 for 16-bit). Colour images are converted to luma
/// (ITU-R BT.601 weights, as `image` does). Pixels are 1 x 1 mm at the origin.
///
/// # Errors
/// [`Error::Image`] when the file cannot be read or decoded.
pub fn read_image(path: &Path) -> Result<Volume<f32>> {
    let bad = |reason: String| Error::Image {
        path: path.to_path_buf(),
        reason,
    };
    let img = ImageReader::open(path)
        .map_err(|e| bad(e.to_string()))?
        .with_guessed_format()
        .map_err(|e| bad(e.to_string()))?
        .decode()
        .map_err(|e| bad(e.to_string()))?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    let data: Vec<f32> = match img {
        DynamicImage::ImageLuma8(g) => g.into_raw().into_iter().map(f32::from).collect(),
        DynamicImage::ImageLuma16(g) => g.into_raw().into_iter().map(f32::from).collect(),
        DynamicImage::ImageLumaA8(_) | DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => {
            img.to_luma8()
                .into_raw()
                .into_iter()
                .map(f32::from)
                .collect()
        }
        other => other
            .to_luma16()
            .into_raw()
            .into_iter()
            .map(f32::from)
            .collect(),
    };
    Ok(Volume {
        data,
        shape: [1, h, w],
        spacing: [1.0, 1.0, 1.0],
        origin: [0.0; 3],
        direction: [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]],
        slice_axis: 0,
        sources: vec![SliceSource {
            path: path.to_path_buf(),
            frame: 0,
        }],
        qa: Vec::new(),
    })
}
