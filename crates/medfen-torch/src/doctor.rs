//! `medfen doctor`: is libtorch usable here, and on which devices?

use std::process::ExitCode;

use anyhow::Result;
use medfen_models::runtime;

/// Options of `medfen doctor`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  medfen doctor\n  medfen doctor --json > doctor.json\n\n\
    Exits non-zero when a device computes the reference product wrongly."
)]
pub struct Args {
    /// Print the report as JSON on stdout instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let report = runtime::probe();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "libtorch        {} ({})",
            report.libtorch_version,
            report.library.as_deref().unwrap_or("library path unknown")
        );
        println!(
            "CPU             {} intra-op / {} inter-op threads; MKL {}, OpenMP {}, oneDNN {}",
            report.intra_op_threads,
            report.inter_op_threads,
            yes(report.mkl),
            yes(report.openmp),
            yes(report.mkldnn)
        );
        println!(
            "CUDA            built {}, {} device(s); cuDNN {}",
            yes(report.cuda_built),
            report.cuda_devices,
            report
                .cudnn_version
                .map_or_else(|| "unavailable".to_owned(), |v| v.to_string())
        );
        for d in &report.devices {
            println!(
                "check {:<9} {} (max relative error {:.1e}, {:.1} ms)",
                d.device,
                if d.ok { "ok" } else { "FAILED" },
                d.max_rel_error,
                d.millis
            );
        }
    }
    Ok(if report.all_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
