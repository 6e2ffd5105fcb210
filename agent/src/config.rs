//! Configuration: a TOML file ([`FileConfig`]), flags and `FLUIDOS_AGENT_*` environment
//! variables ([`Overrides`], filled by clap, which already ranks a flag above its variable),
//! merged by the pure [`Config::resolve`]: flag > env > file > default.
//!
//! Defaults live here and only here (clap has no `default_value` for anything the file can
//! set, or it would always win over the file). Everything is validated before the agent binds
//! or opens anything; an invalid configuration exits with 64.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fluidos_protocol::Quantity;
use fluidos_protocol::flavor::Location;
use serde::Deserialize;

use crate::change::Thresholds;
use crate::collect::{DEFAULT_MAX_PODS, Reserve, SampleSettings};
use crate::outbox::OutboxLimits;
use crate::telemetry::{self, LogFormat, TelemetryError};
use crate::transport::{HubUrl, HubUrlError};

/// State directory when none is configured.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/fluidos-agent";
/// Report interval until the hub says otherwise.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(10);
/// Sample interval.
pub const DEFAULT_SAMPLE_INTERVAL: Duration = Duration::from_secs(2);
/// Timeout of one request to the hub.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Time given to an in-flight upload at shutdown.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Log filter.
pub const DEFAULT_LOG: &str = "info";

/// The TOML configuration file. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// State directory.
    pub state_dir: Option<PathBuf>,
    /// Hub URL (`https://HOST:PORT`), overriding the one stored at enrollment.
    pub hub: Option<String>,
    /// Report interval; when unset the hub's `heartbeat_seconds` is used.
    #[serde(default, with = "humantime_serde")]
    pub heartbeat: Option<Duration>,
    /// Sample interval.
    #[serde(default, with = "humantime_serde")]
    pub sample_interval: Option<Duration>,
    /// Request timeout.
    #[serde(default, with = "humantime_serde")]
    pub request_timeout: Option<Duration>,
    /// Grace period for the in-flight upload at shutdown.
    #[serde(default, with = "humantime_serde")]
    pub shutdown_grace: Option<Duration>,
    /// Early-report thresholds.
    pub thresholds: Option<FileThresholds>,
    /// System reserve.
    pub reserve: Option<FileReserve>,
    /// Pods offered.
    pub max_pods: Option<u64>,
    /// Oldest report kept in the outbox.
    #[serde(default, with = "humantime_serde")]
    pub outbox_max_age: Option<Duration>,
    /// Outbox payload bound (a byte count or a quantity such as `"16Mi"`).
    pub outbox_max_bytes: Option<Quantity>,
    /// Static labels.
    pub labels: Option<BTreeMap<String, String>>,
    /// Location.
    pub location: Option<FileLocation>,
    /// Log format.
    pub log_format: Option<LogFormat>,
    /// Log filter.
    pub log: Option<String>,
}

/// `[thresholds]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileThresholds {
    /// CPU usage, percentage points (default 10).
    pub cpu_percent_points: Option<f64>,
    /// Available memory, relative (default 0.05).
    pub memory_ratio: Option<f64>,
    /// Available storage, relative (default 0.05).
    pub storage_ratio: Option<f64>,
}

/// `[reserve]`: Kubernetes quantities (`cpu = "500m"`, `memory = "512Mi"`) or plain numbers
/// (cores for cpu, bytes otherwise).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileReserve {
    /// CPU kept for the system.
    pub cpu: Option<Quantity>,
    /// Memory kept for the system.
    pub memory: Option<Quantity>,
    /// Root filesystem space kept for the system.
    pub storage: Option<Quantity>,
}

/// `[location]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLocation {
    /// Latitude (text or number).
    pub latitude: Option<Coordinate>,
    /// Longitude (text or number).
    pub longitude: Option<Coordinate>,
    /// Country.
    pub country: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Free notes.
    pub additional_notes: Option<String>,
}

/// A coordinate written as text or as a number.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Coordinate {
    /// `"45.07"`.
    Text(String),
    /// `45.07`.
    Number(f64),
}

impl Coordinate {
    fn into_text(self) -> String {
        match self {
            Self::Text(s) => s,
            Self::Number(n) => n.to_string(),
        }
    }
}

