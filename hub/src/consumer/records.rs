//! The consumer's records, pure: the Transaction, Contract and Allocation CRs built from REAR
//! answers, the Discovery a Solver runs, the messages the Reservation controller writes (and the
//! Solver reads back), and the deadline a Reservation works against.

use std::collections::BTreeMap;

use fluidos_protocol::allocation::{
    Allocation, AllocationObjectStatus, AllocationSpec, AllocationStatus, allocation_name_for,
};
use fluidos_protocol::discovery::{Discovery, DiscoverySpec, discovery_name};
use fluidos_protocol::meta::ObjectMeta;
use fluidos_protocol::node::NodeIdentity;
use fluidos_protocol::phase::{GenericRef, Phase};
use fluidos_protocol::rear::ConversionError;
use fluidos_protocol::rear::{TelemetryEndpoint, WireContract, WireTransaction};
use fluidos_protocol::reservation::{
    CONTRACT_KIND, Contract, ContractSpec, LiqoCredentials, RESERVATION_API_VERSION, Reservation,
    TelemetryServer, Transaction, TransactionSpec,
};
use fluidos_protocol::solver::Solver;

use super::{RESERVATION_LABEL, RESERVATION_UID_LABEL, ROLE_CONSUMER, ROLE_LABEL};
use crate::clock::rfc3339;

/// Start of the Reservation message when the provider refused the reserve (4xx): the Solver
/// then tries its next candidate instead of failing.
pub const REFUSED_MESSAGE: &str = "Reservation failed: flavor refused by the provider";
/// Message of an embedded consumer Allocation (no Liqo: the peering is the contract itself).
pub const ALLOCATION_ACTIVE_MESSAGE: &str = "Allocation is now Active";

/// Labels of every consumer object.
fn consumer_labels() -> BTreeMap<String, String> {
    BTreeMap::from([(ROLE_LABEL.to_owned(), ROLE_CONSUMER.to_owned())])
}

/// Whether `reservation` failed because the provider refused the reserve.
pub fn is_refused(reservation: &Reservation) -> bool {
    reservation.status.as_ref().is_some_and(|s| {
        s.reserve_phase == Phase::Failed && s.phase.message.starts_with(REFUSED_MESSAGE)
    })
}

/// The Discovery `discovery-<solver>` looking for the Solver's selector.
pub fn discovery_for(solver: &Solver) -> Discovery {
    let metadata = ObjectMeta {
        name: discovery_name(&solver.metadata.name),
        namespace: solver.metadata.namespace.clone(),
        labels: consumer_labels(),
        ..ObjectMeta::default()
    };
    Discovery::new(
        metadata,
        DiscoverySpec {
            solver_id: solver.metadata.name.clone(),
            selector: solver.spec.selector.clone(),
            subscribe: false,
        },
    )
}

/// The consumer Transaction CR of a reserve answer (name = transaction id), labelled with the
/// Reservation it belongs to so a restart can find it.
pub fn transaction_record(
    namespace: &str,
    reservation: &Reservation,
    tx: &WireTransaction,
) -> Transaction {
    let mut labels = consumer_labels();
    let meta = &reservation.metadata;
    labels.insert(RESERVATION_LABEL.to_owned(), meta.name.clone());
    labels.insert(RESERVATION_UID_LABEL.to_owned(), meta.uid.clone());
    let metadata = ObjectMeta {
        name: tx.transaction_id.clone(),
        namespace: namespace.to_owned(),
        labels,
        ..ObjectMeta::default()
    };
    Transaction::new(
        metadata,
        TransactionSpec {
            flavor_id: tx.flavor_id.clone(),
            buyer: NodeIdentity::from(&tx.buyer),
            cluster_id: tx.cluster_id.clone(),
            configuration: tx.configuration.as_ref().map(|c| c.to_cr()),
            expiration_time: tx.expiration_time.clone(),
        },
    )
}

