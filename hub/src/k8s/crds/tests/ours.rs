//! Objects our builders write (the LRM's Flavors, the consumer's records, contracts converted
//! from the wire, every optional key set) are stored by our CRDs exactly as written.

use fluidos_protocol::agent::{GpuSample, OfferedResources};
use fluidos_protocol::blueprint::{ServiceBlueprint, ServiceBlueprintSpec, ServiceBlueprintStatus};
use fluidos_protocol::discovery::{
    DiscoveryStatus, PeeringCandidate, PeeringCandidateList, PeeringCandidateSpec,
    PeeringCandidateStatus,
};
use fluidos_protocol::flavor::{Flavor, FlavorStatus, Location};
use fluidos_protocol::meta::ObjectMeta;
use fluidos_protocol::network::{Broker, BrokerSpec, KnownCluster, KnownClusterSpec, NetworkTimes};
use fluidos_protocol::phase::{GenericRef, Phase, PhaseStatus};
use fluidos_protocol::rear::{WireContract, WireTransaction};
use fluidos_protocol::reservation::{ReservationStatus, TelemetryServer, TransactionStatus};
use fluidos_protocol::solver::{Solver, SolverStatus};
use serde_json::{Value, json};

use super::upstream::assert_ours_stored;
use crate::consumer::candidate::reservation_for;
use crate::consumer::records::{
    consumer_allocation, contract_record, discovery_for, transaction_record,
};
use crate::lrm::flavor::{FlavorInputs, FlavorSettings, desired_spec, new_flavor};

fn our_flavor() -> Flavor {
    let hub = serde_json::from_value(json!({"domain": "fluidos.eu", "nodeID": "hub0000001",
        "ip": "10.0.0.9:3004", "additionalInformation": {"liqoID": "hub0000001"}}))
    .unwrap();
    let offered = OfferedResources {
        cpu_millis: 4000,
        memory_bytes: 8 << 30,
        storage_bytes: 64 << 30,
        pods: 110,
    };
    let gpu = GpuSample {
        vendor: "nvidia".into(),
        model: "orin".into(),
        cores: 1024,
        memory_bytes: 0,
    };
    let location = Location {
        latitude: Some("45.07".into()),
        longitude: Some("7.68".into()),
        country: Some("Italy".into()),
        city: Some("Turin".into()),
        additional_notes: Some("lab".into()),
    };
    let inputs = FlavorInputs {
        architecture: "arm64",
        offered: &offered,
        gpu: Some(&gpu),
        location: Some(&location),
    };
    let spec = desired_spec(&hub, &FlavorSettings::default(), inputs, true).unwrap();
    let mut flavor = new_flavor("fluidos.eu-k8slice-0a1b".into(), "pi-1", spec);
    flavor.status = Some(FlavorStatus::default());
    flavor
}

#[test]
fn our_flavors_and_contracts_are_stored_as_written() {
    let flavor = our_flavor();
    assert_ours_stored("Flavor", &flavor);
    let wire: WireContract = serde_json::from_value(wire_contract_json(&flavor)).unwrap();
    let contract = contract_record("fluidos", &wire).unwrap();
    assert!(
        contract.spec.configuration.is_some() && contract.spec.ingress_telemetry_endpoint.is_some()
    );
    assert_ours_stored("Contract", &contract);
    let mut allocation = consumer_allocation(&contract, 1_700_000_000);
    if let Some(status) = allocation.status.as_mut() {
        status.resource_ref = Some(GenericRef::to("fluidos", "credentials-x"));
    }
    allocation.spec.forwarding = true;
    assert_ours_stored("Allocation", &allocation);
}

/// A purchase answer in upstream's wire form, selling `flavor`.
fn wire_contract_json(flavor: &Flavor) -> Value {
    let wire_flavor = fluidos_protocol::rear::WireFlavor::from_cr(flavor).unwrap();
    json!({
        "contractID": "contract-fluidos-eu-k8slice-0a1b-12345678", "transactionID": "tx-1", "flavor": wire_flavor,
        "buyerID": {"ID": "buyer00001", "IP": "10.0.0.8:3004", "domain": "fluidos.eu"},
        "buyerClusterID": "buyer-liqo",
        "seller": {"ID": "hub0000001", "IP": "10.0.0.9:3004", "domain": "fluidos.eu",
                   "additionalInformation": {"liqoID": "hub0000001"}},
        "peeringTargetCredentials": {"clusterID": "hub0000001", "kubeconfig": "a2NmZw=="},
        "expirationTime": "2030-01-01T00:00:00Z",
        "extraInformation": {"k": "v"},
        "configuration": {"type": "k8slice", "data": {"cpu": "2", "memory": "4Gi", "pods": "10"}},
        "networkAuthorizations": "none",
        "ingressTelemetryEndpoint": {"endpoint": "http://10.0.0.1:4317", "intents": ["x"]}
    })
}

