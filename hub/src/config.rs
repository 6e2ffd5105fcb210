//! Hub configuration: a TOML file ([`FileConfig`]), flags and `FLUIDOS_HUB_*` environment
//! variables ([`ConfigArgs`], parsed by clap, which already puts a flag above its variable),
//! layered by the pure [`Config::resolve`]: flag > env > file > default.
//!
//! Only [`FileConfig::load`] does IO. Every value is validated here, so an invalid setting
//! fails before anything is bound or written (exit code 64).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fluidos_protocol::Quantity;
use fluidos_protocol::flavor::{Location, Partitionability, Price};
use fluidos_protocol::identity::valid_domain;
use serde::Deserialize;

pub mod kubernetes;
pub mod rear;

pub use kubernetes::{KubernetesConfig, KubernetesFile, StoreKind};
pub use rear::{RearConfig, RearFile};

use crate::lrm::flavor::{DEFAULT_CHANGE_THRESHOLD, FlavorSettings, default_partitionability};
use crate::telemetry::LogFormat;

/// Default state directory of `run` and the other commands.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/fluidos-hub";
/// Default state directory of `up`.
pub const UP_STATE_DIR: &str = ".fluidos/hub";
/// Default FLUIDOS domain of a new hub.
pub const DEFAULT_DOMAIN: &str = "fluidos.eu";
/// Default heartbeat interval.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(10);
/// Default validity of agent certificates.
pub const DEFAULT_CERT_VALIDITY: Duration = Duration::from_secs(7 * 24 * 3600);
/// Default log filter.
pub const DEFAULT_LOG: &str = "info";

const MIN_CERT_VALIDITY: Duration = Duration::from_secs(60);
const MAX_CERT_VALIDITY: Duration = Duration::from_secs(398 * 24 * 3600);
const MAX_HEARTBEAT: Duration = Duration::from_secs(3600);

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file cannot be read.
    #[error("cannot read config file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The config file is not valid TOML for this schema.
    #[error("invalid config file {path}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: toml::de::Error,
    },
    /// A setting is out of range.
    #[error("invalid {key}: {reason}")]
    Invalid {
        /// The setting.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
}

pub(crate) fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        reason: reason.into(),
    }
}

/// Which command's defaults apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// `run` and the management commands: system paths, agent API on every interface.
    #[default]
    Run,
    /// `up`: a local demo in `./.fluidos/hub`, everything on loopback.
    Up,
}

/// Values from flags or the environment (`None`: not given).
#[derive(Debug, Clone, Default)]
pub struct ConfigArgs {
    /// Which defaults apply.
    pub profile: Profile,
    /// `--state-dir` / `FLUIDOS_HUB_STATE_DIR`.
    pub state_dir: Option<PathBuf>,
    /// `--domain` / `FLUIDOS_HUB_DOMAIN` (init only).
    pub domain: Option<String>,
    /// `--agent-listen` / `FLUIDOS_HUB_AGENT_LISTEN`.
    pub agent_listen: Option<SocketAddr>,
    /// `--admin-listen` / `FLUIDOS_HUB_ADMIN_LISTEN`.
    pub admin_listen: Option<SocketAddr>,
    /// `--heartbeat` / `FLUIDOS_HUB_HEARTBEAT`.
    pub heartbeat: Option<Duration>,
    /// `--log-format` / `FLUIDOS_HUB_LOG_FORMAT`.
    pub log_format: Option<LogFormat>,
    /// `--log` / `FLUIDOS_HUB_LOG`.
    pub log: Option<String>,
    /// `--rear-listen` / `FLUIDOS_HUB_REAR_LISTEN`.
    pub rear_listen: Option<SocketAddr>,
}

