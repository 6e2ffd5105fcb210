//! Objects upstream writes (reference Appendix B and §3 shapes) are stored by our CRDs exactly
//! as written: nothing pruned, nothing refused; and what the schemas do prune or refuse.

use serde::Serialize;
use serde_json::{Value, json};

use super::crd;
use crate::k8s::crds::schema_check::{Finding, Problem, object_findings, schema_of};

pub(super) fn findings(kind: &str, object: &Value) -> Vec<Finding> {
    object_findings(&schema_of(&crd(kind)).unwrap(), object)
}

#[track_caller]
pub(super) fn assert_stored_as_written(kind: &str, object: &Value) {
    let found = findings(kind, object);
    assert!(found.is_empty(), "{kind}: {found:#?}\n{object:#}");
}

#[track_caller]
pub(super) fn assert_ours_stored(kind: &str, object: &impl Serialize) {
    assert_stored_as_written(kind, &serde_json::to_value(object).unwrap());
}

fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).unwrap()
}

const APPENDIX_B_FLAVOR_SPEC: &str = r#"
providerID: 46ltws9per
flavorType:
  typeIdentifier: K8Slice
  typeData:
    characteristics: {architecture: amd64, cpu: 7970838142n, memory: 7879752Ki, pods: "110",
                      gpu: {model: "", cores: "0", memory: "0"}, storage: "0"}
    properties: {}
    policies:
      partitionability: {cpuMin: "0", memoryMin: "0", podsMin: "0", gpuMin: "0",
                         cpuStep: "1", memoryStep: 100Mi, podsStep: "0", gpuStep: "0"}
owner: {domain: fluidos.eu, nodeID: 46ltws9per, ip: "172.18.0.7:30001"}
price: {amount: "", currency: "", period: ""}
availability: true
networkPropertyType: networkProperty
location: {latitude: "10", longitude: "58", country: Italy, city: Turin, additionalNotes: None}
"#;

fn appendix_b_flavor() -> Value {
    json!({
        "apiVersion": "nodecore.fluidos.eu/v1alpha1",
        "kind": "Flavor",
        "metadata": {"name": "fluidos.eu-k8slice-9b1c", "namespace": "fluidos",
            "ownerReferences": [{"apiVersion": "nodecore.fluidos.eu/v1alpha1", "kind": "Node",
                                 "name": "fluidos-provider-worker", "uid": "6c1f"}]},
        "spec": yaml(APPENDIX_B_FLAVOR_SPEC)
    })
}

fn upstream_contract() -> Value {
    let mut contract = yaml(
        r#"
apiVersion: reservation.fluidos.eu/v1alpha1
kind: Contract
metadata: {name: contract-fluidos-eu-k8slice-9b1c-c9c6, namespace: fluidos}
spec:
  transactionID: 37b53e2ba2b7b6ecb96bd56989baecf2-1700151404800502383
  configuration: {type: K8Slice, data: {cpu: "1", memory: 1Gi, pods: "110"}}
  buyer:  {domain: fluidos.eu, nodeID: jlhfplohpf, ip: "172.18.0.2:30000",
           additionalInformation: {liqoID: 14461b0e}}
  buyerClusterID: 14461b0e
  seller: {domain: fluidos.eu, nodeID: 46ltws9per, ip: "172.18.0.7:30001",
           additionalInformation: {liqoID: 40585c34}}
  peeringTargetCredentials: {liqoID: 40585c34, kubeconfig: YXBpVmVyc2lvbjogdjEK}
  expirationTime: "2026-05-18T10:00:12Z"
  extraInformation: {note: x}
  networkRequests: ""
  ingressTelemetryEndpoint: {endpoint: "http://10.0.0.1:4317", intents: [latency]}
"#,
    );
    contract["spec"]["flavor"] = json!({
        "metadata": {"name": "fluidos.eu-k8slice-9b1c", "namespace": "fluidos"},
        "spec": yaml(APPENDIX_B_FLAVOR_SPEC),
        "status": {"creationTime": "", "expirationTime": "", "lastUpdateTime": ""}
    });
    contract
}

#[test]
fn appendix_b_objects_are_stored_as_written() {
    assert_stored_as_written("Flavor", &appendix_b_flavor());
    assert_stored_as_written("Contract", &upstream_contract());
    let reservation = yaml(
        r#"
apiVersion: reservation.fluidos.eu/v1alpha1
kind: Reservation
metadata: {name: reservation-solver-sample, namespace: fluidos}
spec:
  solverID: solver-sample
  buyer:  {domain: fluidos.eu, nodeID: jlhfplohpf, ip: "172.18.0.2:30000"}
  seller: {domain: fluidos.eu, nodeID: 46ltws9per, ip: "172.18.0.7:30001"}
  peeringCandidate: {name: peeringcandidate-fluidos.eu-k8slice-9b1c, namespace: fluidos}
  reserve: true
  purchase: true
  configuration: {type: K8Slice, data: {cpu: "1", memory: 1Gi, pods: "110"}}
status:
  phase: {phase: Solved, message: Reservation solved, startTime: "2025-05-18T10:00:00Z",
          lastChangeTime: "2025-05-18T10:00:12Z"}
  reservePhase: Solved
  purchasePhase: Solved
  transactionID: 37b53e2ba2b7b6ecb96bd56989baecf2-1700151404800502383
  contract: {name: contract-fluidos-eu-k8slice-9b1c-c9c6, namespace: fluidos}
"#,
    );
    assert_stored_as_written("Reservation", &reservation);
    let allocation = yaml(
        r#"
apiVersion: nodecore.fluidos.eu/v1alpha1
kind: Allocation
metadata: {name: allocation-fluidos.eu-k8slice-9b1c-c9c6, namespace: fluidos}
spec: {contract: {name: contract-fluidos-eu-k8slice-9b1c-c9c6, namespace: fluidos}}
status: {status: Active, message: Allocation is now Active, lastUpdateTime: "2025-05-18T10:00:20Z",
         resourceRef: {name: fc, kind: ForeignCluster, apiVersion: core.liqo.io/v1beta1}}
"#,
    );
    assert_stored_as_written("Allocation", &allocation);
}

