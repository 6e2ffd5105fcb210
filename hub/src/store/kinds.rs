//! [`Resource`] implementations for the FLUIDOS kinds the hub stores besides `Flavor` (which
//! lives next to the trait in [`super::typed`]): Solver, Discovery, PeeringCandidate,
//! Reservation, Transaction, Contract, Allocation and KnownCluster.

use fluidos_protocol::allocation::{ALLOCATION_KIND, Allocation};
use fluidos_protocol::discovery::{
    DISCOVERY_KIND, Discovery, PEERING_CANDIDATE_KIND, PeeringCandidate,
};
use fluidos_protocol::meta::ObjectMeta;
use fluidos_protocol::network::{KNOWN_CLUSTER_KIND, KnownCluster};
use fluidos_protocol::reservation::{
    CONTRACT_KIND, Contract, RESERVATION_KIND, Reservation, TRANSACTION_KIND, Transaction,
};
use fluidos_protocol::solver::{SOLVER_KIND, Solver};

use super::typed::Resource;

/// `impl Resource for $ty` with kind `$kind`, reading `metadata`.
macro_rules! resource {
    ($($ty:ty => $kind:expr),+ $(,)?) => {$(
        impl Resource for $ty {
            const KIND: &'static str = $kind;

            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }

            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    )+};
}

resource! {
    Solver => SOLVER_KIND,
    Discovery => DISCOVERY_KIND,
    PeeringCandidate => PEERING_CANDIDATE_KIND,
    Reservation => RESERVATION_KIND,
    Transaction => TRANSACTION_KIND,
    Contract => CONTRACT_KIND,
    Allocation => ALLOCATION_KIND,
    KnownCluster => KNOWN_CLUSTER_KIND,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_distinct_and_upstream_spelled() {
        let kinds = [
            <Solver as Resource>::KIND,
            <Discovery as Resource>::KIND,
            <PeeringCandidate as Resource>::KIND,
            <Reservation as Resource>::KIND,
            <Transaction as Resource>::KIND,
            <Contract as Resource>::KIND,
            <Allocation as Resource>::KIND,
            <KnownCluster as Resource>::KIND,
        ];
        assert_eq!(
            kinds,
            [
                "Solver",
                "Discovery",
                "PeeringCandidate",
                "Reservation",
                "Transaction",
                "Contract",
                "Allocation",
                "KnownCluster"
            ]
        );
    }
}
