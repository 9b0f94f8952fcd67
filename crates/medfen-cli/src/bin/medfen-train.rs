//! `medfen-train`: the same as `medfen train` (see `medfen train --help`).
fn main() -> std::process::ExitCode {
    medfen_cli::run_stage("train")
}