fn upstream_candidate() -> Value {
    json!({
        "metadata": {"name": "peeringcandidate-fluidos.eu-k8slice-9b1c", "namespace": "fluidos"},
        "spec": {
            "interestedSolverIDs": ["solver-sample"],
            "flavor": {"metadata": {"name": "fluidos.eu-k8slice-9b1c", "namespace": "fluidos"},
                       "spec": yaml(APPENDIX_B_FLAVOR_SPEC),
                       "status": {"creationTime": "", "expirationTime": "", "lastUpdateTime": ""}},
            "available": true
        },
        "status": {"creationTime": "2025-05-18T10:00:00Z", "lastUpdateTime": ""}
    })
}

#[test]
fn other_upstream_shapes_are_stored_as_written() {
    let solver = json!({
        "apiVersion": "nodecore.fluidos.eu/v1alpha1", "kind": "Solver",
        "metadata": {"name": "solver-sample", "namespace": "fluidos"},
        "spec": {
            "selector": {"flavorType": "K8Slice", "filters": {
                "architectureFilter": {"name": "Match", "data": {"value": "amd64"}},
                "podsFilter": {"name": "Match", "data": {"value": 110}}}},
            "intentID": "intent-sample", "findCandidate": true, "reserveAndBuy": true,
            "establishPeering": false
        },
        "status": {"findCandidate": "Solved", "reserveAndBuy": "Running", "peering": "Idle",
                   "discoveryPhase": "Solved", "reservationPhase": "Running", "consumePhase": "",
                   "solverPhase": {"phase": "Running", "message": "m", "startTime": "t",
                                   "lastChangeTime": "t", "endTime": "t"}}
    });
    assert_stored_as_written("Solver", &solver);
    let mut pc = upstream_candidate();
    let discovery = json!({
        "apiVersion": "advertisement.fluidos.eu/v1alpha1", "kind": "Discovery",
        "metadata": {"name": "discovery-solver-sample", "namespace": "fluidos"},
        "spec": {"solverID": "solver-sample", "subscribe": false,
                 "selector": {"flavorType": "K8Slice"}},
        "status": {"phase": {"phase": "Solved"},
                   "peeringCandidateList": {"metadata": {}, "items": [pc.clone()]}}
    });
    assert_stored_as_written("Discovery", &discovery);
    pc["apiVersion"] = json!("advertisement.fluidos.eu/v1alpha1");
    pc["kind"] = json!("PeeringCandidate");
    assert_stored_as_written("PeeringCandidate", &pc);
    let transaction = json!({
        "apiVersion": "reservation.fluidos.eu/v1alpha1", "kind": "Transaction",
        "metadata": {"name": "37b53e2ba2b7b6ecb96bd56989baecf2-1700151404800502383"},
        "spec": {"flavorID": "fluidos.eu-k8slice-9b1c", "clusterID": "",
                 "buyer": {"domain": "fluidos.eu", "nodeID": "jlhfplohpf", "ip": "172.18.0.2:30000"},
                 "configuration": {"type": "K8Slice", "data": {"cpu": "1"}},
                 "expirationTime": "2025-05-18T11:00:00Z"},
        "status": {"phase": {"phase": "Solved"}}
    });
    assert_stored_as_written("Transaction", &transaction);
    let known = json!({"spec": {"address": "172.18.0.7:30001"},
                       "status": {"expirationTime": "t", "lastUpdateTime": "t"}});
    assert_stored_as_written("KnownCluster", &known);
    let broker = json!({"spec": {"address": "b:5671", "name": "b", "clcert": "c", "cacert": "ca",
                                 "role": "publisher", "rule": "{}", "metric": "{}"}});
    assert_stored_as_written("Broker", &broker);
    let blueprint = json!({
        "spec": {"name": "db", "description": "d", "category": "database", "tags": ["sql"],
                 "hostingPolicies": ["Provider"],
                 "templates": [{"name": "t", "serviceData": {"kind": "Deployment"}}]},
        "status": {"serviceFlavors": [{"name": "db", "description": "d", "category": "database",
                   "tags": [], "hostingPolicies": [], "configurationTemplate": {"type": "object"}}]}
    });
    assert_stored_as_written("ServiceBlueprint", &blueprint);
}

#[test]
fn what_the_schemas_prune_and_refuse() {
    let mut contract = upstream_contract();
    contract["spec"]["flavor"]["metadata"]["uid"] = json!("u-1");
    contract["spec"]["flavor"]["spec"]
        .as_object_mut()
        .unwrap()
        .remove("price");
    contract["spec"]["surprise"] = json!(1);
    let problems: Vec<(String, Problem)> = findings("Contract", &contract)
        .into_iter()
        .map(|f| (f.path, f.problem))
        .collect();
    assert_eq!(
        problems,
        [
            // Embedded metadata keeps upstream's five keys only.
            (".spec.flavor.metadata.uid".to_owned(), Problem::Pruned),
            (
                ".spec.flavor.spec.price".to_owned(),
                Problem::MissingRequired
            ),
            (".spec.surprise".to_owned(), Problem::Pruned),
        ]
    );
    let mut flavor = appendix_b_flavor();
    flavor["spec"]["availability"] = json!("yes");
    assert_eq!(findings("Flavor", &flavor).len(), 1);
}
