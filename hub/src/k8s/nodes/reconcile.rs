//! Reconcile one node's Flavor from plain Node/Pod objects against the store: compute the
//! desired spec ([`super::flavor::desired`]), compare it with what was last written, and
//! create or update the Flavor when the change is meaningful. A cache of what was written
//! (loaded from the store by label) keeps unchanged reconciles free of store reads.

use std::collections::HashMap;
use std::sync::Arc;

use fluidos_protocol::flavor::{Flavor, FlavorSpec};
use fluidos_protocol::meta::OwnerReference;
use k8s_openapi::api::core::v1::{Node, Pod};

use super::flavor::{self as node_flavor, Desired};
use super::{Action, NodeFlavorSettings, NodeFlavorsError};
use crate::lrm::WrittenSpec;
use crate::lrm::flavor::flavor_name;
use crate::store::typed::{create_typed, get_typed, list_typed, update_typed};
use crate::store::{Store, StoreError};

/// How often a freshly generated Flavor name may collide before giving up.
const NAME_ATTEMPTS: usize = 8;
/// How often an update is retried after a conflict (re-reading each time).
const UPDATE_ATTEMPTS: usize = 4;

/// What is remembered of the Flavor last written for a node.
#[derive(Debug)]
struct Written {
    namespace: String,
    name: String,
    /// uid in the Flavor's ownerReference to the node.
    owner_uid: String,
    spec: WrittenSpec,
}

impl From<Flavor> for Written {
    fn from(flavor: Flavor) -> Self {
        let owner_uid = node_flavor::node_owner(&flavor)
            .map(|o| o.uid.clone())
            .unwrap_or_default();
        Self {
            namespace: flavor.metadata.namespace,
            name: flavor.metadata.name,
            owner_uid,
            spec: WrittenSpec::new(flavor.spec),
        }
    }
}

/// Keeps one Flavor per labelled Node: see the module documentation.
pub struct NodeFlavors {
    store: Arc<dyn Store>,
    settings: NodeFlavorSettings,
    /// node name → its Flavor as last written.
    written: HashMap<String, Written>,
}

impl std::fmt::Debug for NodeFlavors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeFlavors")
            .field("settings", &self.settings)
            .field("flavors", &self.written.len())
            .finish_non_exhaustive()
    }
}

impl NodeFlavors {
    /// Load the node Flavors already in the settings' namespace.
    pub async fn load(
        store: Arc<dyn Store>,
        settings: NodeFlavorSettings,
    ) -> Result<Self, NodeFlavorsError> {
        let mut flavors = list_typed::<Flavor>(store.as_ref(), Some(&settings.namespace)).await?;
        // Oldest first, so a duplicate (which should not exist) never shadows the original.
        flavors.sort_by(|a, b| {
            a.metadata
                .creation_timestamp
                .cmp(&b.metadata.creation_timestamp)
        });
        let mut written = HashMap::new();
        for flavor in flavors {
            let Some(node) = node_flavor::flavor_node(&flavor).map(str::to_owned) else {
                continue;
            };
            if written.contains_key(&node) {
                tracing::warn!(node = %node, ignored = %flavor.metadata.name, "second Flavor for one Kubernetes node");
                continue;
            }
            written.insert(node, Written::from(flavor));
        }
        tracing::info!(flavors = written.len(), "loaded Kubernetes node Flavors");
        Ok(Self {
            store,
            settings,
            written,
        })
    }

    /// The nodes that have a Flavor.
    pub fn nodes(&self) -> Vec<String> {
        self.written.keys().cloned().collect()
    }

    /// Bring the Flavor of the node `name` in line with `node` (`None`: deleted or no longer
    /// labelled) and the pods in `pods` (those not bound to it are ignored).
    pub async fn reconcile(
        &mut self,
        name: &str,
        node: Option<&Node>,
        pods: &[&Pod],
    ) -> Result<Action, NodeFlavorsError> {
        let owner = node.and_then(node_flavor::owner_reference);
        let current = self.written.get(name);
        let spec = match (node_flavor::desired(&self.settings, node, pods)?, current) {
            (Desired::Offer(spec), _) => spec,
            (Desired::Withdraw, Some(current)) => FlavorSpec {
                availability: false,
                ..current.spec.to_spec()
            },
            (Desired::Withdraw, None) => return Ok(Action::Skipped),
        };
        let outcome = match (current, owner) {
            (Some(current), owner) => {
                let owner_moved = owner.as_ref().is_some_and(|o| o.uid != current.owner_uid);
                if !owner_moved && !current.spec.needs_write(&spec, self.settings.threshold) {
                    return Ok(Action::Unchanged);
                }
                self.update(current, spec, owner).await?
            }
            (None, Some(owner)) => Some(self.create(owner, spec).await?),
            (None, None) => None,
        };
        let Some((action, stored)) = outcome else {
            self.written.remove(name);
            return Ok(Action::Skipped);
        };
        self.written.insert(name.to_owned(), Written::from(stored));
        Ok(action)
    }

    /// Create the Flavor of the node `owner` refers to, retrying name collisions.
    async fn create(
        &self,
        owner: OwnerReference,
        spec: FlavorSpec,
    ) -> Result<(Action, Flavor), NodeFlavorsError> {
        for _ in 0..NAME_ATTEMPTS {
            let name = flavor_name(&self.settings.hub.domain);
            let new = node_flavor::new_node_flavor(
                name.clone(),
                &self.settings.namespace,
                owner.clone(),
                spec.clone(),
            );
            match create_typed(self.store.as_ref(), &new).await {
                Ok(stored) => {
                    tracing::info!(node = %owner.name, flavor = %name, available = spec.availability, "created node Flavor");
                    return Ok((Action::Created(name), stored));
                }
                Err(StoreError::AlreadyExists { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(NodeFlavorsError::NoFreeName)
    }

    /// Replace the spec (and, when `owner` is known, the node ownerReference) of the Flavor
    /// `current` names, re-reading it on every conflict. A Flavor deleted behind our back is
    /// created again while its node exists; `None` when it is gone and so is the node.
    async fn update(
        &self,
        current: &Written,
        spec: FlavorSpec,
        owner: Option<OwnerReference>,
    ) -> Result<Option<(Action, Flavor)>, NodeFlavorsError> {
        let store = self.store.as_ref();
        let mut attempt = 1;
        loop {
            let fresh = get_typed::<Flavor>(store, &current.namespace, &current.name).await?;
            let Some(fresh) = fresh else {
                return self.recreate(owner, spec).await;
            };
            let next = node_flavor::refreshed(fresh, spec.clone(), owner.as_ref());
            match update_typed(store, &next).await {
                Ok(stored) => {
                    tracing::info!(flavor = %current.name, available = spec.availability, "updated node Flavor");
                    return Ok(Some((Action::Updated(current.name.clone()), stored)));
                }
                Err(StoreError::Conflict { .. }) if attempt < UPDATE_ATTEMPTS => attempt += 1,
                Err(StoreError::NotFound { .. }) => return self.recreate(owner, spec).await,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// A new Flavor for a node whose Flavor disappeared, or `None` when the node is gone too.
    async fn recreate(
        &self,
        owner: Option<OwnerReference>,
        spec: FlavorSpec,
    ) -> Result<Option<(Action, Flavor)>, NodeFlavorsError> {
        match owner {
            Some(owner) => Ok(Some(self.create(owner, spec).await?)),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
#[path = "reconcile_tests.rs"]
mod tests;
