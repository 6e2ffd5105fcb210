//! Golden JSON tests of the Flavor CR form, from the reference note's Appendix B.

use super::*;
use crate::node::WireNodeIdentity;

const APPENDIX_B_FLAVOR: &str = r#"{
  "apiVersion": "nodecore.fluidos.eu/v1alpha1",
  "kind": "Flavor",
  "metadata": {
    "name": "fluidos.eu-k8slice-9b1c",
    "namespace": "fluidos",
    "ownerReferences": [{"apiVersion": "nodecore.fluidos.eu/v1alpha1", "kind": "Node", "name": "fluidos-provider-worker", "uid": "6c1f"}]
  },
  "spec": {
    "providerID": "46ltws9per",
    "flavorType": {
      "typeIdentifier": "K8Slice",
      "typeData": {
        "characteristics": {"architecture": "amd64", "cpu": "7970838142n", "memory": "7879752Ki", "pods": "110",
                            "gpu": {"model": "", "cores": "0", "memory": "0"}, "storage": "0"},
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
  }
}"#;

#[test]
fn upstream_flavor_decodes_and_reencodes_identically() {
    let flavor: Flavor = serde_json::from_str(APPENDIX_B_FLAVOR).unwrap();
    assert_eq!(flavor.metadata.name, "fluidos.eu-k8slice-9b1c");
    assert_eq!(flavor.spec.provider_id, "46ltws9per");
    let k8s = flavor.spec.flavor_type.k8slice().unwrap().unwrap();
    assert_eq!(k8s.characteristics.architecture, "amd64");
    assert_eq!(
        k8s.characteristics.cpu,
        "7970838142n".parse::<Quantity>().unwrap()
    );
    assert_eq!(
        k8s.policies.partitionability.memory_step,
        "100Mi".parse::<Quantity>().unwrap()
    );

    let expected: serde_json::Value = serde_json::from_str(APPENDIX_B_FLAVOR).unwrap();
    assert_eq!(serde_json::to_value(&flavor).unwrap(), expected);
}

#[test]
fn typed_k8slice_data_round_trips_in_cr_spelling() {
    let flavor: Flavor = serde_json::from_str(APPENDIX_B_FLAVOR).unwrap();
    let data = flavor.spec.flavor_type.k8slice().unwrap().unwrap();
    let again = FlavorType::from_k8slice(&data).unwrap();
    assert_eq!(again, flavor.spec.flavor_type);
    let json = serde_json::to_string(&again.type_data).unwrap();
    assert!(json.contains("\"characteristics\""));
    assert!(json.contains("\"gpuStep\""));
}

#[test]
fn carbon_footprint_uses_the_cr_key() {
    let p = Properties {
        carbon_footprint: Some(CarbonFootprint {
            embodied: 3,
            operational: vec![1, 2],
        }),
        ..Properties::default()
    };
    let v = serde_json::to_value(&p).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"carbon-footprint": {"embodied": 3, "operational": [1, 2]}})
    );
}

#[test]
fn non_k8slice_type_has_no_k8slice_view() {
    let t = FlavorType {
        type_identifier: "Service".into(),
        type_data: serde_json::json!({}),
    };
    assert!(t.k8slice().is_none());
}

#[test]
fn wire_identity_of_owner_matches_reference() {
    let flavor: Flavor = serde_json::from_str(APPENDIX_B_FLAVOR).unwrap();
    let wire = WireNodeIdentity::from(&flavor.spec.owner);
    assert_eq!(wire.id, "46ltws9per");
    assert_eq!(wire.ip, "172.18.0.7:30001");
}
