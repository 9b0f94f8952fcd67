//! `medfen-volume`: the same as `medfen volume` (see `medfen volume --help`).
fn main() -> std::process::ExitCode {
    medfen_cli::run_stage("volume")
}
