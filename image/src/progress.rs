//! Download progress: bars on a terminal, one quiet line per blob otherwise.

use crate::manifest::Descriptor;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// How to show progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Bars if stderr is a terminal, lines otherwise.
    Auto,
    /// Nothing.
    Quiet,
}

/// The set of bars of one pull.
pub struct Bars {
    multi: Option<MultiProgress>,
    lines: bool,
}

/// One blob's progress.
pub struct Bar {
    bar: Option<ProgressBar>,
    lines: bool,
    short: String,
    size: u64,
}

impl Bars {
    /// Bars for `style`.
    pub fn new(style: Style) -> Self {
        let tty = std::io::stderr().is_terminal();
        Bars {
            multi: (style == Style::Auto && tty).then(MultiProgress::new),
            lines: style == Style::Auto && !tty,
        }
    }

    /// Starts showing `d`.
    pub fn start(&self, d: &Descriptor) -> Bar {
        let short = d.digest.hex()[..12].to_string();
        let bar = self.multi.as_ref().map(|m| {
            let b = m.add(ProgressBar::new(d.size));
            if let Ok(st) = ProgressStyle::with_template(
                "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            ) {
                b.set_style(st.progress_chars("=> "));
            }
            b.set_prefix(short.clone());
            b
        });
        Bar {
            bar,
            lines: self.lines,
            short,
            size: d.size,
        }
    }
}

impl Bar {
    /// Bytes so far.
    pub fn set(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.set_position(n);
        }
    }

    /// Done; `fetched` false if it was already stored.
    pub fn finish(&self, fetched: bool) {
        if let Some(b) = &self.bar {
            b.finish();
        }
        if self.lines {
            eprintln!(
                "{} {} ({} bytes)",
                if fetched { "fetched" } else { "exists " },
                self.short,
                self.size
            );
        }
    }

    /// Failed.
    pub fn fail(&self) {
        if let Some(b) = &self.bar {
            b.abandon();
        }
    }
}
