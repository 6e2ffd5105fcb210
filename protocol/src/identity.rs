//! Identities carried in certificates as URI SANs, and node-name rules.
//!
//! * an agent: `fluidos://<domain>/agents/<node>`
//! * a hub (FLUIDOS node): `fluidos://<domain>/nodes/<nodeID>`
//!
//! Handlers authorize by these identities, never by an address or a body field.

use std::fmt;

/// URI scheme of FLUIDOS identities.
pub const SCHEME: &str = "fluidos://";

/// Who a certificate names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    /// An edge agent enrolled with the hub of `domain`.
    Agent {
        /// FLUIDOS domain of the hub.
        domain: String,
        /// Node (board) name.
        node: String,
    },
    /// A FLUIDOS node (hub).
    Node {
        /// FLUIDOS domain.
        domain: String,
        /// Node id.
        node_id: String,
    },
}

/// Why a URI is not a FLUIDOS identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// Not `fluidos://`.
    #[error("identity {0:?} does not start with fluidos://")]
    Scheme(String),
    /// Not `<domain>/(agents|nodes)/<name>`.
    #[error(
        "identity {0:?} is not fluidos://<domain>/agents/<node> or fluidos://<domain>/nodes/<id>"
    )]
    Shape(String),
    /// The domain or name has characters outside the allowed set.
    #[error("identity {0:?} has an invalid domain or name")]
    Invalid(String),
}

impl Identity {
    /// Parse a URI SAN.
    pub fn parse(uri: &str) -> Result<Self, IdentityError> {
        let rest = uri
            .strip_prefix(SCHEME)
            .ok_or_else(|| IdentityError::Scheme(uri.to_owned()))?;
        let mut parts = rest.split('/');
        let (Some(domain), Some(role), Some(name), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(IdentityError::Shape(uri.to_owned()));
        };
        if !valid_domain(domain) || !valid_node_name(name) {
            return Err(IdentityError::Invalid(uri.to_owned()));
        }
        match role {
            "agents" => Ok(Self::Agent {
                domain: domain.to_owned(),
                node: name.to_owned(),
            }),
            "nodes" => Ok(Self::Node {
                domain: domain.to_owned(),
                node_id: name.to_owned(),
            }),
            _ => Err(IdentityError::Shape(uri.to_owned())),
        }
    }

    /// The URI SAN form.
    pub fn to_uri(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Agent { domain, node } => write!(f, "{SCHEME}{domain}/agents/{node}"),
            Self::Node { domain, node_id } => write!(f, "{SCHEME}{domain}/nodes/{node_id}"),
        }
    }
}

/// A DNS-1123 label: 1–63 of `[a-z0-9-]`, starting and ending alphanumeric.
pub fn valid_node_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// A DNS-1123 subdomain: dot-separated labels, at most 253 characters.
pub fn valid_domain(domain: &str) -> bool {
    domain.len() <= 253 && domain.split('.').all(valid_node_name)
}

/// Turn a host name into a valid node name (lowercase; other characters become `-`).
///
/// Returns `None` when nothing usable remains (e.g. an empty or all-symbol host name).
pub fn node_name_from_hostname(host: &str) -> Option<String> {
    let mapped: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    let trimmed = mapped.trim_matches('-').to_owned();
    valid_node_name(&trimmed).then_some(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_agent_and_node_identities() {
        assert_eq!(
            Identity::parse("fluidos://fluidos.eu/agents/pi-1").unwrap(),
            Identity::Agent {
                domain: "fluidos.eu".into(),
                node: "pi-1".into()
            }
        );
        let n = Identity::parse("fluidos://edge.example/nodes/46ltws9per").unwrap();
        assert_eq!(n.to_uri(), "fluidos://edge.example/nodes/46ltws9per");
    }

    #[test]
    fn rejects_malformed_identities() {
        for bad in [
            "https://fluidos.eu/agents/a",
            "fluidos://fluidos.eu/agents",
            "fluidos://fluidos.eu/agents/a/b",
            "fluidos://fluidos.eu/admins/a",
            "fluidos://fluidos.eu/agents/A",
            "fluidos://fluidos.eu/agents/-a",
            "fluidos:///agents/a",
            "",
        ] {
            assert!(Identity::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn hostnames_become_node_names() {
        assert_eq!(
            node_name_from_hostname("Pi_Kitchen.local").as_deref(),
            Some("pi-kitchen-local")
        );
        assert_eq!(node_name_from_hostname("--").as_deref(), None);
        assert_eq!(
            node_name_from_hostname(&"a".repeat(80)).map(|s| s.len()),
            Some(63)
        );
    }
}
