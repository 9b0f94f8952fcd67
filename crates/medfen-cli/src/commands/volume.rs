//! `medfen volume`: one DICOM file or series folder, NIfTI file or 2D image, as a
//! float32 `.npy` in the canonical LPS frame, with its geometry and QA findings.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use medfen_dicom::{
    LoadedVolume, QaFinding, ReadOptions, SelectionPolicy, TieBreak, VolumeGeometry,
    VolumeSourceInfo, read_volume,
};
use serde::Serialize;

use medfen_app::Progress;

const EXAMPLES: &str = "\
Examples:
  medfen volume dicom/2024-01-05/123456/3 --out ear.npy          one series folder
  medfen volume dicom/2024-01-05/123456 --json                   an exam: the series is chosen by rule
  medfen volume scan.nii.gz --out scan.npy
  medfen volume exam/ --prefer-kernel U75u,BONE --tie-break highest-series-number

The array is float32 [z, y, x] (x fastest) in the patient frame: x towards the patient's
left, y posterior, z superior (HU for CT). Slices are ordered by ImagePositionPatient
along the slice normal; spacing comes from positions. Findings (gaps, duplicate
positions, uneven spacing, gantry tilt, ...) are printed with the files involved.";

/// Options of `medfen volume`.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct VolumeArgs {
    /// A DICOM file, a folder of DICOM files, a NIfTI file (.nii, .nii.gz) or a PNG/JPEG.
    pub path: PathBuf,
    /// Write the voxels to this .npy file (float32, [z, y, x]).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print geometry, provenance and QA findings as JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Accept only series of this modality when a folder holds several (default: any).
    #[arg(long, value_name = "MODALITY")]
    pub modality: Option<String>,
    /// Preferred convolution kernels, most preferred first (case-insensitive substrings).
    #[arg(long, value_name = "K1,K2", value_delimiter = ',')]
    pub prefer_kernel: Vec<String>,
    /// What to do when several series are equally good.
    #[arg(long, value_enum, default_value_t = TieArg::Error)]
    pub tie_break: TieArg,
}

/// Tie-break rule on the command line.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TieArg {
    /// Stop with an error naming the candidates.
    Error,
    /// Take the lowest Series Number.
    LowestSeriesNumber,
    /// Take the highest Series Number.
    HighestSeriesNumber,
}

/// The JSON summary of `medfen volume --json`.
#[derive(Debug, Serialize)]
pub struct VolumeSummary {
    /// The input.
    pub path: PathBuf,
    /// The .npy written, if any.
    pub out: Option<PathBuf>,
    /// Shape, spacing, origin, direction, affine.
    pub geometry: VolumeGeometry,
    /// Array axis along which the source slices run.
    pub slice_axis: usize,
    /// Smallest and largest finite value.
    pub value_range: Option<(f32, f32)>,
    /// Where the voxels came from.
    pub source: VolumeSourceInfo,
    /// Geometry and intensity findings.
    pub qa: Vec<QaFinding>,
}

/// Runs `medfen volume`.
///
/// # Errors
/// Reading, selection, assembly or writing errors, naming the file or series.
pub fn run(args: &VolumeArgs) -> Result<()> {
    let mut policy = match &args.modality {
        Some(m) => SelectionPolicy::new().with_modality(m.clone()),
        None => SelectionPolicy::new().any_modality(),
    };
    policy = policy
        .with_prefer_kernels(args.prefer_kernel.clone())
        .with_tie_break(match args.tie_break {
            TieArg::Error => TieBreak::Error,
            TieArg::LowestSeriesNumber => TieBreak::LowestSeriesNumber,
            TieArg::HighestSeriesNumber => TieBreak::HighestSeriesNumber,
        });
    policy.min_slices = 1;
    let options = ReadOptions::new().with_policy(policy);
    let bar = Progress::spinner(&format!("reading {}", args.path.display()));
    let loaded = read_volume(&args.path, &options, &bar.callback())?;
    drop(bar);
    if let VolumeSourceInfo::Dicom { unreadable, .. } = &loaded.source {
        for u in unreadable {
            tracing::warn!("unreadable file {}: {}", u.path.display(), u.reason);
        }
    }
    if let Some(out) = &args.out {
        write_npy(out, &loaded)?;
    }
    let summary = summarize(args, loaded);
    if args.json {
        Ok(medfen_app::print_json(&summary)?)
    } else {
        Ok(medfen_app::print(&human(&summary))?)
    }
}

