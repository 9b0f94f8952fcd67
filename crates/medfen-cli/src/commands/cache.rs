//! `medfen cache`: the int16 HU ear cache (build, verify, gc).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use medfen_cache::{
    CacheSpec, OnIrregular, Sampling, build_cache, cache_key, estimated_bytes, gc_caches,
    sources_from, verify_cache,
};

use medfen_app::Progress;

const EXAMPLES: &str = "\
Examples:
  medfen cache --index work/exams.parquet --splits work/splits/main --out cache/
  medfen cache --index work/exams.parquet --splits work/splits/main --out cache/ --dry-run
  medfen cache --index exams.parquet --splits splits/main --out cache/ --num-slices 16 --image-size 128
  medfen cache --index exams.parquet --splits splits/main --out cache/ --compat   (the original 192-px crop)
  medfen cache verify cache/3f2a...      recompute every record's checksum
  medfen cache gc cache/ --keep 3f2a...  remove other caches and incomplete builds

Caches both ears of every exam of the split (train, val and test), each series decoded
once. Writes cache/<key>/ with spec.json, index.parquet (+ .csv: exam_id, side, record,
offset, code, split, slice indices, z in mm, crop centre, pixel size, checksum) and
data.i16 (fixed-size little-endian int16 HU records [K, S, S], columns medial to
lateral for both ears), and prints the folder. The key hashes the spec and every source
file's name, size and time: another spec or a changed file makes a new cache; the same
inputs reuse it. An interrupted build resumes. A series with a gap, uneven steps or
gantry tilt is resampled onto a regular grid first (the index's `geometry` column says
so; --on-irregular refuse fails instead, listing them); slices beyond the series and
crops beside its field of view are air, and `padded_fraction` in the index says how
much. It ends with the laterality check of
`medfen audit laterality` on the ears just cached. See docs/cache.md.";

/// Options of `medfen cache`.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
pub struct CacheArgs {
    /// Verify or clean up instead of building.
    #[command(subcommand)]
    pub action: Option<CacheAction>,
    /// The exam index (exams.parquet from `medfen index`).
    #[arg(long, value_name = "FILE")]
    pub index: Option<PathBuf>,
    /// The split folder (from `medfen split`): its exams are cached.
    #[arg(long, value_name = "DIR")]
    pub splits: Option<PathBuf>,
    /// Cache root; the cache goes to `<out>/<key>/`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Slices per ear (K).
    #[arg(long, default_value_t = 32)]
    pub num_slices: usize,
    /// Output image side, pixels.
    #[arg(long, default_value_t = 224)]
    pub image_size: usize,
    /// Crop side, mm.
    #[arg(long, default_value_t = 72.0)]
    pub crop_mm: f64,
    /// z sampling.
    #[arg(long, value_enum, default_value_t = SamplingArg::Mm)]
    pub sampling: SamplingArg,
    /// Slice spacing of `--sampling mm`, mm.
    #[arg(long, default_value_t = 1.25)]
    pub z_spacing: f64,
    /// Block of `--sampling air-block`, slices.
    #[arg(long, default_value_t = 64)]
    pub block_len: usize,
    /// The original pipeline's preprocessing: 32 even slices, 192 native pixels to 224.
    #[arg(long)]
    pub compat: bool,
    /// Series with a gap, uneven slice steps or gantry tilt: resample (onto a regular
    /// grid in mm, shear removed; recorded per exam in the index's `geometry` column)
    /// or refuse (the build fails, listing every such exam and why).
    #[arg(long, value_name = "WHAT", default_value = "resample")]
    pub on_irregular: OnIrregular,
    /// Print the key and the estimated size; build nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `--sampling`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamplingArg {
    /// K slices every --z-spacing mm around the ear (linear in z).
    Mm,
    /// K slices over --block-len slices around the ear.
    AirBlock,
    /// K slices over the whole series.
    Even,
}

