//! `cargo xtask`: medfen's developer tasks.
//!
//! The commands provision what the workspace needs from package registries only
//! (libtorch from the PyPI torch wheel, a Python virtual environment with the test
//! oracles), then drive `cargo` for formatting, linting and tests.
// xtask is a command-line front end: printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench;
mod build_progress;
mod demo;
mod dist;
mod fixtures;
mod fuzz;
mod libtorch;
mod oracles;
mod paths;
mod readme;
mod run;
mod system;
mod test;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::paths::Workspace;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "medfen developer tasks: provisioning, checks, demo and benchmarks",
    long_about = "medfen developer tasks.\n\n\
        Everything is fetched from package registries only (crates.io, PyPI, Debian): \
        libtorch comes from the PyPI torch wheel, the test oracles from a pinned virtual \
        environment, both in ignored folders of the checkout (.libtorch/, .cache/); \
        `test` installs Debian's cmake when missing, to build the JPEG-LS decoder.",
    after_help = "Examples:\n  cargo xtask demo            the pipeline end to end on synthetic data (CPU)\n  cargo xtask test            every check CI runs (fmt, clippy, docs, tests)\n  \
        cargo xtask bench metrics   clustered bootstrap speed against scikit-learn\n  \
        cargo xtask libtorch        provision the CPU libtorch kit (idempotent)\n  \
        cargo xtask libtorch --cuda provision a CUDA-capable libtorch on a GPU host"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Provision libtorch 2.13.0 (what tch 0.26 links) from the PyPI torch wheel.
    ///
    /// The CPU kit is assembled in .libtorch/cpu-2.13.0 from wheels downloaded to
    /// .cache/wheels and removed once extracted (MEDFEN_WHEEL_CACHE names a cache of
    /// your own, which is read first and kept); .libtorch/active points at the kit in
    /// use. A second run is a no-op.
    Libtorch(libtorch::Args),
    /// Create the Python virtual environment with the test oracles (scikit-learn,
    /// pydicom, nibabel, ...) in .cache/oracle-venv. A second run is a no-op.
    Oracles,
    /// Run every check: provision libtorch, oracles and cmake if needed, then cargo fmt
    /// --check, clippy -D warnings, rustdoc -D warnings, all tests and doc tests, with
    /// the optional JPEG-LS decoder (feature medfen-dicom/jpeg-ls) built in.
    Test(test::Args),
    /// Benchmark medfen against its Python baseline in the same run and print ratios.
    Bench(bench::Args),
    /// Fuzz a parser (installs cargo-fuzz from crates.io when missing).
    Fuzz(fuzz::Args),
    /// Regenerate the synthetic datasets committed in fixtures/ (medfen synth).
    Fixtures,
    /// The whole pipeline on synthetic data, on CPU, in a few minutes: synth, index,
    /// manifest, split, cache, train ear2d on normal_vs_abnormal, eval on test; prints
    /// the test AUROC with its CI and where the outputs are (in demo/).
    Demo(demo::Args),
    /// A relocatable bundle (tar.gz in dist/): bin/ (medfen, medfen-torch, the
    /// per-stage binaries, release builds) beside lib/ (the libtorch libraries they
    /// need); CPU by default, --cuda for the CUDA kit. Unpack anywhere and run
    /// bin/medfen.
    Dist(dist::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = Workspace::locate().and_then(|ws| match cli.command {
        Command::Libtorch(args) => libtorch::provision(&ws, &args).map(|_| ()),
        Command::Oracles => oracles::provision(&ws).map(|_| ()),
        Command::Test(args) => test::run(&ws, &args),
        Command::Bench(args) => bench::run(&ws, &args),
        Command::Fuzz(args) => fuzz::run(&ws, &args),
        Command::Fixtures => fixtures::run(&ws),
        Command::Demo(args) => demo::run(&ws, &args),
        Command::Dist(args) => dist::run(&ws, &args),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
