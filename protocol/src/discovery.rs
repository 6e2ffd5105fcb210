//! The `advertisement.fluidos.eu` custom resources: `Discovery` (one query of the known
//! providers on behalf of a Solver) and `PeeringCandidate` (one remote Flavor a Solver may buy).

use serde::{Deserialize, Serialize};

use crate::flavor::Flavor;
use crate::meta::ObjectMeta;
use crate::phase::PhaseStatus;

/// Kubernetes API group of `Discovery` and `PeeringCandidate`.
pub const GROUP_ADVERTISEMENT: &str = "advertisement.fluidos.eu";
/// `apiVersion` of every `advertisement.fluidos.eu` object.
pub const ADVERTISEMENT_API_VERSION: &str = "advertisement.fluidos.eu/v1alpha1";
/// `kind` of Discovery objects.
pub const DISCOVERY_KIND: &str = "Discovery";
/// Plural resource name of Discoveries.
pub const DISCOVERY_PLURAL: &str = "discoveries";
/// Short names of Discoveries.
pub const DISCOVERY_SHORT_NAMES: &[&str] = &["dis"];
/// `kind` of PeeringCandidate objects.
pub const PEERING_CANDIDATE_KIND: &str = "PeeringCandidate";
/// Plural resource name of PeeringCandidates.
pub const PEERING_CANDIDATE_PLURAL: &str = "peeringcandidates";
/// Short names of PeeringCandidates (none upstream).
pub const PEERING_CANDIDATE_SHORT_NAMES: &[&str] = &[];

/// Prefix of Discovery names (`discovery-<solverName>`).
const DISCOVERY_PREFIX: &str = "discovery-";

/// Name of the Discovery a Solver creates: `discovery-<solverName>`.
pub fn discovery_name(solver: &str) -> String {
    format!("{DISCOVERY_PREFIX}{solver}")
}

/// The Solver name a Discovery name was made from (the prefix stripped), if it has the prefix.
pub fn solver_of_discovery(discovery: &str) -> Option<&str> {
    discovery.strip_prefix(DISCOVERY_PREFIX)
}

/// Name of the PeeringCandidate of a remote Flavor: `peeringcandidate-<flavorID>`.
pub fn peering_candidate_name(flavor_id: &str) -> String {
    format!("peeringcandidate-{flavor_id}")
}

/// A Discovery object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Discovery {
    /// Always [`ADVERTISEMENT_API_VERSION`].
    pub api_version: String,
    /// Always [`DISCOVERY_KIND`].
    pub kind: String,
    /// Object metadata; the name is [`discovery_name`] of the Solver.
    pub metadata: ObjectMeta,
    /// What to look for.
    pub spec: DiscoverySpec,
    /// Phase and results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DiscoveryStatus>,
}

impl Discovery {
    /// A Discovery with the right `apiVersion`/`kind` around `metadata` and `spec`.
    pub fn new(metadata: ObjectMeta, spec: DiscoverySpec) -> Self {
        Self {
            api_version: ADVERTISEMENT_API_VERSION.to_owned(),
            kind: DISCOVERY_KIND.to_owned(),
            metadata,
            spec,
            status: None,
        }
    }
}

/// `spec` of a Discovery.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["solverID", "subscribe"]))
)]
#[serde(rename_all = "camelCase")]
pub struct DiscoverySpec {
    /// Name of the Solver this Discovery works for.
    #[serde(rename = "solverID", alias = "solverId", default)]
    pub solver_id: String,
    /// Which flavors qualify; absent means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<crate::selector::Selector>,
    /// Subscription flag (required key; always `false` upstream).
    #[serde(default)]
    pub subscribe: bool,
}

/// `status` of a Discovery.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["phase"]))
)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveryStatus {
    /// Phase (required key).
    #[serde(default)]
    pub phase: PhaseStatus,
    /// The candidates found (full embedded objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peering_candidate_list: Option<PeeringCandidateList>,
}

/// `status.peeringCandidateList` of a Discovery.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["items"]), transform = crate::schema::list_envelope)
)]
pub struct PeeringCandidateList {
    /// The candidates.
    #[serde(default)]
    pub items: Vec<PeeringCandidate>,
}

/// A PeeringCandidate object: one remote Flavor, shared by every Solver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
// Its schema is used only where it is embedded in a Discovery's status, and there upstream
// requires none of its keys.
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = []))
)]
#[serde(rename_all = "camelCase")]
pub struct PeeringCandidate {
    /// [`ADVERTISEMENT_API_VERSION`] (may be empty when embedded in a Discovery status).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// [`PEERING_CANDIDATE_KIND`] (may be empty when embedded in a Discovery status).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Object metadata; the name is [`peering_candidate_name`] of the flavor.
    pub metadata: ObjectMeta,
    /// The flavor and who is interested in it.
    pub spec: PeeringCandidateSpec,
    /// Times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PeeringCandidateStatus>,
}

impl PeeringCandidate {
    /// A PeeringCandidate with the right `apiVersion`/`kind` around `metadata` and `spec`.
    pub fn new(metadata: ObjectMeta, spec: PeeringCandidateSpec) -> Self {
        Self {
            api_version: ADVERTISEMENT_API_VERSION.to_owned(),
            kind: PEERING_CANDIDATE_KIND.to_owned(),
            metadata,
            spec,
            status: None,
        }
    }
}

