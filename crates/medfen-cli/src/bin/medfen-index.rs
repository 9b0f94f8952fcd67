//! `medfen-index`: the same as `medfen index` (see `medfen index --help`).
fn main() -> std::process::ExitCode {
    medfen_cli::run_stage("index")
}
