//! The wire form of a Flavor and its conversion to and from the CR form.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::configuration::{cr_type_identifier, wire_type_name};
use crate::flavor::{
    CarbonFootprint, Characteristics, Flavor, FlavorSpec, FlavorType, K8SliceTypeData, Location,
    Partitionability, Policies, Price, Properties, TYPE_K8SLICE,
};
use crate::meta::ObjectMeta;
use crate::node::{NodeIdentity, WireNodeIdentity};

/// Go's zero `time.Time`, emitted when a flavor has no creation time.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Why a flavor cannot be converted between the CR and the wire form.
#[derive(Debug, thiserror::Error)]
pub enum ConversionError {
    /// VM, Sensor or unknown types have no wire conversion (upstream skips them too).
    #[error("flavor type {0:?} has no REAR wire form")]
    UnsupportedType(String),
    /// The type data does not decode as its type.
    #[error("flavor type data does not decode")]
    Data(#[from] serde_json::Error),
}

/// A flavor on the REAR wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireFlavor {
    /// Flavor id (the provider's Flavor name).
    #[serde(
        rename = "flavorID",
        alias = "flavorId",
        alias = "flavorid",
        alias = "FlavorID"
    )]
    pub flavor_id: String,
    /// Provider id (receivers use `owner.ID` instead).
    #[serde(
        rename = "providerID",
        alias = "providerId",
        alias = "providerid",
        default
    )]
    pub provider_id: String,
    /// Type name and data.
    #[serde(rename = "type", alias = "Type")]
    pub flavor_type: WireFlavorType,
    /// `networkProperty` upstream.
    #[serde(
        rename = "networkPropertyType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub network_property_type: Option<String>,
    /// RFC 3339 creation time.
    #[serde(default)]
    pub timestamp: String,
    /// Location (country under `altitude`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<WireLocation>,
    /// Price.
    #[serde(default)]
    pub price: Price,
    /// The provider node.
    #[serde(alias = "Owner")]
    pub owner: WireNodeIdentity,
    /// Whether it can be bought.
    #[serde(default, alias = "Availability")]
    pub availability: bool,
}

/// `type` of a wire flavor: lowercase `name` and the type data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireFlavorType {
    /// `k8slice`, `vm`, `service` or `sensor`.
    #[serde(alias = "Name")]
    pub name: String,
    /// Type-specific data.
    #[serde(default, alias = "Data")]
    pub data: serde_json::Value,
}

/// Location on the wire: upstream puts the country under `altitude`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireLocation {
    /// Latitude.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<String>,
    /// Longitude.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<String>,
    /// The country (sic: upstream's key).
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "country")]
    pub altitude: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_notes: Option<String>,
}

/// K8Slice type data on the wire.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WireK8SliceData {
    /// Capacity (sic: upstream's key).
    #[serde(rename = "charateristics", alias = "characteristics")]
    pub characteristics: Characteristics,
    /// Properties (`carbonFootprint` here).
    #[serde(default)]
    pub properties: WireProperties,
    /// Policies (no GPU min/step on the wire).
    #[serde(default)]
    pub policies: WirePolicies,
}

/// K8Slice properties on the wire.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireProperties {
    /// Latency (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<i64>,
    /// Security standards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_standards: Option<Vec<String>>,
    /// Carbon footprint.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "carbon-footprint"
    )]
    pub carbon_footprint: Option<CarbonFootprint>,
    /// Network authorizations (opaque).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_authorizations: Option<serde_json::Value>,
    /// Free-form properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_properties: Option<BTreeMap<String, serde_json::Value>>,
}

/// `policies` on the wire.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WirePolicies {
    /// Partitionability.
    #[serde(default)]
    pub partitionability: WirePartitionability,
}

/// Partitionability on the wire (no GPU members).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WirePartitionability {
    /// Smallest CPU partition.
    #[serde(default)]
    pub cpu_min: crate::Quantity,
    /// Smallest memory partition.
    #[serde(default)]
    pub memory_min: crate::Quantity,
    /// Smallest pods partition.
    #[serde(default)]
    pub pods_min: crate::Quantity,
    /// CPU step.
    #[serde(default)]
    pub cpu_step: crate::Quantity,
    /// Memory step.
    #[serde(default)]
    pub memory_step: crate::Quantity,
    /// Pods step.
    #[serde(default)]
    pub pods_step: crate::Quantity,
}

impl From<&K8SliceTypeData> for WireK8SliceData {
    fn from(d: &K8SliceTypeData) -> Self {
        let p = &d.properties;
        let q = &d.policies.partitionability;
        Self {
            characteristics: d.characteristics.clone(),
            properties: WireProperties {
                latency: p.latency,
                security_standards: p.security_standards.clone(),
                carbon_footprint: p.carbon_footprint.clone(),
                network_authorizations: p.network_authorizations.clone(),
                additional_properties: p.additional_properties.clone(),
            },
            policies: WirePolicies {
                partitionability: WirePartitionability {
                    cpu_min: q.cpu_min,
                    memory_min: q.memory_min,
                    pods_min: q.pods_min,
                    cpu_step: q.cpu_step,
                    memory_step: q.memory_step,
                    pods_step: q.pods_step,
                },
            },
        }
    }
}

