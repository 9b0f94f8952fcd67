//! DICOM throughput: header scan, pixel decoding and full volume assembly, in slices/s,
//! on one thread and on every core. Run through `cargo xtask bench dicom`, which also
//! times pydicom on the same files and prints the ratios.
//!
//! Usage:
//!   volume write DIR      writes DIR/el and DIR/rle: 120-slice 512x512 CT-like series
//!   volume measure DIR    times every series folder under DIR (el, rle, j2k, ...);
//!                         prints one JSON object per line
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use medfen_dicom::writer::{DicomImageSpec, FrameSpec, WriteSyntax, write_dicom};
use medfen_dicom::{ImageFile, ReadOptions, ScanOptions, list_files, read_dicom, scan};
use rayon::prelude::*;

const SLICES: usize = 120;
const SIZE: usize = 512;

/// A head-like slice: air outside an ellipse, a bone ring, brain with noise (HU + 1024
/// stored, 12 bits), so compression behaves as on real CT.
fn slice(k: usize) -> Vec<i32> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ (k as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 41) as i32 - 20
    };
    let c = SIZE as f64 / 2.0;
    let (a, b) = (
        200.0 - (k as f64 - 60.0).abs() * 0.8,
        230.0 - (k as f64 - 60.0).abs() * 0.9,
    );
    let mut out = Vec::with_capacity(SIZE * SIZE);
    for r in 0..SIZE {
        for col in 0..SIZE {
            let (x, y) = ((col as f64 - c) / a, (r as f64 - c) / b);
            let d = (x * x + y * y).sqrt();
            let hu = if d > 1.0 {
                -1000
            } else if d > 0.93 {
                1200 + noise() * 5
            } else {
                35 + noise()
            };
            out.push((hu + 1024).clamp(0, 4095));
        }
    }
    out
}

fn write(dir: &Path) {
    for (name, syntax) in [("el", WriteSyntax::ExplicitLe), ("rle", WriteSyntax::Rle)] {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).expect("bench folder");
        (0..SLICES).into_par_iter().for_each(|k| {
            let spec = DicomImageSpec {
                syntax,
                rows: SIZE as u16,
                cols: SIZE as u16,
                pixel_spacing: Some([0.45, 0.45]),
                series_uid: "1.2.826.0.1.3680043.10.9.1".into(),
                sop_instance_uid: format!("1.2.826.0.1.3680043.10.9.1.{k}"),
                instance_number: Some(k as i64 + 1),
                patient_id: Some("BENCH".into()),
                frames: vec![FrameSpec {
                    position: Some([-115.0, -115.0, 0.6 * k as f64]),
                    slope: 1.0,
                    intercept: -1024.0,
                    stored: slice(k),
                }],
                ..DicomImageSpec::default()
            };
            write_dicom(&d.join(format!("IM{:04}.dcm", (k * 37) % SLICES)), &spec)
                .expect("write slice");
        });
    }
}

/// The best time of `f` on `threads` threads over at least 5 runs and 0.5 s (stages of a
/// few milliseconds otherwise measure scheduling noise), at most 200 runs.
fn best_of(threads: usize, f: impl Fn() + Sync) -> f64 {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    let (mut best, mut runs, started) = (f64::INFINITY, 0, Instant::now());
    while runs < 5 || (runs < 200 && started.elapsed().as_secs_f64() < 0.5) {
        let t = Instant::now();
        pool.install(&f);
        best = best.min(t.elapsed().as_secs_f64());
        runs += 1;
    }
    best
}

/// Times every series folder under `dir` (or only those named in `only`).
fn measure(dir: &Path, only: &[String]) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("bench folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .filter(|p| {
            only.is_empty()
                || only
                    .iter()
                    .any(|o| p.file_name().is_some_and(|n| n == o.as_str()))
        })
        .collect();
    folders.sort();
    for folder in folders {
        let syntax = folder
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let files = list_files(&folder, &ScanOptions::default()).expect("files");
        let n = files.len();
        let stages: [(&str, &(dyn Fn() + Sync)); 3] = [
            ("header", &|| {
                scan(&folder, &ScanOptions::default(), &|_| {}).expect("scan");
            }),
            ("decode", &|| {
                files.par_iter().for_each_init(
                    || vec![0i16; SIZE * SIZE],
                    |out, f| {
                        let img = ImageFile::open(f).expect("open");
                        img.frame_into(0, out).expect("decode");
                    },
                );
            }),
            ("assemble", &|| {
                let v =
                    read_dicom::<i16>(&folder, &ReadOptions::default(), &|_| {}).expect("volume");
                assert_eq!(v.volume.shape, [n, SIZE, SIZE]);
            }),
        ];
        for (stage, f) in stages {
            for threads in [1, cores] {
                let seconds = best_of(threads, f);
                println!(
                    "{{\"syntax\":\"{syntax}\",\"stage\":\"{stage}\",\"threads\":{threads},\"slices\":{n},\"seconds\":{seconds}}}"
                );
            }
        }
    }
}

fn main() {
    // As the medfen binary does at start-up.
    assert!(medfen_io::reuse_freed_memory(), "glibc malloc settings");
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.as_slice() {
        [cmd, dir] if cmd == "write" => write(Path::new(dir)),
        [cmd, dir, only @ ..] if cmd == "measure" => measure(Path::new(dir), only),
        _ => eprintln!("usage: volume write DIR | volume measure DIR [SYNTAX...]"),
    }
}
