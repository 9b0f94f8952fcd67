//! `medfen-metrics`: the same as `medfen metrics` (see `medfen metrics --help`).
fn main() -> std::process::ExitCode {
    medfen_cli::run_stage("metrics")
}
