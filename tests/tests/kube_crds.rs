//! The generated CRDs on a real kube-apiserver: every one is Established, upstream-shaped
//! sample objects (a Flavor and a Reservation as upstream's Go code writes them, a KnownCluster
//! and a Solver as upstream's samples are written) apply cleanly with kubectl, keep their
//! fields (nothing pruned), and `kubectl get` shows upstream's printer columns.

use fluidos_tests::kube::{ControlPlane, skipped, unique_name};

fn samples(ns: &str) -> String {
    format!(
        r#"apiVersion: nodecore.fluidos.eu/v1alpha1
kind: Flavor
metadata:
  name: fluidos.eu-k8slice-9b1c
  namespace: {ns}
spec:
  providerID: 46ltws9per
  flavorType:
    typeIdentifier: K8Slice
    typeData:
      characteristics: {{architecture: amd64, cpu: 7970838142n, memory: 7879752Ki, pods: "110",
                        gpu: {{model: "", cores: "0", memory: "0"}}, storage: "0"}}
      properties: {{}}
      policies:
        partitionability: {{cpuMin: "0", memoryMin: "0", podsMin: "0", gpuMin: "0",
                           cpuStep: "1", memoryStep: 100Mi, podsStep: "0", gpuStep: "0"}}
  owner: {{domain: fluidos.eu, nodeID: 46ltws9per, ip: "172.18.0.7:30001"}}
  price: {{amount: "", currency: "", period: ""}}
  availability: true
  networkPropertyType: networkProperty
  location: {{latitude: "10", longitude: "58", country: Italy, city: Turin, additionalNotes: None}}
---
apiVersion: reservation.fluidos.eu/v1alpha1
kind: Reservation
metadata: {{name: reservation-solver-sample, namespace: {ns}}}
spec:
  solverID: solver-sample
  buyer:  {{domain: fluidos.eu, nodeID: jlhfplohpf, ip: "172.18.0.2:30000"}}
  seller: {{domain: fluidos.eu, nodeID: 46ltws9per, ip: "172.18.0.7:30001"}}
  peeringCandidate: {{name: peeringcandidate-fluidos.eu-k8slice-9b1c, namespace: {ns}}}
  reserve: true
  purchase: true
  configuration: {{type: K8Slice, data: {{cpu: "1", memory: 1Gi, pods: "110"}}}}
---
apiVersion: network.fluidos.eu/v1alpha1
kind: KnownCluster
metadata: {{name: knowncluster-46ltws9per, namespace: {ns}}}
spec:
  address: "172.18.0.7:30001"
---
apiVersion: nodecore.fluidos.eu/v1alpha1
kind: Solver
metadata: {{name: solver-sample, namespace: {ns}}}
spec:
  selector:
    flavorType: K8Slice
    filters:
      architectureFilter: {{name: Match, data: {{value: amd64}}}}
      cpuFilter: {{name: Range, data: {{min: "1"}}}}
      memoryFilter: {{name: Range, data: {{min: 1Gi}}}}
      podsFilter: {{name: Match, data: {{value: "110"}}}}
  intentID: intent-sample
  findCandidate: true
  reserveAndBuy: false
  establishPeering: false
"#
    )
}

#[test]
fn upstream_samples_apply_and_kubectl_shows_upstream_columns() {
    if skipped("upstream_samples_apply_and_kubectl_shows_upstream_columns") {
        return;
    }
    let plane = ControlPlane::shared("crds");
    plane.install_crds().expect("every CRD Established");
    let ns = unique_name("crds");
    plane.create_namespace(&ns).expect("namespace");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("samples.yaml");
    std::fs::write(&file, samples(&ns)).expect("write samples");
    let applied = plane
        .kubectl_ok(&["apply", "--validate=strict", "-f", &file.to_string_lossy()])
        .expect("upstream-shaped samples apply cleanly (strict field validation)");
    assert_eq!(applied.matches("created").count(), 4, "{applied}");

    // Nothing pruned: nested free-form and typed fields come back as written.
    let cpu = plane
        .kubectl_ok(&[
            "get", "flavor", "fluidos.eu-k8slice-9b1c", "-n", &ns, "-o",
            "jsonpath={.spec.flavorType.typeData.characteristics.cpu} {.spec.location.city} {.spec.networkPropertyType}",
        ])
        .expect("get flavor");
    assert_eq!(cpu, "7970838142n Turin networkProperty");
    let data = plane
        .kubectl_ok(&[
            "get",
            "reservation",
            "reservation-solver-sample",
            "-n",
            &ns,
            "-o",
            "jsonpath={.spec.configuration.data.memory} {.spec.peeringCandidate.name}",
        ])
        .expect("get reservation");
    assert_eq!(data, "1Gi peeringcandidate-fluidos.eu-k8slice-9b1c");

    let flavors = plane
        .kubectl_ok(&["get", "flavors", "-n", &ns])
        .expect("kubectl get flavors");
    let header = flavors.lines().next().unwrap_or_default();
    for column in ["NAME", "PROVIDER ID", "TYPE", "AVAILABLE", "AGE"] {
        assert!(header.contains(column), "column {column} in {header:?}");
    }
    assert!(
        flavors.contains("46ltws9per") && flavors.contains("K8Slice") && flavors.contains("true"),
        "{flavors}"
    );
    let solvers = plane
        .kubectl_ok(&["get", "sol", "-n", &ns])
        .expect("short name sol");
    assert!(
        solvers.contains("INTENT ID") && solvers.contains("intent-sample"),
        "{solvers}"
    );
    let reservations = plane
        .kubectl_ok(&["get", "res", "-n", &ns])
        .expect("short name res");
    assert!(
        reservations.contains("SOLVER ID") && reservations.contains("solver-sample"),
        "{reservations}"
    );
    let known = plane
        .kubectl_ok(&["get", "kclust", "-n", &ns])
        .expect("short name kclust");
    assert!(known.contains("knowncluster-46ltws9per"), "{known}");
}
