//! `medfen-manifest`: the same as `medfen manifest` (see `medfen manifest --help`).
fn main() -> std::process::ExitCode {
    medfen_cli::run_stage("manifest")
}
