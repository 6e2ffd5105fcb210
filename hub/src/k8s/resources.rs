//! Where each FLUIDOS kind lives on an API server: group, version, plural and short names, as
//! upstream's CRDs declare them (reference §3.1). Every kind is namespaced and `v1alpha1`.

use fluidos_protocol::{allocation, discovery, network, reservation, solver};

/// The version of every FLUIDOS CRD.
pub const VERSION: &str = "v1alpha1";
/// Group of Flavor, Solver, Allocation, ServiceBlueprint.
pub const NODECORE_GROUP: &str = "nodecore.fluidos.eu";
/// Group of Discovery, PeeringCandidate.
pub const ADVERTISEMENT_GROUP: &str = "advertisement.fluidos.eu";
/// Group of Reservation, Transaction, Contract.
pub const RESERVATION_GROUP: &str = "reservation.fluidos.eu";
/// Group of KnownCluster, Broker.
pub const NETWORK_GROUP: &str = "network.fluidos.eu";

/// One FLUIDOS kind on the API server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindInfo {
    /// `kind`, e.g. `Flavor`.
    pub kind: &'static str,
    /// API group, e.g. `nodecore.fluidos.eu`.
    pub group: &'static str,
    /// Plural resource name, e.g. `flavors`.
    pub plural: &'static str,
    /// Short names for kubectl.
    pub short_names: &'static [&'static str],
}

impl KindInfo {
    /// `group/version`, the objects' `apiVersion`.
    pub fn api_version(&self) -> String {
        format!("{}/{VERSION}", self.group)
    }

    /// The CRD's name, `plural.group`.
    pub fn crd_name(&self) -> String {
        format!("{}.{}", self.plural, self.group)
    }
}

/// The eleven FLUIDOS kinds, in upstream's order (§3.1).
pub const KINDS: [KindInfo; 11] = [
    KindInfo {
        kind: "Flavor",
        group: NODECORE_GROUP,
        plural: "flavors",
        short_names: &["fl"],
    },
    KindInfo {
        kind: solver::SOLVER_KIND,
        group: NODECORE_GROUP,
        plural: solver::SOLVER_PLURAL,
        short_names: solver::SOLVER_SHORT_NAMES,
    },
    KindInfo {
        kind: allocation::ALLOCATION_KIND,
        group: NODECORE_GROUP,
        plural: allocation::ALLOCATION_PLURAL,
        short_names: allocation::ALLOCATION_SHORT_NAMES,
    },
    KindInfo {
        kind: "ServiceBlueprint",
        group: NODECORE_GROUP,
        plural: "serviceblueprints",
        short_names: &["sbp"],
    },
    KindInfo {
        kind: discovery::DISCOVERY_KIND,
        group: ADVERTISEMENT_GROUP,
        plural: discovery::DISCOVERY_PLURAL,
        short_names: discovery::DISCOVERY_SHORT_NAMES,
    },
    KindInfo {
        kind: discovery::PEERING_CANDIDATE_KIND,
        group: ADVERTISEMENT_GROUP,
        plural: discovery::PEERING_CANDIDATE_PLURAL,
        short_names: discovery::PEERING_CANDIDATE_SHORT_NAMES,
    },
    KindInfo {
        kind: reservation::RESERVATION_KIND,
        group: RESERVATION_GROUP,
        plural: reservation::RESERVATION_PLURAL,
        short_names: reservation::RESERVATION_SHORT_NAMES,
    },
    KindInfo {
        kind: reservation::TRANSACTION_KIND,
        group: RESERVATION_GROUP,
        plural: reservation::TRANSACTION_PLURAL,
        short_names: reservation::TRANSACTION_SHORT_NAMES,
    },
    KindInfo {
        kind: reservation::CONTRACT_KIND,
        group: RESERVATION_GROUP,
        plural: reservation::CONTRACT_PLURAL,
        short_names: reservation::CONTRACT_SHORT_NAMES,
    },
    KindInfo {
        kind: network::KNOWN_CLUSTER_KIND,
        group: NETWORK_GROUP,
        plural: network::KNOWN_CLUSTER_PLURAL,
        short_names: network::KNOWN_CLUSTER_SHORT_NAMES,
    },
    KindInfo {
        kind: network::BROKER_KIND,
        group: NETWORK_GROUP,
        plural: network::BROKER_PLURAL,
        short_names: network::BROKER_SHORT_NAMES,
    },
];

/// The table entry of `kind`, or `None` for a kind that is not FLUIDOS's.
pub fn kind_info(kind: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|info| info.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_listed_once_with_upstream_groups() {
        let mut kinds: Vec<_> = KINDS.iter().map(|k| k.kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), 11);
        assert_eq!(
            kind_info("Flavor").map(KindInfo::crd_name).as_deref(),
            Some("flavors.nodecore.fluidos.eu")
        );
        assert_eq!(
            kind_info("Contract").map(KindInfo::api_version).as_deref(),
            Some("reservation.fluidos.eu/v1alpha1")
        );
        assert_eq!(
            kind_info("PeeringCandidate").map(|k| k.group),
            Some(ADVERTISEMENT_GROUP)
        );
        assert!(kind_info("Pod").is_none());
    }
}
