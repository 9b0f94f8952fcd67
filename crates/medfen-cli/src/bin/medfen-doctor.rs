//! `medfen-doctor`: the same as `medfen doctor` (see `medfen doctor --help`).
fn main() -> std::process::ExitCode {
    medfen_cli::run_stage("doctor")
}