impl FileConfig {
    /// Parse TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Read and parse a file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.to_owned(), e))?;
        Self::from_toml_str(&text).map_err(|e| ConfigError::Parse(path.to_owned(), e))
    }
}

/// Settings given as flags or `FLUIDOS_AGENT_*` variables (clap merges those two).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--state-dir` / `FLUIDOS_AGENT_STATE_DIR`.
    pub state_dir: Option<PathBuf>,
    /// `--hub` / `FLUIDOS_AGENT_HUB`.
    pub hub: Option<String>,
    /// `--heartbeat` / `FLUIDOS_AGENT_HEARTBEAT`.
    pub heartbeat: Option<Duration>,
    /// `--sample-interval` / `FLUIDOS_AGENT_SAMPLE_INTERVAL`.
    pub sample_interval: Option<Duration>,
    /// `--request-timeout` / `FLUIDOS_AGENT_REQUEST_TIMEOUT`.
    pub request_timeout: Option<Duration>,
    /// `--log-format` / `FLUIDOS_AGENT_LOG_FORMAT`.
    pub log_format: Option<LogFormat>,
    /// `--log` / `FLUIDOS_AGENT_LOG`.
    pub log: Option<String>,
}

/// The resolved, validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// State directory.
    pub state_dir: PathBuf,
    /// Hub URL override (otherwise the enrollment's).
    pub hub: Option<HubUrl>,
    /// Report interval set by the operator; `None` follows the hub's `heartbeat_seconds`.
    pub heartbeat: Option<Duration>,
    /// Sample interval.
    pub sample_interval: Duration,
    /// Timeout of one request.
    pub request_timeout: Duration,
    /// Grace period for the in-flight upload at shutdown.
    pub shutdown_grace: Duration,
    /// Early-report thresholds.
    pub thresholds: Thresholds,
    /// Reserve, pods, labels, location.
    pub sample: SampleSettings,
    /// Outbox bounds.
    pub outbox: OutboxLimits,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter.
    pub log: String,
}