fn summarize(args: &VolumeArgs, loaded: LoadedVolume<f32>) -> VolumeSummary {
    let v = &loaded.volume;
    let value_range = v
        .data
        .iter()
        .filter(|x| x.is_finite())
        .fold(None, |acc: Option<(f32, f32)>, &x| {
            Some(acc.map_or((x, x), |(a, b)| (a.min(x), b.max(x))))
        });
    VolumeSummary {
        path: args.path.clone(),
        out: args.out.clone(),
        geometry: v.geometry(),
        slice_axis: v.slice_axis,
        value_range,
        qa: v.qa.clone(),
        source: loaded.source,
    }
}

/// Writes the voxels as a float32 `[z, y, x]` .npy, atomically.
fn write_npy(path: &Path, loaded: &LoadedVolume<f32>) -> Result<()> {
    let v = &loaded.volume;
    medfen_io::write_npy(path, &v.shape, &v.data)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn v3(v: [f64; 3]) -> String {
    format!("({:.4}, {:.4}, {:.4})", v[0], v[1], v[2])
}

fn human(s: &VolumeSummary) -> String {
    let g = &s.geometry;
    let mut out = String::new();
    let _ = writeln!(out, "medfen volume: {}", s.path.display());
    match &s.source {
        VolumeSourceInfo::Dicom {
            series,
            choice,
            files_seen,
            non_dicom,
            dicomdirs,
            unreadable,
        } => {
            let _ = writeln!(
                out,
                "  source      DICOM series {} ({}, {} slices, kernel {}, {})",
                series.id,
                series.modality.as_deref().unwrap_or("?"),
                series.n_slices,
                series.kernel.as_deref().unwrap_or("?"),
                series
                    .orientation
                    .map_or_else(|| "orientation unknown".into(), |o| o.label())
            );
            let _ = writeln!(
                out,
                "  chosen      {} ({} alternative(s))",
                choice.reason,
                choice.alternatives.len()
            );
            for a in &choice.alternatives {
                let _ = writeln!(out, "              not {}: {}", a.id, a.why_not);
            }
            let _ = writeln!(
                out,
                "  files       {files_seen} seen, {non_dicom} not DICOM, {dicomdirs} DICOMDIR, {} unreadable",
                unreadable.len()
            );
        }
        VolumeSourceInfo::Nifti { path } => {
            let _ = writeln!(out, "  source      NIfTI {}", path.display());
        }
        VolumeSourceInfo::Image { path } => {
            let _ = writeln!(out, "  source      image {}", path.display());
        }
    }
    let _ = writeln!(out, "  shape       {:?} (z, y, x)", g.shape);
    let _ = writeln!(
        out,
        "  spacing     {:.4} x {:.4} x {:.4} mm (z, y, x)",
        g.spacing[0], g.spacing[1], g.spacing[2]
    );
    let _ = writeln!(out, "  origin      {} mm, LPS", v3(g.origin));
    let _ = writeln!(
        out,
        "  direction   z {}  y {}  x {}",
        v3(g.direction[0]),
        v3(g.direction[1]),
        v3(g.direction[2])
    );
    if let Some((lo, hi)) = s.value_range {
        let _ = writeln!(out, "  values      {lo} .. {hi}");
    }
    if s.qa.is_empty() {
        let _ = writeln!(out, "  QA          no findings");
    }
    for f in &s.qa {
        let files: Vec<String> = f
            .files
            .iter()
            .take(4)
            .map(|p| p.display().to_string())
            .collect();
        let more = if f.files.len() > 4 {
            format!(" and {} more", f.files.len() - 4)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  QA {:?}: {} [{}{more}]",
            f.kind,
            f.message,
            files.join(", ")
        );
    }
    if let Some(p) = &s.out {
        let _ = writeln!(out, "wrote {}", p.display());
    }
    out
}
