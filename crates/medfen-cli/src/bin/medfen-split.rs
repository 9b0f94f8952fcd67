//! `medfen-split`: the same as `medfen split` (see `medfen split --help`).
fn main() -> std::process::ExitCode {
    medfen_cli::run_stage("split")
}