/// The TOML config file. Every key is optional; unknown keys are errors.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// State directory.
    pub state_dir: Option<PathBuf>,
    /// FLUIDOS domain used by `init`.
    pub domain: Option<String>,
    /// Agent API address.
    pub agent_listen: Option<SocketAddr>,
    /// Admin (health, metrics) address.
    pub admin_listen: Option<SocketAddr>,
    /// Heartbeat interval, e.g. `"10s"`.
    #[serde(default, with = "humantime_serde")]
    pub heartbeat: Option<Duration>,
    /// Agent certificate validity, e.g. `"7d"`.
    #[serde(default, with = "humantime_serde")]
    pub cert_validity: Option<Duration>,
    /// Relative cpu/memory/storage change that rewrites a Flavor (0.05 = 5 %).
    pub flavor_change_threshold: Option<f64>,
    /// `plain` or `json`.
    pub log_format: Option<LogFormat>,
    /// Log filter (`tracing` `EnvFilter` syntax).
    pub log: Option<String>,
    /// Flavor price.
    pub price: Option<PriceFile>,
    /// Flavor partitionability.
    pub partitionability: Option<PartitionabilityFile>,
    /// Flavor location when the agent reports none.
    pub location: Option<LocationFile>,
    /// REAR gateway, peers and trust.
    pub rear: Option<RearFile>,
    /// Where the FLUIDOS objects live: `"sqlite"` (default) or `"kubernetes"`.
    pub store: Option<StoreKind>,
    /// Kubernetes mode.
    pub kubernetes: Option<KubernetesFile>,
}

/// `[price]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceFile {
    /// Amount.
    pub amount: Option<String>,
    /// Currency.
    pub currency: Option<String>,
    /// Period.
    pub period: Option<String>,
}

/// `[partitionability]`: Kubernetes quantities; the keys are the CR keys in snake case.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionabilityFile {
    pub cpu_min: Option<Quantity>,
    pub memory_min: Option<Quantity>,
    pub pods_min: Option<Quantity>,
    pub gpu_min: Option<Quantity>,
    pub cpu_step: Option<Quantity>,
    pub memory_step: Option<Quantity>,
    pub pods_step: Option<Quantity>,
    pub gpu_step: Option<Quantity>,
}

/// `[location]`: free text; the keys are the CR keys in snake case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationFile {
    pub latitude: Option<String>,
    pub longitude: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub additional_notes: Option<String>,
}

impl FileConfig {
    /// Parse TOML text (`path` only names the file in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// Read `path`, or the empty config when there is none.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }
}

/// The resolved hub configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// State directory (identity, PKI, `hub.db`).
    pub state_dir: PathBuf,
    /// FLUIDOS domain for `init` (a running hub takes its domain from `identity.json`).
    pub domain: String,
    /// Agent API address.
    pub agent_listen: SocketAddr,
    /// Admin address.
    pub admin_listen: SocketAddr,
    /// Heartbeat interval (whole seconds, at least one).
    pub heartbeat: Duration,
    /// Agent certificate validity.
    pub cert_validity: Duration,
    /// Relative change that rewrites a Flavor.
    pub flavor_change_threshold: f64,
    /// Price, partitionability, location of Flavors.
    pub flavor: FlavorSettings,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter.
    pub log: String,
    /// REAR gateway, peers and trust.
    pub rear: RearConfig,
    /// The store backend.
    pub store: StoreKind,
    /// Kubernetes-mode settings (defaults unless `store = "kubernetes"`).
    pub kubernetes: KubernetesConfig,
}

