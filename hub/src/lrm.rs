//! The Local Resource Manager: keeps one K8Slice Flavor per agent node in the store.
//!
//! Level-triggered: [`Lrm::reconcile`] reads the node's current state from the [`Ingestor`]
//! (latest sample, liveness), computes the desired spec with the pure [`flavor`] builder, and
//! writes only when [`flavor::needs_write`] says the change is meaningful. An in-memory cache
//! of what was last written (loaded from the store at start, by label) makes the common case,
//! a heartbeat that changes nothing, free of store reads. Flavors are never deleted here.

pub mod flavor;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use fluidos_protocol::flavor::{Flavor, FlavorSpec};
use fluidos_protocol::node::NodeIdentity;
use tokio::sync::Mutex as AsyncMutex;

use crate::ingest::Ingestor;
use crate::store::typed::{create_typed, get_typed, list_typed, update_typed};
use crate::store::{Store, StoreError};

pub use flavor::{AGENT_NODE_LABEL, FlavorSettings, WrittenSpec};

/// How often a freshly generated Flavor name may collide before giving up.
const NAME_ATTEMPTS: usize = 8;

/// Why the LRM could not bring a Flavor up to date.
#[derive(Debug, thiserror::Error)]
pub enum LrmError {
    /// The store failed.
    #[error("flavor store operation failed")]
    Store(#[from] StoreError),
    /// The K8Slice data could not be encoded.
    #[error("cannot encode flavor type data")]
    Encode(#[from] serde_json::Error),
    /// Every generated name was taken.
    #[error("no free flavor name after {NAME_ATTEMPTS} attempts")]
    NoFreeName,
}

/// What a reconcile did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing to act on: the node never reported, or has no sample and no Flavor.
    Skipped,
    /// The Flavor is close enough to the desired state.
    Unchanged,
    /// A Flavor was created with this name.
    Created(String),
    /// The Flavor with this name was updated.
    Updated(String),
}

/// Settings of the LRM.
#[derive(Debug, Clone)]
pub struct LrmConfig {
    /// The hub's node identity (`providerID`, `owner`).
    pub hub: NodeIdentity,
    /// Price, partitionability and default location.
    pub settings: FlavorSettings,
    /// Relative cpu/memory/storage change that triggers a write.
    pub threshold: f64,
    /// Namespace of the Flavors.
    pub namespace: String,
}

/// What the LRM remembers of the Flavor it last wrote for a node: where it is, and its spec in
/// compact form. Everything else about the object is re-read from the store before an update,
/// so that thousands of agent nodes do not each keep a whole Flavor in memory.
#[derive(Debug)]
struct Written {
    namespace: String,
    name: String,
    spec: WrittenSpec,
}

impl From<Flavor> for Written {
    fn from(flavor: Flavor) -> Self {
        Self {
            namespace: flavor.metadata.namespace,
            name: flavor.metadata.name,
            spec: WrittenSpec::new(flavor.spec),
        }
    }
}

/// The LRM: see the module documentation.
pub struct Lrm {
    store: Arc<dyn Store>,
    ingestor: Arc<Ingestor>,
    config: LrmConfig,
    /// node → last written Flavor; the async mutex serialises writes per node.
    nodes: Mutex<HashMap<String, Arc<AsyncMutex<Option<Written>>>>>,
    /// Nodes whose last reconcile failed, retried by [`Lrm::retry_failed`].
    failed: Mutex<BTreeSet<String>>,
}

impl std::fmt::Debug for Lrm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lrm")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Lrm {
    /// Load the agent Flavors already in the store and build the LRM.
    pub async fn load(
        store: Arc<dyn Store>,
        ingestor: Arc<Ingestor>,
        config: LrmConfig,
    ) -> Result<Self, LrmError> {
        let mut nodes: HashMap<String, Arc<AsyncMutex<Option<Written>>>> = HashMap::new();
        let mut flavors = list_typed::<Flavor>(store.as_ref(), Some(&config.namespace)).await?;
        // Oldest first, so a duplicate (which should not exist) never shadows the original.
        flavors.sort_by(|a, b| {
            a.metadata
                .creation_timestamp
                .cmp(&b.metadata.creation_timestamp)
        });
        for flavor in flavors {
            let Some(node) = flavor::agent_node(&flavor).map(str::to_owned) else {
                continue;
            };
            if nodes.contains_key(&node) {
                tracing::warn!(node = %node, ignored = %flavor.metadata.name, "second Flavor for one agent node");
                continue;
            }
            nodes.insert(node, Arc::new(AsyncMutex::new(Some(Written::from(flavor)))));
        }
        tracing::info!(flavors = nodes.len(), "loaded agent Flavors");
        Ok(Self {
            store,
            ingestor,
            config,
            nodes: Mutex::new(nodes),
            failed: Mutex::new(BTreeSet::new()),
        })
    }

    fn entry(&self, node: &str) -> Arc<AsyncMutex<Option<Written>>> {
        let mut nodes = self.nodes.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(nodes.entry(node.to_owned()).or_default())
    }

