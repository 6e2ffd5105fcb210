//! The REAR side of a running hub: binds the HTTPS (mutual TLS) gateway and the opt-in
//! plain-HTTP listener, loads the [`Provider`], and starts the consumer controllers; every task
//! goes on the hub's tracker and stops with its shutdown token.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use fluidos_protocol::node::NodeIdentity;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::client::{ClientSettings, RearClient};
use super::gateway;
use super::peering::PeeringDriver;
use super::provider::{Provider, ProviderSettings};
use super::trust::{PeerTrust, RearTls, TrustError};
use crate::config::RearConfig;
use crate::consumer::{self, ConsumerContext};
use crate::pki::Pki;
use crate::store::{Store, StoreError};

/// Largest REAR response body the client reads (a LIST of 10,000 flavors is ~10 MiB).
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Why REAR cannot start.
#[derive(Debug, thiserror::Error)]
pub enum RearStartError {
    /// Trust material.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Bound REAR listeners.
#[derive(Debug)]
pub struct RearListeners {
    /// HTTPS listener and its address.
    pub tls: (TcpListener, SocketAddr),
    /// Plain-HTTP listener, when enabled.
    pub plain: Option<(TcpListener, SocketAddr)>,
}

/// What the running hub keeps of REAR.
#[derive(Debug, Clone)]
pub struct RearNode {
    /// The provider.
    pub provider: Arc<Provider>,
    /// HTTPS gateway address.
    pub addr: SocketAddr,
    /// Plain-HTTP gateway address.
    pub plain_addr: Option<SocketAddr>,
}

/// Everything [`start`] needs.
pub struct RearInputs<'a> {
    /// `[rear]` settings.
    pub config: &'a RearConfig,
    /// State directory (node certificate).
    pub state_dir: &'a Path,
    /// The hub PKI.
    pub pki: &'a Pki,
    /// Our identity (with the advertised REAR address).
    pub me: NodeIdentity,
    /// The store.
    pub store: Arc<dyn Store>,
    /// Namespace of every object.
    pub namespace: String,
    /// What a purchase hands the buyer.
    pub driver: Arc<dyn PeeringDriver>,
}

/// Start the gateway(s) and the provider's housekeeping; returns the consumer controllers'
/// context for the caller to run ([`consumer::run`]) where it decides (on the leader only
/// when replicated).
pub async fn start(
    inputs: RearInputs<'_>,
    listeners: RearListeners,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
) -> Result<(RearNode, Arc<ConsumerContext>), RearStartError> {
    let config = inputs.config;
    let trust = PeerTrust {
        ca_files: config.trusted_ca_files.clone(),
        fingerprints: config.trusted_fingerprints.clone(),
    };
    let tls = RearTls::new(inputs.pki, inputs.state_dir, &trust)?;
    let settings = ProviderSettings {
        namespace: inputs.namespace.clone(),
        transaction_ttl: config.transaction_ttl,
        contract_duration: config.contract_duration,
    };
    let driver = inputs.driver;
    let (provider, events) = Provider::load(
        Arc::clone(&inputs.store),
        inputs.me.clone(),
        settings,
        driver,
    )
    .await?;
    let grace = crate::shutdown::GRACE;
    let (tls_listener, addr) = listeners.tls;
    tracker.spawn(gateway::serve(
        tls_listener,
        Some(Arc::clone(&tls.server)),
        Arc::clone(&provider),
        shutdown.clone(),
        grace,
    ));
    let plain_addr = listeners.plain.map(|(listener, plain)| {
        tracing::warn!(address = %plain, "REAR plain-HTTP listener enabled: peers on it are NOT authenticated");
        tracker.spawn(gateway::serve(listener, None, Arc::clone(&provider), shutdown.clone(), grace));
        plain
    });
    tracker.spawn(Arc::clone(&provider).run(events, shutdown.clone()));
    let client = RearClient::new(
        Some(Arc::clone(&tls.client)),
        ClientSettings {
            timeout: config
                .discovery_timeout
                .max(std::time::Duration::from_secs(10)),
            max_body: MAX_RESPONSE_BYTES,
        },
    )
    .allow_plain(config.allow_plain_peers);
    let ctx = ConsumerContext {
        store: inputs.store,
        client,
        me: inputs.me,
        namespace: inputs.namespace,
        peers: config.peers.clone(),
        discovery_timeout: config.discovery_timeout,
        step_timeout: config.step_timeout,
        hold_margin: consumer::DEFAULT_HOLD_MARGIN,
    };
    tracing::info!(address = %addr, "REAR gateway serving (mutual TLS)");
    let node = RearNode {
        provider,
        addr,
        plain_addr,
    };
    Ok((node, Arc::new(ctx)))
}