/// `spec` of a PeeringCandidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["interestedSolverIDs", "flavor", "available"]))
)]
#[serde(rename_all = "camelCase")]
pub struct PeeringCandidateSpec {
    /// Solvers that picked this candidate (required key, may be empty).
    #[serde(rename = "interestedSolverIDs", alias = "interestedSolverIds", default)]
    pub interested_solver_ids: Vec<String>,
    /// The remote Flavor (embedded).
    pub flavor: Flavor,
    /// `false` while a Reservation holds it.
    #[serde(default)]
    pub available: bool,
}

/// `status` of a PeeringCandidate (both keys always emitted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["creationTime", "lastUpdateTime"]))
)]
#[serde(rename_all = "camelCase")]
pub struct PeeringCandidateStatus {
    /// RFC 3339 creation time (or empty).
    #[serde(default)]
    pub creation_time: String,
    /// RFC 3339 last update time (or empty).
    #[serde(default)]
    pub last_update_time: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flavor_json() -> serde_json::Value {
        json!({
            "metadata": {"name": "fluidos.eu-k8slice-9b1c", "namespace": "fluidos"},
            "spec": {
                "providerID": "46ltws9per",
                "flavorType": {"typeIdentifier": "K8Slice", "typeData": {}},
                "owner": {"domain": "fluidos.eu", "nodeID": "46ltws9per", "ip": "172.18.0.7:30001"},
                "price": {"amount": "", "currency": "", "period": ""},
                "availability": true
            }
        })
    }

    #[test]
    fn names_follow_appendix_a() {
        assert_eq!(discovery_name("solver-sample"), "discovery-solver-sample");
        assert_eq!(
            solver_of_discovery("discovery-solver-sample"),
            Some("solver-sample")
        );
        assert_eq!(solver_of_discovery("other"), None);
        assert_eq!(
            peering_candidate_name("fluidos.eu-k8slice-9b1c"),
            "peeringcandidate-fluidos.eu-k8slice-9b1c"
        );
    }

    #[test]
    fn minimal_discovery_decodes_and_keeps_required_keys() {
        let min = json!({
            "apiVersion": "advertisement.fluidos.eu/v1alpha1",
            "kind": "Discovery",
            "metadata": {"name": "discovery-s", "namespace": "fluidos"},
            "spec": {"solverID": "s", "subscribe": false},
            "status": {"phase": {"phase": ""}}
        });
        let d: Discovery = serde_json::from_value(min.clone()).unwrap();
        assert_eq!(d.spec.solver_id, "s");
        assert!(d.spec.selector.is_none());
        assert_eq!(serde_json::to_value(&d).unwrap(), min);
    }

    #[test]
    fn discovery_with_embedded_candidates_round_trips() {
        let pc = json!({
            "metadata": {"name": "peeringcandidate-fluidos.eu-k8slice-9b1c", "namespace": "fluidos"},
            "spec": {"interestedSolverIDs": ["solver-sample"], "flavor": flavor_json(), "available": true},
            "status": {"creationTime": "2025-01-01T00:00:00Z", "lastUpdateTime": ""}
        });
        let doc = json!({
            "apiVersion": "advertisement.fluidos.eu/v1alpha1",
            "kind": "Discovery",
            "metadata": {"name": "discovery-solver-sample", "namespace": "fluidos"},
            "spec": {"solverID": "solver-sample", "subscribe": false},
            "status": {
                "phase": {"phase": "Solved", "message": "Discovery Solved: Peering Candidate found"},
                "peeringCandidateList": {"items": [pc]}
            }
        });
        let d: Discovery = serde_json::from_value(doc.clone()).unwrap();
        let items = &d
            .status
            .as_ref()
            .unwrap()
            .peering_candidate_list
            .as_ref()
            .unwrap()
            .items;
        assert_eq!(items.len(), 1);
        assert_eq!(
            items[0].spec.flavor.metadata.name,
            "fluidos.eu-k8slice-9b1c"
        );
        assert_eq!(serde_json::to_value(&d).unwrap(), doc);
    }

    #[test]
    fn peering_candidate_emits_required_keys() {
        let flavor: Flavor = serde_json::from_value(flavor_json()).unwrap();
        let pc = PeeringCandidate::new(
            ObjectMeta {
                name: peering_candidate_name("f"),
                ..ObjectMeta::default()
            },
            PeeringCandidateSpec {
                interested_solver_ids: vec![],
                flavor,
                available: false,
            },
        );
        let v = serde_json::to_value(&pc).unwrap();
        assert_eq!(v["apiVersion"], "advertisement.fluidos.eu/v1alpha1");
        assert_eq!(v["kind"], "PeeringCandidate");
        assert_eq!(v["spec"]["interestedSolverIDs"], json!([]));
        assert_eq!(v["spec"]["available"], json!(false));
        assert_eq!(
            v["spec"]["flavor"]["spec"]["price"],
            json!({"amount": "", "currency": "", "period": ""})
        );
        let status = serde_json::to_value(PeeringCandidateStatus::default()).unwrap();
        assert_eq!(status, json!({"creationTime": "", "lastUpdateTime": ""}));
    }
}
