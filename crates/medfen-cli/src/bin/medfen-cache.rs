//! `medfen-cache`: the same as `medfen cache` (see `medfen cache --help`).
fn main() -> std::process::ExitCode {
    medfen_cli::run_stage("cache")
}
