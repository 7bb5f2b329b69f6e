//! Terminal conventions shared by every subcommand: colours and progress bars only on a TTY, logs to stderr.

use std::io::IsTerminal;

/// `--format` of commands that print either a human view or one JSON document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TextOrJson {
    Text,
    Json,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when the output is a terminal and NO_COLOR is unset.
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream that is (or is not) a terminal.
    pub fn enabled(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    pub fn stdout(self) -> bool {
        self.enabled(std::io::stdout().is_terminal())
    }

    pub fn stderr(self) -> bool {
        self.enabled(std::io::stderr().is_terminal())
    }
}

/// Logs (warnings about unreadable input, server requests) go to stderr; `RUST_LOG` tunes them.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SIGIL_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// The width of the terminal on stdout in columns: `COLUMNS` when set (as shells export it), else what the
/// terminal says; `None` when stdout is not a terminal and `COLUMNS` is unset.
pub fn terminal_width() -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<usize>().ok()).filter(|n| *n > 0) {
        return Some(n);
    }
    terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| usize::from(w.0))
}

/// The hunt's progress line on stderr (only on a terminal): files started of all, events read, detections so
/// far, the rate, and the time left when the input's size is known (EVTX files: a batch is one 64 KiB chunk).
///
/// Counters only go up: the engine reports running totals from several threads, which can arrive out of order,
/// so the line keeps the largest it has seen (updated under one lock, so no older value is drawn after a newer).
pub struct Progress {
    bar: indicatif::ProgressBar,
    started: std::time::Instant,
    files_total: u64,
    /// Batches the input has, when known.
    batches_total: Option<u64>,
    state: std::sync::Mutex<ProgressState>,
}

#[derive(Default)]
struct ProgressState {
    events: u64,
    detections: u64,
    batches: u64,
    files: std::collections::HashSet<std::sync::Arc<std::path::Path>>,
}

impl Progress {
    /// A progress line for `files` inputs holding `batches` batches (when known); hidden when stderr is not a
    /// terminal.
    pub fn new(files: u64, batches: Option<u64>) -> Progress {
        let bar = if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new_spinner();
            let style = indicatif::ProgressStyle::with_template("{spinner} hunting: {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        } else {
            indicatif::ProgressBar::hidden()
        };
        Progress {
            bar,
            started: std::time::Instant::now(),
            files_total: files,
            batches_total: batches,
            state: std::sync::Mutex::default(),
        }
    }

    /// A progress line never drawn.
    pub fn hidden() -> Progress {
        Progress {
            bar: indicatif::ProgressBar::hidden(),
            started: std::time::Instant::now(),
            files_total: 0,
            batches_total: None,
            state: std::sync::Mutex::default(),
        }
    }

    /// A batch of `source` was read.
    pub fn batch(&self, source: &std::path::Path) {
        if self.bar.is_hidden() {
            return;
        }
        let mut s = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        s.batches += 1;
        if !s.files.contains(source) {
            s.files.insert(std::sync::Arc::from(source));
        }
    }

    /// Running totals from any thread: kept when larger than those shown, and drawn.
    pub fn update(&self, events: u64, detections: u64) {
        if self.bar.is_hidden() {
            return;
        }
        let mut s = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        s.events = s.events.max(events);
        s.detections = s.detections.max(detections);
        let message = self.message(&s);
        self.bar.set_message(message);
    }

    fn message(&self, s: &ProgressState) -> String {
        use sigil_printer::text::count_s;
        let secs = self.started.elapsed().as_secs_f64();
        let rate = if secs > 0.0 { s.events as f64 / secs } else { 0.0 };
        let mut m = format!(
            "{}/{} files, {}, {}, {:.0} events/s",
            s.files.len().min(self.files_total as usize),
            self.files_total,
            count_s(s.events, "event"),
            count_s(s.detections, "detection"),
            rate
        );
        if let Some(total) = self.batches_total
            && s.batches > 0
            && secs >= 1.0
        {
            let left = total.saturating_sub(s.batches) as f64 * secs / s.batches as f64;
            m.push_str(&format!(", about {} left", duration_text(left)));
        }
        m
    }

    /// Runs `f` with the line hidden (to print above it).
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Clears the line for good.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// `45s`, `3m05s`, `1h02m`.
fn duration_text(secs: f64) -> String {
    let s = secs.round() as u64;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}
