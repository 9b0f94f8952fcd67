//! What both medfen executables share: `medfen` (data and metrics commands, no
//! libtorch) and `medfen-torch` (model commands). Every command logs, shows progress
//! and prints results the same way, and `medfen <model command>` hands over to the
//! sibling executable git-style.
//!
//! - [`LogArgs`] and [`init_logging`]: `-v`/`-q` and `RUST_LOG`, compact logs on
//!   stderr drawn around the progress bars.
//! - [`Progress`]: a progress bar tied to a tracing span; hidden with `-q`, when stderr
//!   is not a terminal and in tests. Libraries take a `&(dyn Fn(u64) + Sync)` callback,
//!   which [`Progress::callback`] provides.
//! - [`print()`] and [`print_json`]: stdout that tolerates a closed pipe.
//! - [`sibling`]: finding and running `medfen-torch`.
//!
//! # Example
//!
//! ```
//! use medfen_app::{LogArgs, Progress, init_logging};
//!
//! init_logging(LogArgs { verbose: 0, quiet: 1 }); // warnings only: no bars drawn
//! let bar = Progress::bar("reading headers", 3);
//! let tick = bar.callback();
//! (0..3).for_each(|_| tick(1));
//! assert_eq!(bar.position(), 3);
//! ```
#![warn(missing_docs)]

mod error;
mod logging;
mod output;
mod progress;
pub mod sibling;

pub use error::{Error, Result};
pub use logging::{LogArgs, init as init_logging};
pub use output::{print, print_json};
pub use progress::Progress;