impl From<&WireK8SliceData> for K8SliceTypeData {
    fn from(d: &WireK8SliceData) -> Self {
        let p = &d.properties;
        let q = &d.policies.partitionability;
        Self {
            characteristics: d.characteristics.clone(),
            properties: Properties {
                latency: p.latency,
                security_standards: p.security_standards.clone(),
                carbon_footprint: p.carbon_footprint.clone(),
                network_authorizations: p.network_authorizations.clone(),
                additional_properties: p.additional_properties.clone(),
            },
            policies: Policies {
                partitionability: Partitionability {
                    cpu_min: q.cpu_min,
                    memory_min: q.memory_min,
                    pods_min: q.pods_min,
                    cpu_step: q.cpu_step,
                    memory_step: q.memory_step,
                    pods_step: q.pods_step,
                    ..Partitionability::default()
                },
            },
        }
    }
}

impl From<&Location> for WireLocation {
    fn from(l: &Location) -> Self {
        Self {
            latitude: l.latitude.clone(),
            longitude: l.longitude.clone(),
            altitude: l.country.clone(),
            city: l.city.clone(),
            additional_notes: l.additional_notes.clone(),
        }
    }
}

impl From<&WireLocation> for Location {
    fn from(l: &WireLocation) -> Self {
        Self {
            latitude: l.latitude.clone(),
            longitude: l.longitude.clone(),
            country: l.altitude.clone(),
            city: l.city.clone(),
            additional_notes: l.additional_notes.clone(),
        }
    }
}

impl WireFlavor {
    /// The wire form of a stored Flavor; K8Slice and Service only.
    pub fn from_cr(flavor: &Flavor) -> Result<Self, ConversionError> {
        Self::from_cr_with(flavor, None)
    }

    /// Like [`WireFlavor::from_cr`], with the K8Slice characteristics replaced by `offered`
    /// (what is still for sale once holds and sales are deducted).
    pub fn from_cr_with(
        flavor: &Flavor,
        offered: Option<&Characteristics>,
    ) -> Result<Self, ConversionError> {
        let spec = &flavor.spec;
        let data = wire_type_data(&spec.flavor_type, offered)?;
        let timestamp = match flavor.metadata.creation_timestamp.as_str() {
            "" => ZERO_TIME.to_owned(),
            t => t.to_owned(),
        };
        Ok(Self {
            flavor_id: flavor.metadata.name.clone(),
            provider_id: spec.provider_id.clone(),
            flavor_type: WireFlavorType {
                name: wire_type_name(&spec.flavor_type.type_identifier),
                data,
            },
            network_property_type: spec.network_property_type.clone(),
            timestamp,
            location: spec.location.as_ref().map(WireLocation::from),
            price: spec.price.clone(),
            owner: WireNodeIdentity::from(&spec.owner),
            availability: spec.availability,
        })
    }

    /// The CR form a consumer stores (`metadata.name = flavorID`, `providerID = owner.ID`).
    pub fn to_cr(&self, namespace: &str) -> Result<Flavor, ConversionError> {
        let type_identifier = cr_type_identifier(&self.flavor_type.name);
        let type_data = match type_identifier.as_str() {
            TYPE_K8SLICE => {
                let wire: WireK8SliceData = serde_json::from_value(self.flavor_type.data.clone())?;
                serde_json::to_value(K8SliceTypeData::from(&wire))?
            }
            "Service" => self.flavor_type.data.clone(),
            other => return Err(ConversionError::UnsupportedType(other.to_owned())),
        };
        let metadata = ObjectMeta {
            name: self.flavor_id.clone(),
            namespace: namespace.to_owned(),
            ..ObjectMeta::default()
        };
        let spec = FlavorSpec {
            provider_id: self.owner.id.clone(),
            flavor_type: FlavorType {
                type_identifier,
                type_data,
            },
            owner: NodeIdentity::from(&self.owner),
            price: self.price.clone(),
            availability: self.availability,
            network_property_type: self.network_property_type.clone(),
            location: self.location.as_ref().map(Location::from),
        };
        Ok(Flavor::new(metadata, spec))
    }
}

fn wire_type_data(
    flavor_type: &FlavorType,
    offered: Option<&Characteristics>,
) -> Result<serde_json::Value, ConversionError> {
    match flavor_type.type_identifier.as_str() {
        TYPE_K8SLICE => {
            let cr: K8SliceTypeData = serde_json::from_value(flavor_type.type_data.clone())?;
            let mut wire = WireK8SliceData::from(&cr);
            if let Some(offered) = offered {
                wire.characteristics = offered.clone();
            }
            Ok(serde_json::to_value(wire)?)
        }
        "Service" => Ok(flavor_type.type_data.clone()),
        other => Err(ConversionError::UnsupportedType(other.to_owned())),
    }
}