fn our_solver() -> Solver {
    let mut solver: Solver = serde_json::from_value(json!({
        "apiVersion": "nodecore.fluidos.eu/v1alpha1", "kind": "Solver",
        "metadata": {"name": "solver-a", "namespace": "fluidos"},
        "spec": {"selector": {"flavorType": "K8Slice",
                              "filters": {"cpuFilter": {"name": "Range", "data": {"min": "1"}}}},
                 "intentID": "i", "findCandidate": true, "reserveAndBuy": true,
                 "establishPeering": true}
    }))
    .unwrap();
    let phase = PhaseStatus {
        phase: Phase::TimedOut,
        message: "m".into(),
        start_time: "2025-01-01T00:00:00Z".into(),
        last_change_time: "2025-01-01T00:00:01Z".into(),
        end_time: "2025-01-01T00:00:02Z".into(),
    };
    solver.status = Some(SolverStatus {
        find_candidate: Phase::Solved,
        reserve_and_buy: Phase::Solved,
        peering: Phase::Running,
        discovery_phase: Phase::Solved,
        reservation_phase: Phase::Solved,
        consume_phase: Phase::Idle,
        solver_phase: phase,
        contract: Some(GenericRef::to("fluidos", "contract-x")),
        deadline: "2025-01-01T00:02:00Z".into(),
    });
    solver
}

#[test]
fn our_consumer_records_are_stored_as_written() {
    let solver = our_solver();
    assert_ours_stored("Solver", &solver);
    let flavor = our_flavor();
    let mut pc = PeeringCandidate::new(
        ObjectMeta {
            name: "peeringcandidate-fluidos.eu-k8slice-0a1b".into(),
            namespace: "fluidos".into(),
            ..ObjectMeta::default()
        },
        PeeringCandidateSpec {
            interested_solver_ids: vec!["solver-a".into()],
            flavor: Flavor {
                metadata: ObjectMeta {
                    name: flavor.metadata.name.clone(),
                    namespace: "fluidos".into(),
                    labels: flavor.metadata.labels.clone(),
                    ..ObjectMeta::default()
                },
                ..flavor.clone()
            },
            available: true,
        },
    );
    pc.status = Some(PeeringCandidateStatus::default());
    assert_ours_stored("PeeringCandidate", &pc);
    let mut discovery = discovery_for(&solver);
    discovery.status = Some(DiscoveryStatus {
        phase: solver.status.clone().unwrap().solver_phase,
        peering_candidate_list: Some(PeeringCandidateList {
            items: vec![pc.clone()],
        }),
    });
    assert_ours_stored("Discovery", &discovery);
    let configuration = serde_json::from_value(json!({"type": "K8Slice", "data": {"cpu": "1"}}));
    let buyer = flavor.spec.owner;
    let mut reservation = reservation_for(&solver, &pc, buyer, Some(configuration.unwrap()));
    reservation.spec.ingress_telemetry_endpoint = Some(TelemetryServer {
        endpoint: "http://10.0.0.1:4317".into(),
        intents: Some(vec!["x".into()]),
    });
    reservation.status = Some(ReservationStatus {
        phase: PhaseStatus::default(),
        reserve_phase: Phase::Solved,
        purchase_phase: Phase::Failed,
        transaction_id: "tx-1".into(),
        contract: Some(GenericRef::to("fluidos", "contract-x")),
    });
    assert_ours_stored("Reservation", &reservation);
    let tx: WireTransaction = serde_json::from_value(json!({
        "transactionID": "tx-1", "flavorID": "fluidos.eu-k8slice-0a1b",
        "configuration": {"type": "k8slice", "data": {"cpu": "1"}},
        "buyer": {"ID": "buyer00001", "IP": "10.0.0.8:3004", "domain": "fluidos.eu"},
        "clusterID": "", "expirationTime": "2030-01-01T00:00:00Z"
    }))
    .unwrap();
    let mut transaction = transaction_record("fluidos", &reservation, &tx);
    transaction.status = Some(TransactionStatus::default());
    assert_ours_stored("Transaction", &transaction);
}

#[test]
fn our_network_and_blueprint_records_are_stored_as_written() {
    let meta = || ObjectMeta {
        name: "x".into(),
        ..ObjectMeta::default()
    };
    let mut known = KnownCluster::new(meta(), KnownClusterSpec::default());
    known.status = Some(NetworkTimes::default());
    assert_ours_stored("KnownCluster", &known);
    let mut broker = Broker::new(meta(), BrokerSpec::default());
    broker.status = Some(NetworkTimes::default());
    assert_ours_stored("Broker", &broker);
    let spec: ServiceBlueprintSpec = serde_json::from_value(json!({
        "name": "db", "templates": [{"name": "t", "description": "d", "serviceData": {}}]
    }))
    .unwrap();
    let mut blueprint = ServiceBlueprint::new(meta(), spec.clone());
    blueprint.status = Some(ServiceBlueprintStatus {
        // A never-set template is written as null: accepted (nullable), not dropped.
        service_flavors: vec![spec.service_type_data(Value::Null)],
    });
    assert_ours_stored("ServiceBlueprint", &blueprint);
}
