//! Golden JSON tests of the `reservation.fluidos.eu` kinds, from the reference note's Appendix B,
//! and of the naming functions.

use serde_json::json;

use super::*;
use crate::flavor::{Flavor, FlavorSpec};
use crate::quantity::Quantity;

const TX: &str = "37b53e2ba2b7b6ecb96bd56989baecf2-1700151404800502383";

fn appendix_b_reservation() -> serde_json::Value {
    json!({
        "apiVersion": "reservation.fluidos.eu/v1alpha1",
        "kind": "Reservation",
        "metadata": {"name": "reservation-solver-sample", "namespace": "fluidos"},
        "spec": {
            "solverID": "solver-sample",
            "buyer": {"domain": "fluidos.eu", "nodeID": "jlhfplohpf", "ip": "172.18.0.2:30000"},
            "seller": {"domain": "fluidos.eu", "nodeID": "46ltws9per", "ip": "172.18.0.7:30001"},
            "peeringCandidate": {"name": "peeringcandidate-fluidos.eu-k8slice-9b1c", "namespace": "fluidos"},
            "reserve": true,
            "purchase": true,
            "configuration": {"type": "K8Slice", "data": {"cpu": "1", "memory": "1Gi", "pods": "110"}}
        },
        "status": {
            "phase": {
                "phase": "Solved",
                "message": "Reservation solved",
                "startTime": "2025-05-18T10:00:00Z",
                "lastChangeTime": "2025-05-18T10:00:12Z"
            },
            "reservePhase": "Solved",
            "purchasePhase": "Solved",
            "transactionID": TX,
            "contract": {"name": "contract-fluidos-eu-k8slice-9b1c-c9c6", "namespace": "fluidos"}
        }
    })
}

fn appendix_b_contract() -> serde_json::Value {
    json!({
        "apiVersion": "reservation.fluidos.eu/v1alpha1",
        "kind": "Contract",
        "metadata": {"name": "contract-fluidos-eu-k8slice-9b1c-c9c6", "namespace": "fluidos"},
        "spec": {
            "flavor": {
                "metadata": {"name": "fluidos.eu-k8slice-9b1c", "namespace": "fluidos"},
                "spec": {
                    "providerID": "46ltws9per",
                    "flavorType": {
                        "typeIdentifier": "K8Slice",
                        "typeData": {
                            "characteristics": {"architecture": "amd64", "cpu": "7970838142n", "memory": "7879752Ki",
                                                "pods": "110", "gpu": {"model": "", "cores": "0", "memory": "0"}, "storage": "0"},
                            "properties": {},
                            "policies": {"partitionability": {"cpuMin": "0", "memoryMin": "0", "podsMin": "0", "gpuMin": "0",
                                                              "cpuStep": "1", "memoryStep": "100Mi", "podsStep": "0", "gpuStep": "0"}}
                        }
                    },
                    "owner": {"domain": "fluidos.eu", "nodeID": "46ltws9per", "ip": "172.18.0.7:30001"},
                    "price": {"amount": "", "currency": "", "period": ""},
                    "availability": true,
                    "networkPropertyType": "networkProperty",
                    "location": {"latitude": "10", "longitude": "58", "country": "Italy", "city": "Turin", "additionalNotes": "None"}
                },
                "status": {"creationTime": "", "expirationTime": "", "lastUpdateTime": ""}
            },
            "transactionID": TX,
            "configuration": {"type": "K8Slice", "data": {"cpu": "1", "memory": "1Gi", "pods": "110"}},
            "buyer": {"domain": "fluidos.eu", "nodeID": "jlhfplohpf", "ip": "172.18.0.2:30000",
                      "additionalInformation": {"liqoID": "14461b0e-0000"}},
            "buyerClusterID": "14461b0e-0000",
            "seller": {"domain": "fluidos.eu", "nodeID": "46ltws9per", "ip": "172.18.0.7:30001",
                       "additionalInformation": {"liqoID": "40585c34-0000"}},
            "peeringTargetCredentials": {"liqoID": "40585c34-0000", "kubeconfig": "YXBpVmVyc2lvbjogdjEK"},
            "expirationTime": "2026-05-18T10:00:12Z"
        }
    })
}

