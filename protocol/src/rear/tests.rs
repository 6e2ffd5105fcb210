//! Golden JSON both ways, from the reference note's examples (§2.3).

use serde_json::{Value, json};

use super::*;
use crate::flavor::Flavor;

fn upstream_flavor() -> Value {
    json!({
        "flavorID": "fluidos.eu-k8slice-9b1c",
        "providerID": "46ltws9per",
        "type": {"name": "k8slice", "data": {
            "charateristics": {"architecture": "amd64", "cpu": "7970838142n", "memory": "7879752Ki",
                "pods": "110", "gpu": {"model": "", "cores": "0", "memory": "0"}, "storage": "0"},
            "properties": {},
            "policies": {"partitionability": {"cpuMin": "0", "memoryMin": "0", "podsMin": "0",
                "cpuStep": "1", "memoryStep": "100Mi", "podsStep": "0"}}}},
        "networkPropertyType": "networkProperty",
        "timestamp": "2025-05-18T10:00:00Z",
        "location": {"latitude": "10", "longitude": "58", "altitude": "Italy", "city": "Turin",
            "additionalNotes": "None"},
        "price": {"amount": "", "currency": "", "period": ""},
        "owner": {"ID": "46ltws9per", "IP": "172.18.0.7:30001", "domain": "fluidos.eu"},
        "availability": true
    })
}

#[test]
fn upstream_flavor_decodes_and_re_encodes_byte_for_byte() {
    let wire: WireFlavor = serde_json::from_value(upstream_flavor()).unwrap();
    assert_eq!(serde_json::to_value(&wire).unwrap(), upstream_flavor());
}

#[test]
fn wire_flavor_converts_to_the_cr_form_and_back() {
    let wire: WireFlavor = serde_json::from_value(upstream_flavor()).unwrap();
    let cr = wire.to_cr("fluidos").unwrap();
    assert_eq!(cr.metadata.name, "fluidos.eu-k8slice-9b1c");
    assert_eq!(cr.spec.provider_id, "46ltws9per");
    assert_eq!(cr.spec.flavor_type.type_identifier, "K8Slice");
    assert_eq!(cr.spec.owner.ip, "172.18.0.7:30001");
    let location = cr.spec.location.clone().unwrap();
    assert_eq!(location.country.as_deref(), Some("Italy"));
    let data = cr.spec.flavor_type.k8slice().unwrap().unwrap();
    assert_eq!(data.characteristics.pods.to_string(), "110");
    // The CR form has the GPU policy members; the wire form does not.
    let typed = &cr.spec.flavor_type.type_data;
    assert_eq!(typed["policies"]["partitionability"]["gpuMin"], "0");
    let mut cr = cr;
    cr.metadata.creation_timestamp = "2025-05-18T10:00:00Z".into();
    let back = WireFlavor::from_cr(&cr).unwrap();
    assert_eq!(serde_json::to_value(&back).unwrap(), upstream_flavor());
}

#[test]
fn spec_spellings_are_accepted() {
    let mut v = upstream_flavor();
    let data = v["type"]["data"].as_object_mut().unwrap();
    let chars = data.remove("charateristics").unwrap();
    data.insert("characteristics".into(), chars);
    v["location"] = json!({"country": "Greece"});
    v["flavorId"] = v["flavorID"].take();
    v.as_object_mut().unwrap().remove("flavorID");
    let wire: WireFlavor = serde_json::from_value(v).unwrap();
    assert_eq!(wire.flavor_id, "fluidos.eu-k8slice-9b1c");
    assert_eq!(
        wire.location.as_ref().unwrap().altitude.as_deref(),
        Some("Greece")
    );
    let cr = wire.to_cr("fluidos").unwrap();
    assert!(cr.spec.flavor_type.k8slice().unwrap().is_ok());
}

#[test]
fn offered_characteristics_replace_the_capacity_on_the_wire() {
    let wire: WireFlavor = serde_json::from_value(upstream_flavor()).unwrap();
    let cr: Flavor = wire.to_cr("fluidos").unwrap();
    let mut offered = cr
        .spec
        .flavor_type
        .k8slice()
        .unwrap()
        .unwrap()
        .characteristics;
    offered.cpu = crate::Quantity::parse("2").unwrap();
    let out = WireFlavor::from_cr_with(&cr, Some(&offered)).unwrap();
    assert_eq!(out.flavor_type.data["charateristics"]["cpu"], "2");
}

#[test]
fn vm_flavors_have_no_wire_form() {
    let mut v = upstream_flavor();
    v["type"]["name"] = json!("vm");
    let wire: WireFlavor = serde_json::from_value(v).unwrap();
    assert!(matches!(
        wire.to_cr("fluidos"),
        Err(ConversionError::UnsupportedType(_))
    ));
}