/// `medfen cache verify | gc`.
#[derive(clap::Subcommand, Debug)]
pub enum CacheAction {
    /// Recompute every record's checksum; exit 1 on any difference.
    Verify {
        /// The cache folder (`<root>/<key>`).
        dir: PathBuf,
    },
    /// Remove incomplete builds, and with --keep every other cache, under a root.
    Gc {
        /// The cache root.
        root: PathBuf,
        /// Keys to keep (others are removed).
        #[arg(long, value_delimiter = ',')]
        keep: Vec<String>,
        /// Say what would be removed; remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

fn spec_of(args: &CacheArgs) -> CacheSpec {
    let shaped = |spec: CacheSpec| CacheSpec {
        on_irregular: args.on_irregular,
        ..spec.with_record_shape(args.num_slices, args.image_size)
    };
    if args.compat {
        return shaped(CacheSpec::compatible());
    }
    let sampling = match args.sampling {
        SamplingArg::Mm => Sampling::Mm {
            spacing_mm: args.z_spacing,
        },
        SamplingArg::AirBlock => Sampling::AirBlock {
            block_len: args.block_len,
        },
        SamplingArg::Even => Sampling::Even,
    };
    shaped(CacheSpec::default())
        .with_sampling(sampling)
        .with_crop_mm(args.crop_mm)
}

/// `medfen cache verify`.
fn verify(dir: &std::path::Path, json: bool) -> Result<ExitCode> {
    let r = verify_cache(dir)?;
    if json {
        medfen_app::print_json(&r)?;
    } else {
        let mut t = format!(
            "medfen cache verify: {}\n  {} records checked\n",
            dir.display(),
            r.records
        );
        for (id, side) in &r.corrupt {
            let _ = writeln!(t, "  corrupt: exam {id} {side}");
        }
        for p in &r.problems {
            let _ = writeln!(t, "  problem: {p}");
        }
        let _ = writeln!(t, "  result: {}", if r.ok() { "ok" } else { "FAILED" });
        medfen_app::print(&t)?;
    }
    Ok(if r.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `medfen cache gc`.
fn gc(root: &std::path::Path, keep: &[String], dry_run: bool) -> Result<ExitCode> {
    let r = gc_caches(root, (!keep.is_empty()).then_some(keep), dry_run)?;
    let mut t = format!(
        "medfen cache gc: {}{}\n",
        root.display(),
        if dry_run { " (dry run)" } else { "" }
    );
    for (d, size, why) in &r.removed {
        let _ = writeln!(
            t,
            "  removed {} ({:.1} MB, {why})",
            d.display(),
            *size as f64 / 1e6
        );
    }
    let _ = writeln!(t, "  kept {} cache(s)", r.kept.len());
    medfen_app::print(&t)?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `medfen cache`.
///
/// # Errors
/// Missing options, unreadable inputs, an exam that cannot be cached.
pub fn run(args: &CacheArgs) -> Result<ExitCode> {
    match &args.action {
        Some(CacheAction::Verify { dir }) => return verify(dir, args.json),
        Some(CacheAction::Gc {
            root,
            keep,
            dry_run,
        }) => return gc(root, keep, *dry_run),
        None => {}
    }
    let (Some(index), Some(splits), Some(out)) = (&args.index, &args.splits, &args.out) else {
        bail!(
            "`medfen cache` needs --index, --splits and --out (or a subcommand: verify, gc); see --help"
        );
    };
    let spec = spec_of(args);
    spec.validate()?;
    let sources = sources_from(index, splits)?;
    if args.dry_run {
        let (key, _) = cache_key(&spec, &sources)?;
        let bytes = estimated_bytes(&spec, sources.len());
        let exists = out.join(&key).join(medfen_cache::COMPLETE).exists();
        medfen_app::print(&format!(
            "medfen cache (dry run): {}\n  {} exams, {} ears of {} x {} x {} int16\n  estimated size {:.1} MB{}\n",
            out.join(&key).display(),
            sources.len(),
            2 * sources.len(),
            spec.num_slices,
            spec.image_size,
            spec.image_size,
            bytes as f64 / 1e6,
            if exists { " (already built)" } else { "" }
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let bar = Progress::bar("caching exams", sources.len() as u64);
    let report = build_cache(out, &spec, &sources, &bar.callback())
        .with_context(|| format!("cannot build the cache in {}", out.display()))?;
    drop(bar);
    let laterality = medfen_cache::laterality::check_laterality(
        &medfen_cache::CacheReader::open(&report.dir)?,
        None,
    )?;
    if laterality.verdict == medfen_cache::laterality::LateralityVerdict::Swapped {
        tracing::warn!("{}", laterality.message);
    }
    if args.json {
        medfen_app::print_json(&report)?;
    } else {
        medfen_app::print(&format!(
            "medfen cache: {}\n  {} ears ({} exams built, {} reused), {:.1} MB\n  crop centres from fallbacks: {}\n  {}\n",
            report.dir.display(),
            report.records,
            report.exams_built,
            report.exams_reused,
            report.data_bytes as f64 / 1e6,
            report.centre_fallbacks,
            laterality.message
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
