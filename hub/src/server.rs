//! Hub lifecycle: [`init`] a state directory, [`Hub::start`] (open state → bind → spawn every
//! task on one `TaskTracker`), and [`RunningHub::join`] (drain, then the final ingest flush).
//! `run`, `up` and in-process tests all go through here, so there is one code path.
//!
//! This module wires components; it makes no protocol decisions of its own.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fluidos_protocol::token::BootstrapToken;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::admin::{self, AdminState, Metrics};
use crate::api::{self, AppState, Revocations, TlsConfigs, tls::TlsError};
use crate::config::{Config, StoreKind};
use crate::hub_identity::{HubIdentity, HubIdentityError};
use crate::ingest::{IngestError, Ingestor};
use crate::k8s::connect::Connection;
use crate::lrm::{Lrm, LrmConfig, LrmError};
use crate::pki::{Pki, PkiError};
use crate::rear::node::{RearInputs, RearListeners, RearNode};
use crate::registry::{Registry, RegistryError};
use crate::store::{DB_FILE, SqliteStore, Store, StoreError};
use crate::{liveness, shutdown};

mod kube_mode;
mod run_file;

pub use run_file::{RUN_FILE, RunFile};

/// Why the hub cannot be initialised, started or stopped cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// `init` found an identity already.
    #[error("{0} is already initialised (identity.json exists)")]
    AlreadyInitialised(PathBuf),
    /// No identity: `init` was never run.
    #[error("{0} is not initialised; run `fluidos-hub --state-dir {0} init` first")]
    NotInitialised(PathBuf),
    /// The state directory cannot be created.
    #[error("cannot create state directory {path}")]
    StateDir {
        /// The directory.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The identity file.
    #[error(transparent)]
    Identity(#[from] HubIdentityError),
    /// The CA or server certificate.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// The TLS configuration.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The registry.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The resource store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Loading or flushing ingest state.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// Loading the Flavors.
    #[error(transparent)]
    Lrm(#[from] LrmError),
    /// A listener cannot be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// `run.json` cannot be written.
    #[error("cannot write {path}")]
    RunFile {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// REAR could not start.
    #[error(transparent)]
    Rear(#[from] crate::rear::node::RearStartError),
    /// A blocking task died.
    /// The Kubernetes peering settings are unusable.
    #[error("invalid [kubernetes] peering settings")]
    Peering(#[source] crate::k8s::peering::PeeringSettingsError),
    /// The Kubernetes API server cannot be reached.
    #[error(transparent)]
    Kube(#[from] crate::k8s::connect::ConnectError),
    #[error("background task failed")]
    Join(#[from] tokio::task::JoinError),
}

/// Options of [`init`].
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// FLUIDOS domain.
    pub domain: String,
    /// Node id (random when `None`).
    pub node_id: Option<String>,
    /// Extra DNS/IP SANs of the server certificate.
    pub sans: Vec<String>,
}

/// Create the state directory (0700), CA and server certificate, `hub.db`, and finally
/// `identity.json`, which marks the directory initialised. Refuses an initialised directory.
pub fn init(state_dir: &Path, options: &InitOptions) -> Result<(HubIdentity, Pki), ServerError> {
    if HubIdentity::exists(state_dir) {
        return Err(ServerError::AlreadyInitialised(state_dir.to_owned()));
    }
    create_private_dir(state_dir)?;
    let mut identity = HubIdentity::generate(&options.domain);
    if let Some(node_id) = &options.node_id {
        identity.node_id.clone_from(node_id);
    }
    identity.validate()?;
    let pki = Pki::init(state_dir, &identity, &options.sans)?;
    let db = state_dir.join(DB_FILE);
    Registry::open(&db)?;
    drop(SqliteStore::open(&db)?);
    identity.save(state_dir)?;
    Ok((identity, pki))
}

fn create_private_dir(dir: &Path) -> Result<(), ServerError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| ServerError::StateDir {
            path: dir.to_owned(),
            source,
        })
}

/// The hub's state, opened but not serving (also what handler tests run against).
pub struct Opened {
    /// Handler state.
    pub app: Arc<AppState>,
    /// The store.
    pub store: Arc<dyn Store>,
    /// The API server connection (Kubernetes mode only).
    pub kube: Option<Connection>,
}

/// Open everything in `config.state_dir`: identity, PKI, TLS, registry, store, ingest counters,
/// Flavors, revocations.
pub async fn open(config: &Config) -> Result<Opened, ServerError> {
    let dir = config.state_dir.clone();
    let embedded = config.store == StoreKind::Sqlite;
    let (mut identity, pki, tls, registry, sqlite, revoked) =
        tokio::task::spawn_blocking(move || open_files(&dir, embedded)).await??;
    if !config.rear.advertise.is_empty() {
        identity.rear_address.clone_from(&config.rear.advertise);
    }
    let (pki, registry) = (Arc::new(pki), Arc::new(registry));
    let (store, kube) = kube_mode::open_store(config, sqlite).await?;
    let ingestor = Arc::new(Ingestor::load(Arc::clone(&registry)).await?);
    let lrm_config = LrmConfig {
        hub: identity.node_identity(),
        settings: config.flavor.clone(),
        threshold: config.flavor_change_threshold,
        namespace: config.namespace().to_owned(),
    };
    let lrm = Arc::new(Lrm::load(Arc::clone(&store), Arc::clone(&ingestor), lrm_config).await?);
    let metrics = Arc::new(Metrics::new(Arc::clone(&store), Arc::clone(&ingestor)));
    let revocations = Revocations::default();
    revocations.replace(revoked);
    let app = AppState {
        identity,
        pki,
        registry,
        ingestor,
        lrm,
        metrics,
        revocations,
        heartbeat: config.heartbeat,
        cert_validity: config.cert_validity,
        tls,
    };
    Ok(Opened {
        app: Arc::new(app),
        store,
        kube,
    })
}

type Files = (
    HubIdentity,
    Pki,
    TlsConfigs,
    Registry,
    Option<Arc<SqliteStore>>,
    HashSet<String>,
);

/// `embedded`: the FLUIDOS objects live in `hub.db` (else only the registry does).
fn open_files(dir: &Path, embedded: bool) -> Result<Files, ServerError> {
    if !HubIdentity::exists(dir) {
        return Err(ServerError::NotInitialised(dir.to_owned()));
    }
    let identity = HubIdentity::load(dir)?;
    let pki = Pki::load(dir, &identity.domain)?;
    let tls = TlsConfigs::new(&pki, dir)?;
    let db = dir.join(DB_FILE);
    let registry = Registry::open(&db)?;
    let store = if embedded {
        Some(SqliteStore::open(&db)?)
    } else {
        None
    };
    let revoked = registry.revoked_serials()?;
    Ok((identity, pki, tls, registry, store, revoked))
}

/// Bind `addr`; returns the listener and the address it actually got (port 0 resolved).
async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), ServerError> {
    let bind_error = |source| ServerError::Bind { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
    let local = listener.local_addr().map_err(bind_error)?;
    Ok((listener, local))
}

/// Entry point of a hub.
#[derive(Debug)]
pub struct Hub;

impl Hub {
    /// Open the state, bind both listeners, and spawn every task. The hub runs until `shutdown`
    /// is cancelled; then call [`RunningHub::join`].
    pub async fn start(
        config: Config,
        shutdown: CancellationToken,
    ) -> Result<RunningHub, ServerError> {
        let mut config = config;
        let rear_listeners = bind_rear(&config.rear).await?;
        config.rear.advertise = config.rear.advertised(rear_listeners.tls.1);
        let Opened { app, store, kube } = open(&config).await?;
        let (agent, agent_addr) = bind(config.agent_listen).await?;
        let (admin, admin_addr) = bind(config.admin_listen).await?;
        let ready = Arc::new(AtomicBool::new(false));
        let tracker = spawn_tasks(
            &app,
            agent,
            admin,
            Arc::clone(&ready),
            config.heartbeat,
            &shutdown,
        );
        let inputs = RearInputs {
            config: &config.rear,
            state_dir: &config.state_dir,
            pki: &app.pki,
            me: app.identity.node_identity(),
            store: Arc::clone(&store),
            namespace: config.namespace().to_owned(),
            driver: kube_mode::peering_driver(&config, kube.as_ref(), &app.identity)?,
        };
        let rear = crate::rear::node::start(inputs, rear_listeners, &tracker, &shutdown).await;
        tracker.close();
        let rear = match rear {
            Ok((rear, consumer)) => {
                kube_mode::spawn_controllers(&config, kube, consumer, &tracker, &shutdown);
                rear
            }
            Err(error) => {
                shutdown.cancel();
                tracker.wait().await;
                return Err(error.into());
            }
        };
        ready.store(true, Ordering::Release);
        tracing::info!(
            agent_api = %agent_addr,
            admin = %admin_addr,
            rear = %rear.addr,
            identity = %app.identity.uri(),
            heartbeat_seconds = config.heartbeat.as_secs(),
            "hub serving"
        );
        Ok(RunningHub {
            agent_addr,
            admin_addr,
            rear,
            store,
            state_dir: config.state_dir,
            app,
            tracker,
            shutdown,
        })
    }
}

/// Every long-running task of the hub but REAR's, on one tracker (closed by the caller).
fn spawn_tasks(
    app: &Arc<AppState>,
    agent: TcpListener,
    admin: TcpListener,
    ready: Arc<AtomicBool>,
    heartbeat: Duration,
    shutdown: &CancellationToken,
) -> TaskTracker {
    let tracker = TaskTracker::new();
    let admin_state = Arc::new(AdminState {
        metrics: Arc::clone(&app.metrics),
        ready: Arc::clone(&ready),
    });
    tracker.spawn(api::serve(
        agent,
        Arc::clone(app),
        shutdown.clone(),
        shutdown::GRACE,
    ));
    tracker.spawn(admin::serve(
        admin,
        admin_state,
        shutdown.clone(),
        shutdown::GRACE,
    ));
    tracker.spawn(
        app.revocations
            .clone()
            .run_refresher(Arc::clone(&app.registry), shutdown.clone()),
    );
    tracker.spawn(Arc::clone(&app.ingestor).run_flusher(shutdown.clone()));
    tracker.spawn(liveness::run(
        Arc::clone(&app.ingestor),
        Arc::clone(&app.lrm),
        heartbeat,
        shutdown.clone(),
    ));
    // Not ready while draining, so a load balancer stops sending agents here.
    let token = shutdown.clone();
    tracker.spawn(async move {
        token.cancelled().await;
        ready.store(false, Ordering::Release);
    });
    tracker
}

/// Bind the REAR listeners (HTTPS, and plain HTTP when enabled).
async fn bind_rear(config: &crate::config::RearConfig) -> Result<RearListeners, ServerError> {
    let tls = bind(config.listen).await?;
    let plain = match config.plain_listen {
        Some(addr) => Some(bind(addr).await?),
        None => None,
    };
    Ok(RearListeners { tls, plain })
}

/// A started hub.
pub struct RunningHub {
    /// Bound agent API address.
    pub agent_addr: SocketAddr,
    /// Bound admin address.
    pub admin_addr: SocketAddr,
    /// REAR gateway and provider.
    pub rear: RearNode,
    /// The resource store (Flavors).
    pub store: Arc<dyn Store>,
    /// The state directory.
    pub state_dir: PathBuf,
    app: Arc<AppState>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for RunningHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningHub")
            .field("agent_addr", &self.agent_addr)
            .field("admin_addr", &self.admin_addr)
            .finish_non_exhaustive()
    }
}

impl RunningHub {
    /// The hub's identity.
    pub fn identity(&self) -> &HubIdentity {
        &self.app.identity
    }

    /// The CA (for CA hashes, or minting test certificates).
    pub fn pki(&self) -> &Arc<Pki> {
        &self.app.pki
    }

    /// The registry (tokens, agents, revocation).
    pub fn registry(&self) -> &Arc<Registry> {
        &self.app.registry
    }

    /// In-memory ingest state.
    pub fn ingestor(&self) -> &Arc<Ingestor> {
        &self.app.ingestor
    }

    /// The token that stops this hub.
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Mint a bootstrap token (`<id>.<secret>@sha256:<ca hash>`).
    pub async fn create_token(
        &self,
        ttl: Duration,
        uses: u32,
    ) -> Result<BootstrapToken, ServerError> {
        let registry = Arc::clone(&self.app.registry);
        let token = tokio::task::spawn_blocking(move || registry.create_token(ttl, uses)).await??;
        Ok(token.bootstrap_token(self.app.pki.ca_hash()))
    }

    /// Wait for every task to finish (they do once the shutdown token is cancelled), then save
    /// the ingest counters one last time.
    pub async fn join(self) -> Result<(), ServerError> {
        self.tracker.wait().await;
        let saved = self.app.ingestor.flush().await?;
        tracing::info!(nodes = saved, "hub stopped; ingest counters saved");
        Ok(())
    }

    /// Cancel and [`join`](Self::join).
    pub async fn stop(self) -> Result<(), ServerError> {
        self.shutdown.cancel();
        self.join().await
    }
}