/// The consumer Contract CR of a purchase answer (name = the wire `contractID`).
///
/// # Errors
/// When the contract's flavor has no CR form.
pub fn contract_record(namespace: &str, wire: &WireContract) -> Result<Contract, ConversionError> {
    let metadata = ObjectMeta {
        name: wire.contract_id.clone(),
        namespace: namespace.to_owned(),
        labels: consumer_labels(),
        ..ObjectMeta::default()
    };
    let mut buyer = NodeIdentity::from(&wire.buyer);
    if !wire.buyer_cluster_id.is_empty() {
        buyer
            .additional_information
            .get_or_insert_with(Default::default)
            .liqo_id = Some(wire.buyer_cluster_id.clone());
    }
    let spec = ContractSpec {
        flavor: wire.flavor.to_cr(namespace)?,
        transaction_id: wire.transaction_id.clone(),
        configuration: wire.configuration.as_ref().map(|c| c.to_cr()),
        buyer,
        seller: NodeIdentity::from(&wire.seller),
        buyer_cluster_id: wire.buyer_cluster_id.clone(),
        peering_target_credentials: LiqoCredentials {
            liqo_id: wire.peering_target_credentials.cluster_id.clone(),
            kubeconfig: wire.peering_target_credentials.kubeconfig.clone(),
        },
        expiration_time: wire.expiration_time.clone().unwrap_or_default(),
        extra_information: wire.extra_information.clone().unwrap_or_default(),
        network_requests: wire.network_authorizations.clone().unwrap_or_default(),
        ingress_telemetry_endpoint: wire.ingress_telemetry_endpoint.as_ref().map(telemetry),
    };
    Ok(Contract::new(metadata, spec))
}

fn telemetry(t: &TelemetryEndpoint) -> TelemetryServer {
    TelemetryServer {
        endpoint: t.endpoint.clone(),
        intents: t.intents.clone(),
    }
}

/// A reference to the Contract `name`.
pub fn contract_ref(namespace: &str, name: &str) -> GenericRef {
    GenericRef {
        name: name.to_owned(),
        namespace: namespace.to_owned(),
        api_version: RESERVATION_API_VERSION.to_owned(),
        kind: CONTRACT_KIND.to_owned(),
    }
}

/// The consumer Allocation of `contract` in embedded mode: there is no Liqo to peer with, so
/// it is `Active` as soon as it exists.
pub fn consumer_allocation(contract: &Contract, now: i64) -> Allocation {
    let flavor_id = &contract.spec.flavor.metadata.name;
    let metadata = ObjectMeta {
        name: allocation_name_for(flavor_id, &contract.spec.transaction_id),
        namespace: contract.metadata.namespace.clone(),
        labels: consumer_labels(),
        ..ObjectMeta::default()
    };
    let mut allocation = Allocation::new(
        metadata,
        AllocationSpec {
            forwarding: false,
            contract: Some(contract_ref(
                &contract.metadata.namespace,
                &contract.metadata.name,
            )),
        },
    );
    allocation.status = Some(AllocationObjectStatus {
        status: Some(AllocationStatus::Active),
        last_update_time: rfc3339(now),
        message: ALLOCATION_ACTIVE_MESSAGE.to_owned(),
        resource_ref: None,
    });
    allocation
}

/// Name of the consumer Allocation of `contract`.
pub fn allocation_name_of(contract: &Contract) -> String {
    allocation_name_for(
        &contract.spec.flavor.metadata.name,
        &contract.spec.transaction_id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::fixtures::{NS, wire_contract};

    #[test]
    fn contract_record_uses_the_cr_forms() {
        let c = contract_record(NS, &wire_contract()).unwrap();
        assert_eq!(c.metadata.name, "contract-f1-abcd1234");
        assert_eq!(c.spec.flavor.metadata.name, "f1");
        assert_eq!(c.spec.flavor.spec.provider_id, "p1");
        assert_eq!(c.spec.peering_target_credentials.liqo_id, "p1");
        let liqo = c.spec.buyer.additional_information.and_then(|a| a.liqo_id);
        assert_eq!(liqo.as_deref(), Some("c1"));
        assert_eq!(c.metadata.labels[ROLE_LABEL], ROLE_CONSUMER);
    }

    #[test]
    fn embedded_allocation_is_active_and_points_at_the_contract() {
        let c = contract_record(NS, &wire_contract()).unwrap();
        let a = consumer_allocation(&c, 0);
        assert_eq!(a.metadata.name, allocation_name_of(&c));
        assert!(a.metadata.name.starts_with("allocation-f1-"));
        assert_eq!(a.spec.contract.unwrap().name, "contract-f1-abcd1234");
        let status = a.status.unwrap();
        assert_eq!(status.status, Some(AllocationStatus::Active));
        assert_eq!(status.message, ALLOCATION_ACTIVE_MESSAGE);
    }
}
