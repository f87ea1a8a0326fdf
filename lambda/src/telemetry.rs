//! Logging set-up: JSON lines in Lambda (CloudWatch), human-readable text locally.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, no colours: for CloudWatch.
    Json,
    /// Human-readable text.
    Text,
}

/// Installs the global subscriber, writing to stderr. The level comes from `RUST_LOG` (default
/// `info`, see [`default_filter`]), in the `level` / `target=level,...` form (no regular expressions:
/// they would double the binary's size).
pub fn init(format: LogFormat) {
    let filter = std::env::var("RUST_LOG").ok().and_then(|v| v.parse::<Targets>().ok()).unwrap_or_else(default_filter);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        // Lambda adds its own timestamp to every line.
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false)
                    .without_time()
                    .with_ansi(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Text => {
            registry.with(tracing_subscriber::fmt::layer().with_target(false).with_writer(std::io::stderr)).try_init()
        }
    };
}

/// `info`, except the span `lambda_runtime` opens around every invocation (`Lambda runtime invoke`,
/// with the request id): no line shows span fields (`with_current_span(false)`), so creating it,
/// formatting its fields and dropping it was pure cost, about 10 k instructions per event
/// (bench/choices.md). `RUST_LOG` replaces the whole default.
fn default_filter() -> Targets {
    Targets::new().with_default(LevelFilter::INFO).with_target("lambda_runtime::layers::trace", LevelFilter::WARN)
}
