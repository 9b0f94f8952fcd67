//! One module per `medfen` subcommand that runs in this process.

pub mod audit;
pub mod cache;
pub mod index;
pub mod manifest;
pub mod metrics;
pub mod split;
pub mod synth;
pub mod volume;
