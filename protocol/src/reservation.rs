//! The `reservation.fluidos.eu` custom resources: [`Reservation`] (a consumer's reserve and
//! purchase of one PeeringCandidate), [`Transaction`] (a reserve that has not been bought yet)
//! and [`Contract`] (what was bought), with their naming functions.
//!
//! Upstream names a Contract after the Flavor alone ([`contract_name`]); we sell several
//! partitions of one Flavor, so our names are unique per transaction ([`contract_name_for`]).

mod contract;
mod transaction;

use serde::{Deserialize, Serialize};

pub use contract::{Contract, ContractSpec, ContractStatus, LiqoCredentials};
pub use transaction::{Transaction, TransactionSpec, TransactionStatus};

use crate::allocation::sha256_hex_prefix;
use crate::configuration::Configuration;
use crate::meta::ObjectMeta;
use crate::node::NodeIdentity;
use crate::phase::{GenericRef, Phase, PhaseStatus};
use crate::solver::{is_empty_phase, is_false};

/// Kubernetes API group of `Reservation`, `Transaction` and `Contract`.
pub const GROUP_RESERVATION: &str = "reservation.fluidos.eu";
/// `apiVersion` of every `reservation.fluidos.eu` object.
pub const RESERVATION_API_VERSION: &str = "reservation.fluidos.eu/v1alpha1";
/// `kind` of Reservation objects.
pub const RESERVATION_KIND: &str = "Reservation";
/// Plural resource name of Reservations.
pub const RESERVATION_PLURAL: &str = "reservations";
/// Short names of Reservations.
pub const RESERVATION_SHORT_NAMES: &[&str] = &["res"];
/// `kind` of Transaction objects.
pub const TRANSACTION_KIND: &str = "Transaction";
/// Plural resource name of Transactions.
pub const TRANSACTION_PLURAL: &str = "transactions";
/// Short names of Transactions.
pub const TRANSACTION_SHORT_NAMES: &[&str] = &["tr"];
/// `kind` of Contract objects.
pub const CONTRACT_KIND: &str = "Contract";
/// Plural resource name of Contracts.
pub const CONTRACT_PLURAL: &str = "contracts";
/// Short names of Contracts.
pub const CONTRACT_SHORT_NAMES: &[&str] = &["contr"];

/// Name of the Reservation a Solver creates: `reservation-<solverName>`.
pub fn reservation_name(solver: &str) -> String {
    format!("reservation-{solver}")
}

/// Upstream's Contract name: `contract-<flavorID>-<sha256hex(flavorID)[0:4]>` with every `.`
/// replaced by `-`.
pub fn contract_name(flavor_id: &str) -> String {
    format!("contract-{flavor_id}-{}", sha256_hex_prefix(flavor_id, 4)).replace('.', "-")
}

/// Our Contract name, unique per sale of a partition:
/// `contract-<flavorID, dots → dashes>-<sha256hex(transactionID)[0:8]>`.
pub fn contract_name_for(flavor_id: &str, transaction_id: &str) -> String {
    format!(
        "contract-{}-{}",
        flavor_id.replace('.', "-"),
        sha256_hex_prefix(transaction_id, 8)
    )
}

/// A new transaction id (also the Transaction's name): 32 lowercase hex digits of `random16`,
/// `-`, and the Unix time in nanoseconds (clamped to `0..=i64::MAX`, so the id stays a DNS
/// label of at most 52 characters).
pub fn new_transaction_id(random16: [u8; 16], unix_nanos: i128) -> String {
    let nanos = unix_nanos.clamp(0, i128::from(i64::MAX));
    format!("{}-{nanos}", hex::encode(random16))
}

/// A Reservation object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    /// Always [`RESERVATION_API_VERSION`].
    pub api_version: String,
    /// Always [`RESERVATION_KIND`].
    pub kind: String,
    /// Object metadata; the name is [`reservation_name`] of the Solver.
    pub metadata: ObjectMeta,
    /// What to reserve and buy, from whom.
    pub spec: ReservationSpec,
    /// Progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ReservationStatus>,
}

impl Reservation {
    /// A Reservation with the right `apiVersion`/`kind` around `metadata` and `spec`.
    pub fn new(metadata: ObjectMeta, spec: ReservationSpec) -> Self {
        Self {
            api_version: RESERVATION_API_VERSION.to_owned(),
            kind: RESERVATION_KIND.to_owned(),
            metadata,
            spec,
            status: None,
        }
    }
}

/// `spec` of a Reservation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["solverID", "buyer", "seller"]))
)]
#[serde(rename_all = "camelCase")]
pub struct ReservationSpec {
    /// Name of the Solver this Reservation works for.
    #[serde(rename = "solverID", alias = "solverId", default)]
    pub solver_id: String,
    /// The consumer.
    #[serde(default)]
    pub buyer: NodeIdentity,
    /// The provider; `seller.ip` is the REAR address used for reserve and purchase.
    #[serde(default)]
    pub seller: NodeIdentity,
    /// The partition asked for; absent means the whole flavor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<Configuration>,
    /// Run the reserve step.
    #[serde(default, skip_serializing_if = "is_false")]
    pub reserve: bool,
    /// Run the purchase step.
    #[serde(default, skip_serializing_if = "is_false")]
    pub purchase: bool,
    /// The PeeringCandidate being bought.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peering_candidate: Option<GenericRef>,
    /// Where the buyer wants telemetry sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_telemetry_endpoint: Option<TelemetryServer>,
}

/// A telemetry endpoint (`{endpoint, intents?}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["endpoint"]))
)]
pub struct TelemetryServer {
    /// Endpoint URL (required key).
    #[serde(default)]
    pub endpoint: String,
    /// Intents of interest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intents: Option<Vec<String>>,
}

/// `status` of a Reservation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["phase"]))
)]
#[serde(rename_all = "camelCase")]
pub struct ReservationStatus {
    /// Overall phase (required key).
    #[serde(default)]
    pub phase: PhaseStatus,
    /// Reserve step.
    #[serde(default, skip_serializing_if = "is_empty_phase")]
    pub reserve_phase: Phase,
    /// Purchase step.
    #[serde(default, skip_serializing_if = "is_empty_phase")]
    pub purchase_phase: Phase,
    /// Transaction id returned by the reserve step.
    #[serde(
        rename = "transactionID",
        alias = "transactionId",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub transaction_id: String,
    /// The Contract created by the purchase step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<GenericRef>,
}

#[cfg(test)]
mod tests;