    /// Bring the Flavor of `node` in line with its current sample and liveness.
    pub async fn reconcile(&self, node: &str) -> Result<Action, LrmError> {
        let result = self.reconcile_inner(node).await;
        let mut failed = self.failed.lock().unwrap_or_else(PoisonError::into_inner);
        if result.is_err() {
            failed.insert(node.to_owned());
        } else {
            failed.remove(node);
        }
        result
    }

    /// Reconcile again every node whose last reconcile failed (called by the sweeper).
    pub async fn retry_failed(&self) {
        let nodes: Vec<String> = {
            let failed = self.failed.lock().unwrap_or_else(PoisonError::into_inner);
            failed.iter().cloned().collect()
        };
        for node in nodes {
            if let Err(error) = self.reconcile(&node).await {
                tracing::warn!(node = %node, error = %crate::telemetry::chain(&error), "Flavor update still failing");
            }
        }
    }

    async fn reconcile_inner(&self, node: &str) -> Result<Action, LrmError> {
        let entry = self.entry(node);
        let mut written = entry.lock().await;
        // A node the ingestor does not know has told us nothing to act on.
        let Some(snapshot) = self.ingestor.snapshot(node) else {
            return Ok(Action::Skipped);
        };
        let desired = match (&snapshot.sample, written.as_ref()) {
            (Some(sample), _) => flavor::desired_spec(
                &self.config.hub,
                &self.config.settings,
                sample.as_ref().into(),
                snapshot.live,
            )?,
            // No sample since the hub started: only the availability can be brought up to date
            // (and when it is right, nothing else differs).
            (None, Some(current)) if current.spec.availability() == snapshot.live => {
                return Ok(Action::Unchanged);
            }
            (None, Some(current)) => FlavorSpec {
                availability: snapshot.live,
                ..current.spec.to_spec()
            },
            (None, None) => return Ok(Action::Skipped),
        };
        let action = match written.as_ref() {
            Some(current) if !current.spec.needs_write(&desired, self.config.threshold) => {
                return Ok(Action::Unchanged);
            }
            Some(current) => self.update(node, current, desired).await?,
            None => self.create(node, desired).await?,
        };
        let (name, stored) = action;
        *written = Some(Written::from(stored));
        Ok(name)
    }

    /// Create the Flavor of `node` under its stable name; when that exists and is this
    /// board's (an earlier create whose reply was lost), adopt and update it; when another
    /// board has it, retry random names.
    async fn create(&self, node: &str, spec: FlavorSpec) -> Result<(Action, Flavor), LrmError> {
        let domain = &self.config.hub.domain;
        for attempt in 0..NAME_ATTEMPTS {
            let name = if attempt == 0 {
                flavor::stable_flavor_name(domain, node)
            } else {
                flavor::flavor_name(domain)
            };
            let mut new = flavor::new_flavor(name.clone(), node, spec.clone());
            new.metadata.namespace.clone_from(&self.config.namespace);
            match create_typed(self.store.as_ref(), &new).await {
                Ok(stored) => {
                    tracing::info!(node = %node, flavor = %name, available = spec.availability, "created Flavor");
                    return Ok((Action::Created(name), stored));
                }
                Err(StoreError::AlreadyExists { .. }) => {
                    if let Some(ours) = self.own_flavor(&name, node).await? {
                        tracing::info!(node = %node, flavor = %name, "found this board's Flavor under its stable name");
                        let stored =
                            update_typed(self.store.as_ref(), &Flavor { spec, ..ours }).await?;
                        return Ok((Action::Updated(name), stored));
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(LrmError::NoFreeName)
    }

    /// The Flavor `name` if it belongs to agent `node`.
    async fn own_flavor(&self, name: &str, node: &str) -> Result<Option<Flavor>, LrmError> {
        let found = get_typed::<Flavor>(self.store.as_ref(), &self.config.namespace, name).await?;
        Ok(found.filter(|f| flavor::agent_node(f) == Some(node)))
    }

    /// Replace the spec of the Flavor `current` names (read from the store, so whatever else
    /// changed in it is kept); on a conflict re-read once and retry. A Flavor deleted behind our
    /// back is created again.
    async fn update(
        &self,
        node: &str,
        current: &Written,
        spec: FlavorSpec,
    ) -> Result<(Action, Flavor), LrmError> {
        let store = self.store.as_ref();
        let name = current.name.clone();
        let mut retried = false;
        let result = loop {
            let Some(fresh) = get_typed::<Flavor>(store, &current.namespace, &name).await? else {
                return self.create(node, spec).await;
            };
            let next = Flavor {
                spec: spec.clone(),
                ..fresh
            };
            match update_typed(store, &next).await {
                Err(StoreError::Conflict { .. }) if !retried => retried = true,
                other => break other,
            }
        };
        match result {
            Ok(stored) => {
                tracing::info!(node = %node, flavor = %name, available = spec.availability, "updated Flavor");
                Ok((Action::Updated(name), stored))
            }
            Err(StoreError::NotFound { .. }) => self.create(node, spec).await,
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
#[path = "lrm/writer_tests.rs"]
mod tests;
