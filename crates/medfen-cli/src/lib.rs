//! The `medfen` command line.
//!
//! This crate parses arguments and calls the medfen libraries; it holds no analysis
//! logic of its own. Data and metrics commands run in this process and start in
//! milliseconds. Model commands (`doctor`, and `train`/`eval`/... as they arrive) run in
//! the sibling executable `medfen-torch`, the only one that links libtorch; see
//! [`sibling`].
//!
//! The modules [`logging`] and [`progress`] are shared with `medfen-torch`, so every
//! medfen command logs and shows progress the same way.

pub mod commands;
pub mod logging;
pub mod output;
pub mod progress;
pub mod sibling;
pub mod table;

mod cli;

pub use cli::{Cli, Command, run};
