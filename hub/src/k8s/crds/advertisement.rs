//! `advertisement.fluidos.eu` custom resources: Discovery and PeeringCandidate.
//!
//! Upstream's Discovery columns "PC Namespace" and "PC Name" read
//! `.status.peeringCandidate.{namespace,name}`, a field that no longer exists (the status now
//! holds a list of candidates); they are dropped here.

// `printcolumn(...)`/`shortname`/`selectable` arguments repeat by design; the lint reads
// them as duplicated attributes.
#![allow(clippy::duplicated_attributes)]

use fluidos_protocol::discovery;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a Discovery looks for, on behalf of which Solver.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "advertisement.fluidos.eu",
    version = "v1alpha1",
    kind = "Discovery",
    plural = "discoveries",
    shortname = "dis",
    namespaced,
    status = "discovery::DiscoveryStatus",
    doc = "Discovery: one query of the known providers on behalf of a Solver, and the \
           candidates found.",
    printcolumn(name = "Solver ID", type_ = "string", json_path = ".spec.solverID"),
    printcolumn(name = "Subscribe", type_ = "boolean", json_path = ".spec.subscribe"),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.phase.phase"),
    printcolumn(
        name = "Message",
        type_ = "string",
        json_path = ".status.phase.message"
    ),
    selectable = ".spec.solverID"
)]
#[serde(transparent)]
pub struct DiscoverySpec(pub discovery::DiscoverySpec);

/// A remote Flavor (embedded) and the Solvers interested in it.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "advertisement.fluidos.eu",
    version = "v1alpha1",
    kind = "PeeringCandidate",
    plural = "peeringcandidates",
    namespaced,
    status = "discovery::PeeringCandidateStatus",
    doc = "PeeringCandidate: one remote Flavor any Solver may buy.",
    selectable = ".spec.available"
)]
#[serde(transparent)]
pub struct PeeringCandidateSpec(pub discovery::PeeringCandidateSpec);
