//! The consumer side of REAR: the controllers that turn a `Solver` into a bought Contract.
//!
//! * [`controller`]: the work queue fed by store watch events, a periodic resync and
//!   requeue-after deadlines; [`run`] is its entry point.
//! * [`discovery`] (IO) and [`merge`] (pure): query every known peer concurrently, each bounded
//!   by a deadline, and upsert one PeeringCandidate per remote flavor.
//! * [`solver`] (IO) and [`solver_plan`] (pure): upstream's Solver state machine (§4.2) with
//!   real deadlines, `findCandidate=false`, candidate retry, and no stuck phases.
//! * [`candidate`] (pure): which PeeringCandidate to buy and the Reservation that buys it.
//! * [`reservation`] (IO) and [`records`] (pure): reserve → persisted Transaction → purchase →
//!   Contract (§4.4), resumable after a restart at any point.
//!
//! This module never serves REAR and never touches the provider's objects (Flavors, provider
//! Transactions/Contracts/Allocations): that is [`crate::rear`]'s job.

pub mod candidate;
pub mod controller;
pub mod discovery;
#[cfg(test)]
mod fixtures;
pub mod merge;
pub mod queue;
pub mod records;
pub mod reservation;
pub mod solver;
pub mod solver_plan;
mod update;

use std::sync::Arc;
use std::time::Duration;

use fluidos_protocol::DEFAULT_NAMESPACE;
use fluidos_protocol::node::{AdditionalInformation, NodeIdentity};

use crate::rear::calls::CallError;
use crate::rear::client::RearClient;
use crate::store::{Store, StoreError};

pub use controller::run;

pub use crate::rear::provider::{ROLE_CONSUMER, ROLE_LABEL};
/// Label of a consumer Transaction: the Reservation it was reserved for.
pub const RESERVATION_LABEL: &str = "fluidos.eu/reservation";
/// Label of a consumer Transaction: the uid of that Reservation (a recreated Reservation of the
/// same name never adopts an older Transaction).
pub const RESERVATION_UID_LABEL: &str = "fluidos.eu/reservation-uid";
/// PeeringCandidate annotation: the Reservation currently holding it (`available=false`).
pub const HELD_BY_ANNOTATION: &str = "fluidos.eu/held-by";
/// PeeringCandidate annotation: the REAR address the flavor was discovered at.
pub const ADDRESS_ANNOTATION: &str = "fluidos.eu/rear-address";

/// Default per-peer discovery deadline.
pub const DEFAULT_DISCOVERY_TIMEOUT: Duration = Duration::from_secs(5);
/// Default deadline of a Solver step (upstream's 2 minutes, enforced as a real deadline).
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(120);
/// Default margin: a purchase is not attempted within this time of the hold's expiry.
pub const DEFAULT_HOLD_MARGIN: Duration = Duration::from_secs(30);

/// Everything the consumer controllers need.
#[derive(Clone)]
pub struct ConsumerContext {
    /// The resource store.
    pub store: Arc<dyn Store>,
    /// The REAR client (mutual TLS; plain HTTP only when allowed).
    pub client: RearClient,
    /// Our identity; `ip` is our REAR address.
    pub me: NodeIdentity,
    /// Namespace of every consumer object.
    pub namespace: String,
    /// Static peer REAR addresses from the configuration (KnownClusters are added at
    /// discovery time).
    pub peers: Vec<String>,
    /// Deadline of one peer's LIST_FLAVORS.
    pub discovery_timeout: Duration,
    /// Deadline of a Solver step (find, reserve-and-buy, peering).
    pub step_timeout: Duration,
    /// No purchase is attempted with less than this left on the provider's hold.
    pub hold_margin: Duration,
}

impl std::fmt::Debug for ConsumerContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerContext")
            .field("me", &self.me)
            .field("namespace", &self.namespace)
            .field("peers", &self.peers)
            .field("discovery_timeout", &self.discovery_timeout)
            .field("step_timeout", &self.step_timeout)
            .field("hold_margin", &self.hold_margin)
            .finish_non_exhaustive()
    }
}

impl ConsumerContext {
    /// A context with the default namespace, no static peers and the default timeouts.
    pub fn new(store: Arc<dyn Store>, client: RearClient, me: NodeIdentity) -> Self {
        Self {
            store,
            client,
            me,
            namespace: DEFAULT_NAMESPACE.to_owned(),
            peers: Vec::new(),
            discovery_timeout: DEFAULT_DISCOVERY_TIMEOUT,
            step_timeout: DEFAULT_STEP_TIMEOUT,
            hold_margin: DEFAULT_HOLD_MARGIN,
        }
    }

    /// Our identity as a buyer: `additionalInformation.liqoID` defaults to our node id
    /// (upstream providers refuse a reserve without one).
    pub fn buyer(&self) -> NodeIdentity {
        buyer_identity(&self.me)
    }
}

/// `me` with a non-empty `additionalInformation.liqoID` (the node id when missing).
pub fn buyer_identity(me: &NodeIdentity) -> NodeIdentity {
    let mut buyer = me.clone();
    let info = buyer
        .additional_information
        .get_or_insert_with(AdditionalInformation::default);
    if info.liqo_id.as_deref().is_none_or(str::is_empty) {
        info.liqo_id = Some(me.node_id.clone());
    }
    buyer
}

/// Why a reconcile did not finish; the object is requeued with backoff.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// A store operation failed (conflicts included: the retry re-reads).
    #[error("store operation failed")]
    Store(#[from] StoreError),
    /// A REAR call failed in a way worth retrying before the deadline.
    #[error("REAR call failed, will retry")]
    Retry(#[source] CallError),
    /// An object this one needs is missing or malformed (retried: another writer may fix it).
    #[error("{0}")]
    Blocked(String),
}

/// What to do after a successful reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Nothing until something changes (or the periodic resync).
    Done,
    /// Reconcile again after this long (a deadline, a retry interval).
    After(Duration),
}

impl Next {
    /// The earlier of two requeues.
    #[must_use]
    pub fn min(self, other: Self) -> Self {
        match (self, other) {
            (Self::Done, x) | (x, Self::Done) => x,
            (Self::After(a), Self::After(b)) => Self::After(a.min(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buyer_gets_a_liqo_id() {
        let me = NodeIdentity {
            domain: "d".into(),
            node_id: "n1".into(),
            ip: "h:1".into(),
            additional_information: None,
        };
        let buyer = buyer_identity(&me);
        let liqo = buyer.additional_information.and_then(|a| a.liqo_id);
        assert_eq!(liqo.as_deref(), Some("n1"));
    }

    #[test]
    fn next_min_prefers_the_earlier_requeue() {
        let a = Next::After(Duration::from_secs(1));
        let b = Next::After(Duration::from_secs(5));
        assert_eq!(a.min(b), a);
        assert_eq!(Next::Done.min(b), b);
        assert_eq!(Next::Done.min(Next::Done), Next::Done);
    }
}
