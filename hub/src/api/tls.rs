//! The agent API's two rustls server configurations and the peer-identity check.
//!
//! * enrollment (ALPN `fluidos-enroll/1`): server certificate only;
//! * agent: client certificate **required**, verified against the hub CA (webpki also checks
//!   validity time, so expired certificates fail the handshake).
//!
//! Both use the ring provider explicitly, so they do not depend on a process-wide default.

use std::path::Path;
use std::sync::Arc;

use fluidos_protocol::ALPN_ENROLL;
use fluidos_protocol::identity::Identity;
use rustls::server::{ClientHello, WebPkiClientVerifier};
use rustls::{ServerConfig, ServerConnection};

use super::AgentPeer;
use crate::pki::{self, Pki, PkiError};

/// ALPN protocols of the agent (mutual TLS) configuration: HTTP/1.1 only.
const AGENT_ALPN: &[&[u8]] = &[b"http/1.1"];

/// Why the TLS configurations cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The server certificate or key cannot be loaded.
    #[error("cannot load the hub server certificate")]
    Pki(#[from] PkiError),
    /// rustls refused the certificate, key or protocol versions.
    #[error("invalid TLS server configuration")]
    Rustls(#[from] rustls::Error),
    /// The client verifier cannot be built (e.g. no CA).
    #[error("cannot build the client certificate verifier")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

/// The enrollment and agent server configurations.
#[derive(Debug, Clone)]
pub struct TlsConfigs {
    /// Enrollment: no client authentication.
    pub enroll: Arc<ServerConfig>,
    /// Reports and renewals: client certificate required.
    pub agent: Arc<ServerConfig>,
}

impl TlsConfigs {
    /// Build both from the hub PKI in `state_dir`.
    pub fn new(pki: &Pki, state_dir: &Path) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let (chain, key) = pki.server_cert_chain(state_dir)?;

        let mut enroll = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain.clone(), key.clone_key())?;
        enroll.alpn_protocols = vec![ALPN_ENROLL.to_vec()];

        let verifier = WebPkiClientVerifier::builder_with_provider(
            Arc::new(pki.client_roots()),
            Arc::clone(&provider),
        )
        .build()?;
        let mut agent = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)?;
        agent.alpn_protocols = AGENT_ALPN.iter().map(|p| p.to_vec()).collect();

        Ok(Self {
            enroll: Arc::new(enroll),
            agent: Arc::new(agent),
        })
    }
}

/// Whether the client offers the enrollment ALPN.
pub fn wants_enrollment(hello: &ClientHello<'_>) -> bool {
    hello
        .alpn()
        .is_some_and(|mut protocols| protocols.any(|p| p == ALPN_ENROLL))
}

/// The agent a verified client certificate names, or why it cannot be served: not an agent
/// identity, or an agent of another domain. (Revocation is checked per request.)
pub fn check_peer(conn: &ServerConnection, domain: &str) -> Result<AgentPeer, &'static str> {
    let der = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or("no client certificate")?;
    let peer = pki::peer_cert(der).map_err(|_| "certificate names no FLUIDOS identity")?;
    agent_of(peer.identity, peer.serial_hex, domain)
}

/// The pure part of [`check_peer`].
pub fn agent_of(
    identity: Identity,
    serial_hex: String,
    domain: &str,
) -> Result<AgentPeer, &'static str> {
    match identity {
        Identity::Agent { domain: d, node } if d == domain => Ok(AgentPeer { node, serial_hex }),
        Identity::Agent { .. } => Err("agent certificate of another domain"),
        Identity::Node { .. } => Err("certificate is a node identity, not an agent"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_agents_of_our_domain_are_accepted() {
        let agent = |d: &str| Identity::Agent {
            domain: d.into(),
            node: "pi-1".into(),
        };
        let ok = agent_of(agent("fluidos.eu"), "01ab".into(), "fluidos.eu").unwrap();
        assert_eq!(
            ok,
            AgentPeer {
                node: "pi-1".into(),
                serial_hex: "01ab".into()
            }
        );
        assert!(agent_of(agent("other.eu"), "01".into(), "fluidos.eu").is_err());
        let node = Identity::Node {
            domain: "fluidos.eu".into(),
            node_id: "abc".into(),
        };
        assert!(agent_of(node, "01".into(), "fluidos.eu").is_err());
    }
}
