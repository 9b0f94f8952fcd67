//! The `medfen` executable: parse arguments, run, turn errors into an exit code.
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Installed under a stage's name (`medfen-index`, ...), it is that stage.
    let program = std::env::args_os().next().unwrap_or_default();
    if let Some(stage) = medfen_cli::stage_of_program_name(&program) {
        return medfen_cli::run_stage(stage);
    }
    // Decoding allocates and frees many large buffers: keep them for reuse.
    medfen_io::reuse_freed_memory();
    medfen_cli::main_with(&medfen_cli::Cli::parse())
}
