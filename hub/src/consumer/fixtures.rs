//! Test fixtures for the consumer's pure code: wire flavors, PeeringCandidates, Solvers.

use fluidos_protocol::discovery::{PeeringCandidate, PeeringCandidateSpec, peering_candidate_name};
use fluidos_protocol::flavor::Flavor;
use fluidos_protocol::meta::ObjectMeta;
use fluidos_protocol::node::NodeIdentity;
use fluidos_protocol::node::WireNodeIdentity;
use fluidos_protocol::rear::{WireContract, WireFlavor, WireLiqoCredentials};
use fluidos_protocol::selector::Selector;
use fluidos_protocol::solver::{Solver, SolverSpec};
use serde_json::json;

pub(crate) const NS: &str = "fluidos";

/// A K8Slice wire flavor owned by `owner` at `owner:3004`.
pub(crate) fn wire_flavor(id: &str, owner: &str, arch: &str, cpu: &str) -> WireFlavor {
    serde_json::from_value(json!({
        "flavorID": id,
        "providerID": owner,
        "type": {"name": "k8slice", "data": {
            "charateristics": {"architecture": arch, "cpu": cpu, "memory": "8Gi", "pods": "110"},
            "properties": {},
            "policies": {"partitionability": {"cpuMin": "0", "memoryMin": "0", "podsMin": "0",
                "cpuStep": "1", "memoryStep": "100Mi", "podsStep": "0"}}}},
        "timestamp": "2025-05-18T10:00:00Z",
        "price": {"amount": "", "currency": "", "period": ""},
        "owner": {"ID": owner, "IP": format!("{owner}:3004"), "domain": "fluidos.eu"},
        "availability": true
    }))
    .unwrap()
}

/// The CR form of [`wire_flavor`].
pub(crate) fn flavor(id: &str, owner: &str, arch: &str, cpu: &str) -> Flavor {
    wire_flavor(id, owner, arch, cpu).to_cr(NS).unwrap()
}

/// A PeeringCandidate for [`flavor`].
pub(crate) fn pc(
    id: &str,
    owner: &str,
    arch: &str,
    cpu: &str,
    available: bool,
) -> PeeringCandidate {
    let mut pc = PeeringCandidate::new(
        ObjectMeta {
            name: peering_candidate_name(id),
            namespace: NS.into(),
            ..ObjectMeta::default()
        },
        PeeringCandidateSpec {
            interested_solver_ids: vec![],
            flavor: flavor(id, owner, arch, cpu),
            available,
        },
    );
    pc.metadata.resource_version = "1".into();
    pc
}

/// A K8Slice selector from its `filters` JSON (`None`: no filters).
pub(crate) fn k8s_selector(filters: Option<serde_json::Value>) -> Selector {
    Selector {
        flavor_type: "K8Slice".into(),
        filters,
    }
}

/// A Solver with the three flags.
pub(crate) fn solver(name: &str, selector: Option<Selector>, flags: [bool; 3]) -> Solver {
    Solver::new(
        ObjectMeta {
            name: name.into(),
            namespace: NS.into(),
            resource_version: "1".into(),
            ..ObjectMeta::default()
        },
        SolverSpec {
            selector,
            intent_id: "intent".into(),
            find_candidate: flags[0],
            reserve_and_buy: flags[1],
            establish_peering: flags[2],
        },
    )
}

/// Our identity.
pub(crate) fn me() -> NodeIdentity {
    NodeIdentity {
        domain: "fluidos.eu".into(),
        node_id: "consumer1".into(),
        ip: "10.0.0.1:3004".into(),
        additional_information: None,
    }
}

/// A purchase answer for flavor `f1` of `p1`, bought by `c1`.
pub(crate) fn wire_contract() -> WireContract {
    WireContract {
        contract_id: "contract-f1-abcd1234".into(),
        transaction_id: "tx1".into(),
        flavor: wire_flavor("f1", "p1", "amd64", "4"),
        buyer: WireNodeIdentity {
            id: "c1".into(),
            ip: "c1:3004".into(),
            domain: "fluidos.eu".into(),
            additional_information: None,
        },
        buyer_cluster_id: "c1".into(),
        seller: WireNodeIdentity {
            id: "p1".into(),
            ip: "p1:3004".into(),
            domain: "fluidos.eu".into(),
            additional_information: None,
        },
        peering_target_credentials: WireLiqoCredentials {
            cluster_id: "p1".into(),
            kubeconfig: String::new(),
        },
        expiration_time: Some("2026-05-18T10:00:00Z".into()),
        extra_information: None,
        configuration: None,
        network_authorizations: None,
        ingress_telemetry_endpoint: None,
    }
}
