//! Logging: one `tracing` subscriber writing to stderr, plain or JSON, filtered by target
//! directives (`--log`, e.g. `info` or `fluidos_agent=debug,hyper=warn`).
//!
//! The filter is `tracing_subscriber::filter::Targets`, not `EnvFilter`: same directive syntax
//! for targets and levels, without the regex engines `EnvFilter` links (binary size budget).
//!
//! Never log keys, tokens or certificates: log the node name, the hub URL and expiry times.

use serde::{Deserialize, Serialize};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer as _, fmt};

/// Log line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Plain,
    /// One JSON object per line.
    Json,
}

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The filter directive does not parse.
    #[error("invalid log filter {0:?}")]
    Filter(String, #[source] tracing_subscriber::filter::ParseError),
    /// Another global subscriber was installed first (e.g. by a test harness).
    #[error("a tracing subscriber is already installed")]
    AlreadyInstalled,
}

/// Parse a filter directive list (`LEVEL`, `TARGET=LEVEL`, comma-separated).
pub fn parse_filter(directives: &str) -> Result<Targets, TelemetryError> {
    directives
        .parse()
        .map_err(|e| TelemetryError::Filter(directives.to_owned(), e))
}

/// Install the global subscriber.
pub fn init(directives: &str, format: LogFormat) -> Result<(), TelemetryError> {
    let filter = parse_filter(directives)?;
    let layer = match format {
        LogFormat::Plain => fmt::layer().with_writer(std::io::stderr).boxed(),
        LogFormat::Json => fmt::layer().json().with_writer(std::io::stderr).boxed(),
    };
    tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInstalled)
}

/// An error and its sources on one line (`outer: inner: root`), for log fields.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_validated() {
        assert!(parse_filter("info").is_ok());
        assert!(parse_filter("fluidos_agent=debug,hyper=warn").is_ok());
        assert!(parse_filter("fluidos_agent=loud").is_err());
        assert!(parse_filter("a=info=debug").is_err());
    }

    #[test]
    fn error_chains_render_every_cause() {
        let io = std::io::Error::other("connection reset");
        let outer = crate::state::StateError::Read("/x".into(), io);
        assert_eq!(error_chain(&outer), "cannot read /x: connection reset");
    }
}
