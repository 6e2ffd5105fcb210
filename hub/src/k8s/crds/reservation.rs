//! `reservation.fluidos.eu` custom resources: Reservation, Transaction and Contract.
//!
//! Two of upstream's printer columns are fixed here:
//! * Reservation "Seller Domain" showed `.spec.buyer.domain`; it reads `.spec.seller.domain`.
//! * Transaction "Start Time" read `.spec.startTime`, which does not exist; it reads the
//!   object's creation time (`.metadata.creationTimestamp`, type `date`), when the reserve was
//!   recorded.

// `printcolumn(...)`/`shortname`/`selectable` arguments repeat by design; the lint reads
// them as duplicated attributes.
#![allow(clippy::duplicated_attributes)]

use fluidos_protocol::reservation;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a Reservation reserves and buys, from whom, for which Solver.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "reservation.fluidos.eu",
    version = "v1alpha1",
    kind = "Reservation",
    plural = "reservations",
    shortname = "res",
    namespaced,
    status = "reservation::ReservationStatus",
    doc = "Reservation: a consumer's reserve and purchase of one PeeringCandidate.",
    printcolumn(name = "Solver ID", type_ = "string", json_path = ".spec.solverID"),
    printcolumn(name = "Reserve", type_ = "boolean", json_path = ".spec.reserve"),
    printcolumn(name = "Purchase", type_ = "boolean", json_path = ".spec.purchase"),
    printcolumn(
        name = "Seller Name",
        type_ = "string",
        json_path = ".spec.seller.nodeID"
    ),
    printcolumn(
        name = "Seller Domain",
        type_ = "string",
        json_path = ".spec.seller.domain",
        priority = 1
    ),
    printcolumn(
        name = "Peering Candidate",
        type_ = "string",
        json_path = ".spec.peeringCandidate.name",
        priority = 1
    ),
    printcolumn(
        name = "Transaction ID",
        type_ = "string",
        json_path = ".status.transactionID"
    ),
    printcolumn(
        name = "Reserve Phase",
        type_ = "string",
        json_path = ".status.reservePhase",
        priority = 1
    ),
    printcolumn(
        name = "Purchase Phase",
        type_ = "string",
        json_path = ".status.purchasePhase",
        priority = 1
    ),
    printcolumn(
        name = "Contract Name",
        type_ = "string",
        json_path = ".status.contract.name"
    ),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.phase.phase"),
    printcolumn(
        name = "Message",
        type_ = "string",
        json_path = ".status.phase.message",
        priority = 1
    ),
    selectable = ".spec.solverID"
)]
#[serde(transparent)]
pub struct ReservationSpec(pub reservation::ReservationSpec);

/// What a Transaction reserved (consumer-side record), by whom.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "reservation.fluidos.eu",
    version = "v1alpha1",
    kind = "Transaction",
    plural = "transactions",
    shortname = "tr",
    namespaced,
    status = "reservation::TransactionStatus",
    doc = "Transaction: a reserve that has not been bought yet; its name is the transaction id.",
    printcolumn(name = "Flavor ID", type_ = "string", json_path = ".spec.flavorID"),
    printcolumn(
        name = "Buyer Name",
        type_ = "string",
        json_path = ".spec.buyer.nodeID"
    ),
    printcolumn(
        name = "Buyer IP",
        type_ = "string",
        json_path = ".spec.buyer.ip",
        priority = 1
    ),
    printcolumn(
        name = "Buyer Domain",
        type_ = "string",
        json_path = ".spec.buyer.domain",
        priority = 1
    ),
    printcolumn(name = "Cluster ID", type_ = "string", json_path = ".spec.clusterID"),
    printcolumn(
        name = "Start Time",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    selectable = ".spec.flavorID"
)]
#[serde(transparent)]
pub struct TransactionSpec(pub reservation::TransactionSpec);

/// The terms of a Contract: the Flavor bought (embedded), the partition, both parties, the
/// peering credentials.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "reservation.fluidos.eu",
    version = "v1alpha1",
    kind = "Contract",
    plural = "contracts",
    shortname = "contr",
    namespaced,
    status = "reservation::ContractStatus",
    doc = "Contract: what a buyer bought from a seller, and how to peer with the seller.",
    printcolumn(
        name = "Flavor ID",
        type_ = "string",
        json_path = ".spec.flavor.metadata.name"
    ),
    printcolumn(
        name = "Buyer Name",
        type_ = "string",
        json_path = ".spec.buyer.nodeID"
    ),
    printcolumn(
        name = "Buyer Domain",
        type_ = "string",
        json_path = ".spec.buyer.domain",
        priority = 1
    ),
    printcolumn(
        name = "Seller Name",
        type_ = "string",
        json_path = ".spec.seller.nodeID"
    ),
    printcolumn(
        name = "Seller Domain",
        type_ = "string",
        json_path = ".spec.seller.domain",
        priority = 1
    ),
    printcolumn(
        name = "Transaction ID",
        type_ = "string",
        json_path = ".spec.transactionID",
        priority = 1
    ),
    printcolumn(
        name = "Buyer Liqo ID",
        type_ = "string",
        json_path = ".spec.buyerClusterID",
        priority = 1
    ),
    printcolumn(
        name = "Expiration Time",
        type_ = "string",
        json_path = ".spec.expirationTime",
        priority = 1
    ),
    selectable = ".spec.transactionID",
    selectable = ".spec.buyerClusterID",
    selectable = ".spec.buyer.nodeID",
    selectable = ".spec.seller.nodeID"
)]
#[serde(transparent)]
pub struct ContractSpec(pub reservation::ContractSpec);
