//! `--format bonescan`: 2D whole-body bone scans in the layout of BS-80K
//! (seed-siblings.md §C.2): `wholeBodyANT/` and `wholeBodyPOST/` with 256x1024 JPEGs
//! (high uptake dark on white, as displayed), a `<folder>.txt` index of
//! `filename label` lines, Pascal-VOC boxes of the hot spots in `ant/` and `post/`,
//! and pelvis region crops sharing the file ids.
//!
//! Each patient is scanned from the front (ANT: the patient's right on the image left)
//! and the back (POST: mirrored). Abnormal patients (label 1) carry 1-6 metastasis-like
//! hot spots on the skeleton, boxed as `nidus`; the bladder is boxed as
//! `physiological` in every image.

use std::fmt::Write as _;
use std::path::Path;

use image::ImageEncoder;
use image::codecs::jpeg::JpegEncoder;
use rayon::prelude::*;

use crate::config::SynthConfig;
use crate::error::{Error, Result};
use crate::random::{PixelNoise, Stream};
use medfen_io::Table;

/// Image width and height.
pub const WIDTH: usize = 256;
/// Image height.
pub const HEIGHT: usize = 1024;
/// The pelvis crop: x, y, width, height in the whole-body image.
pub const PELVIS_CROP: [usize; 4] = [40, 540, 176, 180];

/// Views: folder name, box sub-folder, mirrored relative to the anterior view.
const VIEWS: [(&str, &str, bool); 2] = [
    ("wholeBodyANT", "ant", false),
    ("wholeBodyPOST", "post", true),
];

/// Long bones of one side: (x offset from the midline, y) to (x offset, y), width,
/// anterior and posterior peak counts.
const LIMB_BONES: [(f64, f64, f64, f64, f64, f64, f64); 5] = [
    (10.0, 165.0, 75.0, 160.0, 3.5, 60.0, 40.0),
    (88.0, 175.0, 98.0, 370.0, 4.0, 55.0, 55.0),
    (100.0, 385.0, 104.0, 520.0, 3.5, 45.0, 45.0),
    (28.0, 650.0, 30.0, 860.0, 5.0, 60.0, 60.0),
    (30.0, 885.0, 30.0, 1000.0, 4.5, 55.0, 55.0),
];

/// A blob of uptake: centre (ANT image coordinates), sigma, peak counts per view.
#[derive(Debug, Clone, Copy)]
struct Blob {
    x: f64,
    y: f64,
    sx: f64,
    sy: f64,
    ant: f64,
    post: f64,
}

/// A boxed hot spot.
#[derive(Debug, Clone, PartialEq)]
struct HotSpot {
    class: &'static str,
    blob_index: usize,
}

fn line(blobs: &mut Vec<Blob>, from: (f64, f64), to: (f64, f64), width: f64, ant: f64, post: f64) {
    let len = ((to.0 - from.0).powi(2) + (to.1 - from.1).powi(2)).sqrt();
    let n = (len / (width * 0.8)).ceil().max(1.0) as usize;
    for k in 0..=n {
        let t = k as f64 / n as f64;
        blobs.push(Blob {
            x: from.0 + t * (to.0 - from.0),
            y: from.1 + t * (to.1 - from.1),
            sx: width,
            sy: width,
            ant,
            post,
        });
    }
}

