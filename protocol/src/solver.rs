//! The `Solver` custom resource (`nodecore.fluidos.eu/v1alpha1`): a consumer's intent to find,
//! reserve and buy a Flavor and to peer with its provider, and the status of each step.
//!
//! The status carries upstream's keys plus two additive, optional extensions of ours
//! ([`SolverStatus::contract`], [`SolverStatus::deadline`]) that upstream ignores.

use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;
use crate::phase::{GenericRef, Phase, PhaseStatus};

/// `apiVersion` of every `nodecore.fluidos.eu` object (Flavor, Solver, Allocation, …).
pub const NODECORE_API_VERSION: &str = "nodecore.fluidos.eu/v1alpha1";
/// `kind` of Solver objects.
pub const SOLVER_KIND: &str = "Solver";
/// Plural resource name of Solvers.
pub const SOLVER_PLURAL: &str = "solvers";
/// Short names of Solvers.
pub const SOLVER_SHORT_NAMES: &[&str] = &["sol"];

/// A Solver object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Solver {
    /// Always [`NODECORE_API_VERSION`].
    pub api_version: String,
    /// Always [`SOLVER_KIND`].
    pub kind: String,
    /// Object metadata; the name is the solver id other objects refer to.
    pub metadata: ObjectMeta,
    /// What the consumer wants.
    pub spec: SolverSpec,
    /// Progress of each step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SolverStatus>,
}

impl Solver {
    /// A Solver with the right `apiVersion`/`kind` around `metadata` and `spec`.
    pub fn new(metadata: ObjectMeta, spec: SolverSpec) -> Self {
        Self {
            api_version: NODECORE_API_VERSION.to_owned(),
            kind: SOLVER_KIND.to_owned(),
            metadata,
            spec,
            status: None,
        }
    }
}

/// `spec` of a Solver.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["intentID"]))
)]
#[serde(rename_all = "camelCase")]
pub struct SolverSpec {
    /// Which flavors qualify (`{flavorType, filters?}`); absent means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<crate::selector::Selector>,
    /// Informational intent id (required key, may be empty).
    #[serde(rename = "intentID", alias = "intentId", default)]
    pub intent_id: String,
    /// Look for a matching PeeringCandidate (running a Discovery when needed).
    #[serde(default, skip_serializing_if = "is_false")]
    pub find_candidate: bool,
    /// Reserve and purchase the candidate.
    #[serde(default, skip_serializing_if = "is_false")]
    pub reserve_and_buy: bool,
    /// Establish the peering (Allocation) once bought.
    #[serde(default, skip_serializing_if = "is_false")]
    pub establish_peering: bool,
}

/// `status` of a Solver.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SolverStatus {
    /// Find-candidate step.
    #[serde(default, skip_serializing_if = "is_empty_phase")]
    pub find_candidate: Phase,
    /// Reserve-and-buy step.
    #[serde(default, skip_serializing_if = "is_empty_phase")]
    pub reserve_and_buy: Phase,
    /// Peering step.
    #[serde(default, skip_serializing_if = "is_empty_phase")]
    pub peering: Phase,
    /// Phase copied from the Discovery.
    #[serde(default, skip_serializing_if = "is_empty_phase")]
    pub discovery_phase: Phase,
    /// Phase copied from the Reservation.
    #[serde(default, skip_serializing_if = "is_empty_phase")]
    pub reservation_phase: Phase,
    /// Consume phase (never set upstream).
    #[serde(default, skip_serializing_if = "is_empty_phase")]
    pub consume_phase: Phase,
    /// Overall phase and message (always emitted, as Go does).
    #[serde(default)]
    pub solver_phase: PhaseStatus,
    /// Extension: the Contract bought for this Solver, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<GenericRef>,
    /// Extension: RFC 3339 time at which the current step times out (empty when none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub deadline: String,
}

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

pub(crate) fn is_empty_phase(p: &Phase) -> bool {
    *p == Phase::Empty
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn upstream_sample_decodes() {
        let sample = json!({
            "apiVersion": "nodecore.fluidos.eu/v1alpha1",
            "kind": "Solver",
            "metadata": {"name": "solver-sample", "namespace": "fluidos"},
            "spec": {
                "selector": {
                    "flavorType": "K8Slice",
                    "filters": {
                        "architectureFilter": {"name": "Match", "data": {"value": "amd64"}},
                        "cpuFilter": {"name": "Range", "data": {"min": "1000m"}},
                        "memoryFilter": {"name": "Range", "data": {"min": "1Gi", "max": "100Gi"}},
                        "podsFilter": {"name": "Match", "data": {"value": 110}}
                    }
                },
                "intentID": "intent-sample",
                "findCandidate": true,
                "reserveAndBuy": true,
                "establishPeering": true
            }
        });
        let solver: Solver = serde_json::from_value(sample).unwrap();
        assert_eq!(solver.metadata.name, "solver-sample");
        assert_eq!(solver.spec.intent_id, "intent-sample");
        assert!(solver.spec.find_candidate && solver.spec.reserve_and_buy);
        assert!(solver.spec.establish_peering);
        assert!(solver.spec.selector.is_some());
        assert!(solver.status.is_none());
    }

    #[test]
    fn minimal_solver_decodes_and_emits_required_keys() {
        let min = json!({
            "apiVersion": "nodecore.fluidos.eu/v1alpha1",
            "kind": "Solver",
            "metadata": {"name": "s"},
            "spec": {"intentID": ""}
        });
        let solver: Solver = serde_json::from_value(min.clone()).unwrap();
        assert_eq!(
            solver,
            Solver::new(
                ObjectMeta {
                    name: "s".into(),
                    ..ObjectMeta::default()
                },
                SolverSpec::default()
            )
        );
        assert_eq!(serde_json::to_value(&solver).unwrap(), min);
    }

    #[test]
    fn status_uses_upstream_keys_and_extensions() {
        let status = SolverStatus {
            find_candidate: Phase::Solved,
            peering: Phase::TimedOut,
            solver_phase: PhaseStatus {
                phase: Phase::Running,
                message: "Reservation created".into(),
                ..PhaseStatus::default()
            },
            contract: Some(GenericRef::to("fluidos", "contract-x")),
            deadline: "2025-01-01T00:02:00Z".into(),
            ..SolverStatus::default()
        };
        let v = serde_json::to_value(&status).unwrap();
        assert_eq!(
            v,
            json!({
                "findCandidate": "Solved",
                "peering": "Timed Out",
                "solverPhase": {"phase": "Running", "message": "Reservation created"},
                "contract": {"name": "contract-x", "namespace": "fluidos"},
                "deadline": "2025-01-01T00:02:00Z"
            })
        );
        let back: SolverStatus = serde_json::from_value(v).unwrap();
        assert_eq!(back, status);
        // An empty status still carries `solverPhase`.
        assert_eq!(
            serde_json::to_value(SolverStatus::default()).unwrap(),
            json!({"solverPhase": {"phase": ""}})
        );
    }
}
