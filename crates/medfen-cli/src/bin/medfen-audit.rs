//! `medfen-audit`: the same as `medfen audit` (see `medfen audit --help`).
fn main() -> std::process::ExitCode {
    medfen_cli::run_stage("audit")
}
