//! Progress bars for long work, shared by every medfen command.
//!
//! A [`Progress`] is a tracing span that the subscriber installed by
//! [`crate::init_logging`] draws as an indicatif bar on stderr (items/s and ETA). It
//! is hidden with `-q`, when stderr is not a terminal, and when no subscriber is
//! installed (tests), so callers never need to check.
//!
//! Libraries do not depend on this module: they accept a progress callback
//! (`&(dyn Fn(u64) + Sync)`), and the command passes [`Progress::callback`].

use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::ProgressStyle;
use tracing::Span;
use tracing_indicatif::span_ext::IndicatifSpanExt;

/// A progress bar tied to a tracing span; it disappears when dropped.
pub struct Progress {
    span: Span,
    done: AtomicU64,
}

impl Progress {
    /// A bar for `len` items of work described by `label` (e.g. "reading headers").
    pub fn bar(label: &str, len: u64) -> Self {
        let span = tracing::info_span!("progress", indicatif.pb_show = tracing::field::Empty);
        span.pb_set_style(&bar_style());
        span.pb_set_length(len);
        span.pb_set_message(label);
        span.pb_start();
        Self {
            span,
            done: AtomicU64::new(0),
        }
    }

    /// A spinner for work of unknown length.
    pub fn spinner(label: &str) -> Self {
        let span = tracing::info_span!("progress", indicatif.pb_show = tracing::field::Empty);
        span.pb_set_style(&spinner_style());
        span.pb_set_message(label);
        span.pb_start();
        Self {
            span,
            done: AtomicU64::new(0),
        }
    }

    /// Advances the bar by `n` items.
    pub fn inc(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
        self.span.pb_inc(n);
    }

    /// Items counted so far (also when the bar is hidden).
    pub fn position(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Replaces the label.
    pub fn set_message(&self, msg: &str) {
        self.span.pb_set_message(msg);
    }

    /// A thread-safe callback advancing this bar, for library functions that report
    /// progress (`&(dyn Fn(u64) + Sync)`).
    pub fn callback(&self) -> impl Fn(u64) + Send + Sync + '_ {
        move |n| self.inc(n)
    }
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{spinner:.green} {msg} [{wide_bar:.cyan/blue}] {human_pos}/{human_len} \
         ({per_sec}, ETA {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner:.green} {msg} [{elapsed}]")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

#[cfg(test)]
mod tests {
    use super::Progress;

    #[test]
    fn callback_counts_from_many_threads() {
        // No subscriber is installed here (as under `-q`): the bar is hidden but counts.
        let bar = Progress::bar("counting", 400);
        let tick = bar.callback();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| (0..100).for_each(|_| tick(1)));
            }
        });
        assert_eq!(bar.position(), 400);
        let spin = Progress::spinner("waiting");
        spin.inc(3);
        assert_eq!(spin.position(), 3);
    }
}
