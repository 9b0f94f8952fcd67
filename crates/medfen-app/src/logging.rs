//! Logging set-up shared by `medfen` and the model executable `medfen-torch`.
//!
//! Logs go to stderr through tracing; results go to stdout. `-v`/`-q` choose the
//! level and `RUST_LOG` (tracing's env-filter syntax) overrides both. Progress bars
//! (see [`crate::Progress`]) are drawn by the same subscriber, so log lines never
//! tear through a bar.

use clap::ArgAction;
use tracing_indicatif::IndicatifLayer;
use tracing_indicatif::filter::{IndicatifFilter, hide_indicatif_span_fields};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::DefaultFields;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// The `-v`/`-q` flags every medfen command accepts.
#[derive(clap::Args, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogArgs {
    /// More log output: -v debug, -vv trace. RUST_LOG overrides both flags.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Less output: -q warnings and errors only (no progress bars), -qq errors only.
    #[arg(short, long, action = ArgAction::Count, global = true, conflicts_with = "verbose")]
    pub quiet: u8,
}

impl LogArgs {
    /// The tracing level these flags select.
    pub fn level(self) -> tracing::Level {
        match (self.verbose, self.quiet) {
            (0, 0) => tracing::Level::INFO,
            (1, _) => tracing::Level::DEBUG,
            (v, _) if v >= 2 => tracing::Level::TRACE,
            (_, 1) => tracing::Level::WARN,
            _ => tracing::Level::ERROR,
        }
    }

    /// The same flags as command-line arguments, to forward them to another medfen binary.
    pub fn to_args(self) -> Vec<String> {
        let mut args = Vec::new();
        if self.verbose > 0 {
            args.push(format!("-{}", "v".repeat(self.verbose.into())));
        }
        if self.quiet > 0 {
            args.push(format!("-{}", "q".repeat(self.quiet.into())));
        }
        args
    }
}

/// Installs the global tracing subscriber: env-filter, compact stderr logs, progress bars.
///
/// Calling it twice is harmless (the second call keeps the first subscriber).
pub fn init(args: LogArgs) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(args.level().as_str().to_ascii_lowercase()));
    let bars = IndicatifLayer::new()
        .with_span_field_formatter(hide_indicatif_span_fields(DefaultFields::new()))
        .with_max_progress_bars(8, None);
    let writer = bars.get_stderr_writer();
    let detailed = args.verbose > 0;
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_target(detailed)
        .compact();
    let fmt = if detailed {
        fmt.boxed()
    } else {
        fmt.without_time().boxed()
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(bars.with_filter(IndicatifFilter::new(false)))
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::LogArgs;

    #[test]
    fn flags_select_levels_and_round_trip() {
        let quiet = LogArgs {
            verbose: 0,
            quiet: 1,
        };
        assert_eq!(quiet.level(), tracing::Level::WARN);
        assert_eq!(quiet.to_args(), vec!["-q"]);
        let loud = LogArgs {
            verbose: 2,
            quiet: 0,
        };
        assert_eq!(loud.level(), tracing::Level::TRACE);
        assert_eq!(loud.to_args(), vec!["-vv"]);
        assert_eq!(LogArgs::default().level(), tracing::Level::INFO);
        assert!(LogArgs::default().to_args().is_empty());
    }
}