#[test]
fn appendix_b_reservation_round_trips() {
    let r: Reservation = serde_json::from_value(appendix_b_reservation()).unwrap();
    assert_eq!(r.metadata.name, reservation_name("solver-sample"));
    assert_eq!(r.spec.solver_id, "solver-sample");
    assert_eq!(r.spec.seller.ip, "172.18.0.7:30001");
    assert!(r.spec.reserve && r.spec.purchase);
    let part = r
        .spec
        .configuration
        .as_ref()
        .unwrap()
        .k8slice_data()
        .unwrap()
        .unwrap();
    assert_eq!(part.memory, Quantity::parse("1Gi").unwrap());
    let status = r.status.as_ref().unwrap();
    assert_eq!(status.phase.phase, Phase::Solved);
    assert_eq!(status.purchase_phase, Phase::Solved);
    assert_eq!(status.transaction_id, TX);
    assert_eq!(
        status.contract.as_ref().unwrap().name,
        contract_name("fluidos.eu-k8slice-9b1c")
    );
    assert_eq!(serde_json::to_value(&r).unwrap(), appendix_b_reservation());
}

#[test]
fn appendix_b_contract_round_trips() {
    let c: Contract = serde_json::from_value(appendix_b_contract()).unwrap();
    assert_eq!(c.spec.flavor.metadata.name, "fluidos.eu-k8slice-9b1c");
    assert!(c.spec.flavor.api_version.is_empty());
    assert_eq!(c.spec.buyer_cluster_id, "14461b0e-0000");
    assert_eq!(c.spec.peering_target_credentials.liqo_id, "40585c34-0000");
    assert_eq!(
        c.spec
            .seller
            .additional_information
            .as_ref()
            .unwrap()
            .liqo_id
            .as_deref(),
        Some("40585c34-0000")
    );
    assert_eq!(c.spec.transaction_id, TX);
    assert!(c.spec.flavor.spec.flavor_type.k8slice().unwrap().is_ok());
    assert_eq!(serde_json::to_value(&c).unwrap(), appendix_b_contract());
}

#[test]
fn contract_emits_required_keys_even_when_empty() {
    let flavor = Flavor {
        api_version: String::new(),
        kind: String::new(),
        metadata: ObjectMeta::default(),
        spec: FlavorSpec::default(),
        status: Some(crate::flavor::FlavorStatus::default()),
    };
    let spec = ContractSpec {
        flavor,
        transaction_id: String::new(),
        configuration: None,
        buyer: NodeIdentity::default(),
        seller: NodeIdentity::default(),
        buyer_cluster_id: String::new(),
        peering_target_credentials: LiqoCredentials::default(),
        expiration_time: String::new(),
        extra_information: Default::default(),
        network_requests: String::new(),
        ingress_telemetry_endpoint: None,
    };
    let c = Contract::new(ObjectMeta::default(), spec);
    let v = serde_json::to_value(&c).unwrap();
    assert_eq!(v["apiVersion"], RESERVATION_API_VERSION);
    assert_eq!(v["kind"], CONTRACT_KIND);
    let spec = &v["spec"];
    let empty_node = json!({"domain": "", "nodeID": "", "ip": ""});
    assert_eq!(spec["buyer"], empty_node);
    assert_eq!(spec["seller"], empty_node);
    assert_eq!(spec["transactionID"], "");
    assert_eq!(spec["buyerClusterID"], "");
    assert_eq!(
        spec["peeringTargetCredentials"],
        json!({"liqoID": "", "kubeconfig": ""})
    );
    let fspec = &spec["flavor"]["spec"];
    assert_eq!(
        fspec["price"],
        json!({"amount": "", "currency": "", "period": ""})
    );
    assert_eq!(fspec["owner"], empty_node);
    assert_eq!(fspec["providerID"], "");
    assert_eq!(fspec["availability"], false);
    assert_eq!(fspec["flavorType"]["typeIdentifier"], "");
    assert_eq!(
        spec["flavor"]["status"],
        json!({"creationTime": "", "expirationTime": "", "lastUpdateTime": ""})
    );
    let back: Contract = serde_json::from_value(v).unwrap();
    assert_eq!(back, c);
}