/// Why the configuration is invalid.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {0}")]
    Read(PathBuf, #[source] std::io::Error),
    /// The file is not valid TOML for this agent.
    #[error("invalid config file {0}")]
    Parse(PathBuf, #[source] toml::de::Error),
    /// Bad hub URL.
    #[error("invalid hub setting")]
    Hub(#[source] HubUrlError),
    /// A duration or size is zero.
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
    /// A threshold is negative or not a number.
    #[error("thresholds.{0} must be a finite number >= 0, got {1}")]
    Threshold(&'static str, f64),
    /// A reserve or size quantity is negative or too large.
    #[error("{0} = {1} is not a valid amount (it must be >= 0)")]
    Amount(&'static str, String),
    /// An empty label key.
    #[error("label keys must not be empty")]
    EmptyLabel,
    /// Bad log filter.
    #[error("invalid log setting")]
    Log(#[source] TelemetryError),
}

impl Config {
    /// Merge `overrides` (flags and environment) over `file` over the defaults, and validate.
    pub fn resolve(overrides: &Overrides, file: FileConfig) -> Result<Self, ConfigError> {
        let o = overrides.clone();
        let hub = o
            .hub
            .or(file.hub)
            .map(|s| HubUrl::parse(&s))
            .transpose()
            .map_err(ConfigError::Hub)?;
        let heartbeat = o
            .heartbeat
            .or(file.heartbeat)
            .map(|d| positive("heartbeat", d))
            .transpose()?;
        let duration = |name, flag: Option<Duration>, file: Option<Duration>, default| {
            positive(name, flag.or(file).unwrap_or(default))
        };
        let log = o.log.or(file.log).unwrap_or_else(|| DEFAULT_LOG.to_owned());
        telemetry::parse_filter(&log).map_err(ConfigError::Log)?;
        Ok(Self {
            state_dir: o
                .state_dir
                .or(file.state_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR)),
            hub,
            heartbeat,
            sample_interval: duration(
                "sample_interval",
                o.sample_interval,
                file.sample_interval,
                DEFAULT_SAMPLE_INTERVAL,
            )?,
            request_timeout: duration(
                "request_timeout",
                o.request_timeout,
                file.request_timeout,
                DEFAULT_REQUEST_TIMEOUT,
            )?,
            shutdown_grace: file.shutdown_grace.unwrap_or(DEFAULT_SHUTDOWN_GRACE),
            thresholds: thresholds(file.thresholds.unwrap_or_default())?,
            sample: sample_settings(file.reserve, file.max_pods, file.labels, file.location)?,
            outbox: outbox_limits(file.outbox_max_age, file.outbox_max_bytes)?,
            log_format: o.log_format.or(file.log_format).unwrap_or_default(),
            log,
        })
    }
}

fn sample_settings(
    reserve_file: Option<FileReserve>,
    max_pods: Option<u64>,
    labels: Option<BTreeMap<String, String>>,
    location_file: Option<FileLocation>,
) -> Result<SampleSettings, ConfigError> {
    let labels = labels.unwrap_or_default();
    if labels.keys().any(String::is_empty) {
        return Err(ConfigError::EmptyLabel);
    }
    Ok(SampleSettings {
        reserve: reserve(reserve_file.unwrap_or_default())?,
        max_pods: max_pods.unwrap_or(DEFAULT_MAX_PODS),
        labels,
        location: location_file.map(location),
    })
}

fn positive(name: &'static str, d: Duration) -> Result<Duration, ConfigError> {
    if d.is_zero() {
        Err(ConfigError::Zero(name))
    } else {
        Ok(d)
    }
}

fn thresholds(file: FileThresholds) -> Result<Thresholds, ConfigError> {
    let defaults = Thresholds::default();
    let check = |name, value: Option<f64>, default: f64| match value {
        None => Ok(default),
        Some(v) if v.is_finite() && v >= 0.0 => Ok(v),
        Some(v) => Err(ConfigError::Threshold(name, v)),
    };
    let cpu = check(
        "cpu_percent_points",
        file.cpu_percent_points,
        f64::from(defaults.cpu_percent_points),
    )?;
    Ok(Thresholds {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "percentage points, small and finite"
        )]
        cpu_percent_points: cpu as f32,
        memory_ratio: check("memory_ratio", file.memory_ratio, defaults.memory_ratio)?,
        storage_ratio: check("storage_ratio", file.storage_ratio, defaults.storage_ratio)?,
    })
}

fn reserve(file: FileReserve) -> Result<Reserve, ConfigError> {
    Ok(Reserve {
        cpu_millis: amount("reserve.cpu", file.cpu, |q| q.as_milli())?,
        memory_bytes: amount("reserve.memory", file.memory, |q| q.as_value())?,
        storage_bytes: amount("reserve.storage", file.storage, |q| q.as_value())?,
    })
}

/// A non-negative quantity in the unit chosen by `unit` (0 when unset).
fn amount(
    name: &'static str,
    q: Option<Quantity>,
    unit: impl Fn(&Quantity) -> i128,
) -> Result<u64, ConfigError> {
    match q {
        None => Ok(0),
        Some(q) => u64::try_from(unit(&q)).map_err(|_| ConfigError::Amount(name, q.to_string())),
    }
}

fn outbox_limits(
    max_age: Option<Duration>,
    max_bytes: Option<Quantity>,
) -> Result<OutboxLimits, ConfigError> {
    let defaults = OutboxLimits::default();
    let max_bytes = match max_bytes {
        None => defaults.max_bytes,
        Some(q) => match amount("outbox_max_bytes", Some(q), |q| q.as_value())? {
            0 => return Err(ConfigError::Zero("outbox_max_bytes")),
            n => n,
        },
    };
    Ok(OutboxLimits {
        max_age: positive("outbox_max_age", max_age.unwrap_or(defaults.max_age))?,
        max_bytes,
    })
}

fn location(file: FileLocation) -> Location {
    Location {
        latitude: file.latitude.map(Coordinate::into_text),
        longitude: file.longitude.map(Coordinate::into_text),
        country: file.country,
        city: file.city,
        additional_notes: file.additional_notes,
    }
}

#[cfg(test)]
#[path = "config/tests.rs"]
mod tests;