fn upstream_reserve() -> Value {
    json!({
        "flavorID": "fluidos.eu-k8slice-9b1c",
        "buyerID": {"ID": "jlhfplohpf", "IP": "172.18.0.2:30000", "domain": "fluidos.eu",
            "additionalInformation": {"liqoID": "14461b0e-446d-4b05-b1f8-9ddb6765ac02",
                "kubeconfig": "YXBpVmVyc2lvbjogdjEK"}},
        "configuration": {"type": "k8slice", "data": {"cpu": "1", "memory": "1Gi", "pods": "110"}}
    })
}

#[test]
fn reserve_request_golden() {
    let req: ReserveRequest = serde_json::from_value(upstream_reserve()).unwrap();
    assert_eq!(req.buyer.id, "jlhfplohpf");
    let part = req
        .configuration
        .clone()
        .unwrap()
        .k8slice_data()
        .unwrap()
        .unwrap();
    assert_eq!(part.memory.to_string(), "1Gi");
    assert_eq!(serde_json::to_value(&req).unwrap(), upstream_reserve());
}

#[test]
fn transaction_golden() {
    let v = json!({
        "transactionID": "37b53e2ba2b7b6ecb96bd56989baecf2-1700151404800502383",
        "flavorID": "fluidos.eu-k8slice-9b1c",
        "configuration": {"type": "k8slice", "data": {"cpu": "1", "memory": "1Gi", "pods": "110"}},
        "buyer": {"ID": "jlhfplohpf", "IP": "172.18.0.2:30000", "domain": "fluidos.eu",
            "additionalInformation": {"liqoID": "14461b0e-446d-4b05-b1f8-9ddb6765ac02"}},
        "clusterID": "14461b0e-446d-4b05-b1f8-9ddb6765ac02",
        "expirationTime": "2025-05-18T11:00:00Z"
    });
    let t: WireTransaction = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(t.cluster_id, "14461b0e-446d-4b05-b1f8-9ddb6765ac02");
    assert_eq!(serde_json::to_value(&t).unwrap(), v);
}

#[test]
fn purchase_request_golden() {
    let empty: PurchaseRequest = serde_json::from_str("{}").unwrap();
    assert_eq!(empty, PurchaseRequest::default());
    assert_eq!(serde_json::to_string(&empty).unwrap(), "{}");
    let v = json!({"ingressTelemetryEndpoint": {"endpoint": "http://collector:8080",
        "intents": ["intent-1"]}});
    let p: PurchaseRequest = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(serde_json::to_value(&p).unwrap(), v);
    let svc = json!({"liqoCredentials": {"clusterID": "c", "kubeconfig": "a2M="}});
    let p: PurchaseRequest = serde_json::from_value(svc.clone()).unwrap();
    assert_eq!(serde_json::to_value(&p).unwrap(), svc);
}

#[test]
fn contract_golden() {
    let v = json!({
        "contractID": "contract-fluidos-eu-k8slice-9b1c-c9c6",
        "transactionID": "37b53e2ba2b7b6ecb96bd56989baecf2-1700151404800502383",
        "flavor": upstream_flavor(),
        "buyerID": {"ID": "jlhfplohpf", "IP": "172.18.0.2:30000", "domain": "fluidos.eu",
            "additionalInformation": {"liqoID": "14461b0e-446d-4b05-b1f8-9ddb6765ac02"}},
        "buyerClusterID": "14461b0e-446d-4b05-b1f8-9ddb6765ac02",
        "seller": {"ID": "46ltws9per", "IP": "172.18.0.7:30001", "domain": "fluidos.eu",
            "additionalInformation": {"liqoID": "40585c34-4b93-403f-8008-4b1ecced6f62"}},
        "peeringTargetCredentials": {"clusterID": "40585c34-4b93-403f-8008-4b1ecced6f62",
            "kubeconfig": "YXBpVmVyc2lvbjogdjEK"},
        "expirationTime": "2026-05-18T10:00:12Z",
        "configuration": {"type": "k8slice", "data": {"cpu": "1", "memory": "1Gi", "pods": "110"}}
    });
    let c: WireContract = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(c.seller.id, "46ltws9per");
    assert_eq!(serde_json::to_value(&c).unwrap(), v);
}

#[test]
fn purchase_paths_parse() {
    assert_eq!(
        purchase_path("abc-1"),
        "/api/v2/transactions/abc-1/purchase"
    );
    assert_eq!(
        purchase_transaction_id("/api/v2/transactions/abc-1/purchase"),
        Some("abc-1")
    );
    assert_eq!(
        purchase_transaction_id("/api/v2/transactions//purchase"),
        None
    );
    assert_eq!(
        purchase_transaction_id("/api/v2/transactions/a/b/purchase"),
        None
    );
    assert_eq!(purchase_transaction_id("/api/v2/flavors"), None);
}