#[test]
fn minimal_objects_decode() {
    let r: Reservation = serde_json::from_value(json!({
        "apiVersion": "reservation.fluidos.eu/v1alpha1",
        "kind": "Reservation",
        "metadata": {"name": "r"},
        "spec": {"solverID": "s", "buyer": {"domain": "d", "nodeID": "b", "ip": "h:1"},
                 "seller": {"domain": "d", "nodeID": "s", "ip": "h:2"}}
    }))
    .unwrap();
    assert!(!r.spec.reserve && r.spec.configuration.is_none() && r.status.is_none());

    let min_tx = json!({
        "apiVersion": "reservation.fluidos.eu/v1alpha1",
        "kind": "Transaction",
        "metadata": {"name": TX},
        "spec": {"flavorID": "f", "buyer": {"domain": "d", "nodeID": "b", "ip": "h:1"}, "clusterID": ""}
    });
    let t: Transaction = serde_json::from_value(min_tx.clone()).unwrap();
    assert_eq!(t.spec.flavor_id, "f");
    assert_eq!(serde_json::to_value(&t).unwrap(), min_tx);

    let c: Contract = serde_json::from_value(json!({
        "apiVersion": "reservation.fluidos.eu/v1alpha1",
        "kind": "Contract",
        "metadata": {"name": "c"},
        "spec": {
            "flavor": {"metadata": {"name": "f"}, "spec": {
                "providerID": "p", "flavorType": {"typeIdentifier": "K8Slice", "typeData": {}},
                "owner": {"domain": "d", "nodeID": "p", "ip": "h:2"},
                "price": {"amount": "", "currency": "", "period": ""}, "availability": true}},
            "transactionID": TX,
            "buyer": {"domain": "d", "nodeID": "b", "ip": "h:1"},
            "seller": {"domain": "d", "nodeID": "p", "ip": "h:2"},
            "buyerClusterID": "",
            "peeringTargetCredentials": {"liqoID": "", "kubeconfig": ""}
        }
    }))
    .unwrap();
    assert!(c.spec.configuration.is_none() && c.spec.extra_information.is_empty());
}

#[test]
fn transaction_constructor_and_status() {
    let spec = TransactionSpec {
        flavor_id: "f".into(),
        expiration_time: "2025-01-01T01:00:00Z".into(),
        ..TransactionSpec::default()
    };
    let mut t = Transaction::new(
        ObjectMeta {
            name: TX.into(),
            ..ObjectMeta::default()
        },
        spec,
    );
    t.status = Some(TransactionStatus::default());
    let v = serde_json::to_value(&t).unwrap();
    assert_eq!(v["kind"], TRANSACTION_KIND);
    assert_eq!(v["spec"]["clusterID"], "");
    assert_eq!(v["spec"]["expirationTime"], "2025-01-01T01:00:00Z");
    assert_eq!(v["status"], json!({"phase": {"phase": ""}}));
}

#[test]
fn telemetry_endpoint_round_trips() {
    let doc = json!({"endpoint": "http://collector:4318", "intents": ["latency"]});
    let t: TelemetryServer = serde_json::from_value(doc.clone()).unwrap();
    assert_eq!(t.intents.as_deref(), Some(&["latency".to_owned()][..]));
    assert_eq!(serde_json::to_value(&t).unwrap(), doc);
}

#[test]
fn names_follow_appendix_a() {
    assert_eq!(
        reservation_name("solver-sample"),
        "reservation-solver-sample"
    );
    assert_eq!(
        contract_name("fluidos.eu-k8slice-9b1c"),
        "contract-fluidos-eu-k8slice-9b1c-c9c6"
    );
    assert_eq!(
        contract_name_for("fluidos.eu-k8slice-9b1c", TX),
        "contract-fluidos-eu-k8slice-9b1c-cdf98391"
    );
    assert_eq!(
        crate::allocation::allocation_name_for("fluidos.eu-k8slice-9b1c", TX),
        "allocation-fluidos.eu-k8slice-9b1c-cdf98391"
    );
}

#[test]
fn transaction_ids_are_dns_labels() {
    let id = new_transaction_id([0xab; 16], 1_700_151_404_800_502_383);
    assert_eq!(id, format!("{}-1700151404800502383", "ab".repeat(16)));
    assert_eq!(
        new_transaction_id([0; 16], -5),
        format!("{}-0", "00".repeat(16))
    );
    let max = new_transaction_id([0xff; 16], i128::MAX);
    assert!(max.len() <= 63, "{max}");
    assert!(max.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
}
