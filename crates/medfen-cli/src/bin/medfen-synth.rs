//! `medfen-synth`: the same as `medfen synth` (see `medfen synth --help`).
fn main() -> std::process::ExitCode {
    medfen_cli::run_stage("synth")
}
