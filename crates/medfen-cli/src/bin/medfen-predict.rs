//! `medfen-predict`: the same as `medfen predict` (see `medfen predict --help`).
fn main() -> std::process::ExitCode {
    medfen_cli::run_stage("predict")
}
