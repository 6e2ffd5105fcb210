//! `[rear]`: where the REAR gateway listens and is reached, which peers are trusted and
//! queried, and the REAR deadlines. Pure: [`RearFile`] in, validated [`RearConfig`] out.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, invalid};

/// Default REAR port (upstream's gateway listens on 3004).
pub const DEFAULT_REAR_PORT: u16 = 3004;

/// `[rear]` in the config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RearFile {
    /// HTTPS (mutual TLS) listener.
    pub listen: Option<SocketAddr>,
    /// `host:port` peers use to reach us (advertised in our Flavors); default: `listen`.
    pub advertise: Option<String>,
    /// Opt-in plain-HTTP listener for stock upstream peers (unauthenticated).
    pub plain_listen: Option<SocketAddr>,
    /// Allow plain-HTTP peers (`http://host:port`) when buying.
    pub allow_plain_peers: Option<bool>,
    /// PEM CA bundles whose certificates identify trusted peer nodes.
    pub trusted_ca_files: Option<Vec<PathBuf>>,
    /// Pinned SHA-256 fingerprints of trusted peer node certificates (`sha256:<hex>`).
    pub trusted_fingerprints: Option<Vec<String>>,
    /// Static peers' REAR addresses (`host:port` or `http://host:port`).
    pub peers: Option<Vec<String>>,
    /// How long a reservation holds capacity, e.g. `"1h"`.
    #[serde(default, with = "humantime_serde")]
    pub transaction_ttl: Option<Duration>,
    /// How long a contract lasts, e.g. `"365days"`.
    #[serde(default, with = "humantime_serde")]
    pub contract_duration: Option<Duration>,
    /// Per-peer deadline of a discovery request.
    #[serde(default, with = "humantime_serde")]
    pub discovery_timeout: Option<Duration>,
    /// Deadline of each solver step (finding a candidate, reserving and buying).
    #[serde(default, with = "humantime_serde")]
    pub step_timeout: Option<Duration>,
}

/// The resolved `[rear]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RearConfig {
    /// HTTPS listener.
    pub listen: SocketAddr,
    /// Advertised `host:port` (empty: derived from the bound address at start).
    pub advertise: String,
    /// Plain-HTTP listener, when enabled.
    pub plain_listen: Option<SocketAddr>,
    /// Whether plain-HTTP peers may be bought from.
    pub allow_plain_peers: bool,
    /// Trusted CA bundles.
    pub trusted_ca_files: Vec<PathBuf>,
    /// Pinned fingerprints (already parsed).
    pub trusted_fingerprints: Vec<[u8; 32]>,
    /// Static peers.
    pub peers: Vec<String>,
    /// Hold duration.
    pub transaction_ttl: Duration,
    /// Contract duration.
    pub contract_duration: Duration,
    /// Per-peer discovery deadline.
    pub discovery_timeout: Duration,
    /// Solver step deadline.
    pub step_timeout: Duration,
}

impl RearConfig {
    /// Resolve `file` over the defaults; `listen_flag` (`--rear-listen`) wins over the file.
    pub fn resolve(
        file: RearFile,
        listen_flag: Option<SocketAddr>,
        loopback: bool,
    ) -> Result<Self, ConfigError> {
        let ip: [u8; 4] = if loopback {
            [127, 0, 0, 1]
        } else {
            [0, 0, 0, 0]
        };
        let fingerprints = file
            .trusted_fingerprints
            .unwrap_or_default()
            .iter()
            .map(|f| {
                crate::rear::trust::parse_fingerprint(f)
                    .map_err(|e| invalid("rear.trusted_fingerprints", e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let config = Self {
            listen: listen_flag
                .or(file.listen)
                .unwrap_or((ip, DEFAULT_REAR_PORT).into()),
            advertise: file.advertise.unwrap_or_default(),
            plain_listen: file.plain_listen,
            allow_plain_peers: file.allow_plain_peers.unwrap_or(false),
            trusted_ca_files: file.trusted_ca_files.unwrap_or_default(),
            trusted_fingerprints: fingerprints,
            peers: file.peers.unwrap_or_default(),
            transaction_ttl: file.transaction_ttl.unwrap_or(Duration::from_secs(3600)),
            contract_duration: file
                .contract_duration
                .unwrap_or(Duration::from_secs(365 * 24 * 3600)),
            discovery_timeout: file.discovery_timeout.unwrap_or(Duration::from_secs(2)),
            step_timeout: file.step_timeout.unwrap_or(Duration::from_secs(120)),
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let second = Duration::from_secs(1);
        for (key, d) in [
            ("rear.transaction_ttl", self.transaction_ttl),
            ("rear.contract_duration", self.contract_duration),
            ("rear.step_timeout", self.step_timeout),
        ] {
            if d < second {
                return Err(invalid(key, "must be at least 1s"));
            }
        }
        if self.discovery_timeout < Duration::from_millis(10) {
            return Err(invalid("rear.discovery_timeout", "must be at least 10ms"));
        }
        if !self.advertise.is_empty() && !self.advertise.contains(':') {
            return Err(invalid("rear.advertise", "must be host:port"));
        }
        Ok(())
    }

    /// The address to advertise once the listener is bound at `bound`.
    pub fn advertised(&self, bound: SocketAddr) -> String {
        if !self.advertise.is_empty() {
            return self.advertise.clone();
        }
        let ip = if bound.ip().is_unspecified() {
            std::net::IpAddr::from([127, 0, 0, 1])
        } else {
            bound.ip()
        };
        SocketAddr::new(ip, bound.port()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_upstream() {
        let c = RearConfig::resolve(RearFile::default(), None, false).unwrap();
        assert_eq!(c.listen.port(), 3004);
        assert_eq!(c.transaction_ttl, Duration::from_secs(3600));
        assert!(!c.allow_plain_peers);
        assert!(c.plain_listen.is_none());
        assert_eq!(
            c.advertised("0.0.0.0:3004".parse().unwrap()),
            "127.0.0.1:3004"
        );
    }

    #[test]
    fn bad_values_are_refused() {
        let file = RearFile {
            trusted_fingerprints: Some(vec!["sha256:zz".into()]),
            ..RearFile::default()
        };
        assert!(RearConfig::resolve(file, None, false).is_err());
        let file = RearFile {
            transaction_ttl: Some(Duration::from_millis(5)),
            ..RearFile::default()
        };
        assert!(RearConfig::resolve(file, None, false).is_err());
    }
}