impl Config {
    /// Layer `args` over `file` over the defaults of `args.profile`, and validate.
    pub fn resolve(args: &ConfigArgs, file: FileConfig) -> Result<Self, ConfigError> {
        let up = args.profile == Profile::Up;
        let default_agent: SocketAddr = if up {
            ([127, 0, 0, 1], 7443)
        } else {
            ([0, 0, 0, 0], 7443)
        }
        .into();
        let default_state = if up { UP_STATE_DIR } else { DEFAULT_STATE_DIR };
        let rear = RearConfig::resolve(file.rear.unwrap_or_default(), args.rear_listen, up)?;
        let kubernetes = KubernetesConfig::resolve(file.kubernetes.unwrap_or_default())?;
        let config = Self {
            rear,
            store: file.store.unwrap_or_default(),
            kubernetes,
            state_dir: args
                .state_dir
                .clone()
                .or(file.state_dir)
                .unwrap_or_else(|| default_state.into()),
            domain: args
                .domain
                .clone()
                .or(file.domain)
                .unwrap_or_else(|| DEFAULT_DOMAIN.to_owned()),
            agent_listen: args
                .agent_listen
                .or(file.agent_listen)
                .unwrap_or(default_agent),
            admin_listen: args
                .admin_listen
                .or(file.admin_listen)
                .unwrap_or(([127, 0, 0, 1], 9090).into()),
            heartbeat: args
                .heartbeat
                .or(file.heartbeat)
                .unwrap_or(DEFAULT_HEARTBEAT),
            cert_validity: file.cert_validity.unwrap_or(DEFAULT_CERT_VALIDITY),
            flavor_change_threshold: file
                .flavor_change_threshold
                .unwrap_or(DEFAULT_CHANGE_THRESHOLD),
            flavor: FlavorSettings {
                price: price(file.price.unwrap_or_default()),
                partitionability: partitionability(file.partitionability.unwrap_or_default()),
                location: file.location.map(location),
            },
            log_format: args.log_format.or(file.log_format).unwrap_or_default(),
            log: args
                .log
                .clone()
                .or(file.log)
                .unwrap_or_else(|| DEFAULT_LOG.to_owned()),
        };
        config.validate()?;
        Ok(config)
    }

    /// Namespace of the FLUIDOS objects: `[kubernetes] namespace` in Kubernetes mode, else
    /// the embedded store's fixed `fluidos`.
    pub fn namespace(&self) -> &str {
        match self.store {
            StoreKind::Kubernetes => &self.kubernetes.namespace,
            StoreKind::Sqlite => fluidos_protocol::DEFAULT_NAMESPACE,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.state_dir.as_os_str().is_empty() {
            return Err(invalid("state_dir", "must not be empty"));
        }
        if !valid_domain(&self.domain) {
            return Err(invalid(
                "domain",
                format!("{:?} is not a lowercase DNS name", self.domain),
            ));
        }
        let h = self.heartbeat;
        if h < Duration::from_secs(1) || h > MAX_HEARTBEAT || h.subsec_nanos() != 0 {
            return Err(invalid(
                "heartbeat",
                "must be whole seconds between 1s and 1h",
            ));
        }
        if !(MIN_CERT_VALIDITY..=MAX_CERT_VALIDITY).contains(&self.cert_validity) {
            return Err(invalid("cert_validity", "must be between 1m and 398d"));
        }
        if !(0.0..=1.0).contains(&self.flavor_change_threshold) {
            return Err(invalid(
                "flavor_change_threshold",
                "must be between 0 and 1",
            ));
        }
        let p = &self.flavor.partitionability;
        let all = [
            p.cpu_min,
            p.memory_min,
            p.pods_min,
            p.gpu_min,
            p.cpu_step,
            p.memory_step,
            p.pods_step,
            p.gpu_step,
        ];
        if all.iter().any(Quantity::is_negative) {
            return Err(invalid(
                "partitionability",
                "quantities must not be negative",
            ));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log)
            .map_err(|e| invalid("log", e.to_string()))?;
        Ok(())
    }
}

fn price(p: PriceFile) -> Price {
    Price {
        amount: p.amount.unwrap_or_default(),
        currency: p.currency.unwrap_or_default(),
        period: p.period.unwrap_or_default(),
    }
}

fn partitionability(p: PartitionabilityFile) -> Partitionability {
    let d = default_partitionability();
    Partitionability {
        cpu_min: p.cpu_min.unwrap_or(d.cpu_min),
        memory_min: p.memory_min.unwrap_or(d.memory_min),
        pods_min: p.pods_min.unwrap_or(d.pods_min),
        gpu_min: p.gpu_min.unwrap_or(d.gpu_min),
        cpu_step: p.cpu_step.unwrap_or(d.cpu_step),
        memory_step: p.memory_step.unwrap_or(d.memory_step),
        pods_step: p.pods_step.unwrap_or(d.pods_step),
        gpu_step: p.gpu_step.unwrap_or(d.gpu_step),
    }
}

fn location(l: LocationFile) -> Location {
    Location {
        latitude: l.latitude,
        longitude: l.longitude,
        country: l.country,
        city: l.city,
        additional_notes: l.additional_notes,
    }
}

#[cfg(test)]
mod tests;
