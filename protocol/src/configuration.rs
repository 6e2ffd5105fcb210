//! What a buyer asks for when it reserves a Flavor: the `Configuration` envelope
//! (`{type, data}`) in its CR form (`K8Slice`, `Service`, …) and its REAR wire form (`k8slice`,
//! `service`, …), and the typed K8Slice partition ([`K8SliceConfiguration`]).

use serde::{Deserialize, Serialize};

use crate::flavor::Gpu;
use crate::quantity::Quantity;

/// CR type identifiers and their REAR wire names, in upstream's order.
pub const TYPE_NAMES: &[(&str, &str)] = &[
    ("K8Slice", "k8slice"),
    ("VM", "vm"),
    ("Service", "service"),
    ("Sensor", "sensor"),
];

/// The wire name (`k8slice`) of a CR type identifier (`K8Slice`); unknown ones are lowercased.
pub fn wire_type_name(type_identifier: &str) -> String {
    TYPE_NAMES
        .iter()
        .find(|(cr, _)| cr.eq_ignore_ascii_case(type_identifier))
        .map_or_else(
            || type_identifier.to_ascii_lowercase(),
            |(_, w)| (*w).to_owned(),
        )
}

/// The CR type identifier (`K8Slice`) of a wire name (`k8slice`, any case); unknown names are
/// kept as given.
pub fn cr_type_identifier(wire_name: &str) -> String {
    TYPE_NAMES
        .iter()
        .find(|(_, w)| w.eq_ignore_ascii_case(wire_name))
        .map_or_else(|| wire_name.to_owned(), |(cr, _)| (*cr).to_owned())
}

/// A `Configuration`: the flavor type and the type-specific request data. The same struct is
/// used in both forms; only `type` is spelled differently (see [`Configuration::to_wire`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["type", "data"]))
)]
pub struct Configuration {
    /// `K8Slice` (CR form) or `k8slice` (wire form), etc.
    #[serde(rename = "type", alias = "Type")]
    pub type_identifier: String,
    /// Type-specific data (for K8Slice: [`K8SliceConfiguration`]).
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::free_form_object")
    )]
    #[serde(default, alias = "Data")]
    pub data: serde_json::Value,
}

impl Configuration {
    /// A K8Slice configuration in CR form.
    pub fn k8slice(partition: &K8SliceConfiguration) -> Result<Self, serde_json::Error> {
        Ok(Self {
            type_identifier: crate::flavor::TYPE_K8SLICE.to_owned(),
            data: serde_json::to_value(partition)?,
        })
    }

    /// Whether this is a K8Slice configuration (either spelling).
    pub fn is_k8slice(&self) -> bool {
        self.type_identifier
            .eq_ignore_ascii_case(crate::flavor::TYPE_K8SLICE)
    }

    /// The typed K8Slice partition, or `None` for another type.
    pub fn k8slice_data(&self) -> Option<Result<K8SliceConfiguration, serde_json::Error>> {
        self.is_k8slice()
            .then(|| serde_json::from_value(self.data.clone()))
    }

    /// The same configuration with the wire type name.
    pub fn to_wire(&self) -> Self {
        Self {
            type_identifier: wire_type_name(&self.type_identifier),
            data: self.data.clone(),
        }
    }

    /// The same configuration with the CR type identifier.
    pub fn to_cr(&self) -> Self {
        Self {
            type_identifier: cr_type_identifier(&self.type_identifier),
            data: self.data.clone(),
        }
    }
}

/// The K8Slice partition a buyer asks for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct K8SliceConfiguration {
    /// CPU.
    #[serde(alias = "CPU", alias = "Cpu")]
    pub cpu: Quantity,
    /// Memory.
    #[serde(alias = "Memory")]
    pub memory: Quantity,
    /// Pods.
    #[serde(alias = "Pods")]
    pub pods: Quantity,
    /// GPU (never requested by upstream's solver).
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "GPU")]
    pub gpu: Option<Gpu>,
    /// Storage.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "Storage")]
    pub storage: Option<Quantity>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_map_both_ways() {
        assert_eq!(wire_type_name("K8Slice"), "k8slice");
        assert_eq!(cr_type_identifier("k8slice"), "K8Slice");
        assert_eq!(cr_type_identifier("SERVICE"), "Service");
        assert_eq!(wire_type_name("Odd"), "odd");
    }

    #[test]
    fn configuration_round_trips_between_forms() {
        let wire: Configuration = serde_json::from_str(
            r#"{"type":"k8slice","data":{"cpu":"1","memory":"1Gi","pods":"110"}}"#,
        )
        .unwrap();
        let cr = wire.to_cr();
        assert_eq!(cr.type_identifier, "K8Slice");
        let part = cr.k8slice_data().unwrap().unwrap();
        assert_eq!(part.memory, Quantity::parse("1Gi").unwrap());
        assert_eq!(cr.to_wire(), wire);
    }
}
