//! Test fixtures of the REAR commands: a K8Slice Flavor and Contracts built from JSON.

use fluidos_protocol::flavor::Flavor;
use fluidos_protocol::reservation::Contract;
use serde_json::json;

/// A K8Slice flavor of 4 CPU, 8Gi, 110 pods owned by `owner` at 10.0.0.9:3004.
pub(crate) fn k8slice_flavor(owner: &str) -> Flavor {
    serde_json::from_value(json!({
        "metadata": {"name": "fluidos.eu-k8slice-0a1b", "namespace": "fluidos"},
        "spec": {
            "providerID": owner,
            "flavorType": {"typeIdentifier": "K8Slice", "typeData": {
                "characteristics": {"architecture": "arm64", "cpu": "4", "memory": "8Gi",
                    "pods": "110"}
            }},
            "owner": {"domain": "fluidos.eu", "nodeID": owner, "ip": "10.0.0.9:3004"},
            "price": {"amount": "", "currency": "", "period": ""},
            "availability": true
        }
    }))
    .unwrap()
}

/// A Contract `name` from `seller` to `buyer`; `partition`: 2 CPU, 4Gi, 10 pods.
pub(crate) fn contract(name: &str, seller: &str, buyer: &str, partition: bool) -> Contract {
    let mut spec = json!({
        "flavor": serde_json::to_value(k8slice_flavor(seller)).unwrap(),
        "transactionID": "tx-1",
        "buyer": {"domain": "fluidos.eu", "nodeID": buyer, "ip": "10.0.0.8:3004"},
        "seller": {"domain": "fluidos.eu", "nodeID": seller, "ip": "10.0.0.9:3004"},
        "buyerClusterID": "",
        "peeringTargetCredentials": {"liqoID": "", "kubeconfig": ""},
        "expirationTime": "2030-01-01T00:00:00Z"
    });
    if partition {
        spec["configuration"] = json!({"type": "K8Slice",
            "data": {"cpu": "2", "memory": "4Gi", "pods": "10"}});
    }
    serde_json::from_value(json!({
        "apiVersion": "reservation.fluidos.eu/v1alpha1",
        "kind": "Contract",
        "metadata": {"name": name, "namespace": "fluidos"},
        "spec": spec
    }))
    .unwrap()
}
