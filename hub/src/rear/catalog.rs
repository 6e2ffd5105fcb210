//! The provider's in-memory catalog of its Flavors, kept in step with the store's watch, so
//! that a REAR LIST among thousands of Flavors reads no store and serialises nothing for the
//! Flavors no one has reserved: each entry keeps its wire JSON ready.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use fluidos_protocol::flavor::{Characteristics, FLAVOR_KIND, Flavor, Partitionability};
use fluidos_protocol::rear::WireFlavor;
use hyper::body::Bytes;

use crate::store::{StoredObject, WatchEvent, decode};

/// One Flavor as the gateway serves it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The Flavor (CR form).
    pub flavor: Arc<Flavor>,
    /// K8Slice capacity and policy; `None` for other types (or undecodable data).
    pub k8slice: Option<(Characteristics, Partitionability)>,
    /// Wire JSON of the Flavor at full capacity; `None` when it has no wire form.
    pub wire: Option<Bytes>,
}

impl Entry {
    /// Build the entry of a Flavor.
    pub fn new(flavor: Flavor) -> Self {
        let k8slice = flavor
            .spec
            .flavor_type
            .k8slice()
            .and_then(Result::ok)
            .map(|d| (d.characteristics, d.policies.partitionability));
        let wire = WireFlavor::from_cr(&flavor)
            .ok()
            .and_then(|w| serde_json::to_vec(&w).ok())
            .map(Bytes::from);
        Self {
            flavor: Arc::new(flavor),
            k8slice,
            wire,
        }
    }
}

/// Flavors by name (one namespace).
#[derive(Debug, Default)]
pub struct Catalog {
    namespace: String,
    entries: RwLock<BTreeMap<String, Entry>>,
}

impl Catalog {
    /// An empty catalog of the Flavors in `namespace`.
    pub fn new(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            entries: RwLock::default(),
        }
    }

    /// Replace everything with `flavors`.
    pub fn reset(&self, flavors: Vec<Flavor>) {
        let map = flavors
            .into_iter()
            .filter(|f| f.metadata.namespace == self.namespace)
            .map(|f| (f.metadata.name.clone(), Entry::new(f)))
            .collect();
        *self.entries.write().unwrap_or_else(PoisonError::into_inner) = map;
    }

    /// Apply one store change (other kinds and namespaces are ignored).
    pub fn apply(&self, event: &WatchEvent) {
        let obj: &StoredObject = event.object();
        if obj.kind != FLAVOR_KIND || obj.namespace != self.namespace {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        match event {
            WatchEvent::Deleted(_) => {
                entries.remove(&obj.name);
            }
            WatchEvent::Applied(_) => match decode::<Flavor>(obj) {
                Ok(flavor) => {
                    entries.insert(obj.name.clone(), Entry::new(flavor));
                }
                Err(error) => {
                    tracing::warn!(flavor = %obj.name, %error, "undecodable Flavor left out of the REAR catalog");
                    entries.remove(&obj.name);
                }
            },
        }
    }

    /// One entry.
    pub fn get(&self, name: &str) -> Option<Entry> {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// Run `f` over every entry, in name order, under one read lock.
    pub fn for_each(&self, f: impl FnMut(&Entry)) {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        entries.values().for_each(f);
    }

    /// Number of Flavors.
    pub fn len(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
