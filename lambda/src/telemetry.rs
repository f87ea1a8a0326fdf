//! Logging set-up: JSON lines in Lambda (CloudWatch), human-readable text locally.

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, no colours: for CloudWatch.
    Json,
    /// Human-readable text.
    Text,
}

/// Installs the global subscriber. The level comes from `RUST_LOG` (default `info`).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        // Lambda adds its own timestamp to every line.
        LogFormat::Json => {
            builder.json().flatten_event(true).with_current_span(false).without_time().with_ansi(false).try_init()
        }
        LogFormat::Text => builder.with_target(false).try_init(),
    };
}
