//! One module per `medfen` subcommand that runs in this process.

pub mod metrics;
pub mod synth;
pub mod volume;