/// The skeleton and physiological uptake of one patient (ANT coordinates).
fn skeleton(s: &mut Stream) -> (Vec<Blob>, usize) {
    let mut b = Vec::new();
    let dx = s.symmetric(6.0);
    let scale = s.uniform(0.93, 1.05);
    let p = |x: f64, y: f64| (128.0 + (x - 128.0) * scale + dx, 40.0 + (y - 40.0) * scale);
    // skull: a ring of blobs
    for k in 0..24 {
        let a = f64::from(k) / 24.0 * std::f64::consts::TAU;
        let (x, y) = p(128.0 + 38.0 * a.cos(), 75.0 + 42.0 * a.sin());
        b.push(Blob {
            x,
            y,
            sx: 6.0,
            sy: 6.0,
            ant: 90.0,
            post: 90.0,
        });
    }
    // spine: cervical to sacrum
    for k in 0..26 {
        let (x, y) = p(128.0, 125.0 + 18.0 * f64::from(k));
        b.push(Blob {
            x,
            y,
            sx: 7.0,
            sy: 6.0,
            ant: 60.0,
            post: 120.0,
        });
    }
    // ribs
    for k in 0..10 {
        let y = 175.0 + 22.0 * f64::from(k);
        for side in [-1.0, 1.0] {
            line(
                &mut b,
                p(128.0 + side * 10.0, y),
                p(128.0 + side * 70.0, y + 25.0),
                3.0,
                45.0,
                55.0,
            );
        }
    }
    // sternum (front), scapulae (back)
    line(&mut b, p(128.0, 175.0), p(128.0, 300.0), 4.0, 70.0, 20.0);
    for side in [-1.0, 1.0] {
        let (x, y) = p(128.0 + side * 50.0, 225.0);
        b.push(Blob {
            x,
            y,
            sx: 14.0,
            sy: 22.0,
            ant: 15.0,
            post: 50.0,
        });
        // clavicles, humeri, forearms, femurs, tibias: (x offset, y) to (x offset, y),
        // width, anterior and posterior counts
        for (x0, y0, x1, y1, width, ant, post) in LIMB_BONES {
            line(
                &mut b,
                p(128.0 + side * x0, y0),
                p(128.0 + side * x1, y1),
                width,
                ant,
                post,
            );
        }
        // pelvis wing
        let (x, y) = p(128.0 + side * 32.0, 600.0);
        b.push(Blob {
            x,
            y,
            sx: 22.0,
            sy: 26.0,
            ant: 70.0,
            post: 90.0,
        });
        // kidneys (back)
        let (x, y) = p(128.0 + side * 30.0, 430.0);
        b.push(Blob {
            x,
            y,
            sx: 10.0,
            sy: 18.0,
            ant: 10.0,
            post: 45.0,
        });
    }
    // bladder: physiological, strongest from the front
    let (x, y) = p(128.0, 655.0);
    let bladder = b.len();
    b.push(Blob {
        x,
        y,
        sx: 14.0 * scale,
        sy: 11.0 * scale,
        ant: s.uniform(200.0, 420.0),
        post: s.uniform(90.0, 200.0),
    });
    (b, bladder)
}

/// Metastasis-like hot spots on the skeleton.
fn lesions(blobs: &mut Vec<Blob>, s: &mut Stream, contrast: f64) -> Vec<usize> {
    let n = s.int(1, 6) as usize;
    let sites: Vec<usize> = (0..blobs.len() - 1).collect();
    (0..n)
        .map(|_| {
            let base = blobs[*s.pick(&sites)];
            let peak = s.uniform(180.0, 420.0) * contrast;
            let sigma = s.uniform(3.5, 7.5);
            blobs.push(Blob {
                x: base.x + s.symmetric(2.0),
                y: base.y + s.symmetric(2.0),
                sx: sigma,
                sy: sigma * s.uniform(0.8, 1.3),
                ant: peak * if base.post > base.ant { 0.7 } else { 1.0 },
                post: peak * if base.ant > base.post { 0.7 } else { 1.0 },
            });
            blobs.len() - 1
        })
        .collect()
}

/// Counts image of a view (row-major, `WIDTH x HEIGHT`).
fn counts(blobs: &[Blob], mirrored: bool, s: &mut Stream) -> Vec<f32> {
    let mut img = vec![0f32; WIDTH * HEIGHT];
    // body outline: faint soft-tissue background
    for y in 0..HEIGHT {
        let yf = y as f64;
        let half = if yf < 125.0 {
            42.0
        } else if yf < 560.0 {
            92.0
        } else {
            70.0 - (yf - 560.0) * 0.03
        };
        for x in 0..WIDTH {
            if (x as f64 - 128.0).abs() < half {
                img[y * WIDTH + x] = 8.0;
            }
        }
    }
    for b in blobs {
        let x = if mirrored {
            WIDTH as f64 - 1.0 - b.x
        } else {
            b.x
        };
        let peak = if mirrored { b.post } else { b.ant } as f32;
        let (x0, x1) = (
            (x - 3.0 * b.sx).max(0.0) as usize,
            ((x + 3.0 * b.sx) as usize).min(WIDTH - 1),
        );
        let (y0, y1) = (
            (b.y - 3.0 * b.sy).max(0.0) as usize,
            ((b.y + 3.0 * b.sy) as usize).min(HEIGHT - 1),
        );
        for yy in y0..=y1 {
            let gy = ((yy as f64 - b.y) / b.sy).powi(2);
            for xx in x0..=x1 {
                let g = (-0.5 * (((xx as f64 - x) / b.sx).powi(2) + gy)).exp() as f32;
                img[yy * WIDTH + xx] += peak * g;
            }
        }
    }
    // counting noise
    let mut noise = PixelNoise::new(s);
    for v in &mut img {
        *v = (*v + v.sqrt() * noise.next()).max(0.0);
    }
    img
}

