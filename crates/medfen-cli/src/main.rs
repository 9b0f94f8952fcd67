//! The `medfen` executable: parse arguments, run, turn errors into an exit code.
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Decoding allocates and frees many large buffers: keep them for reuse.
    medfen_dicom::reuse_freed_memory();
    let cli = medfen_cli::Cli::parse();
    match medfen_cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            #[allow(clippy::print_stderr)] // the one place errors reach the user
            {
                eprintln!("error: {err:#}");
            }
            ExitCode::FAILURE
        }
    }
}
