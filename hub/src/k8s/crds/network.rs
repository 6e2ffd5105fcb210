//! `network.fluidos.eu` custom resources: KnownCluster and Broker (no printer columns
//! upstream).

// `printcolumn(...)`/`shortname`/`selectable` arguments repeat by design; the lint reads
// them as duplicated attributes.
#![allow(clippy::duplicated_attributes)]

use fluidos_protocol::network;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a known remote node's REAR gateway listens.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "network.fluidos.eu",
    version = "v1alpha1",
    kind = "KnownCluster",
    plural = "knownclusters",
    shortname = "kclust",
    shortname = "kclusts",
    namespaced,
    status = "network::NetworkTimes",
    doc = "KnownCluster: a remote FLUIDOS node heard on the LAN or through a broker, with its \
           REAR address."
)]
#[serde(transparent)]
pub struct KnownClusterSpec(pub network::KnownClusterSpec);

/// How to reach a broker: address, name, certificate Secrets, role, rule, metric.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "network.fluidos.eu",
    version = "v1alpha1",
    kind = "Broker",
    plural = "brokers",
    shortname = "broker",
    shortname = "brokers",
    namespaced,
    status = "network::NetworkTimes",
    doc = "Broker: a RabbitMQ broker to exchange advertisements with."
)]
#[serde(transparent)]
pub struct BrokerSpec(pub network::BrokerSpec);
