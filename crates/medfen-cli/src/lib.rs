//! The `medfen` command line.
//!
//! This crate parses arguments and calls the medfen libraries; it holds no analysis
//! logic of its own. Data and metrics commands run in this process and start in
//! milliseconds. Model commands (`doctor`, `train`, `eval`, `predict`) run in the
//! sibling executable `medfen-torch`, the only one that links libtorch
//! ([`medfen_app::sibling`]). Every stage is also its own small executable,
//! `medfen-<stage>` ([`run_stage`]), for `cargo run --bin medfen-<stage>`.

pub mod commands;

mod cli;

pub use cli::{Cli, Command, STAGES, main_with, run, run_stage, stage_of_program_name};
