//! `medfen-eval`: the same as `medfen eval` (see `medfen eval --help`).
fn main() -> std::process::ExitCode {
    medfen_cli::run_stage("eval")
}
