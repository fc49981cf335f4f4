//! Progress bars on a terminal: one line per object with its rows and rate. Off unless the
//! CLI turns them on (stderr is a terminal and logs are text), so pipes, cron mail and JSON logs
//! stay clean.

use std::sync::OnceLock;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};

static BARS: OnceLock<MultiProgress> = OnceLock::new();

/// Draws progress bars on stderr from now on.
pub fn enable() {
    BARS.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
}

/// A bar for `object`; hidden (and nearly free) when bars are off.
pub fn bar(object: &str) -> ProgressBar {
    let Some(multi) = BARS.get() else { return ProgressBar::hidden() };
    // Dropping the bar at the end of the object leaves its last line on screen.
    let bar = multi.add(ProgressBar::new_spinner().with_finish(ProgressFinish::AndLeave));
    bar.set_style(
        ProgressStyle::with_template("{spinner} {prefix:<9} {human_pos:>9} rows  {per_sec:>12}  {elapsed} {msg}")
            .expect("static template"),
    );
    bar.set_prefix(object.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A line above the bars, for what every object is waiting on (a spent hourly quota); nothing
/// when bars are off, where the log line says it.
pub fn message(text: &str) {
    if let Some(m) = BARS.get() {
        let _ = m.println(text);
    }
}

/// Stderr for log lines that hides the bars while it writes, so bars and logs do not tear.
pub struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match BARS.get() {
            Some(m) => m.suspend(|| std::io::stderr().write(buf)),
            None => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