/// Display: high uptake dark on white.
fn display(img: &[f32]) -> Vec<u8> {
    img.iter()
        .map(|&c| (255.0 * (-c / 90.0).exp()).round() as u8)
        .collect()
}

fn jpeg(path: &Path, pixels: &[u8], w: usize, h: usize) -> Result<()> {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, 92)
        .write_image(pixels, w as u32, h as u32, image::ExtendedColorType::L8)
        .map_err(|e| Error::Image {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    medfen_io::write_atomically(path, &bytes)?;
    Ok(())
}

/// A hot spot's box in a view: x/y min/max (pixels, inclusive), 2 sigma around the centre.
fn bbox(b: &Blob, mirrored: bool) -> [usize; 4] {
    let x = if mirrored {
        WIDTH as f64 - 1.0 - b.x
    } else {
        b.x
    };
    [
        (x - 2.0 * b.sx).max(0.0).floor() as usize,
        (b.y - 2.0 * b.sy).max(0.0).floor() as usize,
        ((x + 2.0 * b.sx).ceil() as usize).min(WIDTH - 1),
        ((b.y + 2.0 * b.sy).ceil() as usize).min(HEIGHT - 1),
    ]
}

fn voc(folder: &str, file: &str, boxes: &[(&str, [usize; 4])]) -> String {
    let mut x = String::new();
    let _ = write!(
        x,
        "<annotation>\n  <folder>{folder}</folder>\n  <filename>{file}</filename>\n  <size>\n    <width>{WIDTH}</width>\n    <height>{HEIGHT}</height>\n    <depth>1</depth>\n  </size>\n"
    );
    for (name, b) in boxes {
        let _ = write!(
            x,
            "  <object>\n    <name>{name}</name>\n    <pose>Unspecified</pose>\n    <truncated>0</truncated>\n    <difficult>0</difficult>\n    <bndbox>\n      <xmin>{}</xmin>\n      <ymin>{}</ymin>\n      <xmax>{}</xmax>\n      <ymax>{}</ymax>\n    </bndbox>\n  </object>\n",
            b[0], b[1], b[2], b[3]
        );
    }
    x.push_str("</annotation>\n");
    x
}

struct Scan {
    id: String,
    label: u8,
    blobs: Vec<Blob>,
    spots: Vec<HotSpot>,
}

/// Patient `k`'s skeleton, label and hot spots (the bladder always; lesions when
/// positive).
fn plan_scan(config: &SynthConfig, k: usize, contrast: f64) -> Scan {
    let mut s = Stream::new(config.seed, "bonescan", k as u64);
    let (mut blobs, bladder) = skeleton(&mut s);
    let label = u8::from(s.chance(0.4));
    let mut spots = vec![HotSpot {
        class: "physiological",
        blob_index: bladder,
    }];
    if label == 1 {
        for i in lesions(&mut blobs, &mut s, contrast) {
            spots.push(HotSpot {
                class: "nidus",
                blob_index: i,
            });
        }
    }
    Scan {
        id: format!("{:06}", 100_001 + k),
        label,
        blobs,
        spots,
    }
}

/// Writes scan `k`'s images (both views, whole body and pelvis crop) unless they exist,
/// and its VOC boxes; returns the files reused.
fn write_scan(out: &Path, config: &SynthConfig, k: usize, scan: &Scan) -> Result<u64> {
    let mut reused = 0;
    for (v, (folder, sub, mirrored)) in VIEWS.iter().enumerate() {
        let file = format!("{}.jpg", scan.id);
        let path = out.join(folder).join(&file);
        let crop_folder = if *mirrored { "pelvisPOST" } else { "pelvisANT" };
        let crop_path = out.join(crop_folder).join(&file);
        if path.exists() && crop_path.exists() {
            reused += 2;
        } else {
            let mut s = Stream::new(config.seed, "bonescan-noise", (k as u64) << 1 | v as u64);
            let img = display(&counts(&scan.blobs, *mirrored, &mut s));
            jpeg(&path, &img, WIDTH, HEIGHT)?;
            let [cx, cy, cw, ch] = PELVIS_CROP;
            let crop: Vec<u8> = (cy..cy + ch)
                .flat_map(|y| img[y * WIDTH + cx..y * WIDTH + cx + cw].iter().copied())
                .collect();
            jpeg(&crop_path, &crop, cw, ch)?;
        }
        let boxes: Vec<(&str, [usize; 4])> = scan
            .spots
            .iter()
            .map(|h| (h.class, bbox(&scan.blobs[h.blob_index], *mirrored)))
            .collect();
        let xml = voc(sub, &file, &boxes);
        medfen_io::write_atomically(
            &out.join(folder).join(sub).join(format!("{}.xml", scan.id)),
            xml.as_bytes(),
        )?;
    }
    Ok(reused)
}

/// The index files, `filename label` per line: whole-body views and pelvis crops.
fn write_indices(out: &Path, scans: &[Scan]) -> Result<()> {
    let in_crop = |b: &[usize; 4]| {
        let [cx, cy, cw, ch] = PELVIS_CROP;
        b[2] >= cx && b[0] < cx + cw && b[3] >= cy && b[1] < cy + ch
    };
    for (folder, _, mirrored) in VIEWS {
        let mut index = String::new();
        let mut crop_index = String::new();
        for scan in scans {
            let _ = writeln!(index, "{}.jpg {}", scan.id, scan.label);
            let crop_label = u8::from(scan.spots.iter().any(|h| {
                h.class == "nidus" && in_crop(&bbox(&scan.blobs[h.blob_index], mirrored))
            }));
            let _ = writeln!(crop_index, "{}.jpg {crop_label}", scan.id);
        }
        let crop_folder = if mirrored { "pelvisPOST" } else { "pelvisANT" };
        medfen_io::write_atomically(
            &out.join(folder).join(format!("{folder}.txt")),
            index.as_bytes(),
        )?;
        medfen_io::write_atomically(
            &out.join(crop_folder).join(format!("{crop_folder}.txt")),
            crop_index.as_bytes(),
        )?;
    }
    Ok(())
}

/// Truth: one row per box (`boxes.parquet` and its CSV twin).
fn write_boxes(out: &Path, scans: &[Scan]) -> Result<()> {
    let mut rows: Vec<(&Scan, &str, &str, [usize; 4])> = Vec::new();
    for scan in scans {
        for (folder, _, mirrored) in VIEWS {
            for h in &scan.spots {
                rows.push((
                    scan,
                    folder,
                    h.class,
                    bbox(&scan.blobs[h.blob_index], mirrored),
                ));
            }
        }
    }
    let mut t = Table::new();
    t.text(
        "image",
        rows.iter().map(|r| Some(format!("{}/{}.jpg", r.1, r.0.id))),
    );
    t.int("label", rows.iter().map(|r| Some(i64::from(r.0.label))));
    t.text("class", rows.iter().map(|r| Some(r.2.to_owned())));
    for (a, name) in ["xmin", "ymin", "xmax", "ymax"].iter().enumerate() {
        t.int(name, rows.iter().map(|r| Some(r.3[a] as i64)));
    }
    Ok(t.write_parquet_and_csv(&out.join("boxes.parquet"))?)
}

/// Writes the bone-scan dataset; returns (files, files reused).
pub(crate) fn write(
    out: &Path,
    config: &SynthConfig,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(u64, u64)> {
    let contrast = config.difficulty.knobs().lesion_contrast;
    let scans: Vec<Scan> = (0..config.exams)
        .map(|k| plan_scan(config, k, contrast))
        .collect();
    let reused: u64 = scans
        .par_iter()
        .enumerate()
        .map(|(k, scan)| -> Result<u64> {
            let reused = write_scan(out, config, k, scan)?;
            progress(1);
            Ok(reused)
        })
        .sum::<Result<u64>>()?;
    write_indices(out, &scans)?;
    write_boxes(out, &scans)?;
    let files = (scans.len() * 2 * 3 + 4) as u64;
    Ok((files, reused))
}
