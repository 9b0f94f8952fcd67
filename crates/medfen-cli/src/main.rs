//! The `medfen` executable: parse arguments, run, turn errors into an exit code.
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Decoding allocates and frees many large buffers: keep them for reuse.
    medfen_io::reuse_freed_memory();
    medfen_cli::main_with(&medfen_cli::Cli::parse())
}
